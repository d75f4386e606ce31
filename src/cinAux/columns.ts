/** The SQL select lists the module's reads share (internal: not re-exported by the index). */
import type { Queryable } from '../core/queryable.js';

export const RUNTIME_COLUMNS = (sql: Queryable) => sql`
  r.session_id as "sessionId", r.asset, trim_scale(r.principal_usdt)::text as "principalUsdt",
  trim_scale(r.profit_usdt)::text as "profitUsdt", trim_scale(r.units)::text as units,
  util.epoch_ms(r.updated_at) as "updatedAt"
`;

export const MOVE_COLUMNS = (sql: Queryable) => sql`
  m.id, m.session_id as "sessionId", util.epoch_ms(m.ts) as ts, m.from_asset as "fromAsset", m.to_asset as "toAsset",
  trim_scale(m.executed_usdt)::text as "executedUsdt", trim_scale(m.fee_usdt)::text as "feeUsdt",
  trim_scale(m.slippage_usdt)::text as "slippageUsdt", trim_scale(m.ref_usdt_target)::text as "refUsdtTarget",
  trim_scale(m.available_usdt)::text as "availableUsdt", trim_scale(m.planned_usdt)::text as "plannedUsdt",
  trim_scale(m.dev_ref_usdt)::text as "devRefUsdt", trim_scale(m.comp_principal_usdt)::text as "compPrincipalUsdt",
  trim_scale(m.comp_profit_usdt)::text as "compProfitUsdt", trim_scale(m.cost_profit_usdt)::text as "costProfitUsdt",
  trim_scale(m.cost_principal_usdt)::text as "costPrincipalUsdt",
  trim_scale(m.price_from_usdt)::text as "priceFromUsdt", trim_scale(m.price_to_usdt)::text as "priceToUsdt",
  m.bridge_asset as "bridgeAsset", trim_scale(m.price_bridge_usdt)::text as "priceBridgeUsdt",
  trim_scale(m.from_units)::text as "fromUnits", trim_scale(m.cost_units)::text as "costUnits",
  trim_scale(m.to_units)::text as "toUnits", trim_scale(m.trace_usdt)::text as "traceUsdt",
  trim_scale(m.profit_consumed_usdt)::text as "profitConsumedUsdt",
  trim_scale(m.principal_hit_usdt)::text as "principalHitUsdt",
  m.source_symbol as "sourceSymbol", m.trade_id as "tradeId", m.side, m.idempotency_key as "idempotencyKey",
  util.epoch_ms(m.created_at) as "createdAt"
`;

/** Reads an imprint/luggage row: its columns, camelCase. */
export const IMPRINT_COLUMNS = (sql: Queryable) => sql`
  i.session_id as "sessionId", trim_scale(i.principal_churn_usdt)::text as "principalChurnUsdt",
  trim_scale(i.profit_churn_usdt)::text as "profitChurnUsdt",
  trim_scale(i.generated_profit_usdt)::text as "generatedProfitUsdt",
  trim_scale(i.trace_sum_usdt)::text as "traceSumUsdt", trim_scale(i.dev_ref_sum_usdt)::text as "devRefSumUsdt",
  trim_scale(i.luggage_principal_usdt)::text as "luggagePrincipalUsdt",
  trim_scale(i.luggage_profit_usdt)::text as "luggageProfitUsdt", trim_scale(i.imprint_usdt)::text as "imprintUsdt",
  trim_scale(i.luggage_usdt)::text as "luggageUsdt", trim_scale(i.tau_usdt)::text as "tauUsdt",
  util.epoch_ms(i.closed_at) as "closedAt"
`;
