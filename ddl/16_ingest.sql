-- 16_ingest.sql: schema ingest, the capture layer (raw klines and trades as received, cursors,
-- load logs, promotion to market.klines) and the cursor seeding of newly enabled universe symbols.
-- Needs 00_schemas, 02_settings (windows, coin_universe), 03_market (symbols, klines).
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

-- ---------------------------------------------------------------------------------------------
-- Binance payloads, read in one place. A REST kline is an array
--   [openTime, "open", "high", "low", "close", "volume", closeTime, "quoteVolume", trades,
--    "takerBuyBase", "takerBuyQuote", "ignore"]
-- and a websocket kline event an object { e: 'kline', E, s, k: { t, T, s, i, o, c, h, l, v, n, x, q, V, Q, B } }.
-- No row for anything else; a field that does not cast is a data exception (class 22).

create or replace function ingest.kline_fields(p_payload jsonb)
returns table (
  open_ms bigint, close_ms bigint, open double precision, high double precision, low double precision,
  close double precision, volume numeric, quote_volume numeric, trades integer, taker_buy_base numeric,
  taker_buy_quote numeric, closed boolean, event_symbol text, event_interval text
)
language sql immutable parallel safe
set search_path = pg_catalog
as $$
  select (a.k ->> 0)::bigint, (a.k ->> 6)::bigint, (a.k ->> 1)::float8, (a.k ->> 2)::float8,
         (a.k ->> 3)::float8, (a.k ->> 4)::float8, (a.k ->> 5)::numeric, (a.k ->> 7)::numeric,
         (a.k ->> 8)::integer, (a.k ->> 9)::numeric, (a.k ->> 10)::numeric,
         null::boolean, null::text, null::text
  from (select p_payload as k) a
  where jsonb_typeof(p_payload) = 'array' and jsonb_array_length(p_payload) >= 11
  union all
  select (b.k ->> 't')::bigint, (b.k ->> 'T')::bigint, (b.k ->> 'o')::float8, (b.k ->> 'h')::float8,
         (b.k ->> 'l')::float8, (b.k ->> 'c')::float8, (b.k ->> 'v')::numeric, (b.k ->> 'q')::numeric,
         (b.k ->> 'n')::integer, (b.k ->> 'V')::numeric, (b.k ->> 'Q')::numeric,
         (b.k ->> 'x')::boolean, coalesce(b.k ->> 's', p_payload ->> 's'), b.k ->> 'i'
  from (select p_payload -> 'k' as k) b
  where jsonb_typeof(p_payload) = 'object' and p_payload ->> 'e' = 'kline' and jsonb_typeof(b.k) = 'object'
$$;

-- A REST trade { id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch } or a websocket trade
-- event { e: 'trade', E, s, t, p, q, T, m, M }.
create or replace function ingest.trade_fields(p_payload jsonb)
returns table (trade_id bigint, trade_ms bigint, price numeric, qty numeric, event_symbol text)
language sql immutable parallel safe
set search_path = pg_catalog
as $$
  select (p_payload ->> 'id')::bigint, (p_payload ->> 'time')::bigint, (p_payload ->> 'price')::numeric,
         (p_payload ->> 'qty')::numeric, null::text
  where jsonb_typeof(p_payload) = 'object' and p_payload ? 'id' and not p_payload ? 'e'
  union all
  select (p_payload ->> 't')::bigint, (p_payload ->> 'T')::bigint, (p_payload ->> 'p')::numeric,
         (p_payload ->> 'q')::numeric, p_payload ->> 's'
  where jsonb_typeof(p_payload) = 'object' and p_payload ->> 'e' = 'trade'
$$;

