/**
 * The packed reads the UI uses (pack `20_cin_aux_views`): session summary, asset P&L,
 * reconciliation, move P&L, asset tau; and `tau`, `listBalances`. Each takes many sessions at once.
 */
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import { assetCode, decimal, int8, timestamptz, uuid } from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseRows } from '../core/run.js';
import { ledgerRun, sessionId } from './fields.js';
import { RUNTIME_COLUMNS } from './columns.js';
import { RuntimeBalanceRow } from './funding.js';
import { SessionStatus } from './sessions.js';

/** Input of the view reads: the sessions to read. */
export const SessionsInput = z.strictObject({
  sessionIds: z.array(sessionId).min(1).max(10_000).readonly(),
});
export type SessionsInput = z.input<typeof SessionsInput>;

const ids = (op: string, input: SessionsInput) => pgArray(parseInput(op, SessionsInput, input).sessionIds);

/** A row of `cin_aux.v_session_summary`. */
export const SessionSummaryRow = z.object({
  sessionId: uuid,
  ownerId: uuid.nullable(),
  accountId: uuid.nullable(),
  window: z.string(),
  status: SessionStatus,
  openedAt: timestamptz,
  closedAt: timestamptz.nullable(),
  /** Σ opening principal + profit: what funding brought in. */
  fundedUsdt: decimal,
  principalUsdt: decimal,
  profitUsdt: decimal,
  /** principal + profit, over every asset. */
  bookUsdt: decimal,
  assets: z.int(),
  moves: z.int(),
  feeUsdt: decimal,
  slippageUsdt: decimal,
  traceUsdt: decimal,
  lastMoveAt: timestamptz.nullable(),
});
export type SessionSummaryRow = z.infer<typeof SessionSummaryRow>;

/**
 * Each session's totals (funded, buckets, book value, moves, costs), in the order given.
 *
 * Reads `cin_aux.v_session_summary`.
 * @example
 * ```ts
 * const [s] = await db.cinAux.sessionSummary({ sessionIds: [sessionId] }); // s.bookUsdt === '999.38'
 * ```
 * @throws ValidationError when an id is malformed (nothing is sent)
 */
export async function sessionSummary(sql: Queryable, input: SessionsInput): Promise<SessionSummaryRow[]> {
  const op = 'cinAux.sessionSummary';
  const list = ids(op, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select v.session_id as "sessionId", v.owner_id as "ownerId", v.account_id as "accountId",
             v.window_label as "window", v.status, util.epoch_ms(v.opened_at) as "openedAt",
             util.epoch_ms(v.closed_at) as "closedAt", trim_scale(v.funded_usdt)::text as "fundedUsdt",
             trim_scale(v.principal_usdt)::text as "principalUsdt", trim_scale(v.profit_usdt)::text as "profitUsdt",
             trim_scale(v.book_usdt)::text as "bookUsdt", v.assets, v.moves,
             trim_scale(v.fee_usdt)::text as "feeUsdt", trim_scale(v.slippage_usdt)::text as "slippageUsdt",
             trim_scale(v.trace_usdt)::text as "traceUsdt", util.epoch_ms(v.last_move_at) as "lastMoveAt"
      from unnest(${list}::uuid[]) with ordinality k(id, ord)
      join cin_aux.v_session_summary v on v.session_id = k.id
      order by k.ord
    `,
  );
  return parseRows('cin_aux.v_session_summary', SessionSummaryRow, rows);
}

/** A row of `cin_aux.v_asset_pnl`. */
export const AssetPnlRow = z.object({
  sessionId: uuid,
  asset: z.string(),
  openingPrincipalUsdt: decimal,
  openingProfitUsdt: decimal,
  principalUsdt: decimal,
  profitUsdt: decimal,
  units: decimal,
  closingPrincipalUsdt: decimal.nullable(),
  closingProfitUsdt: decimal.nullable(),
  lastMarkPriceUsdt: decimal.nullable(),
  lastMarkAt: timestamptz.nullable(),
  /** units × last mark price (18 decimals); null without a mark. */
  mtmUsdt: decimal.nullable(),
  /** mtm − principal. */
  mtmProfitUsdt: decimal.nullable(),
});
export type AssetPnlRow = z.infer<typeof AssetPnlRow>;

/**
 * Per session and asset: opening vs current buckets, the last mark and the mark-to-market value.
 *
 * Reads `cin_aux.v_asset_pnl`.
 * @example
 * ```ts
 * const rows = await db.cinAux.assetPnl({ sessionIds: [sessionId] });
 * ```
 * @throws ValidationError when an id is malformed (nothing is sent)
 */
export async function assetPnl(sql: Queryable, input: SessionsInput): Promise<AssetPnlRow[]> {
  const op = 'cinAux.assetPnl';
  const list = ids(op, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select v.session_id as "sessionId", v.asset,
             trim_scale(v.opening_principal_usdt)::text as "openingPrincipalUsdt",
             trim_scale(v.opening_profit_usdt)::text as "openingProfitUsdt",
             trim_scale(v.principal_usdt)::text as "principalUsdt", trim_scale(v.profit_usdt)::text as "profitUsdt",
             trim_scale(v.units)::text as units,
             trim_scale(v.closing_principal_usdt)::text as "closingPrincipalUsdt",
             trim_scale(v.closing_profit_usdt)::text as "closingProfitUsdt",
             trim_scale(v.last_mark_price_usdt)::text as "lastMarkPriceUsdt", util.epoch_ms(v.last_mark_at) as "lastMarkAt",
             trim_scale(v.mtm_usdt)::text as "mtmUsdt", trim_scale(v.mtm_profit_usdt)::text as "mtmProfitUsdt"
      from unnest(${list}::uuid[]) with ordinality k(id, ord)
      join cin_aux.v_asset_pnl v on v.session_id = k.id
      order by k.ord, v.asset
    `,
  );
  return parseRows('cin_aux.v_asset_pnl', AssetPnlRow, rows);
}

