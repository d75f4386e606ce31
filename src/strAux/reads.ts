/**
 * str_aux reads: cycles and windows of a span, the latest windows, stats and vectors, the health of
 * the flow and its gaps. Every read takes many symbols; each row names its symbol.
 */
import type { z } from 'zod';
import type { Queryable } from '../core/queryable.js';
import { pgArray } from '../core/arrays.js';
import { parseInput, parseRows, run } from '../core/run.js';
import { cycleColumns, sampleColumns, statsColumns, vectorColumns, windowColumns } from './columns.js';
import {
  CycleRow,
  CyclesBetweenInput,
  FlowGapRow,
  FlowGapsInput,
  HealthFilter,
  HealthRow,
  LatestWindowsFilter,
  Sample5sRow,
  SamplesBetweenInput,
  WindowRow,
  WindowStatsRow,
  WindowsBetweenInput,
  WindowVectorRow,
} from './schemas.js';

/**
 * The samples of these symbols with ts in [from, to), by symbol and time.
 *
 * Reads `str_aux.samples_5s`.
 * @example
 * ```ts
 * const rows = await db.strAux.samplesBetween({ symbols: ['BTCUSDT'], from: '2025-01-01T00:00:00Z', to: '2025-01-01T00:01:00Z' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function samplesBetween(sql: Queryable, input: SamplesBetweenInput): Promise<Sample5sRow[]> {
  const op = 'strAux.samplesBetween';
  const q = parseInput(op, SamplesBetweenInput, input);
  const rows = await run(
    op,
    sql`
      select ${sql.unsafe(sampleColumns('s'))} from str_aux.samples_5s s
      where s.symbol = any(${pgArray(q.symbols)}::text[]) and s.ts >= ${q.from} and s.ts < ${q.to}
      order by s.symbol, s.ts
    `,
  );
  return parseRows('str_aux.samples_5s', Sample5sRow, rows);
}

/**
 * The cycles of these symbols with cycleStart in [from, to) (of one spec when given), by symbol and time.
 *
 * Reads `str_aux.cycles_40s`.
 * @example
 * ```ts
 * const cycles = await db.strAux.cyclesBetween({ symbols: ['BTCUSDT', 'ETHUSDT'], from: '2025-01-01T00:00:00Z', to: '2025-01-01T01:00:00Z' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function cyclesBetween(sql: Queryable, input: CyclesBetweenInput): Promise<CycleRow[]> {
  const op = 'strAux.cyclesBetween';
  const q = parseInput(op, CyclesBetweenInput, input);
  const rows = await run(
    op,
    sql`
      select ${sql.unsafe(cycleColumns('c'))} from str_aux.cycles_40s c
      where c.symbol = any(${pgArray(q.symbols)}::text[]) and c.cycle_start >= ${q.from} and c.cycle_start < ${q.to}
        ${q.spec === undefined ? sql`` : sql`and c.spec = ${q.spec}`}
      order by c.symbol, c.spec, c.cycle_start
    `,
  );
  return parseRows('str_aux.cycles_40s', CycleRow, rows);
}

/**
 * The rows of one per-window table (`windows`, `window_stats`, `window_vectors`) whose windows match
 * the input (symbols, optional labels, windowStart in [from, to)), by symbol, label and time.
 */
async function windowTableRows<S extends z.ZodType>(
  sql: Queryable,
  op: string,
  input: WindowsBetweenInput,
  table: 'windows' | 'window_stats' | 'window_vectors',
  columns: (alias: string) => string,
  schema: S,
): Promise<z.output<S>[]> {
  const q = parseInput(op, WindowsBetweenInput, input);
  const rows = await run(
    op,
    sql`
      select ${sql.unsafe(columns('t'))} from ${sql.unsafe(`str_aux.${table}`)} t
      where t.symbol = any(${pgArray(q.symbols)}::text[]) and t.window_start >= ${q.from} and t.window_start < ${q.to}
        ${q.windows === undefined ? sql`` : sql`and t.window_label = any(${pgArray(q.windows)}::text[])`}
      order by t.symbol, t.window_label, t.window_start
    `,
  );
  return parseRows(`str_aux.${table}`, schema, rows);
}

/**
 * The windows of these symbols (and labels) with windowStart in [from, to), by symbol, label, time.
 *
 * Reads `str_aux.windows`.
 * @example
 * ```ts
 * const ws = await db.strAux.windowsBetween({ symbols: ['BTCUSDT'], windows: ['5m'], from: '2025-01-01T00:00:00Z', to: '2025-01-02T00:00:00Z' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function windowsBetween(sql: Queryable, input: WindowsBetweenInput): Promise<WindowRow[]> {
  return windowTableRows(sql, 'strAux.windowsBetween', input, 'windows', windowColumns, WindowRow);
}

/**
 * The latest window of every symbol and label matching the filter (all when empty).
 *
 * Reads `str_aux.v_latest_windows`.
 * @example
 * ```ts
 * const latest = await db.strAux.latestWindows({ symbols: ['BTCUSDT'], windows: ['1m', '5m'] });
 * ```
 * @throws ValidationError when the filter is malformed (nothing is sent)
 */
