/**
 * What a session is given from outside: capital (`fund`), prices (`addMark`) and reference values
 * (`setReference`, `setReferencesFromWallet`).
 */
import { z } from 'zod';
import { assetCode, decimal, instant, recordOf, timestamptz, uuid } from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { RUNTIME_COLUMNS } from './columns.js';
import { parseInput, parseOne, parseRows } from '../core/run.js';
import { ledgerRun, nonNegativeAmount, positiveAmount, SESSION, sessionId } from './fields.js';

/** A row of `cin_aux.runtime_balances`: an asset's current buckets and units in a session. */
export const RuntimeBalanceRow = z.object({
  sessionId: uuid,
  asset: z.string(),
  principalUsdt: decimal,
  profitUsdt: decimal,
  units: decimal,
  updatedAt: timestamptz,
});
export type RuntimeBalanceRow = z.infer<typeof RuntimeBalanceRow>;

/** Input of `fund`: capital brought into a session as principal. */
export const FundInput = z.strictObject({
  sessionId,
  /** A `market.assets` code. */
  asset: assetCode,
  /** The USDT value brought in (> 0). */
  usdt: positiveAmount,
  /** Units brought in (> 0); with `priceUsdt` alone, `usdt / priceUsdt` (18 decimals). */
  units: positiveAmount.optional(),
  /** The entry price of the lot (> 0); with `units` alone, `usdt / units`. */
  priceUsdt: positiveAmount.optional(),
});
export type FundInput = z.input<typeof FundInput>;

/**
 * Credits capital to a session's asset as principal (and opening principal); with `units` or
 * `priceUsdt`, also its units and a FIFO lot at that entry price. Returns the asset's runtime row.
 *
 * Wraps `cin_aux.sp_fund`.
 * @example
 * ```ts
 * await db.cinAux.fund({ sessionId, asset: 'USDT', usdt: '1000', units: '1000', priceUsdt: '1' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent), the asset is unknown or
 *   the session is closed (issue path names the field)
 * @throws NotFoundError when there is no such session (`entity` `'cin_aux.session'`, `key` `{ id }`)
 */
