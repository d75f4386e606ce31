/** mea_dynamics.mea_symbol: each coin's wallet value, mea value (id_pct) and tier per cycle. */
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import { float8Input, int8, text, timestamptz, uuid } from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseOne, parseRows, run } from '../core/run.js';
import { windowLabel } from './fields.js';
import { coin } from './fields.js';
import { Tier, tierFor } from './rules.js';

/** One coin of a cycle; its tier defaults to `tierFor(meaValue)` and, when given, must equal it. */
export const MeaSymbolInput = z
  .strictObject({
    symbol: coin,
    walletValue: float8Input.nullable().optional(),
    /** The coin's id_pct: its magnitude gives the tier. */
    meaValue: float8Input,
    tier: Tier.optional(),
    mood: text({ min: 1, max: 64 }).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.tier !== undefined && r.tier !== tierFor(r.meaValue))
      ctx.addIssue({ code: 'custom', path: ['tier'], message: 'must be tierFor(meaValue)' });
  });
export type MeaSymbolInput = Omit<z.input<typeof MeaSymbolInput>, 'tier'> & {
  tier?: Tier | (string & {}) | undefined;
};

/** Options of `putMeaSymbols`. */
export const PutMeaSymbolsOptions = z.strictObject({ cycleId: uuid });
export type PutMeaSymbolsOptions = z.input<typeof PutMeaSymbolsOptions>;

/** What `putMeaSymbols` wrote. */
export const PutMeaSymbolsResult = z.object({ written: z.int().nonnegative() });
export type PutMeaSymbolsResult = z.infer<typeof PutMeaSymbolsResult>;

/**
 * Stores many coins of one cycle in one statement (a coin given again replaces its row; within one
 * call the last one wins).
 *
 * Wraps `mea_dynamics.sp_put_mea_symbols`.
 * @example
 * ```ts
 * await db.mea.putMeaSymbols([{ symbol: 'BTC', meaValue: 0.0005, walletValue: 1200 }], { cycleId });
 * ```
 * @throws ValidationError when a row is malformed or its tier is not `tierFor(meaValue)` (nothing is sent)
 * @throws NotFoundError when there is no such cycle (`entity` `'mea_dynamics.cycle'`, `key` `{ id }`)
 */
export async function putMeaSymbols(
  sql: Queryable,
  rows: readonly MeaSymbolInput[],
  options: PutMeaSymbolsOptions,
): Promise<PutMeaSymbolsResult> {
  const op = 'mea.putMeaSymbols';
  const list = parseInput(op, z.array(MeaSymbolInput).max(100_000).readonly(), rows);
  const { cycleId } = parseInput(op, PutMeaSymbolsOptions, options);
  const out = await run(
    op,
    sql`
      select mea_dynamics.sp_put_mea_symbols(${cycleId}, ${pgArray(list.map((r) => r.symbol))}::text[],
        ${pgArray(list.map((r) => r.walletValue ?? null))}::float8[], ${pgArray(list.map((r) => r.meaValue))}::float8[],
        ${pgArray(list.map((r) => r.tier ?? null))}::text[], ${pgArray(list.map((r) => r.mood ?? null))}::text[]) as written
    `,
    { entity: 'mea_dynamics.cycle', key: { id: cycleId } },
  );
  return parseOne('mea_dynamics.sp_put_mea_symbols', PutMeaSymbolsResult, out);
}

/** A row of `mea_dynamics.mea_latest_per_symbol`. */
export const MeaSymbolRow = z.object({
  window: z.string(),
  engineCycle: int8,
  cycleId: uuid,
  symbol: z.string(),
  walletValue: z.number().nullable(),
  meaValue: z.number(),
  tier: Tier,
  mood: z.string().nullable(),
  updatedAt: timestamptz,
});
export type MeaSymbolRow = z.infer<typeof MeaSymbolRow>;

/** Input of `meaLatestPerSymbol`. */
export const MeaLatestInput = z.strictObject({
  windows: z.array(windowLabel).min(1).max(10_000).readonly().optional(),
  symbols: z.array(coin).min(1).max(10_000).readonly().optional(),
});
export type MeaLatestInput = z.input<typeof MeaLatestInput>;

/**
 * Each coin's row from the latest cycle (per window) that holds it, by window then symbol.
 *
 * Reads `mea_dynamics.mea_latest_per_symbol`.
 * @example
 * ```ts
 * const rows = await db.mea.meaLatestPerSymbol({ windows: ['1h'], symbols: ['BTC'] });
 * ```
 * @throws ValidationError when a filter is malformed (nothing is sent)
 */
export async function meaLatestPerSymbol(
  sql: Queryable,
  input: MeaLatestInput = {},
): Promise<MeaSymbolRow[]> {
  const op = 'mea.meaLatestPerSymbol';
  const i = parseInput(op, MeaLatestInput, input);
  const rows = await run(
    op,
    sql`
      select v.window_label as "window", v.engine_cycle as "engineCycle", v.cycle_id as "cycleId", v.symbol,
             v.wallet_value as "walletValue", v.mea_value as "meaValue", v.tier, v.mood,
             util.epoch_ms(v.updated_at) as "updatedAt"
      from mea_dynamics.mea_latest_per_symbol v
      where ${i.windows ? sql`v.window_label = any(${pgArray(i.windows)}::text[])` : sql`true`}
        and ${i.symbols ? sql`v.symbol = any(${pgArray(i.symbols)}::text[])` : sql`true`}
      order by v.window_label, v.symbol
    `,
  );
  return parseRows('mea_dynamics.mea_latest_per_symbol', MeaSymbolRow, rows);
}
