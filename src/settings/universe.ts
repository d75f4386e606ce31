/**
 * settings.coin_universe: the symbols the system samples, mirrored to market.symbols by triggers;
 * settings.universe_batch_ops, an inbox of whole-universe updates. Change events: `universe-events.ts`.
 */
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import { int8, symbol, timestamptz } from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseOne, parseRows, run } from '../core/run.js';
import { inputObject } from './fields.js';

/** A row of `settings.v_coin_universe_simple`. */
export const CoinUniverseRow = z.object({
  symbol: z.string(),
  base: z.string(),
  quote: z.string(),
  enabled: z.boolean(),
  sortOrder: z.int(),
});
export type CoinUniverseRow = z.output<typeof CoinUniverseRow>;

/** Symbols of one universe update: at most 10 000 upper-case symbols (a readonly array is fine). */
const Symbols = z.array(symbol, { error: 'expected an array of symbols' }).max(10_000).readonly();

/** Input of `syncCoinUniverse` in its object form: the symbols, and whether every other symbol is disabled (default true). */
export const SyncCoinUniverseInput = inputObject({
  symbols: Symbols,
  autoDisable: z.boolean({ error: 'expected true or false' }).optional(),
});
/** Input of `syncCoinUniverse`: the symbols alone (every other symbol is disabled), or `{ symbols, autoDisable }`. */
export type SyncCoinUniverseInput = readonly string[] | z.input<typeof SyncCoinUniverseInput>;

/**
 * What `syncCoinUniverse` did: `enabledCount` symbols given (all enabled now, duplicates counted once),
 * `disabledCount` symbols this call switched off.
 */
export const SyncCoinUniverseResult = z.object({ enabledCount: z.int(), disabledCount: z.int() });
export type SyncCoinUniverseResult = z.output<typeof SyncCoinUniverseResult>;

/** Input of `listCoinUniverse`: all symbols, or only the enabled (`true`) or disabled (`false`) ones. */
export const ListCoinUniverseInput = inputObject({
  enabled: z.boolean({ error: 'expected true or false' }).optional(),
});
export type ListCoinUniverseInput = z.input<typeof ListCoinUniverseInput>;

/** What `mirrorUniverseToMarket` did: market symbols inserted or changed, assets created. */
export const MirrorResult = z.object({ symbolsUpserted: z.int(), assetsCreated: z.int() });
export type MirrorResult = z.output<typeof MirrorResult>;

/** A row of `settings.universe_batch_ops`: an applied whole-universe update. */
export const UniverseBatchRow = z.object({
  id: int8,
  symbols: z.array(z.string()),
  autoDisable: z.boolean(),
  requestedAt: timestamptz,
  appliedAt: timestamptz.nullable(),
  enabledCount: z.int().nullable(),
  disabledCount: z.int().nullable(),
});
export type UniverseBatchRow = z.output<typeof UniverseBatchRow>;

/** Input of `queueUniverseBatch`. */
export const QueueUniverseBatchInput = inputObject({
  symbols: Symbols,
  autoDisable: z.boolean({ error: 'expected true or false' }).optional(),
});
export type QueueUniverseBatchInput = z.input<typeof QueueUniverseBatchInput>;

/**
 * Makes the enabled universe exactly these symbols (or, with `autoDisable: false`, only enables them).
 *
 * Wraps `settings.sp_sync_coin_universe`: new symbols are split into base and quote by the longest
 * known quote, and market.symbols mirrors the change (status TRADING / OFF, exchange filters kept).
 * Idempotent, callable many times in one transaction; concurrent calls are serialized.
 * @example
 * ```ts
 * await db.settings.syncCoinUniverse(['BTCUSDT', 'ETHUSDT']); // { enabledCount: 2, disabledCount: 0 }
 * await db.settings.syncCoinUniverse({ symbols: ['SOLUSDT'], autoDisable: false });
 * ```
 * @throws ValidationError when a symbol is malformed or ends with no known quote (nothing is written)
 */
