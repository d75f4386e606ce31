-- 04_documents.sql: schema docs (provenance of documentation bundles). Needs 00_schemas.
-- Optional: a deployment may exclude it (migrate({ exclude: ['documents'] })), so no other pack uses it.
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

-- One row per document ever registered. A file that disappears from its bundle keeps its row and
-- its hash history: `removed_at` says since when it is gone (cleared if it comes back).
create table if not exists docs.doc_registry (
  id            bigint generated always as identity primary key,
  -- relative POSIX path: no leading or trailing '/', no empty, '.' or '..' segment, no control character
  path          text not null unique constraint doc_registry_path_check check (
    length(path) between 1 and 1024
    and path !~ '^/' and path !~ '/$' and path !~ '//'
    and path !~ '(^|/)\.\.?(/|$)' and path !~ '[[:cntrl:]]'
  ),
  -- the path without its extension, lower-case, runs of other characters as '-': 'guides/Setup.md' → 'guides-setup'
  slug          text generated always as (
    lower(btrim(regexp_replace(regexp_replace(path, '\.[^./]*$', ''), '[^A-Za-z0-9]+', '-', 'g'), '-'))
  ) stored,
  title         text check (title is null or length(title) between 1 and 300),
  kind          text not null check (kind ~ '^[a-z0-9]{1,16}$'),
  version       text check (version is null or length(version) between 1 and 64),
  sha256        text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes    bigint not null check (size_bytes >= 0),
  registered_at timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  removed_at    timestamptz,
  meta          jsonb not null default '{}'::jsonb check (jsonb_typeof(meta) = 'object')
);

create index if not exists doc_registry_slug_idx on docs.doc_registry (slug);

create or replace trigger trg_doc_registry_touch
  before update on docs.doc_registry
  for each row execute function util.touch_updated_at();

-- Hash history: one row when a document is first registered and one each time its hash changes.
create table if not exists docs.doc_hashes (
  id          bigint generated always as identity primary key,
  doc_id      bigint not null references docs.doc_registry (id) on delete cascade,
  algorithm   text not null default 'sha256' check (algorithm in ('sha256')),
  hash        text not null check (hash ~ '^[0-9a-f]{64}$'),
  computed_at timestamptz not null default now()
);

create index if not exists doc_hashes_doc_idx on docs.doc_hashes (doc_id, computed_at, id);

-- The history is kept by the database, whoever writes the registry: an insert, or an update that
-- changes the hash, appends one row; an update that keeps the hash appends nothing.
create or replace function docs.tg_doc_registry_hash() returns trigger
language plpgsql
set search_path = pg_catalog, docs
as $$
begin
  if tg_op = 'INSERT' or old.sha256 is distinct from new.sha256 then
    insert into docs.doc_hashes (doc_id, algorithm, hash) values (new.id, 'sha256', new.sha256);
  end if;
  return null;
end;
$$;

create or replace trigger trg_doc_registry_hash
  after insert or update of sha256 on docs.doc_registry
  for each row execute function docs.tg_doc_registry_hash();

-- A bundle prefix is '' (the whole registry) or a relative folder ending with '/' ('guides/').
create or replace function docs.check_prefix(p_prefix text) returns text
language plpgsql immutable
set search_path = pg_catalog, docs
as $$
begin
  if p_prefix is null or (p_prefix <> '' and (p_prefix !~ '^[^/]' or p_prefix !~ '[^/]/$'
      or p_prefix ~ '//' or p_prefix ~ '(^|/)\.\.?/' or p_prefix ~ '[[:cntrl:]]')) then
    raise exception 'bundle prefix must be empty or a relative folder ending with /' using errcode = '22023';
  end if;
  return p_prefix;
end;
$$;

-- Registers the files of a bundle (paths under p_prefix) in one set-based upsert; the registry rows
-- under the prefix that are not in the list are marked removed. Returns the counts against the
-- registry as it was: added (new, or back after a removal), changed, unchanged, removed.
create or replace function docs.sp_register_bundle(
  p_paths    text[],
  p_sha256   text[],
  p_sizes    bigint[],
  p_titles   text[],
  p_kinds    text[],
  p_prefix   text default '',
  p_version  text default null
) returns table (added_count integer, changed_count integer, unchanged_count integer, removed_count integer)
language plpgsql
set search_path = pg_catalog, docs
as $$
declare
  v_n integer := coalesce(cardinality(p_paths), 0);
