-- 05_wallet.sql: schema wallet (per-user accounts, asset moves, balance snapshots). Needs 00_schemas.
-- Stands alone: assets are upper-case codes checked here (no foreign key into market), and an
-- account's owner is an opaque uuid (the auth pack may attach a foreign key to it).
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

create table if not exists wallet.accounts (
  id             uuid primary key default gen_random_uuid(),
  owner_id       uuid not null,
  -- no surrounding whitespace, as JavaScript's String.prototype.trim sees it (what the SDK checks)
  venue          text not null constraint accounts_venue_form check (
    length(venue) between 1 and 64 and venue !~ '^[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]|[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]$'
  ),
  label          text not null constraint accounts_label_form check (
    length(label) between 1 and 100 and label !~ '^[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]|[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]$'
  ),
  base_currency  text not null default 'USDT' check (base_currency ~ '^[A-Z0-9]{1,20}$'),
  -- a closed account keeps its history and refuses new moves and snapshots
  status         text not null default 'active' check (status in ('active', 'suspended', 'closed')),
  allow_negative boolean not null default false,
  -- bumped by every statement that writes moves or snapshots of the account (see tg_moves_no_overdraw)
  ledger_version bigint not null default 0,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now(),
  unique (owner_id, venue, label)
);

-- updated_at follows the account's own fields, not its ledger activity (ledger_version)
create or replace trigger trg_accounts_touch
  before update of owner_id, venue, label, base_currency, status, allow_negative on wallet.accounts
  for each row execute function util.touch_updated_at();

-- A move's amount is a positive magnitude; its kind gives the sign (`delta`): deposit, trade_in and
-- transfer_in add, withdrawal, trade_out, fee and transfer_out subtract. An adjustment is the one
-- signed kind (a correction either way, never zero).
create table if not exists wallet.moves (
  id              bigint generated always as identity primary key,
  account_id      uuid not null references wallet.accounts (id) on delete cascade,
  kind            text not null constraint moves_kind_check check (kind in (
    'deposit', 'withdrawal', 'trade_in', 'trade_out', 'fee', 'transfer_in', 'transfer_out', 'adjustment'
  )),
  asset           text not null constraint moves_asset_check check (asset ~ '^[A-Z0-9]{1,20}$'),
  -- finite: 'NaN' sorts above 'Infinity' in numeric, so the two bounds exclude both
  amount          numeric not null constraint moves_amount_check check (
    amount > '-Infinity'::numeric and amount < 'Infinity'::numeric
    and case when kind = 'adjustment' then amount <> 0 else amount > 0 end
  ),
  delta           numeric generated always as (
    case when kind in ('withdrawal', 'trade_out', 'fee', 'transfer_out') then -amount else amount end
  ) stored,
  -- unit price in the account's base currency, when known
  price           numeric constraint moves_price_check check (price is null or (price >= 0 and price < 'Infinity'::numeric)),
  occurred_at     timestamptz not null,
  external_id     text check (external_id is null or length(external_id) between 1 and 200),
  -- what makes a replay insert nothing twice: 'ext:' || external_id, or 'content:' || a sha256 of
  -- the move's content when it has no external id (wallet.move_key), with ':n' for the n-th (n >= 2)
  -- identical move of one batch, so identical moves are all kept and a replayed batch adds none
  idempotency_key text not null constraint moves_idempotency_key_form check (
    idempotency_key = 'ext:' || external_id
    or (external_id is null and idempotency_key ~ '^content:[0-9a-f]{64}(:([2-9]|[1-9][0-9]+))?$')
  ),
  created_at      timestamptz not null default now(),
  constraint moves_idempotency_key unique (account_id, idempotency_key)
);

create index if not exists moves_account_asset_time_idx on wallet.moves (account_id, asset, occurred_at);
create index if not exists moves_account_time_idx on wallet.moves (account_id, occurred_at, id);

