-- 00_schemas.sql: every schema of the CryptoPi database, and the helpers every pack shares.
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

create schema if not exists util;
create schema if not exists settings;
create schema if not exists market;
create schema if not exists docs;
create schema if not exists wallet;
create schema if not exists matrices;
create schema if not exists str_aux;
create schema if not exists ingest;
create schema if not exists cin_aux;
create schema if not exists mea_dynamics;
create schema if not exists mea;
create schema if not exists ops;
create schema if not exists auth;
create schema if not exists ext;
create schema if not exists strategy_aux;
create schema if not exists debug;

-- Keeps `updated_at` true on every update: attached to every table that has the column.
create or replace function util.touch_updated_at() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

-- Epoch milliseconds to timestamptz, the one conversion every pack uses for ms inputs.
create or replace function util.ms_to_ts(p_ms bigint) returns timestamptz
language sql immutable strict parallel safe
set search_path = pg_catalog
as $$ select timestamptz 'epoch' + p_ms * interval '1 millisecond' $$;

-- timestamptz to epoch milliseconds, how every module reads an instant: a bigint is exact for years
-- 1–9999 whatever the session TimeZone (local mean time offsets such as +00:19:32 in 1850) and
-- whatever the client's date parser. A SQL-standard body is bound when created (no search_path to
-- pin) and, being stable like extract() itself, is inlined into the query that calls it (an immutable
-- one is not, and costs a function call per row).
create or replace function util.epoch_ms(p_ts timestamptz) returns bigint
language sql stable parallel safe
return (extract(epoch from p_ts) * 1000)::bigint;

-- Adds a named constraint to an existing table unless it is there: `create table if not exists`
-- never adds one to a table an earlier pack created, so later packs guard each addition with this.
create or replace procedure util.ensure_constraint(p_table regclass, p_name text, p_definition text)
language plpgsql
set search_path = pg_catalog
as $$
begin
  if not exists (select 1 from pg_constraint where conrelid = p_table and conname = p_name) then
    execute format('alter table %s add constraint %I %s', p_table, p_name, p_definition);
  end if;
end;
$$;
