/** mea_dynamics cycles: started per (window, engine cycle), cooled once; the latest cooled per window. */
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import { assetCode, instant, int8, timestamptz, uuid } from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseOne, parseRows, run } from '../core/run.js';
import { coin, windowLabel } from './fields.js';

/** A row of `mea_dynamics.cycles`. */
export const CycleRow = z.object({
  id: uuid,
  window: z.string(),
  engineCycle: int8,
  sessionId: uuid.nullable(),
  startedAt: timestamptz,
  cooled: z.boolean(),
  cooledAt: timestamptz.nullable(),
  base: z.string().nullable(),
  quote: z.string().nullable(),
  coins: z.array(z.string()),
});
export type CycleRow = z.infer<typeof CycleRow>;

const CYCLE_COLUMNS = (sql: Queryable) => sql`
  c.id, c.window_label as "window", c.engine_cycle as "engineCycle", c.session_id as "sessionId",
  util.epoch_ms(c.started_at) as "startedAt", c.cooled, util.epoch_ms(c.cooled_at) as "cooledAt",
  c.base, c.quote, to_jsonb(c.coins) as coins
`;

/** Input of `startCycle`. */
export const StartCycleInput = z.strictObject({
  window: windowLabel,
  engineCycle: z.int().nonnegative(),
  /** Default now. */
  startedAt: instant.optional(),
  base: assetCode.optional(),
  quote: assetCode.optional(),
  coins: z.array(coin).max(10_000).readonly().optional(),
  /** The cin_aux session the cycle allocates for. */
  sessionId: uuid.optional(),
});
export type StartCycleInput = z.input<typeof StartCycleInput>;

/**
 * Starts a cycle and returns it; starting the same (window, engine cycle) again returns the same row.
 *
 * Wraps `mea_dynamics.sp_start_cycle`.
 * @example
 * ```ts
 * const c = await db.mea.startCycle({ window: '1h', engineCycle: 42, coins: ['BTC', 'ETH'] });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent) or the window is unknown
 */
export async function startCycle(sql: Queryable, input: StartCycleInput): Promise<CycleRow> {
  const op = 'mea.startCycle';
  const i = parseInput(op, StartCycleInput, input);
  const rows = await run(
    op,
    sql`
      select ${CYCLE_COLUMNS(sql)}
      from mea_dynamics.sp_start_cycle(${i.window}, ${i.engineCycle}, ${i.startedAt ?? null}::timestamptz,
        ${i.base ?? null}, ${i.quote ?? null}, ${i.coins ? pgArray(i.coins) : null}::text[], ${i.sessionId ?? null}::uuid) c
    `,
  );
  return parseOne('mea_dynamics.sp_start_cycle', CycleRow, rows);
}

/** Input of `coolCycle`. */
export const CoolCycleInput = z.strictObject({ window: windowLabel, engineCycle: z.int().nonnegative() });
export type CoolCycleInput = z.input<typeof CoolCycleInput>;

/**
 * Marks a cycle cooled (its first cooling time is kept) and returns it.
 *
 * Wraps `mea_dynamics.sp_cool_cycle`.
 * @example
 * ```ts
 * await db.mea.coolCycle({ window: '1h', engineCycle: 42 });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 * @throws NotFoundError when there is no such cycle (`entity` `'mea_dynamics.cycle'`, `key` `{ window, engineCycle }`)
 */
export async function coolCycle(sql: Queryable, input: CoolCycleInput): Promise<CycleRow> {
  const op = 'mea.coolCycle';
  const i = parseInput(op, CoolCycleInput, input);
  const rows = await run(
    op,
    sql`select ${CYCLE_COLUMNS(sql)} from mea_dynamics.sp_cool_cycle(${i.window}, ${i.engineCycle}) c`,
    { entity: 'mea_dynamics.cycle', key: { window: i.window, engineCycle: i.engineCycle } },
  );
  return parseOne('mea_dynamics.sp_cool_cycle', CycleRow, rows);
}

/** Input of the per-window reads: these windows (default every window). */
export const WindowsInput = z.strictObject({
  windows: z.array(windowLabel).min(1).max(10_000).readonly().optional(),
});
export type WindowsInput = z.input<typeof WindowsInput>;

/**
 * The latest cooled cycle (highest engine cycle) of each window, by window.
 *
 * Reads `mea_dynamics.latest_cooled_cycle`.
 * @example
 * ```ts
 * const [c] = await db.mea.latestCooledCycle({ windows: ['1h'] });
 * ```
 * @throws ValidationError when a window label is malformed (nothing is sent)
 */
export async function latestCooledCycle(sql: Queryable, input: WindowsInput = {}): Promise<CycleRow[]> {
  const op = 'mea.latestCooledCycle';
  const i = parseInput(op, WindowsInput, input);
  const rows = await run(
    op,
    sql`
      select ${CYCLE_COLUMNS(sql)} from mea_dynamics.latest_cooled_cycle c
      where ${i.windows ? sql`c.window_label = any(${pgArray(i.windows)}::text[])` : sql`true`}
      order by c.window_label
    `,
  );
  return parseRows('mea_dynamics.latest_cooled_cycle', CycleRow, rows);
}
