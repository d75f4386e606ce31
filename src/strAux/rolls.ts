/**
 * str_aux rolls: a cycle from its samples, a window from its cycles, every cycle of a span, the last
 * closed windows, the metronome's tick and the backfill. Every roll is idempotent (rolling the same
 * span twice gives identical rows; an unchanged row is not rewritten).
 */
import { z } from 'zod';
import { int8 } from '../core/codecs.js';
import { inTransaction, type Queryable } from '../core/queryable.js';
import { parseInput, parseMaybe, parseOne, parseRows, run } from '../core/run.js';
import { cycleColumns, windowColumns } from './columns.js';
import {
  BackfillInput,
  type BackfillResult,
  CycleRow,
  RollAllCyclesBetweenInput,
  RollCycleInput,
  RollWindowInput,
  TickResult,
  TryRollAllWindowsNowInput,
  WindowRow,
} from './schemas.js';

/**
 * Rolls one cycle from its samples and returns it, or `null` when the cycle holds no sample (a
 * stored row is then removed). `cycleStart` must be an epoch multiple of the spec's cycle seconds
 * (40 s by default); `spec` defaults to the symbol's.
 *
 * Wraps `str_aux.sp_roll_cycle_40s`.
 * @example
 * ```ts
 * const c = await db.strAux.rollCycle40s({ symbol: 'BTCUSDT', cycleStart: '2025-01-01T00:00:40Z' });
 * // c?.samplesCount === 8 for a full cycle of 5 s samples
 * ```
 * @throws ValidationError when the input is malformed, the start is not aligned, the spec is
 * unknown or the symbol is not in market.symbols
 */
export async function rollCycle40s(sql: Queryable, input: RollCycleInput): Promise<CycleRow | null> {
  const op = 'strAux.rollCycle40s';
  const q = parseInput(op, RollCycleInput, input);
  const rows = await run(
    op,
    sql`
      select ${sql.unsafe(cycleColumns('c'))}
      from str_aux.sp_roll_cycle_40s(${q.symbol}, ${q.cycleStart}, ${q.spec ?? null}) c
    `,
  );
  return parseMaybe('str_aux.sp_roll_cycle_40s', CycleRow, rows);
}

/**
 * Rolls one window from its cycles (those with cycleStart in [windowStart, windowStart + duration))
 * and returns it, or `null` when it holds no cycle. Averages are weighted by each cycle's count of
 * non-null values (a window's average is the plain average over its samples), min of mins, max of
 * maxes, closes from the last cycle holding one. `window` is any settings.windows label (one added
 * at run time too); `windowStart` an epoch multiple of its duration. A window whose row changed
 * loses its stats and vector until they are computed again (`tickAll`, `backfillBetween`).
 *
 * Wraps `str_aux.sp_roll_window_from_cycles`.
 * @example
 * ```ts
 * const w = await db.strAux.rollWindowFromCycles({ symbol: 'BTCUSDT', window: '5m', windowStart: '2025-01-01T00:00:00Z' });
 * // w?.cyclesCount === 8 when every cycle of the 5 minutes holds samples
 * ```
 * @throws ValidationError when the input is malformed, the label is not in settings.windows (nothing
 * is written), the start is not aligned or the symbol is not in market.symbols
 */
export async function rollWindowFromCycles(
  sql: Queryable,
  input: RollWindowInput,
): Promise<WindowRow | null> {
  const op = 'strAux.rollWindowFromCycles';
  const q = parseInput(op, RollWindowInput, input);
  const rows = await run(
    op,
    sql`
      select ${sql.unsafe(windowColumns('w'))}
      from str_aux.sp_roll_window_from_cycles(${q.symbol}, ${q.window}, ${q.windowStart}, ${q.spec ?? null}) w
    `,
  );
  return parseMaybe('str_aux.sp_roll_window_from_cycles', WindowRow, rows);
}

const Cycles = z.object({ cycles: int8 });
const Windows = z.object({ windows: int8 });

/**
 * Rolls every cycle overlapping [from, to) (of one symbol, or of every symbol) from the samples,
 * and returns how many hold samples. Cycles left without samples are removed.
 *
 * Wraps `str_aux.roll_all_cycles_between`.
 * @example
 * ```ts
 * const { cycles } = await db.strAux.rollAllCyclesBetween({ from: '2025-01-01T00:00:00Z', to: '2025-01-01T01:00:00Z' });
 * ```
 * @throws ValidationError when the input is malformed, the spec is unknown or the symbol is not in market.symbols
 */
