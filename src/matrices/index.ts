/**
 * The matrices module: series and their points (the history of every grid cell), written one at a
 * time or in bulk, read as ranges, latest values and whole N x N grids. Built by `ddl/07_matrices.sql`.
 */
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import { float8, jsonObjectRow, timestamptz } from '../core/codecs.js';
import { inTransaction, type Queryable } from '../core/queryable.js';
import { parseInput, parseMaybe, parseOne, parseRow, parseRows, run } from '../core/run.js';
import { type PointColumns, toColumns } from './bulk.js';
import {
  EnsureSeriesInput,
  GetGridInput,
  type GridRow,
  LatestPointRow,
  LatestPointsFilter,
  ListSeriesFilter,
  PointInput,
  PointRow,
  PointsBetweenInput,
  PutGridInput,
  type PutGridResult,
  SeriesKey,
  SeriesRow,
  StoredPointRow,
} from './schemas.js';
import { resolveSeries, writeColumns } from './write.js';

export * from './schemas.js';

/** Batches up to this size go through `sp_put_points_bulk` in one round trip; larger ones through COPY. */
const SMALL_BATCH = 1000;

const seriesColumns = (sql: Queryable) => sql`
  id, key, name, scope, unit, target, symbol, base, quote, matrix_type as "matrixType",
  util.epoch_ms(created_at) as "createdAt"
`;

/** A LIKE pattern matching the keys that start with `prefix` literally (`_` and `%` are not wildcards). */
function prefixPattern(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, '\\$&')}%`;
}

/**
 * Creates a series, or updates the one with this key, and returns it as stored.
 *
 * Wraps `matrices.sp_ensure_series` and reads `matrices.v_series_symbol`: absent or null fields
 * keep the stored values; `target` is merged into the stored target (`stored || given`).
 * @example
 * ```ts
 * const s = await db.matrices.ensureSeries({ key: 'id_pct:BTC/USDT', unit: '%', target: { symbol: 'BTCUSDT' } });
 * // s.symbol === 'BTCUSDT'; a later ensureSeries({ key: s.key, target: { frozen: true } }) keeps the symbol
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function ensureSeries(sql: Queryable, input: EnsureSeriesInput): Promise<SeriesRow> {
  const op = 'matrices.ensureSeries';
  const s = parseInput(op, EnsureSeriesInput, input);
  const target = s.target == null ? null : JSON.stringify(s.target);
  const [row] = await run(
    op,
    sql<{ id: string }[]>`
      select matrices.sp_ensure_series(
        ${s.key}, ${s.name ?? null}, ${s.scope ?? null}, ${s.unit ?? null}, ${target}::text::jsonb
      ) as id
    `,
  );
  const rows = await run(
    op,
    sql`select ${seriesColumns(sql)} from matrices.v_series_symbol where id = ${row?.id ?? null}`,
  );
  return parseOne('matrices.v_series_symbol', SeriesRow, rows);
}

/**
 * The series with this key, or `null`.
 *
 * Reads `matrices.v_series_symbol`.
 * @example
 * ```ts
 * const s = await db.matrices.getSeries('id_pct:BTC/USDT'); // SeriesRow | null
 * ```
 * @throws ValidationError when the key is malformed (nothing is sent)
 */
export async function getSeries(sql: Queryable, key: string): Promise<SeriesRow | null> {
  const op = 'matrices.getSeries';
  const k = parseInput(op, SeriesKey, key);
  const rows = await run(
    op,
    sql`select ${seriesColumns(sql)} from matrices.v_series_symbol where key = ${k}`,
  );
  return parseMaybe('matrices.v_series_symbol', SeriesRow, rows);
}

/**
 * The series matching every given filter (every series without one), ordered by key: by keys, a
 * key prefix, target symbols (grid cells carry one) or matrix type, any number in one round trip.
 *
 * Reads `matrices.v_series_symbol`.
 * @example
 * ```ts
 * const cells = await db.matrices.listSeries({ symbols: ['BTCUSDT', 'ETHUSDT'] }); // e.g. id_pct:BTC/USDT, …
 * const some = await db.matrices.listSeries({ keys: ['id_pct:BTC/USDT', 'mood:BTC'] });
 * ```
 * @throws ValidationError when the filter is malformed (nothing is sent)
 */