-- Balances as the exchange reported them, or as computed from moves, at an instant. A snapshot at
-- taken_at includes every move with occurred_at <= taken_at.
create table if not exists wallet.snapshots (
  id         bigint generated always as identity primary key,
  account_id uuid not null references wallet.accounts (id) on delete cascade,
  asset      text not null constraint snapshots_asset_check check (asset ~ '^[A-Z0-9]{1,20}$'),
  balance    numeric not null check (balance > '-Infinity'::numeric and balance < 'Infinity'::numeric),
  taken_at   timestamptz not null,
  source     text not null check (source in ('exchange', 'computed', 'manual')),
  created_at timestamptz not null default now(),
  constraint snapshots_account_asset_taken_at_key unique (account_id, asset, taken_at)
);

-- Current balance per account and asset: the last snapshot plus the moves after it (every move
-- when there is no snapshot). Amounts are numeric: the sums are exact.
create or replace view wallet.v_balances as
select k.account_id, k.asset,
       coalesce(s.balance, 0) + coalesce(m.delta, 0) as balance,
       s.balance as snapshot_balance, s.taken_at as snapshot_at,
       coalesce(m.moves, 0)::integer as moves_after, m.last_move_at
from (
  select x.account_id, x.asset from wallet.snapshots x
  union
  select y.account_id, y.asset from wallet.moves y
) k
left join lateral (
  select x.balance, x.taken_at from wallet.snapshots x
  where x.account_id = k.account_id and x.asset = k.asset
  order by x.taken_at desc limit 1
) s on true
left join lateral (
  select sum(y.delta) as delta, count(*) as moves, max(y.occurred_at) as last_move_at from wallet.moves y
  where y.account_id = k.account_id and y.asset = k.asset and (s.taken_at is null or y.occurred_at > s.taken_at)
) m on true;

-- The idempotency key of a move: its external id, else a digest of its content (the same move
-- written with '1.50' or '1.5' gets the same key).
create or replace function wallet.move_key(
  p_kind text, p_asset text, p_amount numeric, p_price numeric, p_occurred_at timestamptz, p_external_id text
) returns text
language sql stable parallel safe
set search_path = pg_catalog, wallet
as $$
  select coalesce('ext:' || p_external_id, 'content:' || encode(sha256(convert_to(concat_ws('|',
    p_kind, p_asset, trim_scale(p_amount)::text, coalesce(trim_scale(p_price)::text, '-'),
    trim_scale(extract(epoch from p_occurred_at))::text
  ), 'UTF8')), 'hex'))
$$;

-- Refuses a write that leaves a balance below zero on an account that does not allow it. Runs once
-- per statement that inserts moves, whoever the writer. It locks the accounts concerned (in id order,
-- so writers queue instead of deadlocking) and bumps their ledger_version: a writer in a repeatable
-- read or serializable transaction that started before then gets a serialization failure (40001)
-- instead of checking against a stale snapshot. It then reads the moves with a fresh snapshot (read
-- committed), so a concurrent writer's committed moves are counted.
-- The balance is a function of time (the last snapshot plus the moves up to an instant), so it is
-- checked in time order, not batch order: for each asset the statement takes from (a negative delta
-- after the last snapshot), the balance must not be below zero at any instant from the earliest such
-- move on. Moves at one instant count together. An outflow dated before the funds arrived, or one
-- that empties the funds of an outflow already recorded later, is refused.
create or replace function wallet.tg_moves_no_overdraw() returns trigger
language plpgsql
set search_path = pg_catalog, wallet
as $$
declare
  v_key       record;
  v_snap_bal  numeric;
  v_snap_at   timestamptz;
  v_first_out timestamptz;
  v_at        timestamptz;
