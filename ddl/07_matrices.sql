-- 07_matrices.sql: schema matrices (series, points, grids; latest-per-series and symbol views;
-- ensure / put / bulk-put procedures). Needs 00_schemas.
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

-- One time series per key; grid cells use the key `<matrix_type>:<BASE>/<QUOTE>` (e.g. `id_pct:BTC/USDT`).
create table if not exists matrices.series (
  id         bigint generated always as identity primary key,
  -- no surrounding whitespace, as JavaScript's String.prototype.trim sees it (what the SDK checks)
  key        text not null constraint series_key_unique unique
             constraint series_key_form check (length(key) between 1 and 200 and key !~ '^[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]|[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]$'),
  name       text,
  scope      text,
  unit       text,
  -- what the UI renders: symbol, base, quote, matrixType, frozen flag, quote list
  target     jsonb not null default '{}'::jsonb check (jsonb_typeof(target) = 'object'),
  created_at timestamptz not null default now(),
  -- the lengths ensureSeries accepts
  constraint series_labels_length check (
    (name is null or length(name) <= 200) and (scope is null or length(scope) <= 100)
    and (unit is null or length(unit) <= 50)
  )
);

-- listSeries reads series by target.symbol; getGrid and prefix filters read keys by prefix
create index if not exists series_symbol_idx on matrices.series ((target ->> 'symbol'));
create index if not exists series_key_pattern_idx on matrices.series (key text_pattern_ops);

-- The primary key (series_id, ts) is the only index: it serves range reads, the latest point per
-- series (v_latest_points) and upserts. Values are finite (NaN sorts above 'infinity' in PostgreSQL);
-- times lie in years 1 to 9999, which ISO-8601 writes with four digits (how instants travel as text),
-- and are whole milliseconds, as a JS Date carries them (a microsecond would be lost on the way back).
-- No foreign key: its check runs once per row and was two thirds of a bulk write's time (docs/matrices.md);
-- the triggers below check and lock the series once per statement, and delete a series' points with it.
create table if not exists matrices.points (
  series_id bigint not null,
  ts        timestamptz not null
            constraint points_ts_years check (ts >= '0001-01-01 00:00:00+00' and ts < '10000-01-01 00:00:00+00')
            constraint points_ts_ms check (ts = date_bin('1 millisecond', ts, '2000-01-01 00:00:00+00')),
  value     double precision not null
            constraint points_value_finite check (value > '-infinity'::float8 and value < 'infinity'::float8),
  attrs     jsonb check (attrs is null or jsonb_typeof(attrs) = 'object'),
  primary key (series_id, ts)
);

-- What the foreign key did, once per statement instead of once per row: every series the inserted
-- points name exists, and keeps existing until this transaction ends (a key-share lock, the lock a
-- foreign key takes; series are locked in id order). 23503 and the name a foreign key would have.
create or replace function matrices.points_check_series() returns trigger
language plpgsql
set search_path = pg_catalog, matrices
as $$
declare
  v_missing bigint;
begin
  select n.series_id into v_missing
  from (select distinct p.series_id from new_points p order by 1) n
  left join lateral (select s.id from matrices.series s where s.id = n.series_id for key share) s on true
  where s.id is null
  limit 1;
  if found then
    raise exception 'points refer to series % that does not exist', v_missing
      using errcode = '23503', constraint = 'points_series_id_fkey', schema = 'matrices', table = 'points',
            detail = format('Key (series_id)=(%s) is not present in table "series".', v_missing);
  end if;
  return null;
end;
$$;

create or replace trigger trg_points_check_series after insert on matrices.points
  referencing new table as new_points
  for each statement execute function matrices.points_check_series();

-- A point moved to another series (rare: upserts never set series_id) is checked row by row.
create or replace function matrices.points_check_series_row() returns trigger
language plpgsql
set search_path = pg_catalog, matrices
as $$
begin
  perform 1 from matrices.series s where s.id = new.series_id for key share;
  if not found then
    raise exception 'points refer to series % that does not exist', new.series_id
      using errcode = '23503', constraint = 'points_series_id_fkey', schema = 'matrices', table = 'points',
            detail = format('Key (series_id)=(%s) is not present in table "series".', new.series_id);
  end if;
  return new;
end;
$$;

create or replace trigger trg_points_check_series_row before update of series_id on matrices.points
  for each row when (old.series_id is distinct from new.series_id)
  execute function matrices.points_check_series_row();

-- Deleting series deletes their points (what `on delete cascade` did). Only under read committed:
-- this delete reads the points with a fresh snapshot, so it sees those a concurrent writer committed
-- meanwhile; under repeatable read it would leave them behind (a foreign key raises 40001 there).
create or replace function matrices.series_delete_points() returns trigger
language plpgsql
set search_path = pg_catalog, matrices
as $$
begin
  if not exists (select 1 from old_series) then
    return null;
  end if;
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception 'delete matrices.series in a read committed transaction, not %',
      current_setting('transaction_isolation')
      using errcode = '0A000',
            hint = 'a point written concurrently could outlive its series under a transaction snapshot';
  end if;
  delete from matrices.points p using old_series o where p.series_id = o.id;
  return null;