export async function listSeries(sql: Queryable, filter: ListSeriesFilter = {}): Promise<SeriesRow[]> {
  const op = 'matrices.listSeries';
  const f = parseInput(op, ListSeriesFilter, filter);
  const none = sql``;
  const rows = await run(
    op,
    sql`
      select ${seriesColumns(sql)} from matrices.v_series_symbol
      where true
        ${f.keys ? sql`and key = any(${pgArray(f.keys)}::text[])` : none}
        ${f.keyPrefix !== undefined ? sql`and key like ${prefixPattern(f.keyPrefix)}` : none}
        ${f.symbols ? sql`and symbol = any(${pgArray(f.symbols)}::text[])` : none}
        ${f.matrixType !== undefined ? sql`and matrix_type = ${f.matrixType}` : none}
      order by key collate "C"
    `,
  );
  return parseRows('matrices.v_series_symbol', SeriesRow, rows);
}

/**
 * Writes one point (creating its series when the key is unknown) and returns it as stored. The
 * same (series, ts) twice leaves one row holding the last value and attrs; -0 is stored as 0.
 *
 * Wraps `matrices.sp_put_point`.
 * @example
 * ```ts
 * await db.matrices.putPoint({ seriesKey: 'id_pct:BTC/USDT', ts: Date.now(), value: 0.25 });
 * ```
 * @throws ValidationError when the input is malformed, the value is not finite or attrs is not a JSON
 *   object (BigInt, NaN, a cycle, too deep… named by its path; nothing is sent)
 */
export async function putPoint(sql: Queryable, input: PointInput): Promise<StoredPointRow> {
  const op = 'matrices.putPoint';
  const p = parseInput(op, PointInput, input);
  const attrs = p.attrs == null ? null : JSON.stringify(p.attrs);
  const rows = await run(
    op,
    sql`
      select series_id as "seriesId", ${p.seriesKey}::text as "seriesKey", util.epoch_ms(ts) as ts, value, attrs
      from matrices.sp_put_point(${p.seriesKey}, ${p.ts}, ${p.value}, ${attrs}::text::jsonb)
    `,
  );
  return parseOne('matrices.sp_put_point', StoredPointRow, rows);
}

/**
 * Writes many points over many series, atomically, and returns the number of distinct points
 * written. Unknown series keys are created; a (series, ts) given twice in the batch keeps its last
 * occurrence; a point already stored is overwritten, and one stored with the same value and attrs is
 * left untouched (a replay rewrites nothing).
 *
 * The whole batch is validated first (every issue, with its index, and nothing sent when there is
 * one). Up to 1 000 points go in one call of `matrices.sp_put_points_bulk`; larger batches stream
 * as binary COPY into temporary stages, then one plain insert writes the points of series this call
 * created and one upsert merges the others (docs/matrices.md has the measurements). Instants are
 * whole milliseconds; -0 is stored as 0 on both paths. `points` is an array or any (async)
 * iterable of points, read whole before anything is sent (the batch stays all or nothing). Inside a
 * transaction it runs in a savepoint and the COPY holds the connection: do not run other queries on
 * the same transaction concurrently.
 * @example
 * ```ts
 * const n = await db.matrices.putPointsBulk([
 *   { seriesKey: 'id_pct:BTC/USDT', ts: new Date('2025-01-01T00:00:00Z'), value: 0.5 },
 *   { seriesKey: 'id_pct:ETH/USDT', ts: 1735689600000, value: -0.25, attrs: { session: 'a' } },
 * ]); // n === 2
 * ```
 * @throws ValidationError when any point is malformed or holds a non-finite value (nothing is sent)
 * @throws ConnectionError when the connection is lost (the batch is written whole or not at all)
 */
