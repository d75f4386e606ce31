-- 20_cin_aux_views.sql: the packed cin_aux views the UI reads (session summary, asset P&L,
-- reconciliation, move P&L, asset tau). Needs 09_cin-aux-* and 10_cin-aux-runtime (asset_tau).
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

-- One row per session with its totals: funded (Σ opening principal + profit), current buckets, costs.
create or replace view cin_aux.v_session_summary as
select s.id as session_id, s.owner_id, s.account_id, s.window_label, s.status, s.opened_at, s.closed_at,
       coalesce(b.funded, 0) as funded_usdt,
       coalesce(r.principal, 0) as principal_usdt,
       coalesce(r.profit, 0) as profit_usdt,
       coalesce(r.principal, 0) + coalesce(r.profit, 0) as book_usdt,
       coalesce(r.assets, 0)::integer as assets,
       coalesce(m.moves, 0)::integer as moves,
       coalesce(m.fees, 0) as fee_usdt,
       coalesce(m.slippage, 0) as slippage_usdt,
       coalesce(m.trace, 0) as trace_usdt,
       m.last_move_at
from cin_aux.sessions s
left join lateral (
  select sum(x.opening_principal_usdt + x.opening_profit_usdt) as funded
  from cin_aux.balances x where x.session_id = s.id
) b on true
left join lateral (
  select sum(x.principal_usdt) as principal, sum(x.profit_usdt) as profit, count(*) as assets
  from cin_aux.runtime_balances x where x.session_id = s.id
) r on true
left join lateral (
  select count(*) as moves, sum(x.fee_usdt) as fees, sum(x.slippage_usdt) as slippage,
         sum(x.trace_usdt) as trace, max(x.ts) as last_move_at
  from cin_aux.moves x where x.session_id = s.id
) m on true;

-- Per session and asset: opening vs current buckets, the last mark and the mark-to-market value
-- (units × last mark price, 18 decimals) with its profit over principal (null without a mark).
create or replace view cin_aux.v_asset_pnl as
select r.session_id, r.asset,
       coalesce(b.opening_principal_usdt, 0) as opening_principal_usdt,
       coalesce(b.opening_profit_usdt, 0) as opening_profit_usdt,
       r.principal_usdt, r.profit_usdt, r.units,
       b.closing_principal_usdt, b.closing_profit_usdt,
       lm.price_usdt as last_mark_price_usdt, lm.ts as last_mark_at,
       round(r.units * lm.price_usdt, 18) as mtm_usdt,
       round(r.units * lm.price_usdt, 18) - r.principal_usdt as mtm_profit_usdt
from cin_aux.runtime_balances r
left join cin_aux.balances b on b.session_id = r.session_id and b.asset = r.asset
left join lateral (
  select m.price_usdt, m.ts from cin_aux.marks m
  where m.session_id = r.session_id and m.asset = r.asset
  order by m.ts desc limit 1
) lm on true;

-- Per session: Σ book value (principal + profit) vs Σ references; delta = book - reference, ratio =
-- book / reference (18 decimals), null when the reference total is 0.
create or replace view cin_aux.v_session_reconciliation as
select s.id as session_id,
       coalesce(r.book, 0) as book_usdt,
       coalesce(f.ref, 0) as reference_usdt,
       coalesce(r.book, 0) - coalesce(f.ref, 0) as delta_usdt,
       case when coalesce(f.ref, 0) = 0 then null else cin_aux.div18(coalesce(r.book, 0), f.ref) end as ratio,
       coalesce(f.refs, 0)::integer as references_count
from cin_aux.sessions s
left join lateral (
  select sum(x.principal_usdt + x.profit_usdt) as book from cin_aux.runtime_balances x where x.session_id = s.id
) r on true
left join lateral (
  select sum(x.ref_usdt) as ref, count(*) as refs from cin_aux."references" x where x.session_id = s.id
) f on true;

-- Per move: its profit (trace - fee - slippage; a move without prices has no trace: - costs) and its
-- fee rate (fee / executed, 18 decimals).
create or replace view cin_aux.v_move_pnl as
select m.id as move_id, m.session_id, m.ts, m.from_asset, m.to_asset, m.executed_usdt, m.fee_usdt,
       m.slippage_usdt, m.trace_usdt, m.profit_consumed_usdt, m.principal_hit_usdt,
       coalesce(m.trace_usdt, 0) - m.fee_usdt - m.slippage_usdt as profit_usdt,
       cin_aux.div18(m.fee_usdt, m.executed_usdt) as fee_rate
from cin_aux.moves m;

-- Per session and asset: imprint, luggage and tau (cin_aux.asset_tau).
create or replace view cin_aux.v_asset_tau as
select s.id as session_id, t.asset, t.imprint_usdt, t.luggage_usdt, t.tau_usdt
from cin_aux.sessions s
cross join lateral cin_aux.asset_tau(s.id) t;