end;
$$;

create or replace trigger trg_series_delete_points after delete on matrices.series
  referencing old table as old_series
  for each statement execute function matrices.series_delete_points();

create or replace function matrices.series_truncate_points() returns trigger
language plpgsql
set search_path = pg_catalog, matrices
as $$
begin
  -- empty when the same statement truncated it too (truncating it again would fail: 55006)
  if exists (select 1 from matrices.points) then
    truncate matrices.points;
  end if;
  return null;
end;
$$;

create or replace trigger trg_series_truncate_points after truncate on matrices.series
  for each statement execute function matrices.series_truncate_points();

-- putGrid's rule for coins (at least two distinct asset codes): getGrid places cells by coin, so a coin
-- given twice would make two cells one
create or replace function matrices.coins_form(p_coins text[]) returns boolean
language sql immutable parallel safe
set search_path = pg_catalog, matrices
as $$
  select cardinality(p_coins) >= 2
     and array_to_string(p_coins, ',', '') ~ '^[A-Z0-9]{1,20}(,[A-Z0-9]{1,20})*$'
     and (select count(distinct c) from unnest(p_coins) c) = cardinality(p_coins)
$$;

-- The coin order of each grid written by putGrid, so getGrid gives back the same N x N matrix.
create table if not exists matrices.grids (
  matrix_type text not null check (matrix_type ~ '^[a-z][a-z0-9_]{0,63}$'),
  ts          timestamptz not null
              constraint grids_ts_ms check (ts = date_bin('1 millisecond', ts, '2000-01-01 00:00:00+00')),
  coins       text[] not null check (cardinality(coins) between 1 and 1000 and array_position(coins, null) is null)
              constraint grids_coins_form check (matrices.coins_form(coins)),
  created_at  timestamptz not null default now(),
  primary key (matrix_type, ts)
);

create or replace view matrices.v_series_symbol as
select s.id, s.key, s.name, s.scope, s.unit, s.target, s.created_at,
       s.target ->> 'symbol' as symbol,
       s.target ->> 'base' as base,
       s.target ->> 'quote' as quote,
       s.target ->> 'matrixType' as matrix_type
from matrices.series s;

-- The latest point per series: one descent of the primary key per series (a lateral top-1).
-- Measured against DISTINCT ON over the key and a trigger-maintained latest table: see docs/matrices.md.
create or replace view matrices.v_latest_points as
select s.id as series_id, s.key, s.name, s.scope, s.unit, s.target, s.symbol, s.base, s.quote, s.matrix_type,
       p.ts, p.value, p.attrs
from matrices.v_series_symbol s
cross join lateral (
  select p.ts, p.value, p.attrs
  from matrices.points p
  where p.series_id = s.id
  order by p.ts desc
  limit 1
) p;

-- Upsert by key: null arguments keep the stored values; target merges (stored || given).
create or replace function matrices.sp_ensure_series(
  p_key text, p_name text default null, p_scope text default null, p_unit text default null,
  p_target jsonb default null
) returns bigint
language plpgsql
set search_path = pg_catalog, matrices
as $$
declare
  v_id bigint;
begin
  if p_key is null then
    raise exception 'a series needs a key' using errcode = '22023';
  end if;
  if p_target is not null and jsonb_typeof(p_target) <> 'object' then
    raise exception 'target of series % must be a json object', p_key using errcode = '22023';
  end if;
  -- the common case (a known key, nothing to change) reads and burns no identity value
  select s.id into v_id from matrices.series s where s.key = p_key;
  if v_id is not null then
    if coalesce(p_name, p_scope, p_unit) is not null or p_target is not null then
      update matrices.series as s set
        name = coalesce(p_name, s.name),
        scope = coalesce(p_scope, s.scope),
        unit = coalesce(p_unit, s.unit),
        target = s.target || coalesce(p_target, '{}'::jsonb)
      where s.id = v_id
        and (s.name, s.scope, s.unit, s.target)
            is distinct from (coalesce(p_name, s.name), coalesce(p_scope, s.scope),
                              coalesce(p_unit, s.unit), s.target || coalesce(p_target, '{}'::jsonb));
    end if;
    return v_id;
  end if;
  insert into matrices.series as s (key, name, scope, unit, target)
  values (p_key, p_name, p_scope, p_unit, coalesce(p_target, '{}'::jsonb))
  on conflict (key) do update set -- created meanwhile by another transaction
    name = coalesce(excluded.name, s.name),
    scope = coalesce(excluded.scope, s.scope),
    unit = coalesce(excluded.unit, s.unit),
    target = s.target || excluded.target
  returning s.id into v_id;
  return v_id;
end;
$$;

-- Many series at once (sorted by key, so concurrent callers lock in one order): creates unknown
-- keys, merges targets (the last target given for a key wins within the call), and returns every
-- key's id with `created` true for the series this call inserted.
create or replace function matrices.sp_ensure_series_bulk(p_keys text[], p_targets jsonb[] default null)
returns table (id bigint, key text, created boolean)
language plpgsql
set search_path = pg_catalog, matrices
as $$
declare
  v_created bigint[];