export async function putPointsBulk(
  sql: Queryable,
  points: readonly PointInput[] | Iterable<PointInput> | AsyncIterable<PointInput>,
): Promise<number> {
  const op = 'matrices.putPointsBulk';
  const cols = toColumns(op, await collect(points));
  if (cols.size === 0) return 0;
  if (cols.size <= SMALL_BATCH) return putSmall(op, sql, cols);
  return run(
    op,
    inTransaction(sql, async (tx) => writeColumns(tx, cols, await resolveSeries(tx, cols.keys))),
  );
}

/** The points of an array as they are; of an iterable, read whole (anything else goes to zod as it is). */
async function collect(points: unknown): Promise<unknown> {
  if (Array.isArray(points) || points === null || typeof points !== 'object') return points;
  if (Symbol.asyncIterator in points || Symbol.iterator in points) {
    const out: unknown[] = [];
    for await (const p of points as AsyncIterable<unknown>) out.push(p);
    return out;
  }
  return points;
}

/** A small batch in one statement: `sp_put_points_bulk` over column arrays. */
async function putSmall(op: string, sql: Queryable, cols: PointColumns): Promise<number> {
  const keys = Array.from(cols.series, (s) => cols.keys[s]!);
  const ts = Array.from(cols.ms, (ms) => new Date(ms));
  const [row] = await run(
    op,
    sql<{ count: number }[]>`
      select matrices.sp_put_points_bulk(
        ${pgArray(keys)}::text[], ${pgArray(ts)}::timestamptz[], ${pgArray(cols.values)}::float8[],
        ${cols.attrs ? pgArray(cols.attrs) : null}::text[]::jsonb[]
      ) as count
    `,
  );
  return row?.count ?? 0;
}

/**
 * The latest point of every series that matches the filter (every series without one), ordered by
 * key: one row per series.
 *
 * Reads `matrices.v_latest_points` (one descent of the primary key per series).
 * @example
 * ```ts
 * const rows = await db.matrices.latestPoints({ matrixType: 'id_pct', symbol: 'BTCUSDT' });
 * ```
 * @throws ValidationError when the filter is malformed (nothing is sent)
 */
export async function latestPoints(
  sql: Queryable,
  filter: LatestPointsFilter = {},
): Promise<LatestPointRow[]> {
  const op = 'matrices.latestPoints';
  const f = parseInput(op, LatestPointsFilter, filter);
  const none = sql``;
  const rows = await run(
    op,
    sql`
      select series_id as "seriesId", key, name, scope, unit, target, symbol, base, quote,
             matrix_type as "matrixType", util.epoch_ms(ts) as ts, value, attrs
      from matrices.v_latest_points
      where true
        ${f.keys ? sql`and key = any(${pgArray(f.keys)}::text[])` : none}
        ${f.keyPrefix !== undefined ? sql`and key like ${prefixPattern(f.keyPrefix)}` : none}
        ${f.scope !== undefined ? sql`and scope = ${f.scope}` : none}
        ${f.symbol !== undefined ? sql`and symbol = ${f.symbol}` : none}
        ${f.matrixType !== undefined ? sql`and matrix_type = ${f.matrixType}` : none}
      order by key
    `,
  );
  return parseRows('matrices.v_latest_points', LatestPointRow, rows);
}

// Rows as our own query returns them (epoch ms as int8 text, at most 15 digits for years 1-9999)
// pass a light schema; anything else (a host's own type parsers) goes through the full codecs.
// Both are zod: every row is validated, and the union codec of `timestamptz` is paid only when needed.
const PointRowAsSent = z.object({
  seriesKey: z.string(),
  ts: z.string().regex(/^-?\d{1,15}$/),
  value: float8,
  attrs: jsonObjectRow.nullable(),
});

function parsePointRows(source: string, rows: readonly unknown[]): PointRow[] {
  const out = new Array<PointRow>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = PointRowAsSent.safeParse(rows[i]);
    out[i] = r.success
      ? {
          seriesKey: r.data.seriesKey,
          ts: new Date(Number(r.data.ts)),
          value: r.data.value,
          attrs: r.data.attrs,
        }
      : parseRow(source, PointRow, rows[i], i);
  }
  return out;
}

