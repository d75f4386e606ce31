-- 09_cin-aux-functions.sql: the cin_aux helpers every writer uses (amount checks, session locks,
-- runtime rows in a fixed order) and the simple writers: open a session, fund it, mark an asset, set a
-- reference. Needs 09_cin-aux-core. Moves: 09_cin-aux-runtime.
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.
--
-- Refusals raise SQLSTATE 22023 with a message `<field>: <rule>`, the field named as the SDK names it
-- (executedUsdt, feeUsdt…): the SDK turns it into a ValidationError issue on that path.

-- p_value when it is a ledger amount (finite, |x| < 10^20, at most 18 decimals) of the given sign
-- ('positive', 'nonnegative' or 'any'); null stays null.
create or replace function cin_aux.check_amount(p_field text, p_value numeric, p_sign text default 'any')
returns numeric
language plpgsql immutable parallel safe
set search_path = pg_catalog
as $$
begin
  if p_value is null then
    return null;
  end if;
  if not (p_value > -1e20 and p_value < 1e20) then
    raise exception '%: must be a finite amount below 10^20 in magnitude', p_field using errcode = '22023';
  end if;
  if scale(p_value) > 18 then
    raise exception '%: must have at most 18 decimal places', p_field using errcode = '22023';
  end if;
  if p_sign = 'positive' and p_value <= 0 then
    raise exception '%: must be positive', p_field using errcode = '22023';
  end if;
  if p_sign = 'nonnegative' and p_value < 0 then
    raise exception '%: must not be negative', p_field using errcode = '22023';
  end if;
  return p_value;
end;
$$;

-- a / b to 18 decimal places, rounded half away from zero, exactly: the integer quotient of
-- (2|a|·10^18 + |b|) / 2|b| is |a|/|b| · 10^18 rounded half up (numeric's own division keeps only as
-- many digits as its scale rules give, so its quotient rounded again could differ in the last place)
create or replace function cin_aux.div18(p_a numeric, p_b numeric) returns numeric
language sql immutable parallel safe
return sign(p_a) * sign(p_b)
  * div(2 * abs(p_a) * 1000000000000000000 + abs(p_b), 2 * abs(p_b)) * 0.000000000000000001;

-- Refuses an unknown asset (not a market.assets row) with a message naming the field.
create or replace function cin_aux.check_asset(p_field text, p_asset text) returns text
language plpgsql stable
set search_path = pg_catalog, cin_aux
as $$
begin
  if p_asset is null then
    raise exception '%: is required', p_field using errcode = '22023';
  end if;
  if not exists (select 1 from market.assets a where a.code = p_asset) then
    raise exception '%: unknown asset (not a market.assets row)', p_field using errcode = '22023';
  end if;
  return p_asset;
end;
$$;

-- Locks a session that may take writes: FOR SHARE for moves, funding and marks (they run side by side
-- and lock their balance rows), FOR UPDATE for closing (which waits for them and excludes new ones).
-- Raises P0002 when there is no such session, 22023 when it is closed.
create or replace function cin_aux.lock_open_session(p_session uuid, p_exclusive boolean default false)
returns cin_aux.sessions
language plpgsql
set search_path = pg_catalog, cin_aux
as $$
declare
  v_row cin_aux.sessions;
begin
  if p_exclusive then
    select s.* into v_row from cin_aux.sessions s where s.id = p_session for update;
  else
    select s.* into v_row from cin_aux.sessions s where s.id = p_session for share;
  end if;
  if not found then
    raise exception 'session % not found', p_session using errcode = 'P0002';
  end if;
  if v_row.status = 'closed' then
    raise exception 'sessionId: the session is closed' using errcode = '22023';
  end if;
  return v_row;
end;
$$;

-- Creates the runtime rows of the given assets that do not exist yet, in asset order (two first
-- writers of the same new rows queue instead of deadlocking), then locks them all in asset order.
create or replace function cin_aux.lock_runtime(p_session cin_aux.sessions, p_assets text[])
returns setof cin_aux.runtime_balances
language plpgsql
set search_path = pg_catalog, cin_aux
as $$
begin
  insert into cin_aux.runtime_balances (session_id, asset, allow_negative)
  select p_session.id, a.asset, p_session.allow_overdraft
  from (select distinct u.asset from unnest(p_assets) u(asset)) a
  order by a.asset
  on conflict do nothing;
  return query
  select r.* from cin_aux.runtime_balances r
  where r.session_id = p_session.id and r.asset = any(p_assets)
  order by r.asset
  for update;
end;
$$;

create or replace function cin_aux.sp_open_session(
  p_window_label    text,
  p_owner_id        uuid default null,
  p_account_id      uuid default null,
  p_meta            jsonb default '{}'::jsonb,
  p_allow_overdraft boolean default false,
  p_opened_at       timestamptz default null
) returns cin_aux.sessions
language plpgsql
set search_path = pg_catalog, cin_aux
as $$
declare
  v_row cin_aux.sessions;
begin
  if not exists (select 1 from settings.windows w where w.label = p_window_label) then
    raise exception 'window: unknown window (not a settings.windows label)' using errcode = '22023';
  end if;
  if p_account_id is not null and not exists (select 1 from wallet.accounts a where a.id = p_account_id) then
    raise exception 'accountId: unknown wallet account' using errcode = '22023';
  end if;
  insert into cin_aux.sessions as s (owner_id, account_id, window_label, meta, allow_overdraft, opened_at)
  values (p_owner_id, p_account_id, p_window_label, coalesce(p_meta, '{}'::jsonb),
          coalesce(p_allow_overdraft, false), coalesce(p_opened_at, date_trunc('milliseconds', now())))
  returning s.* into v_row;
  return v_row;