export async function rollAllCyclesBetween(
  sql: Queryable,
  input: RollAllCyclesBetweenInput,
): Promise<{ cycles: number }> {
  const op = 'strAux.rollAllCyclesBetween';
  const q = parseInput(op, RollAllCyclesBetweenInput, input);
  const rows = await run(
    op,
    sql`select str_aux.roll_all_cycles_between(${q.from}, ${q.to}, ${q.spec ?? null}, ${q.symbol ?? null}) as cycles`,
  );
  return parseOne('str_aux.roll_all_cycles_between', Cycles, rows);
}

/**
 * Rolls the last fully closed window of every label for every enabled symbol (of one spec when
 * given), computes the stats and vectors they lack, and returns how many windows hold cycles.
 *
 * Wraps `str_aux.try_roll_all_windows_now_for_all`.
 * @example
 * ```ts
 * const { windows } = await db.strAux.tryRollAllWindowsNow();
 * ```
 * @throws ValidationError when the spec is malformed or unknown
 */
export async function tryRollAllWindowsNow(
  sql: Queryable,
  input: TryRollAllWindowsNowInput = {},
): Promise<{ windows: number }> {
  const op = 'strAux.tryRollAllWindowsNow';
  const q = parseInput(op, TryRollAllWindowsNowInput, input);
  const rows = await run(
    op,
    sql`select str_aux.try_roll_all_windows_now_for_all(${q.spec ?? null}) as windows`,
  );
  return parseOne('str_aux.try_roll_all_windows_now_for_all', Windows, rows);
}

/**
 * The metronome's one-shot refresh, for every enabled symbol: rolls again every window holding a
 * cycle changed since the last tick (late or corrected samples: the sample triggers roll the cycle
 * at once and queue it), rolls the last closed window of every label, and computes the stats and
 * vectors those windows lack. A disabled symbol is not rolled (its queued cycles wait).
 *
 * Wraps `str_aux.tick_all`.
 * @example
 * ```ts
 * const t = await db.strAux.tickAll(); // { pendingCycles, windows, computed }
 * ```
 * @throws ConnectionError when the database cannot be reached
 */
export async function tickAll(sql: Queryable): Promise<TickResult> {
  const op = 'strAux.tickAll';
  const rows = await run(
    op,
    sql`select pending_cycles as "pendingCycles", windows, computed from str_aux.tick_all()`,
  );
  return parseOne('str_aux.tick_all', TickResult, rows);
}

const BackfillRow = z.object({ cycles: int8, windows: int8 });
const SymbolRow = z.object({ symbol: z.string() });

/**
 * Rolls everything the samples of [from, to) feed, as live rolling does: every cycle overlapping
 * the span, every window of each of the symbol's labels overlapping those cycles, with stats and
 * vectors (and clears their pending marks). One symbol, or every symbol holding samples in the span,
 * one symbol at a time (one transaction each), reporting progress after each. Returns the cycles and
 * windows that hold data.
 *
 * Wraps `str_aux.backfill_between`.
 * @example
 * ```ts
 * const r = await db.strAux.backfillBetween({
 *   from: '2025-01-01T00:00:00Z', to: '2025-01-02T00:00:00Z',
 *   onProgress: (p) => console.log(`${p.done}/${p.total} ${p.symbol}`),
 * }); // { cycles, windows }
 * ```
 * @throws ValidationError when the input is malformed or the symbol is not in market.symbols
 */
export async function backfillBetween(sql: Queryable, input: BackfillInput): Promise<BackfillResult> {
  const op = 'strAux.backfillBetween';
  const q = parseInput(op, BackfillInput, input);
  let symbols: string[];
  if (q.symbol !== undefined) symbols = [q.symbol];
  else {
    const rows = await run(
      op,
      sql`
        select m.symbol from market.symbols m
        where exists (select 1 from str_aux.samples_5s s where s.symbol = m.symbol and s.ts >= ${q.from} - interval '1 day' and s.ts < ${q.to})
           or exists (select 1 from str_aux.cycles_40s c where c.symbol = m.symbol and c.cycle_start >= ${q.from} - interval '1 day' and c.cycle_start < ${q.to})
        order by m.symbol
      `,
    );
    symbols = parseRows('market.symbols', SymbolRow, rows).map((r) => r.symbol);
  }
  const total = { cycles: 0, windows: 0 };
  for (let i = 0; i < symbols.length; i++) {
    const symbol = symbols[i]!;
    const rows = await run(
      op,
      inTransaction(
        sql,
        (tx) => tx`select cycles, windows from str_aux.backfill_between(${symbol}, ${q.from}, ${q.to})`,
      ),
    );
    const r = parseOne('str_aux.backfill_between', BackfillRow, rows);
    total.cycles += r.cycles;
    total.windows += r.windows;
    q.onProgress?.({ done: i + 1, total: symbols.length, symbol, cycles: r.cycles, windows: r.windows });
  }
  return total;
}
