-- 11_cin-aux-functions.sql: the cin_aux writers built on moves: importing exchange fills as moves, and
-- taking a session's references from its wallet account. Needs 09_cin-aux-*, 05_wallet, 03_market.
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

-- Turns exchange fills into moves, all or nothing; returns per trade (in input order) whether it was
-- already imported, and its move. A trade is {symbol, tradeId, isBuyer, price, qty, quoteQty?,
-- commission?, commissionAsset?, time (epoch ms)}, figures as decimal strings; p_prices maps an asset
-- to its USDT price ({"BTC": "40000"}), USDT is 1.
-- - buyer: quote -> base; seller: base -> quote. The symbol is split by market.symbols, else by
--   market.parse_symbol.
-- - executed = (quoteQty ?? price × qty) × quote's USDT price; the base's USDT price is price × the
--   quote's. A quote without a price refuses the trade (22023).
-- - the commission is charged as the move's fee: commission × the commission asset's USDT price (the
--   quote's, the base's, or p_prices'; none refuses the trade).
-- - idempotent by (symbol, tradeId): the move's key is 'trade:<symbol>:<tradeId>'.
-- Derived figures are rounded to 18 decimals. Every runtime row the import touches is locked first, in
-- asset order, so concurrent imports queue instead of deadlocking.
-- (its result is the move row itself: a query calling it does not see rows it inserted in a join)
create or replace function cin_aux.sp_import_moves_from_trades(p_session uuid, p_trades jsonb, p_prices jsonb default '{}'::jsonb)
returns table (trade_index integer, replayed boolean, move cin_aux.moves)
language plpgsql
set search_path = pg_catalog, cin_aux
as $$
declare
  v_sess      cin_aux.sessions;
  v_n         integer;
  v_i         integer;
  v_t         jsonb;
  v_prices    jsonb := coalesce(p_prices, '{}'::jsonb);
  v_symbol    text;
  v_base      text;
  v_quote     text;
  v_qp        numeric;
  v_bp        numeric;
  v_cp        numeric;
  v_ca        text;
  v_price     numeric;
  v_qty       numeric;
  v_notional  numeric;
  v_buyer     boolean;
  v_from      text[] := '{}';
  v_to        text[] := '{}';
  v_exec      numeric[] := '{}';
  v_fee       numeric[] := '{}';
  v_pfrom     numeric[] := '{}';
  v_pto       numeric[] := '{}';
  v_ts        timestamptz[] := '{}';
  v_symbols   text[] := '{}';
  v_ids       text[] := '{}';
  v_sides     text[] := '{}';
  v_key       text;
  v_move      cin_aux.moves;
  v_field     text;
begin
  if p_trades is null or jsonb_typeof(p_trades) <> 'array' then
    raise exception 'trades: must be an array' using errcode = '22023';
  end if;
  if jsonb_typeof(v_prices) <> 'object' then
    raise exception 'prices: must be an object' using errcode = '22023';
  end if;
  v_sess := cin_aux.lock_open_session(p_session);
  v_n := jsonb_array_length(p_trades);

  -- 1. every trade's move, computed and checked before anything is written
  for v_i in 0 .. v_n - 1 loop
    v_t := p_trades -> v_i;
    v_symbol := v_t ->> 'symbol';
    select s.base_asset, s.quote_asset into v_base, v_quote from market.symbols s where s.symbol = v_symbol;
    if not found then
      begin
        select p.base, p.quote into v_base, v_quote from market.parse_symbol(v_symbol) p;
      exception when sqlstate '22023' then
        raise exception 'trades[%].symbol: not a known symbol (market.symbols) nor one ending with a known quote', v_i
          using errcode = '22023';
      end;
    end if;
    v_field := 'price';
    v_price := cin_aux.check_amount(format('trades[%s].price', v_i), (v_t ->> 'price')::numeric, 'positive');
    v_qty := cin_aux.check_amount(format('trades[%s].qty', v_i), (v_t ->> 'qty')::numeric, 'positive');
    v_notional := coalesce(
      cin_aux.check_amount(format('trades[%s].quoteQty', v_i), (v_t ->> 'quoteQty')::numeric, 'positive'),
      round(v_price * v_qty, 18));
    v_qp := case when v_quote = 'USDT' then 1 else (v_prices ->> v_quote)::numeric end;
    if v_qp is null then
      raise exception 'trades[%].symbol: the quote % has no USDT price (give prices.%)', v_i, v_quote, v_quote
        using errcode = '22023';
    end if;
    perform cin_aux.check_amount(format('prices.%s', v_quote), v_qp, 'positive');
    v_bp := round(v_price * v_qp, 18);
    v_ca := coalesce(v_t ->> 'commissionAsset', v_quote);
    v_cp := case when v_ca = v_quote then v_qp when v_ca = v_base then v_bp when v_ca = 'USDT' then 1
                 else (v_prices ->> v_ca)::numeric end;
    if v_cp is null then
      raise exception 'trades[%].commissionAsset: % has no USDT price (give prices.%)', v_i, v_ca, v_ca
        using errcode = '22023';
    end if;
    v_buyer := (v_t ->> 'isBuyer')::boolean;
    if v_buyer is null then
      raise exception 'trades[%].isBuyer: is required', v_i using errcode = '22023';
    end if;
    if v_t ->> 'tradeId' is null then
      raise exception 'trades[%].tradeId: is required', v_i using errcode = '22023';
    end if;
    v_from := v_from || case when v_buyer then v_quote else v_base end;
    v_to := v_to || case when v_buyer then v_base else v_quote end;
    v_exec := v_exec || round(v_notional * v_qp, 18);
    v_fee := v_fee || round(coalesce(cin_aux.check_amount(format('trades[%s].commission', v_i),
                                      (v_t ->> 'commission')::numeric, 'nonnegative'), 0) * v_cp, 18);
    v_pfrom := v_pfrom || case when v_buyer then v_qp else v_bp end;
    v_pto := v_pto || case when v_buyer then v_bp else v_qp end;
    v_ts := v_ts || util.ms_to_ts((v_t ->> 'time')::bigint);
    v_symbols := v_symbols || v_symbol;
    v_ids := v_ids || (v_t ->> 'tradeId');
    v_sides := v_sides || case when v_buyer then 'buy' else 'sell' end;
  end loop;

  -- 2. every runtime row the trades touch, locked in asset order
  for v_i in 1 .. v_n loop
    perform cin_aux.check_asset(format('trades[%s].symbol', v_i - 1), v_from[v_i]);
    perform cin_aux.check_asset(format('trades[%s].symbol', v_i - 1), v_to[v_i]);
  end loop;
  perform 1 from cin_aux.lock_runtime(v_sess, v_from || v_to);

  -- 3. the moves, in input order
  for v_i in 1 .. v_n loop
    v_key := format('trade:%s:%s', v_symbols[v_i], v_ids[v_i]);
    trade_index := v_i - 1;
    replayed := exists (select 1 from cin_aux.moves m where m.session_id = p_session and m.idempotency_key = v_key);
    begin
      v_move := cin_aux.sp_apply_move(p_session, v_from[v_i], v_to[v_i], v_exec[v_i], v_fee[v_i], 0, null, null,
        v_pfrom[v_i], v_pto[v_i], null, null, v_ts[v_i], v_symbols[v_i], v_ids[v_i], v_sides[v_i], v_key);
    exception when sqlstate '22023' then
      raise exception 'trades[%].%', v_i - 1, sqlerrm using errcode = '22023';
    end;
    move := v_move;
    return next;
  end loop;
end;
$$;

-- Sets the session's references from its wallet account's balances at p_at (default: now): per asset,
-- the last snapshot at or before p_at plus the moves after it up to p_at, valued at p_prices' USDT price
-- ({"BTC": "40000"}), else the session's last mark at or before p_at, else 1 for USDT; an asset with a
-- non-zero balance and no price is refused (22023). Returns the references set.
create or replace function cin_aux.sp_set_references_from_wallet(
  p_session uuid, p_at timestamptz default null, p_prices jsonb default '{}'::jsonb
) returns setof cin_aux."references"
language plpgsql
set search_path = pg_catalog, cin_aux
as $$
declare
  v_sess    cin_aux.sessions;
  v_at      timestamptz := coalesce(p_at, 'infinity'::timestamptz);
  v_missing text;
  v_assets   text[];
  v_balances numeric[];
  v_prices   numeric[];
begin
  v_sess := cin_aux.lock_open_session(p_session);
  if v_sess.account_id is null then
    raise exception 'sessionId: the session is not bound to a wallet account' using errcode = '22023';
  end if;
  select coalesce(array_agg(k.asset order by k.asset), '{}'), coalesce(array_agg(bal.balance order by k.asset), '{}'),
         coalesce(array_agg(coalesce((coalesce(p_prices, '{}'::jsonb) ->> k.asset)::numeric, lm.price_usdt,
                                     case when k.asset = 'USDT' then 1 end) order by k.asset), '{}')
    into v_assets, v_balances, v_prices
  from (
    select x.asset from wallet.snapshots x where x.account_id = v_sess.account_id and x.taken_at <= v_at
    union
    select y.asset from wallet.moves y where y.account_id = v_sess.account_id and y.occurred_at <= v_at
  ) k
  left join lateral (
    select x.balance, x.taken_at from wallet.snapshots x
    where x.account_id = v_sess.account_id and x.asset = k.asset and x.taken_at <= v_at
    order by x.taken_at desc limit 1
  ) s on true
  cross join lateral (
    select coalesce(s.balance, 0) + coalesce((
      select sum(y.delta) from wallet.moves y
      where y.account_id = v_sess.account_id and y.asset = k.asset and y.occurred_at <= v_at
        and (s.taken_at is null or y.occurred_at > s.taken_at)
    ), 0) as balance
  ) bal
  left join lateral (
    select m.price_usdt from cin_aux.marks m
    where m.session_id = p_session and m.asset = k.asset and m.ts <= v_at
    order by m.ts desc limit 1
  ) lm on true;

  select w.asset into v_missing from unnest(v_assets, v_balances, v_prices) w(asset, balance, price)
  where w.price is null and w.balance <> 0 order by w.asset limit 1;
  if found then
    raise exception 'prices: the wallet holds % and it has no USDT price (give prices.% or add a mark)', v_missing, v_missing
      using errcode = '22023';
  end if;
  select w.asset into v_missing from unnest(v_assets, v_balances, v_prices) w(asset, balance, price)
  where not exists (select 1 from market.assets a where a.code = w.asset) order by w.asset limit 1;
  if found then
    raise exception 'sessionId: the wallet holds %, which is not a market.assets row', v_missing using errcode = '22023';
  end if;

  return query
  insert into cin_aux."references" as r (session_id, asset, ref_usdt, source, as_of)
  select p_session, w.asset, cin_aux.check_amount('refUsdt', round(greatest(w.balance, 0) * coalesce(w.price, 0), 18), 'nonnegative'),
         'wallet', case when p_at is null then date_trunc('milliseconds', now()) else p_at end
  from unnest(v_assets, v_balances, v_prices) w(asset, balance, price)
  order by w.asset
  on conflict (session_id, asset) do update
    set ref_usdt = excluded.ref_usdt, source = excluded.source, as_of = excluded.as_of, updated_at = now()
  returning r.*;
end;
$$;