/**
 * The points of one or more series with `from <= ts < to` (an absent end is open), in one round
 * trip: by series in the order given (a key given twice counts once; an unknown key has no rows),
 * each in time order. Every row names its series (`seriesKey`).
 *
 * Reads `matrices.points` through its primary key.
 * @example
 * ```ts
 * const day = await db.matrices.pointsBetween({
 *   seriesKeys: ['id_pct:BTC/USDT', 'id_pct:ETH/USDT'],
 *   from: '2025-01-01T00:00:00Z',
 *   to: '2025-01-02T00:00:00Z',
 * }); // [{ seriesKey: 'id_pct:BTC/USDT', ts: Date, value: 0.25, attrs: null }, …]
 * ```
 * @throws ValidationError when a key or an instant is malformed (nothing is sent)
 */
export async function pointsBetween(sql: Queryable, input: PointsBetweenInput): Promise<PointRow[]> {
  const op = 'matrices.pointsBetween';
  const q = parseInput(op, PointsBetweenInput, input);
  const keys = [...new Set(q.seriesKeys)];
  const none = sql``;
  const range = sql`${q.from ? sql`and p.ts >= ${q.from}` : none} ${q.to ? sql`and p.ts < ${q.to}` : none}`;
  // one key (the common read) by plain equality: unnest's function scan and sort key measured slower
  const rows = await run(
    op,
    keys.length === 1
      ? sql`
          select s.key as "seriesKey", util.epoch_ms(p.ts) as ts, p.value, p.attrs
          from matrices.series s
          join matrices.points p on p.series_id = s.id ${range}
          where s.key = ${keys[0]!}
          order by p.ts
        `
      : sql`
          select k.key as "seriesKey", util.epoch_ms(p.ts) as ts, p.value, p.attrs
          from unnest(${pgArray(keys)}::text[]) with ordinality as k (key, ord)
          join matrices.series s on s.key = k.key
          join matrices.points p on p.series_id = s.id ${range}
          order by k.ord, p.ts
        `,
  );
  return parsePointRows('matrices.points', rows);
}

/** The coins of a grid as `matrices.grids` holds them (read as jsonb). */
const GridCoins = z.object({ coins: z.array(z.string()) });

/** The key of a grid cell: `<matrixType>:<BASE>/<QUOTE>`. */
function cellKey(matrixType: string, base: string, quote: string): string {
  return `${matrixType}:${base}/${quote}`;
}

/**
 * Writes an N x N grid (row = base, column = quote) at one instant as one bulk write: each finite
 * off-diagonal cell becomes a point of series `<matrixType>:<BASE>/<QUOTE>` (created with target
 * `{ matrixType, base, quote, symbol }`); the diagonal, null and non-finite cells are skipped (and a
 * point they held at this instant, from an earlier write of the same grid, is removed, as are the
 * cells of a coin the earlier write had and this one has not). The coin
 * order is kept in `matrices.grids` so `getGrid` returns the same matrix. Returns the points written.
 *
 * Wraps `matrices.sp_ensure_series_bulk`, a COPY into `matrices.points` and `matrices.grids`.
 * @example
 * ```ts
 * await db.matrices.putGrid({
 *   matrixType: 'id_pct', ts: Date.now(), coins: ['BTC', 'ETH', 'USDT'],
 *   values: [[null, 0.1, 0.2], [-0.1, null, 0.05], [-0.2, -0.05, null]],
 * }); // { points: 6 }
 * ```
 * @throws ValidationError when the input is malformed, e.g. not N x N (nothing is sent)
 * @throws ConnectionError when the connection is lost (the grid is written whole or not at all)
 */