begin
  if p_keys is null or array_position(p_keys, null) is not null then
    raise exception 'series keys must not be null' using errcode = '22023';
  end if;
  if p_targets is not null and cardinality(p_targets) <> cardinality(p_keys) then
    raise exception 'keys and targets differ in length' using errcode = '22023';
  end if;
  if p_targets is not null and exists (select 1 from unnest(p_targets) t where jsonb_typeof(t) <> 'object') then
    raise exception 'every target must be a json object' using errcode = '22023';
  end if;
  with input as (
    select distinct on (u.k) u.k, coalesce(u.t, '{}'::jsonb) as t
    from unnest(p_keys, p_targets) with ordinality as u (k, t, ord)
    order by u.k, u.ord desc
  ), ins as (
    insert into matrices.series as s (key, target)
    select i.k, i.t from input i
    where not exists (select 1 from matrices.series s2 where s2.key = i.k) -- burns no identity value
    order by i.k
    on conflict on constraint series_key_unique do nothing
    returning s.id
  )
  select coalesce(array_agg(ins.id), '{}') into v_created from ins;
  if p_targets is not null then
    update matrices.series as s set target = s.target || i.t
    from (
      select distinct on (u.k) u.k, u.t
      from unnest(p_keys, p_targets) with ordinality as u (k, t, ord)
      order by u.k, u.ord desc
    ) i
    -- the merge sp_ensure_series does: nested values are replaced, not merged (`@>` would call a
    -- stored {"a": {"x": 1, "y": 2}} up to date with a given {"a": {"x": 1}})
    where s.key = i.k and i.t is not null and s.target <> s.target || i.t and not (s.id = any (v_created));
  end if;
  return query
    select s.id, s.key, s.id = any (v_created)
    from matrices.series s
    where s.key = any (p_keys)
    order by s.key;
end;
$$;

-- Ensures the series and upserts one point: the same (series, ts) twice leaves one row, the last value.
create or replace function matrices.sp_put_point(
  p_series_key text, p_ts timestamptz, p_value double precision, p_attrs jsonb default null
) returns matrices.points
language plpgsql
set search_path = pg_catalog, matrices
as $$
declare
  v_row matrices.points;
begin
  if p_ts is null or p_value is null then
    raise exception 'a point needs a time and a value' using errcode = '22023';
  end if;
  if p_attrs is not null and jsonb_typeof(p_attrs) <> 'object' then
    raise exception 'attrs must be a json object' using errcode = '22023';
  end if;
  insert into matrices.points as p (series_id, ts, value, attrs)
  values (matrices.sp_ensure_series(p_series_key), p_ts, p_value, p_attrs)
  on conflict (series_id, ts) do update set value = excluded.value, attrs = excluded.attrs
  returning p.* into v_row;
  return v_row;
end;
$$;

-- Many points for many series in one statement (column arrays of one length). Unknown series are
-- created; a (series, ts) given twice keeps its last occurrence; identical rows are not rewritten.
-- Returns the number of distinct points of the batch (all of them stored with the given values).
create or replace function matrices.sp_put_points_bulk(
  p_series_keys text[], p_ts timestamptz[], p_values double precision[], p_attrs jsonb[] default null
) returns integer
language plpgsql
set search_path = pg_catalog, matrices
as $$
declare
  v_count integer;
begin
  if p_series_keys is null or p_ts is null or p_values is null then
    raise exception 'series keys, times and values are required' using errcode = '22023';
  end if;
  if cardinality(p_ts) <> cardinality(p_series_keys) or cardinality(p_values) <> cardinality(p_series_keys)
     or (p_attrs is not null and cardinality(p_attrs) <> cardinality(p_series_keys)) then
    raise exception 'series keys, times, values and attrs differ in length' using errcode = '22023';
  end if;
  if array_position(p_ts, null) is not null or array_position(p_values, null) is not null then
    raise exception 'every point needs a time and a value' using errcode = '22023';
  end if;
  if p_attrs is not null and exists (select 1 from unnest(p_attrs) a where jsonb_typeof(a) <> 'object') then
    raise exception 'attrs must be json objects' using errcode = '22023';
  end if;
  with ids as (
    select e.id, e.key from matrices.sp_ensure_series_bulk(p_series_keys) e
  ), input as (
    select distinct on (ids.id, u.t) ids.id, u.t, u.v, u.a
    from unnest(p_series_keys, p_ts, p_values, p_attrs) with ordinality as u (k, t, v, a, ord)
    join ids on ids.key = u.k
    order by ids.id, u.t, u.ord desc
  ), upsert as (
    insert into matrices.points as p (series_id, ts, value, attrs)
    select i.id, i.t, i.v, i.a from input i
    on conflict (series_id, ts) do update set value = excluded.value, attrs = excluded.attrs
    where (p.value, p.attrs) is distinct from (excluded.value, excluded.attrs)
  )
  select count(*) into v_count from input;
  return v_count;
end;
$$;
