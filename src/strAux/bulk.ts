/**
 * The bulk path of `upsertSamples5s`: rows validated one by one as they come (a hand-written check
 * for the common shape, zod for anything else), encoded as COPY text, streamed into a temporary
 * stage with backpressure, then merged by one upsert statement. Internal: not re-exported.
 */
import { randomBytes } from 'node:crypto';
import type { PendingQuery, Row } from 'postgres';
import { pgArray } from '../core/arrays.js';
import { openCopy } from '../core/copy.js';
import { MAX_INSTANT_MS, MIN_INSTANT_MS, textProblem } from '../core/codecs.js';
import { type Issue, ValidationError } from '../core/errors.js';
import type { Queryable } from '../core/queryable.js';
import { SAMPLE_FIELDS, SAMPLE_VALUE_COLUMNS } from './columns.js';
import { Sample5sInput, type UpsertSamplesProgress, type UpsertSamplesResult } from './schemas.js';

/** Bytes of COPY text gathered before a write. */
const CHUNK_CHARS = 1 << 20;
/** Issues reported at most (the first ones). */
const MAX_ISSUES = 100;

type Kind = 'signal' | 'nonneg' | 'li' | 'int' | 'mode' | 'other';
const KIND: Record<string, Kind> = {
  vInner: 'signal',
  vOuter: 'signal',
  vSwap: 'signal',
  vTendency: 'signal',
  disruption: 'signal',
  amp: 'signal',
  volt: 'signal',
  inertia: 'signal',
  midMin: 'signal',
  midMax: 'signal',
  tickMsMin: 'nonneg',
  tickMsMax: 'nonneg',
  tickMsAvg: 'nonneg',
  spreadMin: 'nonneg',
  spreadMax: 'nonneg',
  spreadAvg: 'nonneg',
  liquidityImbalance: 'li',
  bucketCount: 'int',
  modeGeneral: 'mode',
  modeB: 'mode',
};

const objectProto = Object.prototype;
const FIELD_INDEX = new Map<string, number>(SAMPLE_FIELDS.map((f, i) => [f, i]));

/** COPY text of one text value (backslash, tab, newline and carriage return escaped). */
function copyText(s: string): string {
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ESC[c]!) : s;
}
const ESC: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * The COPY line of a row (fields: seq, symbol, ts, then SAMPLE_VALUE_COLUMNS) when the fast check
 * accepts it, else undefined (zod decides). Accepts exactly what Sample5sInput accepts, with the
 * same normalization (-0 → 0); a symbol is accepted once zod has accepted it in this call.
 */