-- The names every capture shares: refuses what the tables would refuse, with a plain message.
create or replace function ingest.check_stream(p_source text, p_symbol text, p_interval text default null)
returns void
language plpgsql
set search_path = pg_catalog
as $$
begin
  if p_source is null or p_source !~ '^[a-z0-9][a-z0-9_.:-]{0,63}$' then
    raise exception 'source % is not a lower-case name such as binance', coalesce(quote_literal(p_source), 'null')
      using errcode = '22023';
  end if;
  if p_symbol is null or p_symbol !~ '^[A-Z0-9]{2,30}$' then
    raise exception 'symbol % is not an upper-case symbol such as BTCUSDT', coalesce(quote_literal(p_symbol), 'null')
      using errcode = '22023';
  end if;
  if p_interval is not null and p_interval !~ '^[1-9][0-9]{0,3}[smhdwM]$' then
    raise exception 'interval % is not a Binance interval such as 1m', quote_literal(p_interval)
      using errcode = '22023';
  end if;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Raw captures, stored exactly as received (jsonb), one row per exchange key.

create table if not exists ingest.klines_raw (
  source      text not null check (source ~ '^[a-z0-9][a-z0-9_.:-]{0,63}$'),
  symbol      text not null check (symbol ~ '^[A-Z0-9]{2,30}$'),
  interval    text not null check (interval ~ '^[1-9][0-9]{0,3}[smhdwM]$'),
  open_time   timestamptz not null,
  payload     jsonb not null check (jsonb_typeof(payload) in ('array', 'object')),
  -- final: a websocket event with x = true, or a REST kline received after its close time
  closed      boolean not null,
  received_at timestamptz not null default now(),
  constraint klines_raw_key unique (source, symbol, interval, open_time)
);

create table if not exists ingest.trades_raw (
  source      text not null check (source ~ '^[a-z0-9][a-z0-9_.:-]{0,63}$'),
  symbol      text not null check (symbol ~ '^[A-Z0-9]{2,30}$'),
  trade_id    bigint not null check (trade_id >= 0),
  trade_time  timestamptz not null,
  payload     jsonb not null check (jsonb_typeof(payload) = 'object'),
  received_at timestamptz not null default now(),
  constraint trades_raw_key unique (source, symbol, trade_id)
);

create index if not exists trades_raw_time_idx on ingest.trades_raw (source, symbol, trade_time);

-- ---------------------------------------------------------------------------------------------
-- Cursors: where each stream resumes. `interval` is '' for streams without one (trades).
-- A cursor only moves forward: captures write greatest(stored, batch), and a trigger holds every
-- other writer to the same rule (to rewind a cursor, delete it).