export async function latestWindows(sql: Queryable, filter: LatestWindowsFilter = {}): Promise<WindowRow[]> {
  const op = 'strAux.latestWindows';
  const f = parseInput(op, LatestWindowsFilter, filter);
  const rows = await run(
    op,
    sql`
      select ${sql.unsafe(windowColumns('w'))} from str_aux.v_latest_windows w
      where true
        ${f.symbols === undefined ? sql`` : sql`and w.symbol = any(${pgArray(f.symbols)}::text[])`}
        ${f.windows === undefined ? sql`` : sql`and w.window_label = any(${pgArray(f.windows)}::text[])`}
      order by w.symbol, w.window_label
    `,
  );
  return parseRows('str_aux.v_latest_windows', WindowRow, rows);
}

/**
 * The stats of the windows of these symbols (and labels) with windowStart in [from, to): mean,
 * population variance and population skewness of vInner and vOuter over each window's samples,
 * spread average and 95th percentile (`percentile_cont(0.95)`).
 *
 * Reads `str_aux.window_stats`.
 * @example
 * ```ts
 * const stats = await db.strAux.windowStats({ symbols: ['BTCUSDT'], windows: ['5m'], from: '2025-01-01T00:00:00Z', to: '2025-01-01T01:00:00Z' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function windowStats(sql: Queryable, input: WindowsBetweenInput): Promise<WindowStatsRow[]> {
  return windowTableRows(sql, 'strAux.windowStats', input, 'window_stats', statsColumns, WindowStatsRow);
}

/**
 * The vectors ({ inner, outer, swap, tend } each { avg, close }) of the windows of these symbols
 * (and labels) with windowStart in [from, to).
 *
 * Reads `str_aux.window_vectors`.
 * @example
 * ```ts
 * const vs = await db.strAux.windowVectors({ symbols: ['BTCUSDT'], from: '2025-01-01T00:00:00Z', to: '2025-01-01T01:00:00Z' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function windowVectors(sql: Queryable, input: WindowsBetweenInput): Promise<WindowVectorRow[]> {
  return windowTableRows(
    sql,
    'strAux.windowVectors',
    input,
    'window_vectors',
    vectorColumns,
    WindowVectorRow,
  );
}

/**
 * Per enabled symbol: its last sample, last cycle, the start of its latest window of each label, and
 * the seconds since its last sample (a symbol whose samples stopped shows a growing lag).
 *
 * Reads `str_aux.v_health`.
 * @example
 * ```ts
 * const stale = (await db.strAux.health()).filter((h) => (h.lagSeconds ?? Infinity) > 60);
 * ```
 * @throws ValidationError when the filter is malformed (nothing is sent)
 */
export async function health(sql: Queryable, filter: HealthFilter = {}): Promise<HealthRow[]> {
  const op = 'strAux.health';
  const f = parseInput(op, HealthFilter, filter);
  const rows = await run(
    op,
    sql`
      select h.symbol, h.spec, util.epoch_ms(h.last_sample_at) as "lastSampleAt",
             util.epoch_ms(h.last_cycle_start) as "lastCycleStart", h.last_windows as "lastWindows",
             h.lag_seconds as "lagSeconds"
      from str_aux.v_health h
      ${f.symbols === undefined ? sql`` : sql`where h.symbol = any(${pgArray(f.symbols)}::text[])`}
      order by h.symbol
    `,
  );
  return parseRows('str_aux.v_health', HealthRow, rows);
}

/**
 * Spans without samples longer than `minGapSeconds`: from a sample to the next one of its symbol,
 * and, for an enabled symbol whose samples stopped, from its last sample to now (`ongoing`,
 * `gapEnd` null). By symbol and start.
 *
 * Reads `str_aux.flow_gaps`.
 * @example
 * ```ts
 * const gaps = await db.strAux.flowGaps({ minGapSeconds: 30, symbols: ['BTCUSDT'] });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function flowGaps(sql: Queryable, input: FlowGapsInput): Promise<FlowGapRow[]> {
  const op = 'strAux.flowGaps';
  const q = parseInput(op, FlowGapsInput, input);
  const rows = await run(
    op,
    sql`
      select g.symbol, util.epoch_ms(g.gap_start) as "gapStart", util.epoch_ms(g.gap_end) as "gapEnd",
             g.gap_seconds as "gapSeconds", g.ongoing
      from str_aux.flow_gaps(${q.minGapSeconds}, ${q.symbols === undefined ? null : pgArray(q.symbols)}::text[]) g
      order by g.symbol, g.gap_start
    `,
  );
  return parseRows('str_aux.flow_gaps', FlowGapRow, rows);
}