export async function syncCoinUniverse(
  sql: Queryable,
  input: SyncCoinUniverseInput,
): Promise<SyncCoinUniverseResult> {
  const op = 'settings.syncCoinUniverse';
  const { symbols, autoDisable = true } = parseInput(
    op,
    SyncCoinUniverseInput,
    Array.isArray(input) ? { symbols: input } : input,
  );
  const rows = await run(
    op,
    sql`
      select enabled_count as "enabledCount", disabled_count as "disabledCount"
      from settings.sp_sync_coin_universe(${pgArray(symbols)}::text[], ${autoDisable})
    `,
  );
  return parseOne('settings.sp_sync_coin_universe', SyncCoinUniverseResult, rows);
}

/**
 * Lists the universe ordered by sort order then symbol; `{ enabled: true }` for the enabled symbols only.
 *
 * Reads `settings.v_coin_universe_simple`.
 * @example
 * ```ts
 * const live = await db.settings.listCoinUniverse({ enabled: true });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function listCoinUniverse(
  sql: Queryable,
  input: ListCoinUniverseInput = {},
): Promise<CoinUniverseRow[]> {
  const op = 'settings.listCoinUniverse';
  const { enabled = null } = parseInput(op, ListCoinUniverseInput, input);
  const rows = await run(
    op,
    sql`
      select symbol, base, quote, enabled, sort_order as "sortOrder"
      from settings.v_coin_universe_simple
      where ${enabled}::boolean is null or enabled = ${enabled}::boolean
      order by sort_order, symbol
    `,
  );
  return parseRows('settings.v_coin_universe_simple', CoinUniverseRow, rows);
}

/**
 * Mirrors the whole universe to market.symbols and market.assets, keeping exchange filters and metadata.
 *
 * Wraps `settings.sp_mirror_universe_to_market` (the universe triggers already mirror every change;
 * this repairs a market schema that was edited by hand or restored).
 * @example
 * ```ts
 * const { symbolsUpserted, assetsCreated } = await db.settings.mirrorUniverseToMarket();
 * ```
 * @throws IntegrityError when the result no longer matches `MirrorResult`
 */
export async function mirrorUniverseToMarket(sql: Queryable): Promise<MirrorResult> {
  const op = 'settings.mirrorUniverseToMarket';
  const rows = await run(
    op,
    sql`
      select symbols_upserted as "symbolsUpserted", assets_created as "assetsCreated"
      from settings.sp_mirror_universe_to_market()
    `,
  );
  return parseOne('settings.sp_mirror_universe_to_market', MirrorResult, rows);
}

/**
 * Queues a whole-universe update: inserting it into `settings.universe_batch_ops` applies it at once
 * (through `sp_sync_coin_universe`) and records the counts and the time applied on the row.
 *
 * @example
 * ```ts
 * const batch = await db.settings.queueUniverseBatch({ symbols: ['BTCUSDT', 'ETHUSDT'] });
 * // batch.appliedAt is set, batch.enabledCount === 2
 * ```
 * @throws ValidationError when a symbol is malformed or ends with no known quote (nothing is written)
 */
export async function queueUniverseBatch(
  sql: Queryable,
  input: QueueUniverseBatchInput,
): Promise<UniverseBatchRow> {
  const op = 'settings.queueUniverseBatch';
  const { symbols, autoDisable = true } = parseInput(op, QueueUniverseBatchInput, input);
  const rows = await run(
    op,
    sql`
      insert into settings.universe_batch_ops (symbols, auto_disable)
      values (${pgArray(symbols)}::text[], ${autoDisable})
      returning id, to_jsonb(symbols) as symbols, auto_disable as "autoDisable",
                util.epoch_ms(requested_at) as "requestedAt", util.epoch_ms(applied_at) as "appliedAt",
                enabled_count as "enabledCount", disabled_count as "disabledCount"
    `,
  );
  return parseOne('settings.universe_batch_ops', UniverseBatchRow, rows);
}
