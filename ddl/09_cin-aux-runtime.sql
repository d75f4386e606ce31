-- 09_cin-aux-runtime.sql: cin_aux.sp_apply_move, the one writer of moves (and of lot consumption).
-- Needs 09_cin-aux-core and 09_cin-aux-functions (check_amount, div18, lock_open_session, lock_runtime).
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

-- The stored move under (session, key) when its content is the given one; raises 23505 when the key
-- names a move with other content; null when the key is free.
create or replace function cin_aux.replayed_move(
  p_session uuid, p_key text, p_from text, p_to text, p_executed numeric, p_fee numeric, p_slippage numeric,
  p_ref_target numeric, p_available numeric, p_price_from numeric, p_price_to numeric, p_bridge_asset text,
  p_price_bridge numeric, p_ts timestamptz, p_source_symbol text, p_trade_id text, p_side text
) returns cin_aux.moves
language plpgsql stable
set search_path = pg_catalog, cin_aux
as $$
declare
  v_move cin_aux.moves;
begin
  if p_key is null then
    return null;
  end if;
  select m.* into v_move from cin_aux.moves m where m.session_id = p_session and m.idempotency_key = p_key;
  if not found then
    return null;
  end if;
  if (v_move.from_asset, v_move.to_asset, v_move.executed_usdt, v_move.fee_usdt, v_move.slippage_usdt,
      v_move.ref_usdt_target, v_move.available_usdt, v_move.price_from_usdt, v_move.price_to_usdt,
      v_move.bridge_asset, v_move.price_bridge_usdt, v_move.source_symbol, v_move.trade_id, v_move.side)
     is distinct from
     (p_from, p_to, p_executed, p_fee, p_slippage, p_ref_target, p_available, p_price_from, p_price_to,
      p_bridge_asset, p_price_bridge, p_source_symbol, p_trade_id, p_side)
     or (p_ts is not null and v_move.ts <> p_ts) then
    raise exception 'idempotency key of session % already names a move with other content', p_session
      using errcode = '23505', constraint = 'moves_idempotency_key', schema = 'cin_aux', table = 'moves',
            detail = 'Key (session_id, idempotency_key)=(…) names a move with other assets, amounts, prices or time.';
  end if;
  return v_move;
end;
$$;

-- Applies one conversion of value from p_from to p_to, all or nothing, and returns the move row:
-- 1. planned = min(ref target ?? executed, available ?? executed); dev_ref = executed - planned.
-- 2. The source gives up executed: principal first, the rest from profit. A source holding less than
--    executed + fee + slippage (value, and units when prices are given) refuses the move, unless the
--    session allows overdraft.
-- 3. Fee + slippage are charged to the source's remaining profit first, then its principal.
-- 4. The destination gains comp_principal as principal and comp_profit as profit.
-- 5. With prices (from and to, in USDT): executed / price_from units (and (fee + slippage) / price_from
--    units for the costs) leave the source FIFO from its lots (from its open_lot_id on), the converted
--    ones first; trace =
--    executed - cost basis of the converted units; a positive trace is profit_consumed, a negative one
--    principal_hit; the destination gets a lot of executed / price_to units at price_to. Unit figures
--    are rounded to 18 decimals; the buckets are exact.
-- 6. A key already stored with the same content returns the stored move and changes nothing.
-- Locks: the session FOR SHARE, then the two runtime rows in asset order (fixed order: no deadlock).
create or replace function cin_aux.sp_apply_move(
  p_session         uuid,
  p_from            text,
  p_to              text,
  p_executed        numeric,
  p_fee             numeric default 0,
  p_slippage        numeric default 0,
  p_ref_target      numeric default null,
  p_available       numeric default null,
  p_price_from      numeric default null,
  p_price_to        numeric default null,
  p_bridge_asset    text default null,
  p_price_bridge    numeric default null,
  p_ts              timestamptz default null,
  p_source_symbol   text default null,
  p_trade_id        text default null,
  p_side            text default null,
  p_idempotency_key text default null
) returns cin_aux.moves
language plpgsql
set search_path = pg_catalog, cin_aux
as $$
declare
  v_fee            numeric := coalesce(p_fee, 0);
  v_slip           numeric := coalesce(p_slippage, 0);
  v_cost           numeric;
  v_sess           cin_aux.sessions;
  v_src            cin_aux.runtime_balances;
  v_dst            cin_aux.runtime_balances;
  v_r              cin_aux.runtime_balances;
  v_move           cin_aux.moves;
  v_planned        numeric;
  v_comp_principal numeric;
  v_comp_profit    numeric;
  v_cost_profit    numeric;
  v_cost_principal numeric;
  v_from_units     numeric;
  v_cost_units     numeric;
  v_to_units       numeric;
  v_need           numeric;
  v_conv_need      numeric;
  v_take           numeric;
  v_conv           numeric;
  v_basis          numeric := 0;
  v_trace          numeric;
  v_lot            record;
  v_lot_ids        bigint[] := '{}';
  v_lot_units      numeric[] := '{}';
  v_lot_prices     numeric[] := '{}';
  v_next_open      bigint;