/** A row of `cin_aux.v_session_reconciliation`. */
export const ReconciliationRow = z.object({
  sessionId: uuid,
  /** Σ principal + profit. */
  bookUsdt: decimal,
  /** Σ references. */
  referenceUsdt: decimal,
  /** book − reference. */
  deltaUsdt: decimal,
  /** book / reference (18 decimals); null when the reference total is 0. */
  ratio: decimal.nullable(),
  referencesCount: z.int(),
});
export type ReconciliationRow = z.infer<typeof ReconciliationRow>;

/**
 * Each session's book value against its references: delta and ratio.
 *
 * Reads `cin_aux.v_session_reconciliation`.
 * @example
 * ```ts
 * const [r] = await db.cinAux.reconciliation({ sessionIds: [sessionId] }); // r.ratio === '0.99938'
 * ```
 * @throws ValidationError when an id is malformed (nothing is sent)
 */
export async function reconciliation(sql: Queryable, input: SessionsInput): Promise<ReconciliationRow[]> {
  const op = 'cinAux.reconciliation';
  const list = ids(op, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select v.session_id as "sessionId", trim_scale(v.book_usdt)::text as "bookUsdt",
             trim_scale(v.reference_usdt)::text as "referenceUsdt", trim_scale(v.delta_usdt)::text as "deltaUsdt",
             trim_scale(v.ratio)::text as ratio, v.references_count as "referencesCount"
      from unnest(${list}::uuid[]) with ordinality k(id, ord)
      join cin_aux.v_session_reconciliation v on v.session_id = k.id
      order by k.ord
    `,
  );
  return parseRows('cin_aux.v_session_reconciliation', ReconciliationRow, rows);
}

/** A row of `cin_aux.v_move_pnl`. */
export const MovePnlRow = z.object({
  moveId: int8,
  sessionId: uuid,
  ts: timestamptz,
  fromAsset: z.string(),
  toAsset: z.string(),
  executedUsdt: decimal,
  feeUsdt: decimal,
  slippageUsdt: decimal,
  traceUsdt: decimal.nullable(),
  profitConsumedUsdt: decimal.nullable(),
  principalHitUsdt: decimal.nullable(),
  /** trace − fee − slippage (a move without prices: − costs). */
  profitUsdt: decimal,
  /** fee / executed (18 decimals). */
  feeRate: decimal,
});
export type MovePnlRow = z.infer<typeof MovePnlRow>;

/**
 * Each move's profit and fee rate, in the order applied.
 *
 * Reads `cin_aux.v_move_pnl`.
 * @example
 * ```ts
 * const rows = await db.cinAux.movePnl({ sessionIds: [sessionId] }); // rows[0].feeRate === '0.001'
 * ```
 * @throws ValidationError when an id is malformed (nothing is sent)
 */
export async function movePnl(sql: Queryable, input: SessionsInput): Promise<MovePnlRow[]> {
  const op = 'cinAux.movePnl';
  const list = ids(op, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select v.move_id as "moveId", v.session_id as "sessionId", util.epoch_ms(v.ts) as ts,
             v.from_asset as "fromAsset", v.to_asset as "toAsset", trim_scale(v.executed_usdt)::text as "executedUsdt",
             trim_scale(v.fee_usdt)::text as "feeUsdt", trim_scale(v.slippage_usdt)::text as "slippageUsdt",
             trim_scale(v.trace_usdt)::text as "traceUsdt", trim_scale(v.profit_consumed_usdt)::text as "profitConsumedUsdt",
             trim_scale(v.principal_hit_usdt)::text as "principalHitUsdt", trim_scale(v.profit_usdt)::text as "profitUsdt",
             trim_scale(v.fee_rate)::text as "feeRate"
      from cin_aux.v_move_pnl v
      where v.session_id = any(${list}::uuid[])
      order by v.move_id
    `,
  );
  return parseRows('cin_aux.v_move_pnl', MovePnlRow, rows);
}

