-- 09_cin-aux-core.sql: schema cin_aux, its tables (sessions, balances, runtime balances, lots, moves,
-- move lots, marks, references, imprint/luggage) and the checks every writer meets. Needs 00_schemas,
-- 02_settings (windows), 03_market (assets), 05_wallet (accounts). Functions: 09_cin-aux-functions
-- (sessions, funding, marks, references), 09_cin-aux-runtime (moves), 10_cin-aux-runtime (close, tau),
-- 11_cin-aux-functions (trade import, wallet references); views: 20_cin_aux_views.
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

-- Every money, quantity and price figure of the ledger: an exact numeric, finite, below 10^20 in
-- magnitude, at most 18 decimal places (what numeric(38,18) holds), refused rather than rounded.
-- 'NaN' sorts above every number, so the upper bound excludes it too.
do $$
begin
  if to_regtype('cin_aux.amount') is null then
    create domain cin_aux.amount as numeric
      constraint amount_range check (value > -1e20 and value < 1e20 and scale(value) <= 18);
  end if;
end;
$$;

create table if not exists cin_aux.sessions (
  id              uuid primary key default gen_random_uuid(),
  -- the account holder (an auth account once that pack links it); opaque until then
  owner_id        uuid,
  -- the wallet account the session trades from: setReferencesFromWallet reads its balances
  account_id      uuid references wallet.accounts (id) on delete set null,
  window_label    text not null references settings.windows (label),
  status          text not null default 'open' check (status in ('open', 'closed')),
  -- a session that allows overdraft lets a move take more than the source holds (profit and units
  -- may then go below zero); by default such a move is refused
  allow_overdraft boolean not null default false,
  opened_at       timestamptz not null default now(),
  closed_at       timestamptz,
  meta            jsonb not null default '{}'::jsonb check (jsonb_typeof(meta) = 'object'),
  constraint sessions_closed_at check ((status = 'closed') = (closed_at is not null))
);
create index if not exists sessions_account_idx on cin_aux.sessions (account_id) where account_id is not null;

-- Opening buckets (what funding brought in) and closing buckets (set by sp_close_session).
create table if not exists cin_aux.balances (
  session_id             uuid not null references cin_aux.sessions (id) on delete cascade,
  asset                  text not null references market.assets (code),
  opening_principal_usdt cin_aux.amount not null default 0 check (opening_principal_usdt >= 0),
  opening_profit_usdt    cin_aux.amount not null default 0,
  closing_principal_usdt cin_aux.amount,
  closing_profit_usdt    cin_aux.amount,
  primary key (session_id, asset)
);

-- The current buckets and units of each asset of a session: the rows every move locks.
create table if not exists cin_aux.runtime_balances (
  session_id     uuid not null references cin_aux.sessions (id) on delete cascade,
  asset          text not null references market.assets (code),
  principal_usdt cin_aux.amount not null default 0,
  profit_usdt    cin_aux.amount not null default 0,
  units          cin_aux.amount not null default 0,
  -- copied from the session's allow_overdraft when the row is created
  allow_negative boolean not null default false,
  -- FIFO cursor: every lot of the asset with a lower id is exhausted, so a move's lot scan starts here
  -- (through the lots primary key) and its cost does not grow with the session's history
  open_lot_id    bigint not null default 0,
  updated_at     timestamptz not null default now(),
  primary key (session_id, asset),
  constraint runtime_balances_not_negative check (
    principal_usdt >= 0 and (allow_negative or (profit_usdt >= 0 and units >= 0))
  )
);

create or replace trigger trg_runtime_balances_touch before update on cin_aux.runtime_balances
  for each row execute function util.touch_updated_at();