begin
  if p_executed is null then
    raise exception 'executedUsdt: is required' using errcode = '22023';
  end if;
  perform cin_aux.check_amount('executedUsdt', p_executed, 'positive');
  perform cin_aux.check_amount('feeUsdt', v_fee, 'nonnegative');
  perform cin_aux.check_amount('slippageUsdt', v_slip, 'nonnegative');
  perform cin_aux.check_amount('refUsdtTarget', p_ref_target, 'nonnegative');
  perform cin_aux.check_amount('availableUsdt', p_available, 'nonnegative');
  perform cin_aux.check_amount('priceFromUsdt', p_price_from, 'positive');
  perform cin_aux.check_amount('priceToUsdt', p_price_to, 'positive');
  perform cin_aux.check_amount('priceBridgeUsdt', p_price_bridge, 'positive');
  if (p_price_from is null) <> (p_price_to is null) then
    raise exception 'priceToUsdt: priceFromUsdt and priceToUsdt come together' using errcode = '22023';
  end if;
  if p_from = p_to then
    raise exception 'toAsset: must differ from fromAsset' using errcode = '22023';
  end if;
  if p_side is not null and p_side not in ('buy', 'sell') then
    raise exception 'side: must be buy or sell' using errcode = '22023';
  end if;
  v_cost := v_fee + v_slip;

  -- a replay returns the first move even once the session is closed
  v_move := cin_aux.replayed_move(p_session, p_idempotency_key, p_from, p_to, p_executed, v_fee, v_slip,
    p_ref_target, p_available, p_price_from, p_price_to, p_bridge_asset, p_price_bridge, p_ts,
    p_source_symbol, p_trade_id, p_side);
  if v_move.id is not null then
    return v_move;
  end if;

  perform cin_aux.check_asset('fromAsset', p_from);
  perform cin_aux.check_asset('toAsset', p_to);
  if p_bridge_asset is not null then
    perform cin_aux.check_asset('bridgeAsset', p_bridge_asset);
  end if;
  v_sess := cin_aux.lock_open_session(p_session);
  for v_r in select * from cin_aux.lock_runtime(v_sess, array[p_from, p_to]) loop
    if v_r.asset = p_from then v_src := v_r; else v_dst := v_r; end if;
  end loop;

  -- checked again under the locks: a concurrent call with the same key has committed by now
  v_move := cin_aux.replayed_move(p_session, p_idempotency_key, p_from, p_to, p_executed, v_fee, v_slip,
    p_ref_target, p_available, p_price_from, p_price_to, p_bridge_asset, p_price_bridge, p_ts,
    p_source_symbol, p_trade_id, p_side);
  if v_move.id is not null then
    return v_move;
  end if;

  if v_src.principal_usdt + v_src.profit_usdt < p_executed + v_cost and not v_sess.allow_overdraft then
    raise exception 'executedUsdt: the source holds less than executedUsdt + feeUsdt + slippageUsdt'
      using errcode = '22023', hint = 'the session does not allow overdraft';
  end if;

  -- 1. the plan
  v_planned := least(coalesce(p_ref_target, p_executed), coalesce(p_available, p_executed));
  -- 2. principal first, the rest from profit
  v_comp_principal := least(p_executed, v_src.principal_usdt);
  v_comp_profit := p_executed - v_comp_principal;
  -- 3. costs: remaining profit first, then principal; with overdraft what neither covers goes to profit
  v_cost_profit := least(v_cost, greatest(v_src.profit_usdt - v_comp_profit, 0));
  v_cost_principal := least(v_cost - v_cost_profit, v_src.principal_usdt - v_comp_principal);
  v_cost_profit := v_cost - v_cost_principal;

  -- 5. units and lots
  if p_price_from is not null then
    v_from_units := cin_aux.div18(p_executed, p_price_from);
    v_cost_units := cin_aux.div18(v_cost, p_price_from);
    v_to_units := cin_aux.div18(p_executed, p_price_to);
    if v_to_units = 0 then
      raise exception 'priceToUsdt: executedUsdt / priceToUsdt rounds to zero units' using errcode = '22023';
    end if;
    if v_src.units < v_from_units + v_cost_units and not v_sess.allow_overdraft then
      raise exception 'executedUsdt: the source holds fewer units than (executedUsdt + feeUsdt + slippageUsdt) / priceFromUsdt'
        using errcode = '22023', hint = 'the session does not allow overdraft';
    end if;
    v_need := v_from_units + v_cost_units;
    v_conv_need := v_from_units;
    if v_need > 0 then
      for v_lot in
        select l.id, l.units_free, l.entry_price_usdt from cin_aux.lots l
        where l.session_id = p_session and l.asset = p_from and l.id >= v_src.open_lot_id and l.units_free > 0
        order by l.id
      loop
        v_take := least(v_lot.units_free, v_need);
        v_conv := least(v_take, v_conv_need);
        v_basis := v_basis + v_conv * v_lot.entry_price_usdt;
        v_conv_need := v_conv_need - v_conv;
        v_need := v_need - v_take;
        update cin_aux.lots l set units_free = l.units_free - v_take
         where l.session_id = p_session and l.asset = p_from and l.id = v_lot.id;
        v_lot_ids := v_lot_ids || v_lot.id;
        v_lot_units := v_lot_units || v_take;
        v_lot_prices := v_lot_prices || v_lot.entry_price_usdt;
        -- the oldest lot that may still have free units
        v_next_open := case when v_lot.units_free > v_take then v_lot.id else v_lot.id + 1 end;
        exit when v_need = 0;
      end loop;
    end if;
    v_trace := p_executed - round(v_basis, 18);
  end if;

  update cin_aux.runtime_balances r
     set principal_usdt = r.principal_usdt - v_comp_principal - v_cost_principal,
         profit_usdt = r.profit_usdt - v_comp_profit - v_cost_profit,
         units = r.units - coalesce(v_from_units + v_cost_units, 0),
         open_lot_id = coalesce(v_next_open, r.open_lot_id),
         updated_at = now()
   where r.session_id = p_session and r.asset = p_from;
  -- 4. the destination
  update cin_aux.runtime_balances r
     set principal_usdt = r.principal_usdt + v_comp_principal,
         profit_usdt = r.profit_usdt + v_comp_profit,
         units = r.units + coalesce(v_to_units, 0),
         updated_at = now()
   where r.session_id = p_session and r.asset = p_to;

  insert into cin_aux.moves as m (
    session_id, ts, from_asset, to_asset, executed_usdt, fee_usdt, slippage_usdt,
    ref_usdt_target, available_usdt, planned_usdt, dev_ref_usdt,
    comp_principal_usdt, comp_profit_usdt, cost_profit_usdt, cost_principal_usdt,
    price_from_usdt, price_to_usdt, bridge_asset, price_bridge_usdt,
    from_units, cost_units, to_units, trace_usdt, profit_consumed_usdt, principal_hit_usdt,
    source_symbol, trade_id, side, idempotency_key
  ) values (
    p_session, coalesce(p_ts, date_trunc('milliseconds', now())), p_from, p_to, p_executed, v_fee, v_slip,
    p_ref_target, p_available, v_planned, p_executed - v_planned,
    v_comp_principal, v_comp_profit, v_cost_profit, v_cost_principal,
    p_price_from, p_price_to, p_bridge_asset, p_price_bridge,
    v_from_units, v_cost_units, v_to_units, v_trace,
    case when v_trace is not null then greatest(v_trace, 0) end, case when v_trace is not null then greatest(-v_trace, 0) end,
    p_source_symbol, p_trade_id, p_side, p_idempotency_key
  )
  returning m.* into v_move;

  if p_price_to is not null then
    insert into cin_aux.lots (session_id, asset, move_id, entry_price_usdt, units_total, units_free)
    values (p_session, p_to, v_move.id, p_price_to, v_to_units, v_to_units);
  end if;
  if cardinality(v_lot_ids) > 0 then
    insert into cin_aux.move_lots (move_id, session_id, asset, lot_id, units, entry_price_usdt)
    select v_move.id, p_session, p_from, u.lot_id, u.units, u.price
    from unnest(v_lot_ids, v_lot_units, v_lot_prices) u(lot_id, units, price);
  end if;
  return v_move;
end;
$$;