/** Imprint, luggage and tau: of one asset of a session, or (asset null) of the whole session. */
export const TauRow = z.object({
  sessionId: uuid,
  asset: z.string().nullable(),
  /** Σ(comp_profit − profit_consumed) over the moves into the asset. */
  imprintUsdt: decimal,
  /** Σ(fee + slippage + trace + principal_hit) over the moves into the asset. */
  luggageUsdt: decimal,
  /** imprint − luggage. */
  tauUsdt: decimal,
});
export type TauRow = z.infer<typeof TauRow>;

/**
 * Per session and asset: imprint, luggage, tau (every asset the session holds).
 *
 * Reads `cin_aux.v_asset_tau`.
 * @example
 * ```ts
 * const rows = await db.cinAux.assetTau({ sessionIds: [sessionId] });
 * ```
 * @throws ValidationError when an id is malformed (nothing is sent)
 */
export async function assetTau(sql: Queryable, input: SessionsInput): Promise<TauRow[]> {
  const op = 'cinAux.assetTau';
  const list = ids(op, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select v.session_id as "sessionId", v.asset, trim_scale(v.imprint_usdt)::text as "imprintUsdt",
             trim_scale(v.luggage_usdt)::text as "luggageUsdt", trim_scale(v.tau_usdt)::text as "tauUsdt"
      from unnest(${list}::uuid[]) with ordinality k(id, ord)
      join cin_aux.v_asset_tau v on v.session_id = k.id
      order by k.ord, v.asset
    `,
  );
  return parseRows('cin_aux.v_asset_tau', TauRow, rows);
}

/** Input of `tau`: the sessions, and optionally one asset (default: the session totals). */
export const TauInput = z.strictObject({
  sessionIds: z.array(sessionId).min(1).max(10_000).readonly(),
  asset: assetCode.optional(),
});
export type TauInput = z.input<typeof TauInput>;

/**
 * Tau of each session (asset null: the per-asset figures summed), or of one asset in each session
 * (zeros when nothing moved into it); one row per existing session, in the order given.
 *
 * Reads `cin_aux.session_tau` / `cin_aux.asset_tau`.
 * @example
 * ```ts
 * const [t] = await db.cinAux.tau({ sessionIds: [sessionId], asset: 'ETH' }); // t.tauUsdt === '-40.22'
 * ```
 * @throws ValidationError when an id or the asset is malformed (nothing is sent)
 */
export async function tau(sql: Queryable, input: TauInput): Promise<TauRow[]> {
  const op = 'cinAux.tau';
  const q = parseInput(op, TauInput, input);
  const list = pgArray(q.sessionIds);
  const rows = await ledgerRun(op, sql, () =>
    q.asset === undefined
      ? sql`
          select s.id as "sessionId", null::text as asset, trim_scale(t.imprint_usdt)::text as "imprintUsdt",
                 trim_scale(t.luggage_usdt)::text as "luggageUsdt", trim_scale(t.tau_usdt)::text as "tauUsdt"
          from unnest(${list}::uuid[]) with ordinality k(id, ord)
          join cin_aux.sessions s on s.id = k.id
          cross join lateral cin_aux.session_tau(s.id) t
          order by k.ord
        `
      : sql`
          select s.id as "sessionId", ${q.asset}::text as asset,
                 trim_scale(coalesce(t.imprint_usdt, 0))::text as "imprintUsdt",
                 trim_scale(coalesce(t.luggage_usdt, 0))::text as "luggageUsdt",
                 trim_scale(coalesce(t.tau_usdt, 0))::text as "tauUsdt"
          from unnest(${list}::uuid[]) with ordinality k(id, ord)
          join cin_aux.sessions s on s.id = k.id
          left join lateral (select * from cin_aux.asset_tau(s.id) a where a.asset = ${q.asset}) t on true
          order by k.ord
        `,
  );
  return parseRows('cin_aux.asset_tau', TauRow, rows);
}

/**
 * The runtime balances (current buckets and units) of one or more sessions, by session then asset.
 *
 * Reads `cin_aux.runtime_balances`.
 * @example
 * ```ts
 * const balances = await db.cinAux.listBalances({ sessionIds: [sessionId] });
 * ```
 * @throws ValidationError when an id is malformed (nothing is sent)
 */
export async function listBalances(sql: Queryable, input: SessionsInput): Promise<RuntimeBalanceRow[]> {
  const op = 'cinAux.listBalances';
  const list = ids(op, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select ${RUNTIME_COLUMNS(sql)}
      from unnest(${list}::uuid[]) with ordinality k(id, ord)
      join cin_aux.runtime_balances r on r.session_id = k.id
      order by k.ord, r.asset
    `,
  );
  return parseRows('cin_aux.runtime_balances', RuntimeBalanceRow, rows);
}