end;
$$;

-- Brings capital in: credits `usdt` to the asset's principal (and its opening principal) and, when
-- units or a price are given, its units and a lot (units = usdt / price, or price = usdt / units).
create or replace function cin_aux.sp_fund(
  p_session uuid,
  p_asset   text,
  p_usdt    numeric,
  p_units   numeric default null,
  p_price   numeric default null
) returns cin_aux.runtime_balances
language plpgsql
set search_path = pg_catalog, cin_aux
as $$
declare
  v_sess  cin_aux.sessions;
  v_units numeric := cin_aux.check_amount('units', p_units, 'positive');
  v_price numeric := cin_aux.check_amount('priceUsdt', p_price, 'positive');
  v_row   cin_aux.runtime_balances;
begin
  if p_usdt is null then
    raise exception 'usdt: is required' using errcode = '22023';
  end if;
  perform cin_aux.check_amount('usdt', p_usdt, 'positive');
  perform cin_aux.check_asset('asset', p_asset);
  v_sess := cin_aux.lock_open_session(p_session);
  if v_units is null and v_price is not null then
    v_units := cin_aux.div18(p_usdt, v_price);
    if v_units = 0 then
      raise exception 'priceUsdt: usdt / priceUsdt rounds to zero units' using errcode = '22023';
    end if;
  elsif v_units is not null and v_price is null then
    v_price := cin_aux.div18(p_usdt, v_units);
    if v_price = 0 then
      raise exception 'units: usdt / units rounds to a zero price' using errcode = '22023';
    end if;
  end if;
  perform 1 from cin_aux.lock_runtime(v_sess, array[p_asset]);
  update cin_aux.runtime_balances r
     set principal_usdt = r.principal_usdt + p_usdt, units = r.units + coalesce(v_units, 0), updated_at = now()
   where r.session_id = p_session and r.asset = p_asset
  returning r.* into v_row;
  insert into cin_aux.balances as b (session_id, asset, opening_principal_usdt)
  values (p_session, p_asset, p_usdt)
  on conflict (session_id, asset) do update set opening_principal_usdt = b.opening_principal_usdt + excluded.opening_principal_usdt;
  if v_units is not null then
    insert into cin_aux.lots (session_id, asset, entry_price_usdt, units_total, units_free)
    values (p_session, p_asset, v_price, v_units, v_units);
  end if;
  return v_row;
end;
$$;

-- Records the asset's USDT price at an instant (replacing a mark at the same instant) with its bulk:
-- the asset's total USDT value, by default the units held × price (18 decimals).
create or replace function cin_aux.sp_add_mark(
  p_session uuid,
  p_asset   text,
  p_price   numeric,
  p_ts      timestamptz default null,
  p_bulk    numeric default null
) returns cin_aux.marks
language plpgsql
set search_path = pg_catalog, cin_aux
as $$
declare
  v_sess cin_aux.sessions;
  v_bulk numeric := cin_aux.check_amount('bulkUsdt', p_bulk, 'nonnegative');
  v_row  cin_aux.marks;
begin
  if p_price is null then
    raise exception 'priceUsdt: is required' using errcode = '22023';
  end if;
  perform cin_aux.check_amount('priceUsdt', p_price, 'positive');
  perform cin_aux.check_asset('asset', p_asset);
  v_sess := cin_aux.lock_open_session(p_session);
  if v_bulk is null then
    select round(greatest(r.units, 0) * p_price, 18) into v_bulk
    from cin_aux.runtime_balances r where r.session_id = p_session and r.asset = p_asset;
    v_bulk := coalesce(v_bulk, 0);
    perform cin_aux.check_amount('bulkUsdt', v_bulk, 'nonnegative');
  end if;
  insert into cin_aux.marks as m (session_id, asset, ts, price_usdt, bulk_usdt)
  values (p_session, p_asset, coalesce(p_ts, date_trunc('milliseconds', now())), p_price, v_bulk)
  on conflict (session_id, asset, ts) do update set price_usdt = excluded.price_usdt, bulk_usdt = excluded.bulk_usdt
  returning m.* into v_row;
  return v_row;
end;
$$;

-- Sets the asset's reference USDT value (what an outside source, such as the wallet, says it is worth).
create or replace function cin_aux.sp_set_reference(
  p_session uuid,
  p_asset   text,
  p_ref     numeric,
  p_source  text default 'manual',
  p_as_of   timestamptz default null
) returns cin_aux."references"
language plpgsql
set search_path = pg_catalog, cin_aux
as $$
declare
  v_row cin_aux."references";
begin
  if p_ref is null then
    raise exception 'refUsdt: is required' using errcode = '22023';
  end if;
  perform cin_aux.check_amount('refUsdt', p_ref, 'nonnegative');
  perform cin_aux.check_asset('asset', p_asset);
  perform cin_aux.lock_open_session(p_session);
  insert into cin_aux."references" as r (session_id, asset, ref_usdt, source, as_of)
  values (p_session, p_asset, p_ref, coalesce(p_source, 'manual'), p_as_of)
  on conflict (session_id, asset) do update
    set ref_usdt = excluded.ref_usdt, source = excluded.source, as_of = excluded.as_of, updated_at = now()
  returning r.* into v_row;
  return v_row;
end;
$$;
