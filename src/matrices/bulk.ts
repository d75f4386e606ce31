/**
 * The bulk path of `putPointsBulk`, as pure functions: validate a batch into columns, order it by
 * (series id, ts) with duplicates collapsed (last wins), and encode it as a binary COPY stream.
 * Not re-exported by the module's index (the client binds only functions that take a Queryable).
 */
import { MAX_INSTANT_MS, MIN_INSTANT_MS } from '../core/codecs.js';
import { type Issue, ValidationError } from '../core/errors.js';
import { parseInput } from '../core/run.js';
import { PointInput, PointsBulkInput } from './schemas.js';

/** A validated batch in columns. */
export interface PointColumns {
  size: number;
  /** Distinct series keys, in first-seen order. */
  keys: string[];
  /** Per point: its series, as an index into `keys`. */
  series: Int32Array;
  /** Per point: epoch milliseconds. */
  ms: Float64Array;
  values: Float64Array;
  /** Per point: attrs as JSON text, or null; `null` altogether when no point carries attrs. */
  attrs: (string | null)[] | null;
}

const objectProto = Object.prototype;

/**
 * Validates a whole batch and returns it in columns. Each point takes a hand-written check that
 * accepts only what `PointInput` accepts (and means the same); a point it is unsure of (the first
 * point of each series, an ISO string time, attrs, anything odd) goes through zod itself. Every issue of every point is
 * reported, with its path (`[index, field]`), before anything is sent.
 * @throws ValidationError listing every issue of the batch
 */
export function toColumns(operation: string, input: unknown): PointColumns {
  if (!Array.isArray(input)) parseInput(operation, PointsBulkInput, input); // throws its issues
  const points = input as unknown[];
  const size = points.length;
  const keyIndex = new Map<string, number>();
  const keys: string[] = [];
  const series = new Int32Array(size);
  const ms = new Float64Array(size);
  const values = new Float64Array(size);
  let attrs: (string | null)[] | null = null;
  let issues: Issue[] | undefined;
  for (let i = 0; i < size; i++) {
    const p = points[i];
    let key: unknown;
    let time = Number.NaN;
    let value: unknown;
    let attrsText: string | null = null;
    let fast = false;
    if (typeof p === 'object' && p !== null && Object.getPrototypeOf(p) === objectProto) {
      const o = p as Record<string, unknown>;
      key = o.seriesKey;
      value = o.value;
      const t = o.ts;
      const a = o.attrs;
      const fields = Object.hasOwn(o, 'attrs') ? 4 : 3;
      if (t instanceof Date) time = t.getTime();
      else if (typeof t === 'number' && Number.isSafeInteger(t)) time = t;
      // a key zod has not accepted yet in this batch goes through zod (once per series)
      fast =
        typeof key === 'string' &&
        keyIndex.has(key) &&
        time >= MIN_INSTANT_MS && // false for NaN
        time <= MAX_INSTANT_MS &&
        typeof value === 'number' &&
        Number.isFinite(value) &&
        a == null &&
        Object.hasOwn(o, 'seriesKey') &&
        Object.hasOwn(o, 'ts') &&
        Object.hasOwn(o, 'value') &&
        Object.keys(o).length === fields;
    }
    if (!fast) {
      const r = PointInput.safeParse(p);
      if (!r.success) {
        issues ??= [];
        for (const issue of r.error.issues) {
          issues.push({
            path: [i, ...issue.path.map((x) => (typeof x === 'symbol' ? String(x) : x))],
            message: issue.message,
          });
        }
        continue;
      }
      key = r.data.seriesKey;
      time = r.data.ts.getTime();
      value = r.data.value;
      if (r.data.attrs != null) attrsText = JSON.stringify(r.data.attrs);
    }
    let s = keyIndex.get(key as string);
    if (s === undefined) {
      s = keys.length;
      keys.push(key as string);
      keyIndex.set(key as string, s);
    }
    series[i] = s;
    ms[i] = time;
    // -0 is stored as 0 on every path (float8Input's rule; a Float64Array would keep the sign bit)
    values[i] = (value as number) === 0 ? 0 : (value as number);
    if (attrsText !== null) {
      attrs ??= new Array<string | null>(size).fill(null);
      attrs[i] = attrsText;
    }
  }
  if (issues) throw new ValidationError(operation, issues);
  return { size, keys, series, ms, values, attrs };
}

/** The points to write, as indices into the batch, each list ordered by (series id, ts). */
export interface PointOrder {
  /** Points of series this call created: no stored point can collide with them. */
  fresh: Int32Array;
  /** Points of series that existed: upserted. */
  existing: Int32Array;
  /** Distinct (series, ts) points of the batch. */
  distinct: number;
}

/**
 * Orders a batch by (series id, ts) and collapses duplicates (the last occurrence wins). One global
 * order makes concurrent writers lock rows in the same order (no deadlock) and keeps index inserts
 * local. `ids[k]` is the id of series `keys[k]`; `created[k]` is 1 when this call created it.
 */