export async function putGrid(sql: Queryable, input: PutGridInput): Promise<PutGridResult> {
  const op = 'matrices.putGrid';
  const g = parseInput(op, PutGridInput, input);
  const n = g.coins.length;
  const ms = g.ts.getTime();
  const keys: string[] = [];
  const targets: string[] = [];
  const values: number[] = [];
  const skipped: string[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const base = g.coins[i]!;
      const quote = g.coins[j]!;
      const key = cellKey(g.matrixType, base, quote);
      const v = g.values[i]![j];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        skipped.push(key);
        continue;
      }
      keys.push(key);
      values.push(v === 0 ? 0 : v); // -0 is stored as 0 (float8Input's rule, on every path)
      targets.push(JSON.stringify({ matrixType: g.matrixType, base, quote, symbol: `${base}${quote}` }));
    }
  }
  const cols: PointColumns = {
    size: keys.length,
    keys,
    series: Int32Array.from(keys, (_, k) => k),
    ms: new Float64Array(keys.length).fill(ms),
    values: Float64Array.from(values),
    attrs: null,
  };
  const written = await run(
    op,
    inTransaction(sql, async (tx) => {
      // the grid this one replaces: its cells over coins no longer in the grid go with it
      const previous = parseMaybe(
        'matrices.grids',
        GridCoins,
        await tx`
          select to_jsonb(coins) as coins from matrices.grids
          where matrix_type = ${g.matrixType} and ts = ${g.ts}
          for update
        `,
      );
      const kept = new Set(g.coins);
      const old = previous?.coins ?? [];
      for (const a of old) {
        for (const b of old) {
          if (a !== b && !(kept.has(a) && kept.has(b))) skipped.push(cellKey(g.matrixType, a, b));
        }
      }
      await tx`
        insert into matrices.grids (matrix_type, ts, coins)
        values (${g.matrixType}, ${g.ts}, ${pgArray(g.coins)}::text[])
        on conflict (matrix_type, ts) do update set coins = excluded.coins
      `;
      if (skipped.length > 0) {
        await tx`
          delete from matrices.points p using matrices.series s
          where s.id = p.series_id and s.key = any(${pgArray(skipped)}::text[]) and p.ts = ${g.ts}
        `;
      }
      if (keys.length === 0) return 0;
      return writeColumns(tx, cols, await resolveSeries(tx, keys, targets));
    }),
  );
  return { points: written };
}

const GridHead = GridCoins.extend({ ts: timestamptz });
const GridCellRow = z.object({ key: z.string(), value: float8 });

/**
 * The grid of a matrix type written by `putGrid` at `ts` (default: the latest), as
 * `{ ts, coins, values }` with `values[i][j]` the cell of base `coins[i]` in quote `coins[j]` and
 * `null` for the diagonal and every missing cell; `null` when there is no such grid.
 *
 * Reads `matrices.grids` and `matrices.points`.
 * @example
 * ```ts
 * const latest = await db.matrices.getGrid({ matrixType: 'id_pct' });
 * const then = await db.matrices.getGrid({ matrixType: 'id_pct', ts: '2025-01-01T00:00:40Z' });
 * ```
 * @throws ValidationError when the matrix type or the instant is malformed (nothing is sent)
 */
export async function getGrid(sql: Queryable, input: GetGridInput): Promise<GridRow | null> {
  const op = 'matrices.getGrid';
  const q = parseInput(op, GetGridInput, input);
  const heads = await run(
    op,
    sql`
      select util.epoch_ms(ts) as ts, to_jsonb(coins) as coins from matrices.grids
      where matrix_type = ${q.matrixType} ${q.ts ? sql`and ts = ${q.ts}` : sql``}
      order by ts desc
      limit 1
    `,
  );
  const head = parseMaybe('matrices.grids', GridHead, heads);
  if (!head) return null;
  const coins = head.coins;
  const where = new Map<string, [number, number]>();
  for (let i = 0; i < coins.length; i++) {
    for (let j = 0; j < coins.length; j++) {
      if (i !== j) where.set(cellKey(q.matrixType, coins[i]!, coins[j]!), [i, j]);
    }
  }
  const cells = parseRows(
    'matrices.points',
    GridCellRow,
    await run(
      op,
      sql`
        select s.key, p.value
        from matrices.series s
        join matrices.points p on p.series_id = s.id and p.ts = ${head.ts}
        where s.key = any(${pgArray([...where.keys()])}::text[])
      `,
    ),
  );
  const values = coins.map(() => coins.map((): number | null => null));
  for (const c of cells) {
    const at = where.get(c.key);
    if (at) values[at[0]]![at[1]] = c.value;
  }
  return { ts: head.ts, coins, values };
}
