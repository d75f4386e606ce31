-- 10_cin-aux-runtime.sql: tau (imprint and luggage) per asset and per session, and
-- cin_aux.sp_close_session, which freezes a session into its imprint/luggage row. Needs 09_cin-aux-*.
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

-- Per asset of a session, over the moves INTO the asset:
--   imprint = Σ(comp_profit - profit_consumed), luggage = Σ(fee + slippage + trace + principal_hit),
--   tau = imprint - luggage (a move without prices has no trace: it counts as 0).
-- Every asset the session holds a runtime row for is listed (zeros when nothing moved into it).
create or replace function cin_aux.asset_tau(p_session uuid)
returns table (asset text, imprint_usdt numeric, luggage_usdt numeric, tau_usdt numeric)
language sql stable
set search_path = pg_catalog, cin_aux
as $$
  select r.asset,
         coalesce(t.imprint, 0), coalesce(t.luggage, 0), coalesce(t.imprint, 0) - coalesce(t.luggage, 0)
  from cin_aux.runtime_balances r
  left join lateral (
    select sum(m.comp_profit_usdt - coalesce(m.profit_consumed_usdt, 0)) as imprint,
           sum(m.fee_usdt + m.slippage_usdt + coalesce(m.trace_usdt, 0) + coalesce(m.principal_hit_usdt, 0)) as luggage
    from cin_aux.moves m
    where m.session_id = r.session_id and m.to_asset = r.asset
  ) t on true
  where r.session_id = p_session
$$;

-- The session's tau: the per-asset figures summed (one row; zeros for a session without moves).
create or replace function cin_aux.session_tau(p_session uuid)
returns table (imprint_usdt numeric, luggage_usdt numeric, tau_usdt numeric)
language sql stable
set search_path = pg_catalog, cin_aux
as $$
  select coalesce(sum(t.imprint_usdt), 0), coalesce(sum(t.luggage_usdt), 0), coalesce(sum(t.tau_usdt), 0)
  from cin_aux.asset_tau(p_session) t
$$;

-- Closes a session and returns its imprint/luggage row. Closing buckets: principal = the runtime
-- principal; profit = (units held × the last mark's price) - principal when the asset has marks (the
-- last mark's bulk revalued to the units held at close: a mark taken before a later move would count
-- units the session no longer holds), else the runtime profit. Stores principal churn Σ comp_principal,
-- profit churn Σ comp_profit, generated profit Σ closing profit - Σ opening profit - Σ(fee + slippage),
-- trace and dev-ref sums, luggage principal/profit (Σ closing buckets) and the session's tau.
-- Closing a closed session returns its row unchanged. The session row is locked FOR UPDATE: running
-- moves finish first, later ones see it closed.
create or replace function cin_aux.sp_close_session(p_session uuid)
returns cin_aux.imprint_luggage
language plpgsql
set search_path = pg_catalog, cin_aux
as $$
declare
  v_row    cin_aux.imprint_luggage;
  v_status text;
  v_at     timestamptz := date_trunc('milliseconds', now());
begin
  select s.status into v_status from cin_aux.sessions s where s.id = p_session for update;
  if not found then
    raise exception 'session % not found', p_session using errcode = 'P0002';
  end if;
  if v_status = 'closed' then
    select i.* into v_row from cin_aux.imprint_luggage i where i.session_id = p_session;
    return v_row;
  end if;

  perform 1 from cin_aux.runtime_balances r where r.session_id = p_session order by r.asset for update;
  insert into cin_aux.balances (session_id, asset)
  select r.session_id, r.asset from cin_aux.runtime_balances r where r.session_id = p_session
  order by r.asset
  on conflict do nothing;
  update cin_aux.balances b
     set closing_principal_usdt = r.principal_usdt,
         closing_profit_usdt = coalesce(round(r.units * lm.price_usdt, 18) - r.principal_usdt, r.profit_usdt)
    from cin_aux.runtime_balances r
    left join lateral (
      select m.price_usdt from cin_aux.marks m
      where m.session_id = r.session_id and m.asset = r.asset
      order by m.ts desc limit 1
    ) lm on true
   where r.session_id = p_session and b.session_id = r.session_id and b.asset = r.asset;

  update cin_aux.sessions s set status = 'closed', closed_at = v_at where s.id = p_session;

  insert into cin_aux.imprint_luggage as i (
    session_id, principal_churn_usdt, profit_churn_usdt, generated_profit_usdt, trace_sum_usdt,
    dev_ref_sum_usdt, luggage_principal_usdt, luggage_profit_usdt, imprint_usdt, luggage_usdt, tau_usdt,
    closed_at
  )
  select p_session, mv.principal_churn, mv.profit_churn,
         bl.closing_profit - bl.opening_profit - mv.costs, mv.trace_sum, mv.dev_ref_sum,
         bl.closing_principal, bl.closing_profit, t.imprint_usdt, t.luggage_usdt, t.tau_usdt, v_at
  from (
    select coalesce(sum(m.comp_principal_usdt), 0) as principal_churn,
           coalesce(sum(m.comp_profit_usdt), 0) as profit_churn,
           coalesce(sum(m.fee_usdt + m.slippage_usdt), 0) as costs,
           coalesce(sum(m.trace_usdt), 0) as trace_sum,
           coalesce(sum(m.dev_ref_usdt), 0) as dev_ref_sum
    from cin_aux.moves m where m.session_id = p_session
  ) mv
  cross join (
    select coalesce(sum(b.closing_principal_usdt), 0) as closing_principal,
           coalesce(sum(b.closing_profit_usdt), 0) as closing_profit,
           coalesce(sum(b.opening_profit_usdt), 0) as opening_profit
    from cin_aux.balances b where b.session_id = p_session
  ) bl
  cross join cin_aux.session_tau(p_session) t
  returning i.* into v_row;
  return v_row;
end;
$$;