begin
  perform 1 from wallet.accounts a
  where a.id in (select n.account_id from new_moves n)
  order by a.id
  for update;
  update wallet.accounts a set ledger_version = a.ledger_version + 1
  where a.id in (select n.account_id from new_moves n);

  for v_key in
    select n.account_id, n.asset from new_moves n
    join wallet.accounts a on a.id = n.account_id and not a.allow_negative
    group by n.account_id, n.asset
    having min(n.delta) < 0
    order by n.account_id, n.asset
  loop
    v_snap_bal := null;
    v_snap_at := null;
    select s.balance, s.taken_at into v_snap_bal, v_snap_at from wallet.snapshots s
    where s.account_id = v_key.account_id and s.asset = v_key.asset
    order by s.taken_at desc limit 1;
    -- moves at or before the last snapshot are already in it: they change no balance
    select min(n.occurred_at) into v_first_out from new_moves n
    where n.account_id = v_key.account_id and n.asset = v_key.asset and n.delta < 0
      and (v_snap_at is null or n.occurred_at > v_snap_at);
    continue when v_first_out is null;

    select b.at into v_at from (
      select d.at, coalesce(v_snap_bal, 0) + sum(d.delta) over (order by d.at) as balance
      from (
        select m.occurred_at as at, sum(m.delta) as delta from wallet.moves m
        where m.account_id = v_key.account_id and m.asset = v_key.asset
          and (v_snap_at is null or m.occurred_at > v_snap_at)
        group by m.occurred_at
      ) d
    ) b
    where b.at >= v_first_out and b.balance < 0
    order by b.at limit 1;
    if found then
      raise exception 'overdraw refused: the % balance of account % would go below zero',
        v_key.asset, v_key.account_id
        using errcode = '22023', constraint = 'moves_no_overdraw', schema = 'wallet', table = 'moves',
              detail = format('The balance is below zero at %s.', to_char(v_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
              hint = 'the account does not allow negative balances (allow_negative)';
    end if;
  end loop;
  return null;
end;
$$;

create or replace trigger trg_moves_no_overdraw
  after insert on wallet.moves
  referencing new table as new_moves
  for each statement execute function wallet.tg_moves_no_overdraw();

-- Moves are a ledger: written once, corrected by a new move (an adjustment), never edited or deleted
-- one by one; an edit or a delete would bypass the overdraw rule and the idempotency keys. Deleting
-- an account still removes its moves: the foreign key's cascade runs inside a trigger (depth > 1).
create or replace function wallet.tg_moves_append_only() returns trigger
language plpgsql
set search_path = pg_catalog, wallet
as $$
begin
  if tg_op = 'DELETE' and pg_trigger_depth() > 1 then
    return null;
  end if;
  raise exception 'wallet.moves is append-only: % refused', lower(tg_op)
    using errcode = '55000', schema = 'wallet', table = 'moves',
          hint = 'record an adjustment move to correct a balance';
end;
$$;

create or replace trigger trg_moves_append_only
  before update or delete on wallet.moves
  for each statement execute function wallet.tg_moves_append_only();

create or replace function wallet.sp_create_account(
  p_owner_id       uuid,
  p_venue          text,
  p_label          text,
  p_base_currency  text default 'USDT',
  p_allow_negative boolean default false
) returns wallet.accounts
language plpgsql
set search_path = pg_catalog, wallet
as $$
declare
  v_row wallet.accounts;
begin
  insert into wallet.accounts as a (owner_id, venue, label, base_currency, allow_negative)
  values (p_owner_id, p_venue, p_label, coalesce(p_base_currency, 'USDT'), coalesce(p_allow_negative, false))
  returning a.* into v_row;
  return v_row;
end;
$$;

-- Changes an account's label, status or allow_negative; a null argument keeps the stored value.
create or replace function wallet.sp_update_account(
  p_account_id     uuid,
  p_label          text default null,
  p_status         text default null,
  p_allow_negative boolean default null
) returns wallet.accounts
language plpgsql
set search_path = pg_catalog, wallet
as $$
declare
  v_row wallet.accounts;
begin
  update wallet.accounts as a
     set label = coalesce(p_label, a.label),
         status = coalesce(p_status, a.status),
         allow_negative = coalesce(p_allow_negative, a.allow_negative)
   where a.id = p_account_id
  returning a.* into v_row;
  if not found then
    raise exception 'account % not found', p_account_id using errcode = 'P0002';
  end if;
  return v_row;
end;
$$;

-- Locks an account that may take new moves or snapshots; raises P0002 (unknown) or 22023 (closed).
-- In a repeatable read transaction, raises 40001 if another writer changed its ledger meanwhile.
create or replace function wallet.lock_open_account(p_account_id uuid) returns wallet.accounts
language plpgsql
set search_path = pg_catalog, wallet
as $$
declare
  v_row wallet.accounts;
begin
  select a.* into v_row from wallet.accounts a where a.id = p_account_id for update;
  if not found then
    raise exception 'account % not found', p_account_id using errcode = 'P0002';
  end if;
  if v_row.status = 'closed' then
    raise exception 'account % is closed', p_account_id using errcode = '22023';
  end if;
  return v_row;
end;
$$;

-- Records a batch of moves on one account in one set-based insert. Idempotent: a move whose key
-- is already stored is skipped. The key is 'ext:' || external_id, or for a move without one its
-- content digest (wallet.move_key), suffixed ':n' for the n-th identical move of the batch: identical
-- moves of one batch are all kept, and the same batch replayed adds none. An external id names one
-- move: given twice in the batch with different content it is refused (22023), and given with other
-- content than the move already stored under it it is refused (23505, moves_idempotency_key) rather
-- than skipped; given twice with the same content it is inserted once. The account row is locked
-- first, so concurrent writers of the same account queue; the overdraw trigger then refuses the whole
-- batch if it takes a balance below zero.
create or replace function wallet.sp_record_moves(
  p_account_id   uuid,
  p_kinds        text[],
  p_assets       text[],
  p_amounts      numeric[],
  p_prices       numeric[],
  p_occurred_at  timestamptz[],
  p_external_ids text[]
) returns table (inserted_count integer, skipped_count integer, skipped_external_ids text[])
language plpgsql
set search_path = pg_catalog, wallet
as $$
declare
  v_n   integer := coalesce(cardinality(p_kinds), 0);
  v_ext text;
begin
  if coalesce(cardinality(p_assets), 0) <> v_n or coalesce(cardinality(p_amounts), 0) <> v_n
     or coalesce(cardinality(p_prices), 0) <> v_n or coalesce(cardinality(p_occurred_at), 0) <> v_n
     or coalesce(cardinality(p_external_ids), 0) <> v_n then
    raise exception 'kinds, assets, amounts, prices, occurred_at and external ids must have the same length'
      using errcode = '22023';
  end if;
  perform wallet.lock_open_account(p_account_id);

  select u.external_id into v_ext
  from unnest(p_kinds, p_assets, p_amounts, p_prices, p_occurred_at, p_external_ids)
    with ordinality as u(kind, asset, amount, price, occurred_at, external_id, ord)
  where u.external_id is not null
  group by u.external_id
  having count(distinct wallet.move_key(u.kind, u.asset, u.amount, u.price, u.occurred_at, null)) > 1
  order by min(u.ord) limit 1;
  if found then
    raise exception 'external id % appears twice in the batch with different content', v_ext
      using errcode = '22023';
  end if;

  -- read after the account lock: every move committed by an earlier writer is seen
  select u.external_id into v_ext
  from unnest(p_kinds, p_assets, p_amounts, p_prices, p_occurred_at, p_external_ids)
    with ordinality as u(kind, asset, amount, price, occurred_at, external_id, ord)
  join wallet.moves m on m.account_id = p_account_id and m.idempotency_key = 'ext:' || u.external_id
  where wallet.move_key(m.kind, m.asset, m.amount, m.price, m.occurred_at, null)
     <> wallet.move_key(u.kind, u.asset, u.amount, u.price, u.occurred_at, null)
  order by u.ord limit 1;
  if found then
    raise exception 'external id % of account % is already recorded with other content', v_ext, p_account_id
      using errcode = '23505', constraint = 'moves_idempotency_key', schema = 'wallet', table = 'moves',
            detail = 'Key (account_id, external_id)=(…) names a move with another kind, asset, amount, price or time.';
  end if;

  return query
  with input as (
    select u.ord, u.kind, u.asset, u.amount, u.price, u.occurred_at, u.external_id,
           wallet.move_key(u.kind, u.asset, u.amount, u.price, u.occurred_at, null) as content_key
    from unnest(p_kinds, p_assets, p_amounts, p_prices, p_occurred_at, p_external_ids)
      with ordinality as u(kind, asset, amount, price, occurred_at, external_id, ord)
  ),
  keyed as (
    select i.*, coalesce('ext:' || i.external_id, i.content_key || case when i.nth > 1 then ':' || i.nth else '' end)
             as move_key
    from (
      select x.*, row_number() over (partition by x.external_id is null, x.content_key order by x.ord) as nth
      from input x
    ) i
  ),
  firsts as (
    select distinct on (k.move_key) k.* from keyed k order by k.move_key, k.ord
  ),
  ins as (
    insert into wallet.moves (account_id, kind, asset, amount, price, occurred_at, external_id, idempotency_key)
    select p_account_id, f.kind, f.asset, f.amount, f.price, f.occurred_at, f.external_id, f.move_key
    from firsts f order by f.ord
    on conflict (account_id, idempotency_key) do nothing
    returning idempotency_key
  )
  select (select count(*) from ins)::integer,
         v_n - (select count(*) from ins)::integer,
         coalesce((
           select array_agg(s.external_id order by s.first_ord)
           from (
             select k.external_id, min(k.ord) as first_ord from keyed k
             where k.external_id is not null and k.move_key not in (select ins.idempotency_key from ins)
             group by k.external_id
           ) s
         ), '{}'::text[]);
end;
$$;

-- Stores balances of an account at an instant (default now, in whole milliseconds). With p_assets null
-- and source 'computed', the balances are computed from the account's last snapshot and moves up to p_taken_at. A snapshot
-- at the same instant for the same asset is replaced. Returns the stored rows.
create or replace function wallet.sp_take_snapshot(
  p_account_id uuid,
  p_assets     text[],
  p_balances   numeric[],
  p_taken_at   timestamptz default null,
  p_source     text default 'exchange'
) returns setof wallet.snapshots
language plpgsql
set search_path = pg_catalog, wallet
as $$
declare
  v_account wallet.accounts;
  -- now() in whole milliseconds, the precision a JS Date carries: the instant the SDK returns is the one
  -- stored, so a later snapshot at that instant replaces this one (and moves at it are in it)
  v_at      timestamptz := coalesce(p_taken_at, date_trunc('milliseconds', now()));
begin
  if coalesce(cardinality(p_balances), 0) <> coalesce(cardinality(p_assets), 0) then
    raise exception 'assets and balances must have the same length' using errcode = '22023';
  end if;
  if cardinality(p_assets) = 0 then
    raise exception 'a reported snapshot needs at least one balance' using errcode = '22023';
  end if;
  if (p_assets is null) <> (p_source = 'computed') then
    raise exception 'a computed snapshot takes no balances, any other needs them' using errcode = '22023';
  end if;
  v_account := wallet.lock_open_account(p_account_id);
  -- a computed snapshot records what the moves say; a reported one must respect allow_negative
  if not v_account.allow_negative and exists (select 1 from unnest(p_balances) as b(v) where b.v < 0) then
    raise exception 'negative balance refused: account % does not allow negative balances', p_account_id
      using errcode = '22023', constraint = 'snapshots_no_negative', schema = 'wallet', table = 'snapshots';
  end if;
  update wallet.accounts a set ledger_version = a.ledger_version + 1 where a.id = p_account_id;

  return query
  with given as (
    -- an asset given twice: the last one wins
    select distinct on (u.asset) u.asset, u.balance
    from unnest(p_assets, p_balances) with ordinality as u(asset, balance, ord)
    order by u.asset, u.ord desc
  ),
  computed as (
    select k.asset, coalesce(s.balance, 0) + coalesce((
             select sum(y.delta) from wallet.moves y
             where y.account_id = p_account_id and y.asset = k.asset
               and y.occurred_at <= v_at and (s.taken_at is null or y.occurred_at > s.taken_at)
           ), 0) as balance
    from (
      select x.asset from wallet.snapshots x where x.account_id = p_account_id and x.taken_at <= v_at
      union
      select y.asset from wallet.moves y where y.account_id = p_account_id and y.occurred_at <= v_at
    ) k
    left join lateral (
      select x.balance, x.taken_at from wallet.snapshots x
      where x.account_id = p_account_id and x.asset = k.asset and x.taken_at <= v_at
      order by x.taken_at desc limit 1
    ) s on true
    where p_assets is null
  ),
  snapshot_rows as (
    select g.asset, g.balance from given g
    union all
    select c.asset, c.balance from computed c
  )
  insert into wallet.snapshots as s (account_id, asset, balance, taken_at, source)
  select p_account_id, c.asset, c.balance, v_at, p_source from snapshot_rows c
  on conflict (account_id, asset, taken_at) do update
    set balance = excluded.balance, source = excluded.source
  returning s.*;
end;
$$;
