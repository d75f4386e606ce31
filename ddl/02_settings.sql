-- 02_settings.sql: schema settings (windows, params, profile, coin universe, external accounts,
-- wallets and their encrypted credentials, cache rules, universe batches). Needs 00_schemas, 01_extensions.
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.
-- Functions that touch market objects are plpgsql (resolved when called); 03_market attaches the
-- universe triggers (trg_coin_universe_sync*, trg_coin_universe_derive) that link the two schemas.

-- ---------------------------------------------------------------------------------------------
-- windows: labelled spans; every module that speaks of a window references this table.

create table if not exists settings.windows (
  label       text primary key check (label ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$'),
  amount      integer not null check (amount > 0),
  unit        text not null check (unit in ('second', 'minute', 'hour', 'day')),
  duration_ms bigint generated always as (amount::bigint * case unit
    when 'second' then 1000 when 'minute' then 60000 when 'hour' then 3600000 else 86400000 end) stored,
  created_at  timestamptz not null default now(),
  unique (amount, unit),
  -- a duration is read back as a JS number: beyond 2^53 - 1 ms it could not be (every read would fail)
  constraint windows_duration_ms_safe check (duration_ms <= 9007199254740991)
);

create or replace function settings.sp_upsert_window(
  p_label text, p_amount integer default null, p_unit text default null
) returns settings.windows
language plpgsql
set search_path = pg_catalog, settings
as $$
declare
  v_span   text[] := regexp_match(p_label, '^([1-9][0-9]{0,8})([smhd])$'); -- '15m' is {15, m}
  v_amount integer := coalesce(p_amount, v_span[1]::integer);
  v_unit   text := coalesce(p_unit, case v_span[2] when 's' then 'second' when 'm' then 'minute'
                                                   when 'h' then 'hour' when 'd' then 'day' end);
  v_row    settings.windows;
begin
  if p_label is null or p_label !~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$' then
    raise exception 'a window label is a letter or digit, then up to 31 letters, digits, _ or - (such as 15m)'
      using errcode = '22023', detail = format('label %s', coalesce(quote_literal(p_label), 'null'));
  end if;
  if (p_amount is null) <> (p_unit is null) or v_amount is null then
    raise exception 'a window needs an amount and a unit, or a label that spells its span (such as 15m)'
      using errcode = '22023', detail = format('label %s', quote_literal(p_label));
  end if;
  if v_amount <= 0 then
    raise exception 'a window needs a positive amount'
      using errcode = '22023', detail = format('label %s, amount %s', quote_literal(p_label), v_amount);
  end if;
  if v_unit not in ('second', 'minute', 'hour', 'day') then
    raise exception 'a window unit is second, minute, hour or day'
      using errcode = '22023', detail = format('label %s, unit %s', quote_literal(p_label), quote_literal(v_unit));
  end if;
  -- a label that spells a span ('15m') means that span: it cannot name another one
  if v_span is not null and (v_amount::text <> v_span[1] or left(v_unit, 1) <> v_span[2]) then
    raise exception 'a window label that spells a span (such as 15m) cannot name another span'
      using errcode = '22023',
            detail = format('label %s, amount %s, unit %s', quote_literal(p_label), v_amount, v_unit);
  end if;
  if v_amount::bigint * (case v_unit when 'second' then 1000 when 'minute' then 60000 when 'hour' then 3600000
                         else 86400000 end) > 9007199254740991 then
    raise exception 'a window is at most 2^53 - 1 milliseconds long'
      using errcode = '22023', detail = format('label %s', quote_literal(p_label));
  end if;
  insert into settings.windows as w (label, amount, unit) values (p_label, v_amount, v_unit)
  on conflict (label) do update set amount = excluded.amount, unit = excluded.unit
  returning w.* into v_row;
  return v_row;
end;
$$;

insert into settings.windows (label, amount, unit) values
  ('30s', 30, 'second'), ('40s', 40, 'second'), ('1m', 1, 'minute'), ('3m', 3, 'minute'),
  ('5m', 5, 'minute'), ('15m', 15, 'minute'), ('30m', 30, 'minute'), ('1h', 1, 'hour'),
  ('3h', 3, 'hour'), ('4h', 4, 'hour'), ('1d', 1, 'day')
on conflict do nothing;

-- ---------------------------------------------------------------------------------------------
-- params: a true singleton of engine knobs. str_cycles maps a window label to the number of
-- str-aux cycles that window spans (labels checked against settings.windows by sp_update_params).

create table if not exists settings.params (
  singleton           boolean primary key default true check (singleton),
  primary_interval_ms bigint not null default 30000 check (primary_interval_ms between 1000 and 86400000),
  secondary_enabled   boolean not null default false,
  secondary_cycles    integer not null default 3 check (secondary_cycles between 1 and 100),
  str_cycles          jsonb not null default '{"30m": 45, "1h": 90, "3h": 270}'::jsonb
    check (jsonb_typeof(str_cycles) = 'object'
      and not jsonb_path_exists(str_cycles, '$.* ? (@.type() != "number" || @ < 1 || @ > 100000 || @.floor() != @)')),
  sampling_seconds    integer not null default 5 check (sampling_seconds between 1 and 3600),
  cycle_seconds       integer not null default 40 check (cycle_seconds between 1 and 86400),
  updated_at          timestamptz not null default now(),
  constraint params_cycle_multiple_of_sampling check (cycle_seconds % sampling_seconds = 0)
);

insert into settings.params (singleton) values (true) on conflict do nothing;

create or replace trigger trg_params_touch before update on settings.params
  for each row execute function util.touch_updated_at();

create or replace function settings.sp_update_params(
  p_primary_interval_ms bigint default null,
  p_secondary_enabled boolean default null,
  p_secondary_cycles integer default null,
  p_str_cycles jsonb default null,
  p_sampling_seconds integer default null,
  p_cycle_seconds integer default null
) returns settings.params
language plpgsql
set search_path = pg_catalog, settings
as $$
declare
  v_unknown text;
  v_row     settings.params;
begin
  if p_str_cycles is not null then
    if jsonb_typeof(p_str_cycles) <> 'object' then
      raise exception 'str_cycles must be an object of window label to cycles' using errcode = '22023';
    end if;
    select k into v_unknown from jsonb_object_keys(p_str_cycles) k
    where not exists (select 1 from settings.windows w where w.label = k) order by k limit 1;
    if found then
      raise exception 'every str_cycles key must be a window label settings.windows holds'
        using errcode = '22023', detail = format('unknown window %s', quote_literal(v_unknown));
    end if;
  end if;
  insert into settings.params as p (singleton) values (true) on conflict do nothing;
  update settings.params as p set
    primary_interval_ms = coalesce(p_primary_interval_ms, p.primary_interval_ms),
    secondary_enabled   = coalesce(p_secondary_enabled, p.secondary_enabled),
    secondary_cycles    = coalesce(p_secondary_cycles, p.secondary_cycles),
    str_cycles          = coalesce(p_str_cycles, p.str_cycles),
    sampling_seconds    = coalesce(p_sampling_seconds, p.sampling_seconds),
    cycle_seconds       = coalesce(p_cycle_seconds, p.cycle_seconds)
  where p.singleton
  returning p.* into v_row;
  return v_row;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- profile: the owner's profile, keyed by a case-insensitive email (the auth pack may link it).

create table if not exists settings.profile (
  id         uuid primary key default gen_random_uuid(),
  email      text not null check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' and length(email) <= 254),
  nickname   text check (length(nickname) between 1 and 64),
  timezone   text not null default 'UTC' check (length(timezone) between 1 and 64),
  language   text not null default 'en' check (language ~ '^[a-z]{2,3}$'),
  locale     text check (locale ~ '^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$'),
  params     jsonb not null default '{}'::jsonb check (jsonb_typeof(params) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create unique index if not exists profile_email_lower_key on settings.profile (lower(email));

create or replace trigger trg_profile_touch before update on settings.profile
  for each row execute function util.touch_updated_at();

create or replace function settings.sp_upsert_profile(
  p_email text,
  p_nickname text default null,
  p_timezone text default null,
  p_language text default null,
  p_locale text default null,
  p_params jsonb default null
) returns settings.profile
language plpgsql
set search_path = pg_catalog, settings
as $$
declare
  v_row settings.profile;
begin
  if p_email is null then
    raise exception 'a profile needs an email' using errcode = '22023';
  end if;
  if p_timezone is not null then
    begin
      perform now() at time zone p_timezone;
    exception when others then
      raise exception 'the time zone must be one PostgreSQL knows (pg_timezone_names), such as Europe/Paris'
        using errcode = '22023', detail = format('time zone %s', quote_literal(p_timezone));
    end;
  end if;
  if p_params is not null and jsonb_typeof(p_params) <> 'object' then
    raise exception 'profile params must be a json object' using errcode = '22023';
  end if;
  insert into settings.profile as p (email, nickname, timezone, language, locale, params)
  values (p_email, p_nickname, coalesce(p_timezone, 'UTC'), coalesce(p_language, 'en'), p_locale,
          coalesce(p_params, '{}'::jsonb))
  on conflict ((lower(email))) do update set
    nickname = coalesce(p_nickname, p.nickname),
    timezone = coalesce(p_timezone, p.timezone),
    language = coalesce(p_language, p.language),
    locale   = coalesce(p_locale, p.locale),
    params   = coalesce(p_params, p.params)
  returning p.* into v_row;
  return v_row;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- coin_universe: what the system samples. base/quote are derived by market.parse_symbol when not
-- given (trg_coin_universe_derive, attached by 03_market).

create table if not exists settings.coin_universe (
  symbol      text primary key check (symbol ~ '^[A-Z0-9]{2,30}$'),
  base_asset  text not null check (base_asset ~ '^[A-Z0-9]{1,20}$'),
  quote_asset text not null check (quote_asset ~ '^[A-Z0-9]{1,20}$'),
  enabled     boolean not null default true,
  sort_order  integer not null default 0,
  metadata    jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object'),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  constraint coin_universe_symbol_is_base_quote check (symbol = base_asset || quote_asset)
);

create index if not exists coin_universe_enabled_idx on settings.coin_universe (sort_order, symbol) where enabled;

create or replace trigger trg_coin_universe_touch before update on settings.coin_universe
  for each row execute function util.touch_updated_at();

create or replace view settings.v_coin_universe_simple as
select symbol, base_asset as base, quote_asset as quote, enabled, sort_order
from settings.coin_universe
order by sort_order, symbol;

-- Fills base/quote from the symbol when a writer leaves them out, or renames the symbol alone
-- (attached by 03_market).
create or replace function settings.coin_universe_derive() returns trigger
language plpgsql
set search_path = pg_catalog, settings
as $$
declare
  v_base  text;
  v_quote text;
begin
  -- a rename of the symbol alone (base and quote as they were, no longer spelling it) is split again
  if tg_op = 'UPDATE' and new.symbol is distinct from old.symbol
     and new.base_asset is not distinct from old.base_asset and new.quote_asset is not distinct from old.quote_asset
     and new.symbol is distinct from new.base_asset || new.quote_asset then
    new.base_asset := null;
    new.quote_asset := null;
  end if;
  if new.base_asset is null or new.quote_asset is null then
    select p.base, p.quote into v_base, v_quote from market.parse_symbol(new.symbol) p;
    new.base_asset := coalesce(new.base_asset, v_base);
    new.quote_asset := coalesce(new.quote_asset, v_quote);
  end if;
  return new;
end;
$$;

-- Mirrors the given universe symbols (and their assets) to market: status TRADING when enabled,
-- OFF otherwise, OFF for a symbol no longer in the universe. Exchange filters and metadata already
-- in market.symbols are kept. Rows are written in symbol order (no deadlock between two mirrors).
create or replace function settings.mirror_symbols_to_market(p_symbols text[])
returns table(symbols_upserted integer, assets_created integer)
language plpgsql
set search_path = pg_catalog, settings
as $$
declare
  v_assets  integer;
  v_symbols integer;
  v_off     integer;
begin
  with a as (
    insert into market.assets (code)
    select distinct v.code
    from settings.coin_universe c
    cross join lateral (values (c.base_asset), (c.quote_asset)) v(code)
    where c.symbol = any(p_symbols)
    order by v.code
    on conflict do nothing
    returning 1
  )
  select count(*) into v_assets from a;

  with s as (
    insert into market.symbols as m (symbol, base_asset, quote_asset, status)
    select c.symbol, c.base_asset, c.quote_asset, case when c.enabled then 'TRADING' else 'OFF' end
    from settings.coin_universe c
    where c.symbol = any(p_symbols)
    order by c.symbol
    on conflict (symbol) do update set
      base_asset = excluded.base_asset, quote_asset = excluded.quote_asset, status = excluded.status
    where (m.base_asset, m.quote_asset, m.status)
      is distinct from (excluded.base_asset, excluded.quote_asset, excluded.status)
    returning 1
  )
  select count(*) into v_symbols from s;

  with o as (
    update market.symbols m set status = 'OFF'
    where m.symbol = any(p_symbols) and m.status <> 'OFF'
      and not exists (select 1 from settings.coin_universe c where c.symbol = m.symbol)
    returning 1
  )
  select count(*) into v_off from o;

  symbols_upserted := v_symbols + v_off;
  assets_created := v_assets;
  return next;
end;
$$;

-- Statement-level: mirrors only the symbols this statement changed (symbol, base, quote or
-- enabled) to market and sends ONE notification {"op", "symbols", "count", "truncated", "seq"} per
-- changing statement. Attached by 03_market as trg_coin_universe_sync (update),
-- trg_coin_universe_sync_insert and trg_coin_universe_sync_delete: PostgreSQL allows transition
-- tables on single-event triggers only. A NOTIFY payload is capped (8000 bytes): past 200 symbols
-- the list is cut and "truncated" is true ("count" is always the full number). "seq" numbers the
-- changing statements of one transaction (1, 2, …): PostgreSQL delivers identical payloads sent in
-- one transaction only once, so without it two equal changes in one transaction would be one event.
create or replace function settings.coin_universe_sync() returns trigger
language plpgsql
set search_path = pg_catalog, settings
as $$
declare
  v_symbols text[];
  v_seq     integer;
begin
  if tg_op = 'INSERT' then
    select array_agg(distinct n.symbol order by n.symbol) into v_symbols from new_rows n;
  elsif tg_op = 'DELETE' then
    select array_agg(distinct o.symbol order by o.symbol) into v_symbols from old_rows o;
  else
    select array_agg(distinct d.symbol order by d.symbol) into v_symbols from (
      (select n.symbol, n.base_asset, n.quote_asset, n.enabled from new_rows n
       except select o.symbol, o.base_asset, o.quote_asset, o.enabled from old_rows o)
      union all
      (select o.symbol, o.base_asset, o.quote_asset, o.enabled from old_rows o
       except select n.symbol, n.base_asset, n.quote_asset, n.enabled from new_rows n)
    ) d;
  end if;
  if coalesce(cardinality(v_symbols), 0) = 0 then
    return null;
  end if;
  perform settings.mirror_symbols_to_market(v_symbols);
  -- transaction-local (is_local): reverts at commit or rollback, and with a rolled-back savepoint
  v_seq := coalesce(nullif(current_setting('cryptopi.universe_change_seq', true), ''), '0')::integer + 1;
  perform set_config('cryptopi.universe_change_seq', v_seq::text, true);
  perform pg_notify('settings_universe_changed', json_build_object(
    'op', lower(tg_op),
    'symbols', to_json(v_symbols[1:200]),
    'count', cardinality(v_symbols),
    'truncated', cardinality(v_symbols) > 200,
    'seq', v_seq
  )::text);
  return null;
end;
$$;

-- TRUNCATE fires no row or transition-table trigger: before it, every symbol is deleted instead, so
-- the delete trigger mirrors them to market (OFF) and sends the event; the truncate then finds the
-- table empty. Attached by 03_market as trg_coin_universe_truncate.
create or replace function settings.coin_universe_truncate() returns trigger
language plpgsql
set search_path = pg_catalog, settings
as $$
begin
  delete from settings.coin_universe;
  return null;
end;
$$;

-- Makes the enabled universe exactly p_symbols (p_auto_disable) or only enables them. Returns
-- enabled_count = the distinct symbols given (all enabled now) and disabled_count = the symbols
-- this call switched off. Symbols are validated and split before anything is written. Calls are
-- serialized by a transaction-level advisory lock, so concurrent syncs cannot blend their lists.
create or replace function settings.sp_sync_coin_universe(
  p_symbols text[], p_auto_disable boolean default true
) returns table(enabled_count integer, disabled_count integer)
language plpgsql
set search_path = pg_catalog, settings
as $$
declare
  v_symbols  text[];
  v_bad      text;
  v_base     integer;
  v_disabled integer;
begin
  if p_symbols is null then
    raise exception 'sp_sync_coin_universe needs an array of symbols' using errcode = '22023';
  end if;
  if p_auto_disable is null then
    raise exception 'auto_disable must be true or false, not null' using errcode = '22023';
  end if;
  if array_position(p_symbols, null) is not null then
    raise exception 'symbols must not contain null' using errcode = '22023';
  end if;
  select s into v_bad from unnest(p_symbols) s where s !~ '^[A-Z0-9]{2,30}$' limit 1;
  if found then
    raise exception 'every symbol must be upper-case letters and digits such as BTCUSDT'
      using errcode = '22023', detail = format('symbol %s', quote_literal(v_bad));
  end if;
  -- distinct, in first-seen order; new symbols are appended to the sort order in that order
  select coalesce(array_agg(d.s order by d.pos), '{}') into v_symbols
  from (select u.s, min(u.pos) as pos from unnest(p_symbols) with ordinality u(s, pos) group by u.s) d;

  perform pg_advisory_xact_lock(hashtext('settings'), hashtext('coin_universe'));

  select coalesce(max(c.sort_order), 0) into v_base from settings.coin_universe c;
  -- Only symbols new to the universe are split (one already there keeps its base and quote, even
  -- when another writer gave them and no known quote ends it): `materialized` keeps the planner from
  -- calling parse_symbol before the filter. parse_symbol raises 22023 for a symbol it cannot split:
  -- the statement (and the call) fails whole.
  with fresh as materialized (
    select n.symbol, n.pos
    from unnest(v_symbols) with ordinality n(symbol, pos)
    where not exists (select 1 from settings.coin_universe c where c.symbol = n.symbol)
  )
  insert into settings.coin_universe (symbol, base_asset, quote_asset, enabled, sort_order)
  select f.symbol, p.base, p.quote, true, v_base + (row_number() over (order by f.pos))::integer
  from fresh f
  cross join lateral market.parse_symbol(f.symbol) p
  order by f.symbol;

  with u as (
    update settings.coin_universe c set enabled = (c.symbol = any(v_symbols))
    where c.enabled is distinct from (c.symbol = any(v_symbols))
      and (p_auto_disable or c.symbol = any(v_symbols))
    returning c.enabled
  )
  select count(*) filter (where not u.enabled) into v_disabled from u;

  enabled_count := cardinality(v_symbols);
  disabled_count := v_disabled;
  return next;
end;
$$;

-- Mirrors the whole universe to market (see settings.mirror_symbols_to_market).
create or replace function settings.sp_mirror_universe_to_market()
returns table(symbols_upserted integer, assets_created integer)
language plpgsql
set search_path = pg_catalog, settings
as $$
begin
  return query select m.symbols_upserted, m.assets_created
  from settings.mirror_symbols_to_market(array(select c.symbol from settings.coin_universe c)) m;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- external_accounts: a linked provider account. No secrets: a fingerprint and a hint only.

create table if not exists settings.external_accounts (
  id              uuid primary key default gen_random_uuid(),
  provider        text not null check (provider ~ '^[a-z][a-z0-9_]{1,31}$'),
  label           text not null default 'default' check (length(label) between 1 and 64),
  profile_id      uuid references settings.profile (id) on delete set null,
  linked          boolean not null default false,
  account_hint    text check (length(account_hint) <= 64),
  key_fingerprint text check (key_fingerprint ~ '^[0-9a-f]{64}$'),
  last_linked_at  timestamptz,
  meta            jsonb not null default '{}'::jsonb check (jsonb_typeof(meta) = 'object'),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  unique (provider, label)
);

create index if not exists external_accounts_profile_idx on settings.external_accounts (profile_id, provider);

create or replace trigger trg_external_accounts_touch before update on settings.external_accounts
  for each row execute function util.touch_updated_at();

-- last_linked_at is set when linked becomes true (insert or update), and is never written otherwise.
create or replace function settings.external_accounts_linked_at() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
  if tg_op = 'INSERT' then
    new.last_linked_at := case when new.linked then now() end;
  elsif new.linked and not old.linked then
    new.last_linked_at := now();
  else
    new.last_linked_at := old.last_linked_at;
  end if;
  return new;
end;
$$;

create or replace trigger trg_external_accounts_linked_at before insert or update on settings.external_accounts
  for each row execute function settings.external_accounts_linked_at();

create or replace function settings.sp_upsert_external_account(
  p_provider text,
  p_label text default null,
  p_linked boolean default null,
  p_account_hint text default null,
  p_key_fingerprint text default null,
  p_meta jsonb default null,
  p_profile_id uuid default null
) returns settings.external_accounts
language plpgsql
set search_path = pg_catalog, settings
as $$
declare
  v_row settings.external_accounts;
begin
  if p_provider is null or p_provider !~ '^[a-z][a-z0-9_]{1,31}$' then
    raise exception 'a provider is a lower-case name such as binance'
      using errcode = '22023', detail = format('provider %s', coalesce(quote_literal(p_provider), 'null'));
  end if;
  insert into settings.external_accounts as e
    (provider, label, linked, account_hint, key_fingerprint, meta, profile_id)
  values (p_provider, coalesce(p_label, 'default'), coalesce(p_linked, false), p_account_hint,
          p_key_fingerprint, coalesce(p_meta, '{}'::jsonb), p_profile_id)
  on conflict (provider, label) do update set
    linked          = coalesce(p_linked, e.linked),
    account_hint    = coalesce(p_account_hint, e.account_hint),
    key_fingerprint = coalesce(p_key_fingerprint, e.key_fingerprint),
    meta            = coalesce(p_meta, e.meta),
    profile_id      = coalesce(p_profile_id, e.profile_id)
  returning e.* into v_row;
  return v_row;
end;
$$;

create or replace view settings.v_profile_binance as
select p.id as profile_id, p.email, p.nickname, p.timezone, p.language, p.locale,
       e.id as external_account_id, e.label as account_label, coalesce(e.linked, false) as linked,
       e.account_hint, e.key_fingerprint, e.last_linked_at
from settings.profile p
left join lateral (
  select x.id, x.label, x.linked, x.account_hint, x.key_fingerprint, x.last_linked_at
  from settings.external_accounts x
  where x.profile_id = p.id and x.provider = 'binance'
  order by x.linked desc, x.last_linked_at desc nulls last, x.label
  limit 1
) e on true;

-- ---------------------------------------------------------------------------------------------
-- wallets and their credentials. Credentials are pgcrypto ciphertext only: the key is given per
-- call by the host app, never stored; the check on the first byte (an OpenPGP symmetric-key
-- packet, 0xc3) refuses clear bytes written by anyone.

create table if not exists settings.wallets (
  id                  uuid primary key default gen_random_uuid(),
  profile_id          uuid references settings.profile (id) on delete cascade,
  label               text not null check (length(label) between 1 and 64),
  exchange            text check (exchange ~ '^[a-z][a-z0-9_]{1,31}$'),
  network             text check (length(network) between 1 and 64),
  address             text check (length(address) between 1 and 256),
  external_account_id uuid references settings.external_accounts (id) on delete set null,
  meta                jsonb not null default '{}'::jsonb check (jsonb_typeof(meta) = 'object'),
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  constraint wallets_owner_label_key unique nulls not distinct (profile_id, label)
);

create or replace trigger trg_wallets_touch before update on settings.wallets
  for each row execute function util.touch_updated_at();

create or replace function settings.sp_upsert_wallet(
  p_label text,
  p_profile_id uuid default null,
  p_exchange text default null,
  p_network text default null,
  p_address text default null,
  p_external_account_id uuid default null,
  p_meta jsonb default null
) returns settings.wallets
language plpgsql
set search_path = pg_catalog, settings
as $$
declare
  v_row settings.wallets;
begin
  if p_label is null then
    raise exception 'a wallet needs a label' using errcode = '22023';
  end if;
  insert into settings.wallets as w (label, profile_id, exchange, network, address, external_account_id, meta)
  values (p_label, p_profile_id, p_exchange, p_network, p_address, p_external_account_id,
          coalesce(p_meta, '{}'::jsonb))
  on conflict on constraint wallets_owner_label_key do update set
    exchange            = coalesce(p_exchange, w.exchange),
    network             = coalesce(p_network, w.network),
    address             = coalesce(p_address, w.address),
    external_account_id = coalesce(p_external_account_id, w.external_account_id),
    meta                = coalesce(p_meta, w.meta)
  returning w.* into v_row;
  return v_row;
end;
$$;

create table if not exists settings.wallet_credentials (
  wallet_id       uuid not null references settings.wallets (id) on delete cascade,
  exchange        text not null check (exchange ~ '^[a-z][a-z0-9_]{1,31}$'),
  api_key_enc     bytea not null check (substr(api_key_enc, 1, 1) = '\xc3'::bytea),
  api_secret_enc  bytea not null check (substr(api_secret_enc, 1, 1) = '\xc3'::bytea),
  passphrase_enc  bytea check (substr(passphrase_enc, 1, 1) = '\xc3'::bytea),
  key_fingerprint text not null check (key_fingerprint ~ '^[0-9a-f]{64}$'),
  key_last4       text not null check (length(key_last4) between 1 and 4),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  primary key (wallet_id, exchange)
);

create or replace trigger trg_wallet_credentials_touch before update on settings.wallet_credentials
  for each row execute function util.touch_updated_at();

-- Encrypts and stores (or replaces) a wallet's credentials for an exchange; returns no secret.
create or replace function settings.sp_put_wallet_credentials(
  p_wallet_id uuid,
  p_exchange text,
  p_api_key text,
  p_api_secret text,
  p_passphrase text,
  p_encryption_key text
) returns table(wallet_id uuid, exchange text, key_fingerprint text, key_last4 text,
                created_at timestamptz, updated_at timestamptz)
language plpgsql
set search_path = pg_catalog, settings
as $$
#variable_conflict use_column
begin
  if p_encryption_key is null or length(p_encryption_key) < 16 then
    raise exception 'the encryption key must be at least 16 characters' using errcode = '22023';
  end if;
  if p_api_key is null or length(p_api_key) < 8 or p_api_secret is null or length(p_api_secret) < 8 then
    raise exception 'api key and secret must be at least 8 characters' using errcode = '22023';
  end if;
  if p_passphrase = '' then
    raise exception 'a passphrase, when given, must not be empty' using errcode = '22023';
  end if;
  return query
  insert into settings.wallet_credentials as c
    (wallet_id, exchange, api_key_enc, api_secret_enc, passphrase_enc, key_fingerprint, key_last4)
  values (
    p_wallet_id, p_exchange,
    public.pgp_sym_encrypt(p_api_key, p_encryption_key, 'cipher-algo=aes256'),
    public.pgp_sym_encrypt(p_api_secret, p_encryption_key, 'cipher-algo=aes256'),
    case when p_passphrase is not null
      then public.pgp_sym_encrypt(p_passphrase, p_encryption_key, 'cipher-algo=aes256') end,
    encode(public.digest(p_api_key, 'sha256'), 'hex'),
    right(p_api_key, 4)
  )
  on conflict on constraint wallet_credentials_pkey do update set
    api_key_enc = excluded.api_key_enc, api_secret_enc = excluded.api_secret_enc,
    passphrase_enc = excluded.passphrase_enc, key_fingerprint = excluded.key_fingerprint,
    key_last4 = excluded.key_last4
  returning c.wallet_id, c.exchange, c.key_fingerprint, c.key_last4, c.created_at, c.updated_at;
end;
$$;

-- Decrypts a wallet's credentials: P0002 when there are none, 42501 'decryption failed: …' when the key
-- does not open them (pgcrypto's own error is not passed on: it says nothing useful and must not carry
-- the inputs). The SDK turns the 42501 into a ValidationError on encryptionKey.
create or replace function settings.sp_get_wallet_credentials(
  p_wallet_id uuid, p_exchange text, p_encryption_key text
) returns table(wallet_id uuid, exchange text, api_key text, api_secret text, passphrase text,
                key_fingerprint text, key_last4 text, updated_at timestamptz)
language plpgsql
set search_path = pg_catalog, settings
as $$
#variable_conflict use_column
declare
  v_row settings.wallet_credentials;
begin
  select c.* into v_row from settings.wallet_credentials c
  where c.wallet_id = p_wallet_id and c.exchange = p_exchange;
  if not found then
    raise exception 'settings.wallet_credential not found (by wallet_id, exchange)' using errcode = 'P0002';
  end if;
  begin
    api_key := public.pgp_sym_decrypt(v_row.api_key_enc, p_encryption_key);
    api_secret := public.pgp_sym_decrypt(v_row.api_secret_enc, p_encryption_key);
    passphrase := case when v_row.passphrase_enc is not null
      then public.pgp_sym_decrypt(v_row.passphrase_enc, p_encryption_key) end;
  exception when others then
    raise exception 'decryption failed: this key does not open the stored credentials' using errcode = '42501';
  end;
  if encode(public.digest(api_key, 'sha256'), 'hex') <> v_row.key_fingerprint then
    raise exception 'decryption failed: this key does not open the stored credentials' using errcode = '42501';
  end if;
  wallet_id := v_row.wallet_id;
  exchange := v_row.exchange;
  key_fingerprint := v_row.key_fingerprint;
  key_last4 := v_row.key_last4;
  updated_at := v_row.updated_at;
  return next;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- cache rules: server-side (scr) and client-side (ccr). Read by the app, written by admins.

create table if not exists settings.scr_rules (
  rule_id     text primary key check (rule_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$'),
  description text check (length(description) <= 500),
  enabled     boolean not null default true,
  precedence  integer not null default 100,
  rule_json   jsonb not null default '{}'::jsonb check (jsonb_typeof(rule_json) = 'object'),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table if not exists settings.ccr_rules (
  rule_id     text primary key check (rule_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$'),
  description text check (length(description) <= 500),
  enabled     boolean not null default true,
  precedence  integer not null default 100,
  rule_json   jsonb not null default '{}'::jsonb check (jsonb_typeof(rule_json) = 'object'),
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create or replace trigger trg_scr_rules_touch before update on settings.scr_rules
  for each row execute function util.touch_updated_at();
create or replace trigger trg_ccr_rules_touch before update on settings.ccr_rules
  for each row execute function util.touch_updated_at();

-- Both rule sets, in the order they apply: precedence, then rule id.
create or replace view settings.v_cache_rules as
select 'scr'::text as kind, rule_id, description, enabled, precedence, rule_json, created_at, updated_at
from settings.scr_rules
union all
select 'ccr'::text as kind, rule_id, description, enabled, precedence, rule_json, created_at, updated_at
from settings.ccr_rules;

create or replace function settings.sp_upsert_rule(
  p_kind text,
  p_rule_id text,
  p_description text default null,
  p_enabled boolean default null,
  p_precedence integer default null,
  p_rule_json jsonb default null
) returns settings.v_cache_rules
language plpgsql
set search_path = pg_catalog, settings
as $$
declare
  v_row settings.v_cache_rules;
begin
  if p_rule_json is not null and jsonb_typeof(p_rule_json) <> 'object' then
    raise exception 'rule_json must be a json object' using errcode = '22023';
  end if;
  if p_kind = 'scr' then
    insert into settings.scr_rules as r (rule_id, description, enabled, precedence, rule_json)
    values (p_rule_id, p_description, coalesce(p_enabled, true), coalesce(p_precedence, 100),
            coalesce(p_rule_json, '{}'::jsonb))
    on conflict (rule_id) do update set
      description = coalesce(p_description, r.description), enabled = coalesce(p_enabled, r.enabled),
      precedence = coalesce(p_precedence, r.precedence), rule_json = coalesce(p_rule_json, r.rule_json)
    returning 'scr', r.rule_id, r.description, r.enabled, r.precedence, r.rule_json, r.created_at, r.updated_at
    into v_row;
  elsif p_kind = 'ccr' then
    insert into settings.ccr_rules as r (rule_id, description, enabled, precedence, rule_json)
    values (p_rule_id, p_description, coalesce(p_enabled, true), coalesce(p_precedence, 100),
            coalesce(p_rule_json, '{}'::jsonb))
    on conflict (rule_id) do update set
      description = coalesce(p_description, r.description), enabled = coalesce(p_enabled, r.enabled),
      precedence = coalesce(p_precedence, r.precedence), rule_json = coalesce(p_rule_json, r.rule_json)
    returning 'ccr', r.rule_id, r.description, r.enabled, r.precedence, r.rule_json, r.created_at, r.updated_at
    into v_row;
  else
    raise exception 'a rule kind is scr or ccr'
      using errcode = '22023', detail = format('kind %s', coalesce(quote_literal(p_kind), 'null'));
  end if;
  return v_row;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- universe_batch_ops: an inbox of whole-universe updates; inserting a row applies it through
-- sp_sync_coin_universe and records the counts and the time applied on the row itself.

create table if not exists settings.universe_batch_ops (
  id             bigint generated always as identity primary key,
  symbols        text[] not null,
  auto_disable   boolean not null default true,
  requested_at   timestamptz not null default now(),
  applied_at     timestamptz,
  enabled_count  integer check (enabled_count >= 0),
  disabled_count integer check (disabled_count >= 0)
);

create or replace function settings.universe_batch_apply() returns trigger
language plpgsql
set search_path = pg_catalog, settings
as $$
begin
  select s.enabled_count, s.disabled_count into new.enabled_count, new.disabled_count
  from settings.sp_sync_coin_universe(new.symbols, new.auto_disable) s;
  new.applied_at := now();
  return new;
end;
$$;

create or replace trigger trg_universe_batch_apply before insert on settings.universe_batch_ops
  for each row execute function settings.universe_batch_apply();