function fastLine(seq: number, r: unknown, symbols: Set<string>): string | undefined {
  if (typeof r !== 'object' || r === null || Object.getPrototypeOf(r) !== objectProto) return undefined;
  const o = r as Record<string, unknown>;
  const sym = o.symbol;
  if (typeof sym !== 'string' || !symbols.has(sym)) return undefined;
  const t = o.ts;
  let ms: number;
  if (typeof t === 'number') ms = t;
  else if (t instanceof Date) ms = t.getTime();
  else return undefined;
  if (!Number.isInteger(ms) || ms < MIN_INSTANT_MS || ms > MAX_INSTANT_MS) return undefined;
  const values: string[] = new Array(SAMPLE_FIELDS.length).fill('\\N');
  for (const key in o) {
    if (!Object.hasOwn(o, key)) continue;
    if (key === 'symbol' || key === 'ts') continue;
    const v = o[key];
    if (v === undefined || v === null) {
      if (!(key in KIND)) return undefined;
      continue;
    }
    const kind = KIND[key];
    if (kind === undefined) return undefined;
    if (kind === 'mode') {
      if (typeof v !== 'string' || v.length < 1 || v.length > 64 || textProblem(v)) return undefined;
      values[FIELD_INDEX.get(key)!] = copyText(v);
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    if (kind === 'nonneg' && v < 0) return undefined;
    if (kind === 'li' && (v < -1 || v > 1)) return undefined;
    if (kind === 'int' && (!Number.isInteger(v) || v < 0 || v > 2_147_483_647)) return undefined;
    values[FIELD_INDEX.get(key)!] = String(v === 0 ? 0 : v);
  }
  return `${seq}\t${sym}\t${new Date(ms).toISOString()}\t${values.join('\t')}\n`;
}

/** The COPY line of a row zod accepted. */
function zodLine(seq: number, s: ReturnType<typeof Sample5sInput.parse>): string {
  const rec = s as unknown as Record<string, unknown>;
  const values = SAMPLE_FIELDS.map((field) => {
    const v = rec[field];
    if (v === undefined || v === null) return '\\N';
    if (field === 'qualityFlags' || field === 'attrs') return copyText(JSON.stringify(v));
    if (typeof v === 'string') return copyText(v);
    return String(v);
  });
  return `${seq}\t${s.symbol}\t${s.ts.toISOString()}\t${values.join('\t')}\n`;
}

const STAGE_COLUMNS = `seq bigint, symbol text, ts timestamptz, v_inner float8, v_outer float8, v_swap float8,
  v_tendency float8, disruption float8, amp float8, volt float8, inertia float8, mode_general text, mode_b text,
  bucket_count integer, tick_ms_min float8, tick_ms_max float8, tick_ms_avg float8, spread_min float8,
  spread_max float8, spread_avg float8, mid_min float8, mid_max float8, liquidity_imbalance float8,
  quality_flags jsonb, attrs jsonb`;

const COLS = SAMPLE_VALUE_COLUMNS.join(', ');
const SET = SAMPLE_VALUE_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ');
const OLD = SAMPLE_VALUE_COLUMNS.map((c) => `s.${c}`).join(', ');
const NEW = SAMPLE_VALUE_COLUMNS.map((c) => `excluded.${c}`).join(', ');

/** Validates, stages and upserts `rows` on `tx` (a transaction). */
export async function stageAndUpsert(
  op: string,
  tx: Queryable,
  rows: readonly unknown[] | AsyncIterable<unknown> | Iterable<unknown>,
  onProgress: ((p: UpsertSamplesProgress) => void) | undefined,
): Promise<UpsertSamplesResult> {
  const source = rows as unknown;
  const iterable =
    source !== null &&
    typeof source === 'object' &&
    (Symbol.asyncIterator in source || Symbol.iterator in source);
  if (!iterable || typeof source === 'string') {
    throw new ValidationError(op, [
      { path: [], message: 'expected an array or an (async) iterable of samples' },
    ]);
  }
  const stage = `cryptopi_samples_stage_${randomBytes(6).toString('hex')}`;
  await tx.unsafe(`create temporary table ${stage} (${STAGE_COLUMNS}) on commit drop`);
  const copy = await openCopy(
    tx,
    tx.unsafe(`copy ${stage} from stdin`) as unknown as PendingQuery<Row[]>,
    'strAux.upsertSamples5s',
  );
  const symbols = new Set<string>();
  let issues: Issue[] | undefined;
  let seq = 0;
  let chunk = '';
  let sent = 0;
  /** Validates and encodes one row; resolves once its chunk is written when one fills up. */
  const take = (r: unknown): Promise<void> | undefined => {
    const i = seq++;
    let line = issues ? undefined : fastLine(i, r, symbols);
    if (line === undefined) {
      const parsed = Sample5sInput.safeParse(r);
      if (!parsed.success) {
        issues ??= [];
        for (const issue of parsed.error.issues) {
          if (issues.length >= MAX_ISSUES) break;
          issues.push({
            path: [i, ...issue.path.map((x) => (typeof x === 'symbol' ? String(x) : x))],
            message: issue.message,
          });
        }
        return undefined;
      }
      if (issues) return undefined; // still checking the rest; nothing more is sent
      symbols.add(parsed.data.symbol);
      line = zodLine(i, parsed.data);
    }
    chunk += line;
    if (chunk.length < CHUNK_CHARS) return undefined;
    const text = chunk;
    chunk = '';
    sent = seq;
    return copy.write(text).then(() => onProgress?.({ sent }));
  };
  try {
    if (Array.isArray(source)) {
      for (const r of source) {
        const w = take(r);
        if (w) await w;
      }
    } else {
      for await (const r of source as AsyncIterable<unknown>) {
        const w = take(r);
        if (w) await w;
      }
    }
  } finally {
    if (chunk && !issues) await copy.write(chunk);
    await copy.end();
  }
  if (issues) throw new ValidationError(op, issues);
  if (seq === 0) return { received: 0, distinct: 0, inserted: 0, updated: 0, unchanged: 0 };
  onProgress?.({ sent: seq });
  const missing = await tx<{ symbol: string }[]>`
    select s as symbol from unnest(${pgArray([...symbols])}::text[]) s
    where not exists (select 1 from market.symbols m where m.symbol = s)
    order by s
  `;
  if (missing.length > 0) {
    throw new ValidationError(
      op,
      missing.map((m) => ({ path: ['symbol'], message: `${m.symbol} is not in market.symbols` })),
    );
  }
  const [r] = await tx.unsafe<{ distinct: number; inserted: number; updated: number }[]>(`
    with d as (
      select distinct on (symbol, ts) * from ${stage} order by symbol, ts, seq desc
    ),
    up as (
      insert into str_aux.samples_5s as s (symbol, ts, ${COLS})
      select symbol, ts, ${SAMPLE_VALUE_COLUMNS.map((c) => (c === 'attrs' ? "coalesce(attrs, '{}'::jsonb)" : c)).join(', ')}
      from d
      on conflict (symbol, ts) do update set ${SET}
      where (${OLD}) is distinct from (${NEW})
      returning (xmax = 0) as inserted
    )
    select (select count(*) from d)::integer as "distinct",
           count(*) filter (where inserted)::integer as inserted,
           count(*) filter (where not inserted)::integer as updated
    from up
  `);
  await tx.unsafe(`drop table ${stage}`);
  const distinct = r?.distinct ?? 0;
  const inserted = r?.inserted ?? 0;
  const updated = r?.updated ?? 0;
  return { received: seq, distinct, inserted, updated, unchanged: distinct - inserted - updated };
}