export function orderPoints(cols: PointColumns, ids: Float64Array, created: Uint8Array): PointOrder {
  const nSeries = cols.keys.length;
  const counts = new Int32Array(nSeries);
  for (let i = 0; i < cols.size; i++) counts[cols.series[i]!]!++;
  const bySeriesId = Array.from({ length: nSeries }, (_, k) => k).sort((a, b) => ids[a]! - ids[b]!);
  const start = new Int32Array(nSeries);
  let offset = 0;
  for (const k of bySeriesId) {
    start[k] = offset;
    offset += counts[k]!;
  }
  const order = new Int32Array(cols.size);
  const fill = start.slice();
  for (let i = 0; i < cols.size; i++) order[fill[cols.series[i]!]!++] = i;
  const ms = cols.ms;
  const fresh = new Int32Array(cols.size);
  const existing = new Int32Array(cols.size);
  let nFresh = 0;
  let nExisting = 0;
  for (const k of bySeriesId) {
    const from = start[k]!;
    const to = from + counts[k]!;
    let sorted = true;
    for (let j = from + 1; j < to && sorted; j++) if (ms[order[j]!]! < ms[order[j - 1]!]!) sorted = false;
    if (!sorted) {
      // by (ms, position in the batch): equal instants end up with the last occurrence last
      const slice = Array.from(order.subarray(from, to)).sort((a, b) => ms[a]! - ms[b]! || a - b);
      order.set(slice, from);
    }
    const out = created[k] ? fresh : existing;
    let n = created[k] ? nFresh : nExisting;
    for (let j = from; j < to; j++) {
      const i = order[j]!;
      const next = j + 1 < to ? order[j + 1]! : -1;
      if (next >= 0 && ms[next] === ms[i]) continue; // a later occurrence of the same instant wins
      out[n++] = i;
    }
    if (created[k]) nFresh = n;
    else nExisting = n;
  }
  return {
    fresh: fresh.subarray(0, nFresh),
    existing: existing.subarray(0, nExisting),
    distinct: nFresh + nExisting,
  };
}

const SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);
const PG_EPOCH_MS = 946_684_800_000; // 2000-01-01T00:00:00Z, the zero of PostgreSQL's timestamps
const TWO_32 = 4_294_967_296;
const CHUNK_BYTES = 1 << 20;

/** Writes a safe integer as int8 (two 32-bit halves: much faster than a BigInt). */
function writeInt64(buf: Buffer, n: number, at: number): void {
  const hi = Math.floor(n / TWO_32);
  buf.writeInt32BE(hi, at);
  buf.writeUInt32BE(n - hi * TWO_32, at + 4);
}

/** Writes epoch ms as PostgreSQL's timestamptz: microseconds since 2000-01-01 (exact for any Date). */
function writeMicros(buf: Buffer, ms: number, at: number): void {
  const us = (ms - PG_EPOCH_MS) * 1000;
  if (Number.isSafeInteger(us)) writeInt64(buf, us, at);
  else buf.writeBigInt64BE(BigInt(ms - PG_EPOCH_MS) * 1000n, at);
}

/**
 * Encodes points as a binary COPY stream of (series_id, ts, value, attrs), in chunks of about 1 MB.
 * Binary spares the server the text parsing of timestamps and floats (values travel bit-exact).
 */
export function* copyChunks(cols: PointColumns, ids: Float64Array, order: Int32Array): Generator<Buffer> {
  let buf = Buffer.allocUnsafe(CHUNK_BYTES);
  SIGNATURE.copy(buf, 0);
  buf.writeInt32BE(0, 11); // flags
  buf.writeInt32BE(0, 15); // header extension length
  let at = 19;
  const { series, ms, values, attrs } = cols;
  for (let j = 0; j < order.length; j++) {
    const i = order[j]!;
    const text = attrs?.[i] ?? null;
    const jsonBytes = text === null ? 0 : Buffer.byteLength(text);
    const need = 42 + (text === null ? 0 : 1 + jsonBytes);
    if (at + need > buf.length) {
      yield buf.subarray(0, at);
      buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, need + 2));
      at = 0;
    }
    buf.writeInt16BE(4, at);
    buf.writeInt32BE(8, at + 2);
    writeInt64(buf, ids[series[i]!]!, at + 6);
    buf.writeInt32BE(8, at + 14);
    writeMicros(buf, ms[i]!, at + 18);
    buf.writeInt32BE(8, at + 26);
    const v = values[i]!;
    buf.writeDoubleBE(v === 0 ? 0 : v, at + 30); // -0 as 0, whoever built the columns
    if (text === null) {
      buf.writeInt32BE(-1, at + 38);
      at += 42;
    } else {
      buf.writeInt32BE(jsonBytes + 1, at + 38);
      buf[at + 42] = 1; // jsonb binary format version
      buf.write(text, at + 43, 'utf8');
      at += 43 + jsonBytes;
    }
  }
  if (at + 2 > buf.length) {
    yield buf.subarray(0, at);
    buf = Buffer.allocUnsafe(2);
    at = 0;
  }
  buf.writeInt16BE(-1, at); // trailer
  yield buf.subarray(0, at + 2);
}