create table if not exists ingest.cursors (
  source     text not null check (source ~ '^[a-z0-9][a-z0-9_.:-]{0,63}$'),
  stream     text not null check (stream ~ '^[a-z][a-z0-9_]{0,31}$'),
  symbol     text not null check (symbol ~ '^[A-Z0-9]{2,30}$'),
  interval   text not null default '' check (interval = '' or interval ~ '^[1-9][0-9]{0,3}[smhdwM]$'),
  last_time  timestamptz,
  last_id    bigint check (last_id >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (source, stream, symbol, interval)
);

create or replace function ingest.cursors_forward_only() returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
  new.last_time := greatest(old.last_time, new.last_time);
  new.last_id := greatest(old.last_id, new.last_id);
  return new;
end;
$$;

-- fires before trg_cursors_touch (triggers of one event fire in name order)
create or replace trigger trg_cursors_forward_only before update on ingest.cursors
  for each row execute function ingest.cursors_forward_only();

create or replace trigger trg_cursors_touch before update on ingest.cursors
  for each row execute function util.touch_updated_at();

-- Which cursors a newly enabled universe symbol gets (edit the rows to seed other streams).
create table if not exists ingest.cursor_seeds (
  source   text not null check (source ~ '^[a-z0-9][a-z0-9_.:-]{0,63}$'),
  stream   text not null check (stream ~ '^[a-z][a-z0-9_]{0,31}$'),
  interval text not null default '' check (interval = '' or interval ~ '^[1-9][0-9]{0,3}[smhdwM]$'),
  primary key (source, stream, interval)
);

insert into ingest.cursor_seeds (source, stream, interval) values
  ('binance', 'klines', '1m'), ('binance', 'trades', '')
on conflict do nothing;

-- Statement-level (one insert for the whole statement): every symbol this statement inserted
-- enabled, or switched from disabled to enabled, gets a cursor per seed row (last_time and
-- last_id null: nothing loaded yet). A cursor that exists is kept (re-enabling resumes).
create or replace function ingest.coin_universe_seed_cursors() returns trigger
language plpgsql
set search_path = pg_catalog, ingest
as $$
begin
  if tg_op = 'INSERT' then
    insert into ingest.cursors (source, stream, symbol, interval)
    select s.source, s.stream, n.symbol, s.interval
    from new_rows n cross join ingest.cursor_seeds s
    where n.enabled
    order by 1, 2, 3, 4
    on conflict do nothing;
  else
    insert into ingest.cursors (source, stream, symbol, interval)
    select s.source, s.stream, n.symbol, s.interval
    from new_rows n cross join ingest.cursor_seeds s
    where n.enabled and not exists (select 1 from old_rows o where o.symbol = n.symbol and o.enabled)
    order by 1, 2, 3, 4
    on conflict do nothing;
  end if;
  return null;
end;
$$;

-- PostgreSQL allows transition tables on single-event triggers only: one trigger per event.
create or replace trigger trg_coin_universe_seed_cursors_insert
  after insert on settings.coin_universe
  referencing new table as new_rows
  for each statement execute function ingest.coin_universe_seed_cursors();

create or replace trigger trg_coin_universe_seed_cursors_update
  after update on settings.coin_universe
  referencing old table as old_rows new table as new_rows
  for each statement execute function ingest.coin_universe_seed_cursors();

-- ---------------------------------------------------------------------------------------------
-- Load logs: one row per load run.

create table if not exists ingest.load_logs (
  id            bigint generated always as identity primary key,
  source        text not null check (source ~ '^[a-z0-9][a-z0-9_.:-]{0,63}$'),
  stream        text not null check (stream ~ '^[a-z][a-z0-9_]{0,31}$'),
  symbol        text check (symbol ~ '^[A-Z0-9]{2,30}$'),
  started_at    timestamptz not null default clock_timestamp(),
  finished_at   timestamptz,
  rows_seen     bigint not null default 0 check (rows_seen >= 0),
  rows_inserted bigint not null default 0 check (rows_inserted >= 0),
  status        text not null default 'running' check (status in ('running', 'ok', 'failed')),
  error         text check (length(error) <= 4000),
  constraint load_logs_finished_when_done check ((status = 'running') = (finished_at is null)),
  constraint load_logs_error_when_failed check (status = 'failed' or error is null),
  constraint load_logs_finished_after_start check (finished_at >= started_at)
);

create index if not exists load_logs_started_idx on ingest.load_logs (started_at desc, id desc);

create or replace function ingest.sp_start_load(p_source text, p_stream text, p_symbol text default null)
returns ingest.load_logs
language plpgsql
set search_path = pg_catalog, ingest
as $$
declare
  v_row ingest.load_logs;
begin
  if p_stream is null or p_stream !~ '^[a-z][a-z0-9_]{0,31}$' then
    raise exception 'stream % is not a lower-case name such as klines', coalesce(quote_literal(p_stream), 'null')
      using errcode = '22023';
  end if;
  perform ingest.check_stream(p_source, coalesce(p_symbol, 'XX'));
  insert into ingest.load_logs (source, stream, symbol) values (p_source, p_stream, p_symbol)
  returning * into v_row;
  return v_row;
end;
$$;

-- Closes a running load as ok or failed (with the error text, cut to 4000 characters).
create or replace function ingest.sp_finish_load(
  p_id bigint, p_status text, p_rows_seen bigint default 0, p_rows_inserted bigint default 0,
  p_error text default null
) returns ingest.load_logs
language plpgsql
set search_path = pg_catalog, ingest
as $$
declare
  v_row ingest.load_logs;
begin
  if p_status is null or p_status not in ('ok', 'failed') then
    raise exception 'a load finishes as ok or failed, not %', coalesce(quote_literal(p_status), 'null')
      using errcode = '22023';
  end if;
  if coalesce(p_rows_seen, 0) < 0 or coalesce(p_rows_inserted, 0) < 0 then
    raise exception 'row counts must not be negative' using errcode = '22023';
  end if;
  update ingest.load_logs l set
    status = p_status,
    finished_at = greatest(clock_timestamp(), l.started_at),
    rows_seen = coalesce(p_rows_seen, 0),
    rows_inserted = coalesce(p_rows_inserted, 0),
    error = case when p_status = 'failed' then left(coalesce(p_error, 'failed'), 4000) end
  where l.id = p_id and l.status = 'running'
  returning l.* into v_row;
  if v_row.id is null then
    if exists (select 1 from ingest.load_logs l where l.id = p_id) then
      raise exception 'load % is already finished', p_id using errcode = '22023';
    end if;
    raise exception 'load % does not exist', p_id using errcode = 'P0002';
  end if;
  return v_row;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Capture: store a batch and advance its cursor in one statement (both or neither).

-- Klines of one (source, symbol, interval). Every payload is checked first (shape, symbol and
-- interval of events, close after open, high >= max(open, close) >= min(open, close) >= low >= 0,
-- volumes finite and >= 0, trades >= 0: what market.klines holds a promoted candle to):
-- one bad payload refuses the batch. A kline already stored with the same payload is left alone
-- (but marked final when it is final now: a REST kline captured open and again after its close);
-- a changed one replaces it, except that a final kline is never replaced by a non-final one; in a
-- batch the last payload of an open time wins. The cursor moves to the latest open time.
create or replace function ingest.sp_capture_klines(
  p_source text, p_symbol text, p_interval text, p_payloads jsonb
) returns table (seen integer, inserted integer, updated integer, last_time timestamptz)
language plpgsql
set search_path = pg_catalog, ingest
as $$
declare
  v_bad      bigint;
  v_inserted integer;
  v_updated  integer;
  v_max      timestamptz;
begin
  perform ingest.check_stream(p_source, p_symbol, p_interval);
  if p_interval is null then
    raise exception 'klines need an interval' using errcode = '22023';
  end if;
  if p_payloads is null or jsonb_typeof(p_payloads) <> 'array' then
    raise exception 'payloads must be a json array' using errcode = '22023';
  end if;
  select min(e.ord) into v_bad
  from jsonb_array_elements(p_payloads) with ordinality as e (payload, ord)
  left join lateral ingest.kline_fields(e.payload) f on true
  where f.open_ms is null or f.close_ms is null or f.close_ms <= f.open_ms
     or f.open is null or f.high is null or f.low is null or f.close is null
     or not (f.high >= greatest(f.open, f.close) and least(f.open, f.close) >= f.low and f.low >= 0
             and f.high < 'infinity'::float8)
     -- numeric holds NaN and ±Infinity (NaN sorts above Infinity): market.klines refuses them, and a
     -- stored kline it refuses would make every later promotion of this stream fail
     or f.volume is null or f.volume < 0 or f.volume >= 'Infinity'::numeric
     or f.quote_volume < 0 or f.quote_volume >= 'Infinity'::numeric
     or f.taker_buy_base < 0 or f.taker_buy_base >= 'Infinity'::numeric
     or f.taker_buy_quote < 0 or f.taker_buy_quote >= 'Infinity'::numeric
     or f.trades < 0
     or f.event_symbol <> p_symbol
     or f.event_interval <> p_interval;
  if v_bad is not null then
    raise exception 'kline payload % of the batch is not a valid % % kline', v_bad - 1, p_symbol, p_interval
      using errcode = '22023';
  end if;

  with input as (
    select distinct on (f.open_ms)
           util.ms_to_ts(f.open_ms) as open_time, e.payload,
           coalesce(f.closed, util.ms_to_ts(f.close_ms) < now()) as closed
    from jsonb_array_elements(p_payloads) with ordinality as e (payload, ord)
    cross join lateral ingest.kline_fields(e.payload) f
    order by f.open_ms, e.ord desc
  ), written as (
    insert into ingest.klines_raw as r (source, symbol, interval, open_time, payload, closed)
    select p_source, p_symbol, p_interval, i.open_time, i.payload, i.closed from input i
    order by i.open_time
    on conflict on constraint klines_raw_key do update
      set payload = excluded.payload, closed = excluded.closed, received_at = excluded.received_at
      -- the same payload seen again after its close becomes final (else a late open event could replace it)
      where (r.payload is distinct from excluded.payload or (excluded.closed and not r.closed))
        and (excluded.closed or not r.closed)
    returning r.xmax = 0 as is_new -- xmax is 0 on a freshly inserted row version
  )
  select count(*) filter (where w.is_new), count(*) filter (where not w.is_new),
         (select max(i.open_time) from input i)
  into v_inserted, v_updated, v_max
  from written w;

  if v_max is not null then
    insert into ingest.cursors as c (source, stream, symbol, interval, last_time)
    values (p_source, 'klines', p_symbol, p_interval, v_max)
    on conflict (source, stream, symbol, interval) do update set last_time = excluded.last_time
    where c.last_time is null or c.last_time < excluded.last_time;
  end if;

  return query
    select jsonb_array_length(p_payloads), v_inserted, v_updated, c.last_time
    from (select 1) one
    left join ingest.cursors c
      on c.source = p_source and c.stream = 'klines' and c.symbol = p_symbol and c.interval = p_interval;
end;
$$;

-- Trades of one (source, symbol): a trade is immutable, so a stored trade id is never rewritten.
-- The cursor moves to the greatest trade id and trade time.
create or replace function ingest.sp_capture_trades(p_source text, p_symbol text, p_payloads jsonb)
returns table (seen integer, inserted integer, last_id bigint, last_time timestamptz)
language plpgsql
set search_path = pg_catalog, ingest
as $$
declare
  v_bad      bigint;
  v_inserted integer;
  v_max_id   bigint;
  v_max_time timestamptz;
begin
  perform ingest.check_stream(p_source, p_symbol);
  if p_payloads is null or jsonb_typeof(p_payloads) <> 'array' then
    raise exception 'payloads must be a json array' using errcode = '22023';
  end if;
  select min(e.ord) into v_bad
  from jsonb_array_elements(p_payloads) with ordinality as e (payload, ord)
  left join lateral ingest.trade_fields(e.payload) f on true
  where f.trade_id is null or f.trade_id < 0 or f.trade_ms is null
     or f.price is null or f.price <= 0 or f.qty is null or f.qty < 0
     or f.event_symbol <> p_symbol;
  if v_bad is not null then
    raise exception 'trade payload % of the batch is not a valid % trade', v_bad - 1, p_symbol
      using errcode = '22023';
  end if;

  with input as (
    select distinct on (f.trade_id) f.trade_id, util.ms_to_ts(f.trade_ms) as trade_time, e.payload
    from jsonb_array_elements(p_payloads) with ordinality as e (payload, ord)
    cross join lateral ingest.trade_fields(e.payload) f
    order by f.trade_id, e.ord desc
  ), written as (
    insert into ingest.trades_raw (source, symbol, trade_id, trade_time, payload)
    select p_source, p_symbol, i.trade_id, i.trade_time, i.payload from input i
    order by i.trade_id
    on conflict on constraint trades_raw_key do nothing
    returning 1
  )
  select (select count(*) from written), max(i.trade_id), max(i.trade_time)
  into v_inserted, v_max_id, v_max_time
  from input i;

  if v_max_id is not null then
    insert into ingest.cursors as c (source, stream, symbol, interval, last_id, last_time)
    values (p_source, 'trades', p_symbol, '', v_max_id, v_max_time)
    on conflict (source, stream, symbol, interval) do update
      set last_id = excluded.last_id, last_time = excluded.last_time -- the trigger keeps the greatest
    where c.last_id is null or c.last_id < excluded.last_id
       or c.last_time is null or c.last_time < excluded.last_time;
  end if;

  return query
    select jsonb_array_length(p_payloads), v_inserted, c.last_id, c.last_time
    from (select 1) one
    left join ingest.cursors c
      on c.source = p_source and c.stream = 'trades' and c.symbol = p_symbol and c.interval = '';
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Promotion: captured klines into market.klines, normalized (numbers as double precision and
-- numeric, times as timestamptz), in one statement. The symbol (with its assets) and the window
-- are created when missing; the market checks apply. An unchanged candle is not rewritten.
-- Returns the candles written (inserted or changed).
create or replace function ingest.sp_promote_klines(
  p_source text, p_symbol text, p_interval text, p_from timestamptz default null, p_to timestamptz default null
) returns integer
language plpgsql
set search_path = pg_catalog, ingest
as $$
declare
  v_count integer;
  v_other text;
begin
  perform ingest.check_stream(p_source, p_symbol, p_interval);
  if p_interval is null then
    raise exception 'klines need an interval' using errcode = '22023';
  end if;
  if not exists (select 1 from market.symbols s where s.symbol = p_symbol) then
    perform market.sp_upsert_symbol(p_symbol);
  end if;
  if not exists (select 1 from settings.windows w where w.label = p_interval) then
    begin
      perform settings.sp_upsert_window(p_interval);
    exception when unique_violation then
      -- settings.windows holds one label per span: the candles cannot go under another label silently
      select w.label into v_other from settings.windows w
      where w.label <> p_interval and w.amount::text || left(w.unit, 1) = p_interval;
      raise exception 'interval % spans the same time as window %: settings.windows holds one label per span',
        p_interval, coalesce(quote_literal(v_other), 'another') using errcode = '22023';
    end;
  end if;
  -- the one upsert of market.klines (same checks, unchanged candles not rewritten)
  select m.inserted + m.updated into v_count
  from (
    select array_agg(r.symbol order by r.open_time) as symbol, array_agg(r.interval order by r.open_time) as win,
           array_agg(r.open_time order by r.open_time) as open_time,
           array_agg(util.ms_to_ts(f.close_ms) order by r.open_time) as close_time,
           array_agg(f.open order by r.open_time) as open, array_agg(f.high order by r.open_time) as high,
           array_agg(f.low order by r.open_time) as low, array_agg(f.close order by r.open_time) as close,
           array_agg(f.volume order by r.open_time) as volume,
           array_agg(f.quote_volume order by r.open_time) as quote_volume,
           array_agg(f.trades order by r.open_time) as trades,
           array_agg(f.taker_buy_base order by r.open_time) as taker_buy_base,
           array_agg(f.taker_buy_quote order by r.open_time) as taker_buy_quote,
           array_agg(r.source order by r.open_time) as source
    from ingest.klines_raw r
    cross join lateral ingest.kline_fields(r.payload) f
    where r.source = p_source and r.symbol = p_symbol and r.interval = p_interval
      and (p_from is null or r.open_time >= p_from) and (p_to is null or r.open_time <= p_to)
  ) a
  cross join lateral market.sp_ingest_klines(a.symbol, a.win, a.open_time, a.close_time, a.open, a.high, a.low,
    a.close, a.volume, a.quote_volume, a.trades, a.taker_buy_base, a.taker_buy_quote, a.source) m;
  return coalesce(v_count, 0);
end;
$$;
