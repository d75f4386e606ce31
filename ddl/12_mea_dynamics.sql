-- 12_mea_dynamics.sql: schema mea_dynamics (what the MEA/mood engine produced per cycle: each coin's
-- allocation value and tier, one dynamics snapshot per cooled cycle) and the read-only compatibility
-- views of schema mea over it. Needs 00_schemas, 02_settings (windows), 09_cin-aux-core (sessions).
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

-- The tiers, by |value| (the coin's id_pct): none below 0.00016; alpha from 0.00016, beta from
-- 0.00032, gamma from 0.00045, delta from 0.00076, epsilon from 0.00120 (each lower bound inclusive).
-- The same names as the SDK's tierFor.
do $$
begin
  if to_regtype('mea_dynamics.tier') is null then
    create type mea_dynamics.tier as enum ('none', 'alpha', 'beta', 'gamma', 'delta', 'epsilon');
  end if;
end;
$$;

-- The tier of a value (compared as double precision, like the SDK's tierFor); null for null.
create or replace function mea_dynamics.tier_for(p_value double precision) returns mea_dynamics.tier
language sql immutable parallel safe
return case
  when p_value is null then null
  when abs(p_value) < 0.00016::float8 then 'none'::mea_dynamics.tier
  when abs(p_value) < 0.00032::float8 then 'alpha'::mea_dynamics.tier
  when abs(p_value) < 0.00045::float8 then 'beta'::mea_dynamics.tier
  when abs(p_value) < 0.00076::float8 then 'gamma'::mea_dynamics.tier
  when abs(p_value) < 0.00120::float8 then 'delta'::mea_dynamics.tier
  else 'epsilon'::mea_dynamics.tier
end;

-- A tier's allocation weight: none 0, alpha 0.15, beta 0.55, gamma 1.15, delta 0.65, epsilon 0.50.
create or replace function mea_dynamics.tier_weight(p_tier mea_dynamics.tier) returns double precision
language sql immutable parallel safe
return case p_tier
  when 'none' then 0::float8 when 'alpha' then 0.15::float8 when 'beta' then 0.55::float8
  when 'gamma' then 1.15::float8 when 'delta' then 0.65::float8 when 'epsilon' then 0.50::float8
end;

create table if not exists mea_dynamics.mood_registry (
  id              bigint generated always as identity primary key,
  mood            text not null unique check (length(mood) between 1 and 64),
  formula_version text not null check (length(formula_version) between 1 and 64),
  buckets         jsonb not null default '[]'::jsonb,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now()
);
create or replace trigger trg_mood_registry_touch before update on mea_dynamics.mood_registry
  for each row execute function util.touch_updated_at();

create table if not exists mea_dynamics.cycles (
  id           uuid primary key default gen_random_uuid(),
  window_label text not null references settings.windows (label),
  engine_cycle bigint not null check (engine_cycle >= 0),
  session_id   uuid references cin_aux.sessions (id) on delete set null,
  started_at   timestamptz not null,
  cooled       boolean not null default false,
  cooled_at    timestamptz,
  base         text check (base ~ '^[A-Z0-9]{1,20}$'),
  quote        text check (quote ~ '^[A-Z0-9]{1,20}$'),
  coins        text[] not null default '{}',
  created_at   timestamptz not null default now(),
  constraint cycles_window_engine_cycle_key unique (window_label, engine_cycle),
  constraint cycles_cooled_at check (cooled = (cooled_at is not null))
);

create table if not exists mea_dynamics.mea_symbol (
  cycle_id     uuid not null references mea_dynamics.cycles (id) on delete cascade,
  symbol       text not null check (symbol ~ '^[A-Z0-9]{1,30}$'),
  wallet_value double precision check (wallet_value is null or wallet_value between '-1e308'::float8 and '1e308'::float8),
  -- the coin's id_pct, whose magnitude gives its tier
  mea_value    double precision not null check (mea_value between '-1e308'::float8 and '1e308'::float8),
  tier         mea_dynamics.tier not null,
  mood         text check (length(mood) between 1 and 64),
  updated_at   timestamptz not null default now(),
  primary key (cycle_id, symbol),
  -- the stored tier is always the tier of the stored value, whoever writes
  constraint mea_symbol_tier_matches check (tier = mea_dynamics.tier_for(mea_value))
);

create or replace trigger trg_mea_symbol_touch before update on mea_dynamics.mea_symbol
  for each row execute function util.touch_updated_at();

create table if not exists mea_dynamics.dynamics_snapshot (
  cycle_id       uuid primary key references mea_dynamics.cycles (id) on delete cascade,
  base           text check (base ~ '^[A-Z0-9]{1,20}$'),
  quote          text check (quote ~ '^[A-Z0-9]{1,20}$'),
  coins          text[] not null default '{}',
  candidates     jsonb not null default '[]'::jsonb,
  asset_identity jsonb not null default '{}'::jsonb,
  arbitrage_rows jsonb not null default '[]'::jsonb,
  str_measures   jsonb not null default '{}'::jsonb,
  mea_value      double precision check (mea_value is null or mea_value between '-1e308'::float8 and '1e308'::float8),
  mea_tier       mea_dynamics.tier,
  mood           text check (length(mood) between 1 and 64),
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  constraint dynamics_snapshot_tier_matches check (
    (mea_value is null and mea_tier is null) or mea_tier = mea_dynamics.tier_for(mea_value)
  )
);

create or replace trigger trg_dynamics_snapshot_touch before update on mea_dynamics.dynamics_snapshot
  for each row execute function util.touch_updated_at();

-- Registers a mood (or replaces its formula version and buckets) and returns it.
create or replace function mea_dynamics.sp_upsert_mood(p_mood text, p_formula_version text, p_buckets jsonb default null)
returns mea_dynamics.mood_registry
language plpgsql
set search_path = pg_catalog, mea_dynamics
as $$
declare
  v_row mea_dynamics.mood_registry;
begin
  insert into mea_dynamics.mood_registry as m (mood, formula_version, buckets)
  values (p_mood, p_formula_version, coalesce(p_buckets, '[]'::jsonb))
  on conflict (mood) do update set formula_version = excluded.formula_version, buckets = excluded.buckets
  returning m.* into v_row;
  return v_row;
end;
$$;

-- Starts a cycle (window, engine cycle) and returns it; starting it again returns the same row.
create or replace function mea_dynamics.sp_start_cycle(
  p_window_label text, p_engine_cycle bigint, p_started_at timestamptz default null,
  p_base text default null, p_quote text default null, p_coins text[] default null, p_session_id uuid default null
) returns mea_dynamics.cycles
language plpgsql
set search_path = pg_catalog, mea_dynamics
as $$
declare
  v_row mea_dynamics.cycles;
begin
  if not exists (select 1 from settings.windows w where w.label = p_window_label) then
    raise exception 'window: unknown window (not a settings.windows label)' using errcode = '22023';
  end if;
  insert into mea_dynamics.cycles as c (window_label, engine_cycle, started_at, base, quote, coins, session_id)
  values (p_window_label, p_engine_cycle, coalesce(p_started_at, date_trunc('milliseconds', now())),
          p_base, p_quote, coalesce(p_coins, '{}'), p_session_id)
  on conflict (window_label, engine_cycle) do nothing
  returning c.* into v_row;
  if v_row.id is null then
    select c.* into v_row from mea_dynamics.cycles c
    where c.window_label = p_window_label and c.engine_cycle = p_engine_cycle;
  end if;
  return v_row;
end;
$$;

-- Marks a cycle cooled (once: cooling it again keeps its first cooled_at); P0002 when it does not exist.
create or replace function mea_dynamics.sp_cool_cycle(p_window_label text, p_engine_cycle bigint)
returns mea_dynamics.cycles
language plpgsql
set search_path = pg_catalog, mea_dynamics
as $$
declare
  v_row mea_dynamics.cycles;
begin
  update mea_dynamics.cycles c
     set cooled = true, cooled_at = coalesce(c.cooled_at, date_trunc('milliseconds', now()))
   where c.window_label = p_window_label and c.engine_cycle = p_engine_cycle
  returning c.* into v_row;
  if not found then
    raise exception 'cycle % of window % not found', p_engine_cycle, p_window_label using errcode = 'P0002';
  end if;
  return v_row;
end;
$$;

-- Stores many coins of a cycle in one statement (a coin given again replaces its row); a null tier is
-- computed, a given one must match its value. Returns how many rows were written.
create or replace function mea_dynamics.sp_put_mea_symbols(
  p_cycle_id uuid, p_symbols text[], p_wallet_values double precision[], p_mea_values double precision[],
  p_tiers text[], p_moods text[]
) returns integer
language plpgsql
set search_path = pg_catalog, mea_dynamics
as $$
declare
  v_n integer := coalesce(cardinality(p_symbols), 0);
  v_count integer;
begin
  if coalesce(cardinality(p_wallet_values), 0) <> v_n or coalesce(cardinality(p_mea_values), 0) <> v_n
     or coalesce(cardinality(p_tiers), 0) <> v_n or coalesce(cardinality(p_moods), 0) <> v_n then
    raise exception 'symbols, wallet values, mea values, tiers and moods must have the same length' using errcode = '22023';
  end if;
  perform 1 from mea_dynamics.cycles c where c.id = p_cycle_id for share;
  if not found then
    raise exception 'cycle % not found', p_cycle_id using errcode = 'P0002';
  end if;
  insert into mea_dynamics.mea_symbol as s (cycle_id, symbol, wallet_value, mea_value, tier, mood)
  select p_cycle_id, u.symbol, u.wallet_value, u.mea_value,
         coalesce(u.tier::mea_dynamics.tier, mea_dynamics.tier_for(u.mea_value)), u.mood
  from (
    select distinct on (x.symbol) x.* from unnest(p_symbols, p_wallet_values, p_mea_values, p_tiers, p_moods)
      with ordinality as x(symbol, wallet_value, mea_value, tier, mood, ord)
    order by x.symbol, x.ord desc
  ) u
  order by u.symbol
  on conflict (cycle_id, symbol) do update
    set wallet_value = excluded.wallet_value, mea_value = excluded.mea_value, tier = excluded.tier,
        mood = excluded.mood, updated_at = now();
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;

-- Stores the dynamics snapshot of a cooled cycle (replacing an earlier one); refused (22023) unless the
-- cycle is cooled, P0002 when it does not exist.
create or replace function mea_dynamics.sp_upsert_dynamics_snapshot(
  p_cycle_id uuid, p_base text default null, p_quote text default null, p_coins text[] default null,
  p_candidates jsonb default null, p_asset_identity jsonb default null, p_arbitrage_rows jsonb default null,
  p_str_measures jsonb default null, p_mea_value double precision default null, p_mood text default null
) returns mea_dynamics.dynamics_snapshot
language plpgsql
set search_path = pg_catalog, mea_dynamics
as $$
declare
  v_cooled boolean;
  v_row    mea_dynamics.dynamics_snapshot;
begin
  select c.cooled into v_cooled from mea_dynamics.cycles c where c.id = p_cycle_id for share;
  if not found then
    raise exception 'cycle % not found', p_cycle_id using errcode = 'P0002';
  end if;
  if not v_cooled then
    raise exception 'cycleId: the cycle is not cooled (coolCycle first)' using errcode = '22023';
  end if;
  insert into mea_dynamics.dynamics_snapshot as d (
    cycle_id, base, quote, coins, candidates, asset_identity, arbitrage_rows, str_measures, mea_value, mea_tier, mood
  ) values (
    p_cycle_id, p_base, p_quote, coalesce(p_coins, '{}'), coalesce(p_candidates, '[]'), coalesce(p_asset_identity, '{}'),
    coalesce(p_arbitrage_rows, '[]'), coalesce(p_str_measures, '{}'), p_mea_value, mea_dynamics.tier_for(p_mea_value), p_mood
  )
  on conflict (cycle_id) do update set
    base = excluded.base, quote = excluded.quote, coins = excluded.coins, candidates = excluded.candidates,
    asset_identity = excluded.asset_identity, arbitrage_rows = excluded.arbitrage_rows,
    str_measures = excluded.str_measures, mea_value = excluded.mea_value, mea_tier = excluded.mea_tier,
    mood = excluded.mood, updated_at = now()
  returning d.* into v_row;
  return v_row;
end;
$$;

-- The latest cooled cycle of each window (highest engine cycle).
create or replace view mea_dynamics.latest_cooled_cycle as
select distinct on (c.window_label) c.*
from mea_dynamics.cycles c
where c.cooled
order by c.window_label, c.engine_cycle desc;

-- Each coin's row from the latest cycle (per window) that holds it.
create or replace view mea_dynamics.mea_latest_per_symbol as
select distinct on (c.window_label, s.symbol)
       c.window_label, c.engine_cycle, s.cycle_id, s.symbol, s.wallet_value, s.mea_value, s.tier, s.mood, s.updated_at
from mea_dynamics.mea_symbol s
join mea_dynamics.cycles c on c.id = s.cycle_id
order by c.window_label, s.symbol, c.engine_cycle desc;

-- The snapshot of each window's latest cycle that has one.
create or replace view mea_dynamics.dynamics_latest as
select distinct on (c.window_label) c.window_label, c.engine_cycle, d.*
from mea_dynamics.dynamics_snapshot d
join mea_dynamics.cycles c on c.id = d.cycle_id
order by c.window_label, c.engine_cycle desc;

-- Schema mea: read-only views over mea_dynamics for older readers (writes go through mea_dynamics).
create or replace function mea.tg_read_only() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
  raise exception 'mea.% is a read-only compatibility view: write mea_dynamics instead', tg_table_name
    using errcode = '55000';
end;
$$;

create or replace view mea.cycles as select * from mea_dynamics.cycles;
create or replace view mea.mea_symbol as select * from mea_dynamics.mea_symbol;
create or replace view mea.dynamics_snapshot as select * from mea_dynamics.dynamics_snapshot;
create or replace view mea.mood_registry as select * from mea_dynamics.mood_registry;
create or replace view mea.latest_cooled_cycle as select * from mea_dynamics.latest_cooled_cycle;
create or replace view mea.mea_latest_per_symbol as select * from mea_dynamics.mea_latest_per_symbol;
create or replace view mea.dynamics_latest as select * from mea_dynamics.dynamics_latest;

create or replace trigger trg_cycles_read_only instead of insert or update or delete on mea.cycles
  for each row execute function mea.tg_read_only();
create or replace trigger trg_mea_symbol_read_only instead of insert or update or delete on mea.mea_symbol
  for each row execute function mea.tg_read_only();
create or replace trigger trg_dynamics_snapshot_read_only instead of insert or update or delete on mea.dynamics_snapshot
  for each row execute function mea.tg_read_only();
create or replace trigger trg_mood_registry_read_only instead of insert or update or delete on mea.mood_registry
  for each row execute function mea.tg_read_only();