create table if not exists cin_aux.moves (
  id                   bigint generated always as identity primary key,
  session_id           uuid not null references cin_aux.sessions (id) on delete cascade,
  ts                   timestamptz not null,
  from_asset           text not null references market.assets (code),
  to_asset             text not null references market.assets (code),
  executed_usdt        cin_aux.amount not null check (executed_usdt > 0),
  fee_usdt             cin_aux.amount not null default 0 check (fee_usdt >= 0),
  slippage_usdt        cin_aux.amount not null default 0 check (slippage_usdt >= 0),
  -- the plan: planned = min(ref target ?? executed, available ?? executed), dev_ref = executed - planned
  ref_usdt_target      cin_aux.amount check (ref_usdt_target >= 0),
  available_usdt       cin_aux.amount check (available_usdt >= 0),
  planned_usdt         cin_aux.amount not null,
  dev_ref_usdt         cin_aux.amount not null,
  -- how the source gave up executed (principal first), and how fee + slippage were charged (profit first)
  comp_principal_usdt  cin_aux.amount not null check (comp_principal_usdt >= 0),
  comp_profit_usdt     cin_aux.amount not null check (comp_profit_usdt >= 0),
  cost_profit_usdt     cin_aux.amount not null check (cost_profit_usdt >= 0),
  cost_principal_usdt  cin_aux.amount not null check (cost_principal_usdt >= 0),
  -- prices in USDT (both or neither of from/to; the bridge is recorded as given)
  price_from_usdt      cin_aux.amount check (price_from_usdt > 0),
  price_to_usdt        cin_aux.amount check (price_to_usdt > 0),
  bridge_asset         text references market.assets (code),
  price_bridge_usdt    cin_aux.amount check (price_bridge_usdt > 0),
  -- lot accounting, when prices are given: units converted, units spent on fee + slippage, units received
  from_units           cin_aux.amount check (from_units >= 0),
  cost_units           cin_aux.amount check (cost_units >= 0),
  to_units             cin_aux.amount check (to_units > 0),
  trace_usdt           cin_aux.amount,
  profit_consumed_usdt cin_aux.amount check (profit_consumed_usdt >= 0),
  principal_hit_usdt   cin_aux.amount check (principal_hit_usdt >= 0),
  -- provenance
  source_symbol        text check (source_symbol ~ '^[A-Z0-9]{2,30}$'),
  trade_id             text check (length(trade_id) between 1 and 100),
  side                 text check (side in ('buy', 'sell')),
  idempotency_key      text check (length(idempotency_key) between 1 and 200),
  created_at           timestamptz not null default now(),
  constraint moves_from_to_differ check (from_asset <> to_asset),
  constraint moves_executed_split check (comp_principal_usdt + comp_profit_usdt = executed_usdt),
  constraint moves_cost_split check (cost_principal_usdt + cost_profit_usdt = fee_usdt + slippage_usdt),
  constraint moves_prices_together check ((price_from_usdt is null) = (price_to_usdt is null)),
  constraint moves_units_with_prices check (
    (price_from_usdt is null) = (from_units is null) and (from_units is null) = (to_units is null)
    and (to_units is null) = (trace_usdt is null) and (trace_usdt is null) = (cost_units is null)
    and (trace_usdt is null) = (profit_consumed_usdt is null) and (trace_usdt is null) = (principal_hit_usdt is null)
  ),
  constraint moves_trace_split check (
    trace_usdt is null or profit_consumed_usdt - principal_hit_usdt = trace_usdt
      and (profit_consumed_usdt = 0 or principal_hit_usdt = 0)
  ),
  constraint moves_idempotency_key unique (session_id, idempotency_key)
);
create index if not exists moves_session_idx on cin_aux.moves (session_id, id);
create index if not exists moves_session_to_idx on cin_aux.moves (session_id, to_asset);
create unique index if not exists moves_session_trade_key on cin_aux.moves (session_id, source_symbol, trade_id)
  where trade_id is not null;