export async function fund(sql: Queryable, input: FundInput): Promise<RuntimeBalanceRow> {
  const op = 'cinAux.fund';
  const i = parseInput(op, FundInput, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select ${RUNTIME_COLUMNS(sql)}
      from cin_aux.sp_fund(${i.sessionId}, ${i.asset}, ${i.usdt}::numeric, ${i.units ?? null}::numeric,
        ${i.priceUsdt ?? null}::numeric) r
    `,
    { entity: SESSION, key: { id: i.sessionId } },
  );
  return parseOne('cin_aux.sp_fund', RuntimeBalanceRow, rows);
}

/** A row of `cin_aux.marks`. */
export const MarkRow = z.object({
  sessionId: uuid,
  asset: z.string(),
  ts: timestamptz,
  priceUsdt: decimal,
  bulkUsdt: decimal,
});
export type MarkRow = z.infer<typeof MarkRow>;

/** Input of `addMark`. */
export const AddMarkInput = z.strictObject({
  sessionId,
  asset: assetCode,
  priceUsdt: positiveAmount,
  /** Default now. A mark at the same instant is replaced. */
  ts: instant.optional(),
  /** The asset's total USDT value (default: units held × price, 18 decimals). */
  bulkUsdt: nonNegativeAmount.optional(),
});
export type AddMarkInput = z.input<typeof AddMarkInput>;

/**
 * Records an asset's USDT price (and bulk value) at an instant.
 *
 * Wraps `cin_aux.sp_add_mark`.
 * @example
 * ```ts
 * const m = await db.cinAux.addMark({ sessionId, asset: 'BTC', priceUsdt: '44000' }); // m.bulkUsdt === '440'
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent), the asset is unknown or
 *   the session is closed
 * @throws NotFoundError when there is no such session
 */
export async function addMark(sql: Queryable, input: AddMarkInput): Promise<MarkRow> {
  const op = 'cinAux.addMark';
  const i = parseInput(op, AddMarkInput, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select m.session_id as "sessionId", m.asset, util.epoch_ms(m.ts) as ts,
             trim_scale(m.price_usdt)::text as "priceUsdt", trim_scale(m.bulk_usdt)::text as "bulkUsdt"
      from cin_aux.sp_add_mark(${i.sessionId}, ${i.asset}, ${i.priceUsdt}::numeric, ${i.ts ?? null}::timestamptz,
        ${i.bulkUsdt ?? null}::numeric) m
    `,
    { entity: SESSION, key: { id: i.sessionId } },
  );
  return parseOne('cin_aux.sp_add_mark', MarkRow, rows);
}

/** Where a reference value came from. */
export const ReferenceSource = z.enum(['manual', 'wallet']);
export type ReferenceSource = z.infer<typeof ReferenceSource>;

/** A row of `cin_aux.references`. */
export const ReferenceRow = z.object({
  sessionId: uuid,
  asset: z.string(),
  refUsdt: decimal,
  source: ReferenceSource,
  /** For a wallet reference: the instant of the balances it was taken from. */
  asOf: timestamptz.nullable(),
  updatedAt: timestamptz,
});
export type ReferenceRow = z.infer<typeof ReferenceRow>;

const REFERENCE_COLUMNS = (sql: Queryable) => sql`
  r.session_id as "sessionId", r.asset, trim_scale(r.ref_usdt)::text as "refUsdt", r.source,
  util.epoch_ms(r.as_of) as "asOf", util.epoch_ms(r.updated_at) as "updatedAt"
`;

/** Input of `setReference`. */
export const SetReferenceInput = z.strictObject({
  sessionId,
  asset: assetCode,
  /** What an outside source says the asset is worth in USDT (>= 0). */
  refUsdt: nonNegativeAmount,
});
export type SetReferenceInput = z.input<typeof SetReferenceInput>;

/**
 * Sets an asset's reference USDT value (replacing the previous one).
 *
 * Wraps `cin_aux.sp_set_reference`.
 * @example
 * ```ts
 * await db.cinAux.setReference({ sessionId, asset: 'USDT', refUsdt: '600' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent), the asset is unknown or
 *   the session is closed
 * @throws NotFoundError when there is no such session
 */
export async function setReference(sql: Queryable, input: SetReferenceInput): Promise<ReferenceRow> {
  const op = 'cinAux.setReference';
  const i = parseInput(op, SetReferenceInput, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select ${REFERENCE_COLUMNS(sql)}
      from cin_aux.sp_set_reference(${i.sessionId}, ${i.asset}, ${i.refUsdt}::numeric) r
    `,
    { entity: SESSION, key: { id: i.sessionId } },
  );
  return parseOne('cin_aux.sp_set_reference', ReferenceRow, rows);
}

/** Input of `setReferencesFromWallet`. */
export const SetReferencesFromWalletInput = z.strictObject({
  sessionId,
  /** The balances at this instant (default now): last snapshot at or before it plus the moves up to it. */
  at: instant.optional(),
  /** USDT prices per asset; without one, the session's last mark at or before `at` (USDT: 1). */
  prices: recordOf(assetCode, positiveAmount).optional(),
});
export type SetReferencesFromWalletInput = z.input<typeof SetReferencesFromWalletInput>;

/**
 * Takes the session's references from its wallet account's balances: per asset, balance × USDT
 * price (from `prices`, else the session's last mark, else 1 for USDT). Returns the references set,
 * by asset.
 *
 * Wraps `cin_aux.sp_set_references_from_wallet` (reads `wallet.snapshots` and `wallet.moves`).
 * @example
 * ```ts
 * const refs = await db.cinAux.setReferencesFromWallet({ sessionId, prices: { BTC: '44000' } });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent), the session has no
 *   wallet account (`['sessionId']`), or an asset the wallet holds has no price (`['prices']`)
 * @throws NotFoundError when there is no such session
 */
export async function setReferencesFromWallet(
  sql: Queryable,
  input: SetReferencesFromWalletInput,
): Promise<ReferenceRow[]> {
  const op = 'cinAux.setReferencesFromWallet';
  const i = parseInput(op, SetReferencesFromWalletInput, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select ${REFERENCE_COLUMNS(sql)}
      from cin_aux.sp_set_references_from_wallet(${i.sessionId}, ${i.at ?? null}::timestamptz,
        ${JSON.stringify(i.prices ?? {})}::text::jsonb) r
      order by r.asset
    `,
    { entity: SESSION, key: { id: i.sessionId } },
  );
  return parseRows('cin_aux.sp_set_references_from_wallet', ReferenceRow, rows);
}