begin
  perform docs.check_prefix(p_prefix);
  if coalesce(cardinality(p_sha256), 0) <> v_n or coalesce(cardinality(p_sizes), 0) <> v_n
     or coalesce(cardinality(p_titles), 0) <> v_n or coalesce(cardinality(p_kinds), 0) <> v_n then
    raise exception 'paths, hashes, sizes, titles and kinds must have the same length' using errcode = '22023';
  end if;
  if v_n > 0 and (array_position(p_paths, null) is not null
      or exists (select 1 from unnest(p_paths) as u(path) where not starts_with(u.path, p_prefix))) then
    raise exception 'every path must be given and lie under the bundle prefix' using errcode = '22023';
  end if;
  if (select count(distinct u.path) from unnest(p_paths) as u(path)) <> v_n then
    raise exception 'a path appears twice in the bundle' using errcode = '22023';
  end if;

  -- One registration at a time (readers are not blocked): the counts and removals below are
  -- computed against a registry nobody else is changing.
  lock table docs.doc_registry in share row exclusive mode;

  return query
  with input as (
    select u.path, u.sha256, u.size_bytes, u.title, u.kind
    from unnest(p_paths, p_sha256, p_sizes, p_titles, p_kinds) as u(path, sha256, size_bytes, title, kind)
  ),
  prev as (
    select r.path, r.sha256, r.removed_at from docs.doc_registry r where starts_with(r.path, p_prefix)
  ),
  upserted as (
    insert into docs.doc_registry as r (path, title, kind, version, sha256, size_bytes)
    select i.path, i.title, i.kind, p_version, i.sha256, i.size_bytes from input i
    on conflict (path) do update
      set title = excluded.title, kind = excluded.kind, version = excluded.version,
          sha256 = excluded.sha256, size_bytes = excluded.size_bytes, removed_at = null
      where (r.title, r.kind, r.version, r.sha256, r.size_bytes, r.removed_at)
        is distinct from (excluded.title, excluded.kind, excluded.version, excluded.sha256, excluded.size_bytes, null)
    returning r.id
  ),
  gone as (
    update docs.doc_registry r set removed_at = now()
    where starts_with(r.path, p_prefix) and r.removed_at is null and r.path <> all (coalesce(p_paths, '{}'))
    returning r.id
  )
  -- a data-modifying cte runs to completion whether or not the final select reads it
  select
    (count(*) filter (where p.path is null or p.removed_at is not null))::integer,
    (count(*) filter (where p.removed_at is null and p.sha256 <> i.sha256))::integer,
    (count(*) filter (where p.removed_at is null and p.sha256 = i.sha256))::integer,
    (select count(*) from gone)::integer
  from input i left join prev p on p.path = i.path;
end;
$$;

-- Compares a bundle (paths under p_prefix with their sha256) with the registry; writes nothing.
-- One row per path: added (not registered, or registered as removed), removed, changed, unchanged.
create or replace function docs.sp_verify_bundle(p_paths text[], p_sha256 text[], p_prefix text default '')
returns table (doc_path text, verdict text)
language plpgsql stable
set search_path = pg_catalog, docs
as $$
begin
  perform docs.check_prefix(p_prefix);
  if coalesce(cardinality(p_sha256), 0) <> coalesce(cardinality(p_paths), 0) then
    raise exception 'paths and hashes must have the same length' using errcode = '22023';
  end if;
  return query
  select coalesce(i.path, r.path),
         case when r.path is null then 'added' when i.path is null then 'removed'
              when r.sha256 = i.sha256 then 'unchanged' else 'changed' end
  from (select u.path, u.sha256 from unnest(p_paths, p_sha256) as u(path, sha256)) i
  full join (
    select d.path, d.sha256 from docs.doc_registry d
    where d.removed_at is null and starts_with(d.path, p_prefix)
  ) r on r.path = i.path
  order by coalesce(i.path, r.path) collate "C";
end;
$$;

-- Each document with its hash history as the SDK reads it.
create or replace view docs.v_document_hashes as
select r.path, h.algorithm, h.hash, h.computed_at, h.id
from docs.doc_hashes h
join docs.doc_registry r on r.id = h.doc_id;