-- FIFO acquisition lots: funding creates one, every priced move one for its destination. The primary
-- key (session_id, asset, id) is the table's only index, so every read of lots goes by session and
-- asset: a move reads its source's lots from runtime_balances.open_lot_id on, oldest first (the
-- planner has no index on id alone to walk other sessions' lots with). units_free is in no index and
-- the pages keep room (fillfactor), so consuming a lot is a HOT update that adds no index entry: the
-- index does not bloat with consumption, and a move's scan starts at its first open lot.
create table if not exists cin_aux.lots (
  id               bigint generated always as identity,
  session_id       uuid not null references cin_aux.sessions (id) on delete cascade,
  asset            text not null references market.assets (code),
  -- the move that bought it (null: funding)
  move_id          bigint references cin_aux.moves (id) on delete cascade,
  entry_price_usdt cin_aux.amount not null check (entry_price_usdt > 0),
  units_total      cin_aux.amount not null check (units_total > 0),
  units_free       cin_aux.amount not null,
  created_at       timestamptz not null default now(),
  constraint lots_pkey primary key (session_id, asset, id),
  constraint lots_free_within_total check (units_free >= 0 and units_free <= units_total)
) with (fillfactor = 70);

create table if not exists cin_aux.move_lots (
  move_id          bigint not null references cin_aux.moves (id) on delete cascade,
  session_id       uuid not null,
  asset            text not null,
  lot_id           bigint not null,
  units            cin_aux.amount not null check (units > 0),
  entry_price_usdt cin_aux.amount not null check (entry_price_usdt > 0),
  primary key (move_id, lot_id),
  constraint move_lots_lot_fkey foreign key (session_id, asset, lot_id)
    references cin_aux.lots (session_id, asset, id) on delete cascade
);
create index if not exists move_lots_lot_idx on cin_aux.move_lots (session_id, asset, lot_id);

create table if not exists cin_aux.marks (
  session_id uuid not null references cin_aux.sessions (id) on delete cascade,
  asset      text not null references market.assets (code),
  ts         timestamptz not null,
  price_usdt cin_aux.amount not null check (price_usdt > 0),
  -- the asset's total USDT value at the mark (default: units held × price)
  bulk_usdt  cin_aux.amount not null check (bulk_usdt >= 0),
  primary key (session_id, asset, ts)
);

create table if not exists cin_aux."references" (
  session_id uuid not null references cin_aux.sessions (id) on delete cascade,
  asset      text not null references market.assets (code),
  ref_usdt   cin_aux.amount not null check (ref_usdt >= 0),
  source     text not null default 'manual' check (source in ('manual', 'wallet')),
  -- for a wallet reference: the instant of the balance it was taken from
  as_of      timestamptz,
  updated_at timestamptz not null default now(),
  primary key (session_id, asset)
);

create or replace trigger trg_references_touch before update on cin_aux."references"
  for each row execute function util.touch_updated_at();

-- One row per closed session: its churn, generated profit, trace, plan deviation, what it carries out
-- (luggage principal and profit: the closing buckets) and its tau totals.
create table if not exists cin_aux.imprint_luggage (
  session_id             uuid primary key references cin_aux.sessions (id) on delete cascade,
  principal_churn_usdt   cin_aux.amount not null,
  profit_churn_usdt      cin_aux.amount not null,
  generated_profit_usdt  cin_aux.amount not null,
  trace_sum_usdt         cin_aux.amount not null,
  dev_ref_sum_usdt       cin_aux.amount not null,
  luggage_principal_usdt cin_aux.amount not null,
  luggage_profit_usdt    cin_aux.amount not null,
  imprint_usdt           cin_aux.amount not null,
  luggage_usdt           cin_aux.amount not null,
  tau_usdt               cin_aux.amount not null,
  closed_at              timestamptz not null
);

-- Moves and their lot consumption are a ledger: written once, never edited or deleted one by one
-- (deleting a session still removes them: the cascade runs inside a trigger, depth > 1).
create or replace function cin_aux.tg_append_only() returns trigger
language plpgsql
set search_path = pg_catalog, cin_aux
as $$
begin
  if tg_op = 'DELETE' and pg_trigger_depth() > 1 then
    return null;
  end if;
  raise exception 'cin_aux.% is append-only: % refused', tg_table_name, lower(tg_op)
    using errcode = '55000', schema = 'cin_aux', table = tg_table_name;
end;
$$;

create or replace trigger trg_moves_append_only
  before update or delete on cin_aux.moves
  for each statement execute function cin_aux.tg_append_only();
create or replace trigger trg_move_lots_append_only
  before update or delete on cin_aux.move_lots
  for each statement execute function cin_aux.tg_append_only();
