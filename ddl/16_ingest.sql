-- 16_ingest.sql: schema ingest, the capture layer (raw klines and trades as received, cursors,
-- load logs, promotion to market.klines) and the cursor seeding of newly enabled universe symbols.
-- Needs 00_schemas, 02_settings (windows, coin_universe), 03_market (symbols, klines).
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.
-- A settings.windows label is `window_label` in every table and `p_window` in every function (the
-- SDK's `window`); in a websocket kline event it is Binance's field `k.i` (Binance calls it interval).
-- Messages never quote a value sent: they say which payload (its index) and what is wrong with it.

-- ---------------------------------------------------------------------------------------------
-- Binance payloads, read in one place. A REST kline is an array of 12
--   [openTime, "open", "high", "low", "close", "volume", closeTime, "quoteVolume", trades,
--    "takerBuyBase", "takerBuyQuote", "ignore"]
-- and a websocket kline event an object { e: 'kline', E, s, k: { t, T, s, i, o, c, h, l, v, n, x, q, V, Q } }.
-- Fields are read without a cast that could fail (a failing cast would quote the value): a field
-- that is not what Binance sends reads as null, and `problem` says what is wrong.

-- Epoch milliseconds as Binance sends them: a JSON integer, years 1970 to 9999.
create or replace function ingest.ms_of(p_value jsonb) returns bigint
language sql immutable parallel safe
return case when jsonb_typeof(p_value) = 'number' and p_value::text ~ '^[0-9]{1,15}$'
    then case when p_value::text::bigint <= 253402300799999 then p_value::text::bigint end end;

-- A decimal string as Binance sends prices and quantities ("0.01634790"): unsigned, at most 40
-- digits before and after the point (finite as double precision, exact as numeric).
create or replace function ingest.decimal_of(p_value jsonb) returns numeric
language sql immutable parallel safe
return case when jsonb_typeof(p_value) = 'string' and (p_value #>> '{}') ~ '^[0-9]{1,40}([.][0-9]{1,40})?$'
    then (p_value #>> '{}')::numeric end;

-- A JSON integer in 0 .. p_max (a count, a trade id).
create or replace function ingest.count_of(p_value jsonb, p_max bigint) returns bigint
language sql immutable parallel safe
return case when jsonb_typeof(p_value) = 'number' and p_value::text ~ '^[0-9]{1,16}$'
    then case when p_value::text::numeric <= p_max then p_value::text::bigint end end;

-- A JSON boolean.
create or replace function ingest.bool_of(p_value jsonb) returns boolean
language sql immutable parallel safe
return case when jsonb_typeof(p_value) = 'boolean' then p_value::text::boolean end;

-- A JSON string.
create or replace function ingest.text_of(p_value jsonb) returns text
language sql immutable parallel safe
return case when jsonb_typeof(p_value) = 'string' then p_value #>> '{}' end;

-- The fields of one kline payload, always one row; `problem` is null for a well-formed kline.
create or replace function ingest.kline_fields(p_payload jsonb)
returns table (
  open_ms bigint, close_ms bigint, open double precision, high double precision, low double precision,
  close double precision, volume numeric, quote_volume numeric, trades integer, taker_buy_base numeric,
  taker_buy_quote numeric, closed boolean, event_symbol text, event_window text, problem text
)
language sql immutable parallel safe
begin atomic
  select r.open_ms, r.close_ms, r.open::float8, r.high::float8, r.low::float8, r.close::float8, r.volume,
         r.quote_volume, r.trades::integer, r.taker_buy_base, r.taker_buy_quote, r.closed, r.event_symbol,
         r.event_window,
         case
           when r.shape is null
             then 'is neither a REST kline (an array of 12 fields) nor a websocket kline event'
           when r.open_ms is null or r.close_ms is null
             then 'has an open or close time that is not epoch milliseconds (years 1970 to 9999)'
           when r.open is null or r.high is null or r.low is null or r.close is null
             then 'has a price that is not a decimal string (at most 40 digits before and after the point)'
           when r.volume is null or r.quote_volume is null or r.taker_buy_base is null or r.taker_buy_quote is null
             then 'has a volume that is not a decimal string (at most 40 digits before and after the point)'
           when r.trades is null then 'has a trade count that is not an integer from 0 to 2147483647'
           when r.shape = 'event' and (r.event_time is null or r.event_symbol is null or r.outer_symbol is null
                                       or r.event_window is null or r.closed is null)
             then 'is a websocket kline event without a valid E, s, k.s, k.i or k.x'
           when r.shape = 'event' and r.event_symbol <> r.outer_symbol then 'names two symbols (s and k.s)'
           when r.close_ms <= r.open_ms then 'closes before it opens'
           when not (r.high >= greatest(r.open, r.close) and least(r.open, r.close) >= r.low)
             then 'breaks high >= max(open, close) >= min(open, close) >= low'
         end
  from (
    select s.shape,
           ingest.ms_of(case s.shape when 'rest' then p_payload -> 0 else s.k -> 't' end) as open_ms,
           ingest.ms_of(case s.shape when 'rest' then p_payload -> 6 else s.k -> 'T' end) as close_ms,
           ingest.decimal_of(case s.shape when 'rest' then p_payload -> 1 else s.k -> 'o' end) as open,
           ingest.decimal_of(case s.shape when 'rest' then p_payload -> 2 else s.k -> 'h' end) as high,
           ingest.decimal_of(case s.shape when 'rest' then p_payload -> 3 else s.k -> 'l' end) as low,
           ingest.decimal_of(case s.shape when 'rest' then p_payload -> 4 else s.k -> 'c' end) as close,
           ingest.decimal_of(case s.shape when 'rest' then p_payload -> 5 else s.k -> 'v' end) as volume,
           ingest.decimal_of(case s.shape when 'rest' then p_payload -> 7 else s.k -> 'q' end) as quote_volume,
           ingest.count_of(case s.shape when 'rest' then p_payload -> 8 else s.k -> 'n' end, 2147483647) as trades,
           ingest.decimal_of(case s.shape when 'rest' then p_payload -> 9 else s.k -> 'V' end) as taker_buy_base,
           ingest.decimal_of(case s.shape when 'rest' then p_payload -> 10 else s.k -> 'Q' end) as taker_buy_quote,
           case s.shape when 'event' then ingest.bool_of(s.k -> 'x') end as closed,
           case s.shape when 'event' then ingest.ms_of(p_payload -> 'E') end as event_time,
           case s.shape when 'event' then ingest.text_of(s.k -> 's') end as event_symbol,
           case s.shape when 'event' then ingest.text_of(p_payload -> 's') end as outer_symbol,
           case s.shape when 'event' then ingest.text_of(s.k -> 'i') end as event_window
    from (
      select case
               when jsonb_typeof(p_payload) = 'array' then
                 case when jsonb_array_length(p_payload) = 12 and jsonb_typeof(p_payload -> 11) = 'string'
                   then 'rest' end
               when jsonb_typeof(p_payload) = 'object' then
                 case when p_payload -> 'e' = '"kline"' and jsonb_typeof(p_payload -> 'k') = 'object'
                   then 'event' end
             end as shape,
             p_payload -> 'k' as k
    ) s
  ) r;
end;

-- The close time (epoch ms) of a kline of window p_window opening at p_open_ms, or null when p_open_ms
-- is not where such a kline opens. Binance's klines are UTC: seconds, minutes and hours open at
-- multiples of their span since 1970-01-01 (every Binance span divides the day), days at 00:00,
-- weeks on Monday 00:00, months on the first of a calendar month 00:00; a kline closes 1 ms before
-- the next one opens (a month of 28 to 31 days).
create or replace function ingest.window_close_ms(p_window text, p_open_ms bigint) returns bigint
language sql stable strict parallel safe
return case
  when p_window !~ '^[1-9][0-9]{0,3}[smhdwM]$' then null
  when right(p_window, 1) = 'M' then
    case when date_trunc('month', (timestamptz 'epoch' + p_open_ms * interval '1 millisecond') at time zone 'UTC')
              = (timestamptz 'epoch' + p_open_ms * interval '1 millisecond') at time zone 'UTC'
      then util.epoch_ms(((timestamptz 'epoch' + p_open_ms * interval '1 millisecond') at time zone 'UTC'
                          + make_interval(months => left(p_window, -1)::integer)) at time zone 'UTC') - 1 end
  -- 1970-01-05 (345 600 000 ms) was a Monday
  when right(p_window, 1) = 'w' then
    case when (p_open_ms - 345600000) % 604800000 = 0 then p_open_ms + left(p_window, -1)::bigint * 604800000 - 1 end
  when right(p_window, 1) = 'd' then
    case when p_open_ms % 86400000 = 0 then p_open_ms + left(p_window, -1)::bigint * 86400000 - 1 end
  else
    case when p_open_ms % (left(p_window, -1)::bigint
                           * case right(p_window, 1) when 's' then 1000 when 'm' then 60000 else 3600000 end) = 0
      then p_open_ms + left(p_window, -1)::bigint
                       * case right(p_window, 1) when 's' then 1000 when 'm' then 60000 else 3600000 end - 1 end
end;

-- A REST trade { id, price, qty, quoteQty?, time, isBuyerMaker, isBestMatch? } or a websocket trade
-- event { e: 'trade', E, s, t, p, q, T, m, M? }; always one row, `problem` null when well-formed.
create or replace function ingest.trade_fields(p_payload jsonb)
returns table (trade_id bigint, trade_ms bigint, price numeric, qty numeric, event_symbol text, problem text)
language sql immutable parallel safe
begin atomic
  select r.trade_id, r.trade_ms, r.price, r.qty, r.event_symbol,
         case
           when r.shape is null then 'is neither a REST trade nor a websocket trade event'
           when r.trade_id is null then 'has a trade id that is not an integer from 0 to 2^53 - 1'
           when r.trade_ms is null then 'has a trade time that is not epoch milliseconds (years 1970 to 9999)'
           when r.price is null or r.qty is null or r.quote_ok is not true
             then 'has a price or quantity that is not a decimal string (at most 40 digits before and after the point)'
           when r.price <= 0 then 'has a price that is not positive'
           when r.flags_ok is not true then 'has a flag (isBuyerMaker, isBestMatch, m, M) that is not a boolean'
           when r.shape = 'event' and (r.event_time is null or r.event_symbol is null)
             then 'is a websocket trade event without a valid E or s'
         end
  from (
    select s.shape,
           ingest.count_of(case s.shape when 'rest' then p_payload -> 'id' else p_payload -> 't' end,
                           9007199254740991) as trade_id,
           ingest.ms_of(case s.shape when 'rest' then p_payload -> 'time' else p_payload -> 'T' end) as trade_ms,
           ingest.decimal_of(case s.shape when 'rest' then p_payload -> 'price' else p_payload -> 'p' end) as price,
           ingest.decimal_of(case s.shape when 'rest' then p_payload -> 'qty' else p_payload -> 'q' end) as qty,
           case when s.shape = 'rest' and p_payload ? 'quoteQty'
             then ingest.decimal_of(p_payload -> 'quoteQty') is not null else true end as quote_ok,
           case s.shape
             when 'rest' then ingest.bool_of(p_payload -> 'isBuyerMaker') is not null
               and (not p_payload ? 'isBestMatch' or ingest.bool_of(p_payload -> 'isBestMatch') is not null)
             else ingest.bool_of(p_payload -> 'm') is not null
               and (not p_payload ? 'M' or ingest.bool_of(p_payload -> 'M') is not null)
           end as flags_ok,
           case s.shape when 'event' then ingest.ms_of(p_payload -> 'E') end as event_time,
           case s.shape when 'event' then ingest.text_of(p_payload -> 's') end as event_symbol
    from (
      select case
               when jsonb_typeof(p_payload) <> 'object' then null
               when p_payload ? 'e' then case when p_payload -> 'e' = '"trade"' then 'event' end
               when p_payload ? 'id' then 'rest'
             end as shape
    ) s
  ) r;
end;

-- The names every capture shares: refuses what the tables would refuse, with a plain message.
create or replace function ingest.check_stream(p_source text, p_symbol text, p_window text default null)
returns void
language plpgsql
set search_path = pg_catalog
as $$
begin
  if p_source is null or p_source !~ '^[a-z0-9][a-z0-9_.:-]{0,63}$' then
    raise exception 'source is not a lower-case name such as binance' using errcode = '22023';
  end if;
  if p_symbol is null or p_symbol !~ '^[A-Z0-9]{2,30}$' then
    raise exception 'symbol is not an upper-case symbol such as BTCUSDT' using errcode = '22023';
  end if;
  if p_window is not null and p_window !~ '^[1-9][0-9]{0,3}[smhdwM]$' then
    raise exception 'window is not a Binance interval such as 1m' using errcode = '22023';
  end if;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Raw captures, stored exactly as received (jsonb), one row per exchange key.

create table if not exists ingest.klines_raw (
  source       text not null check (source ~ '^[a-z0-9][a-z0-9_.:-]{0,63}$'),
  symbol       text not null check (symbol ~ '^[A-Z0-9]{2,30}$'),
  window_label text not null check (window_label ~ '^[1-9][0-9]{0,3}[smhdwM]$'),
  open_time    timestamptz not null,
  payload      jsonb not null check (jsonb_typeof(payload) in ('array', 'object')),
  -- final: a websocket event with x = true, or a REST kline received after its close time
  closed       boolean not null,
  received_at  timestamptz not null default now(),
  constraint klines_raw_key unique (source, symbol, window_label, open_time)
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
-- Cursors: where each stream resumes. `window_label` is '' for streams without one (trades).
-- A cursor only moves forward: captures write greatest(stored, batch), and a trigger holds every
-- other writer to the same rule (to rewind a cursor, delete it).

create table if not exists ingest.cursors (
  source       text not null check (source ~ '^[a-z0-9][a-z0-9_.:-]{0,63}$'),
  stream       text not null check (stream ~ '^[a-z][a-z0-9_]{0,31}$'),
  symbol       text not null check (symbol ~ '^[A-Z0-9]{2,30}$'),
  window_label text not null default '' check (window_label = '' or window_label ~ '^[1-9][0-9]{0,3}[smhdwM]$'),
  last_time    timestamptz,
  last_id      bigint check (last_id >= 0),
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  primary key (source, stream, symbol, window_label)
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
  source       text not null check (source ~ '^[a-z0-9][a-z0-9_.:-]{0,63}$'),
  stream       text not null check (stream ~ '^[a-z][a-z0-9_]{0,31}$'),
  window_label text not null default '' check (window_label = '' or window_label ~ '^[1-9][0-9]{0,3}[smhdwM]$'),
  primary key (source, stream, window_label)
);

insert into ingest.cursor_seeds (source, stream, window_label) values
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
    insert into ingest.cursors (source, stream, symbol, window_label)
    select s.source, s.stream, n.symbol, s.window_label
    from new_rows n cross join ingest.cursor_seeds s
    where n.enabled
    order by 1, 2, 3, 4
    on conflict do nothing;
  else
    insert into ingest.cursors (source, stream, symbol, window_label)
    select s.source, s.stream, n.symbol, s.window_label
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
    raise exception 'stream is not a lower-case name such as klines' using errcode = '22023';
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
    raise exception 'a load finishes as ok or failed' using errcode = '22023';
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
      raise exception 'the load is already finished' using errcode = '22023';
    end if;
    raise exception 'ingest.load_log not found' using errcode = 'P0002';
  end if;
  return v_row;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Capture: store a batch and advance its cursor in one statement (both or neither).

-- Klines of one (source, symbol, window). Every payload is checked first: its shape and fields
-- (ingest.kline_fields), the symbol and window of events, an open time where a kline of the window
-- opens and a close time 1 ms before the next one (ingest.window_close_ms), and the OHLC rule
-- market.klines holds a promoted candle to: one bad payload refuses the batch, naming its index and
-- what is wrong (never its values). A kline already stored with the same payload is left alone
-- (but marked final when it is final now: a REST kline captured open and again after its close);
-- a changed one replaces it, except that a final kline is never replaced by a non-final one; in a
-- batch the last payload of an open time wins. The cursor moves to the latest open time.
create or replace function ingest.sp_capture_klines(
  p_source text, p_symbol text, p_window text, p_payloads jsonb
) returns table (seen integer, inserted integer, updated integer, last_time timestamptz)
language plpgsql
set search_path = pg_catalog, ingest
as $$
declare
  v_bad      bigint;
  v_problem  text;
  v_inserted integer;
  v_updated  integer;
  v_max      timestamptz;
begin
  if p_window is null then
    raise exception 'klines need a window' using errcode = '22023';
  end if;
  perform ingest.check_stream(p_source, p_symbol, p_window);
  if p_payloads is null or jsonb_typeof(p_payloads) <> 'array' then
    raise exception 'payloads must be a json array' using errcode = '22023';
  end if;
  select c.ord - 1, c.problem into v_bad, v_problem
  from (
    select e.ord, coalesce(f.problem, case
             when f.event_symbol is not null and f.event_symbol <> p_symbol then 'is an event of another symbol'
             when f.event_window is not null and f.event_window <> p_window then 'is an event of another window'
             when ingest.window_close_ms(p_window, f.open_ms) is null
               then 'opens at a time where no kline of the window opens'
             when ingest.window_close_ms(p_window, f.open_ms) <> f.close_ms
               then 'does not close 1 ms before the next kline of the window opens'
           end) as problem
    from jsonb_array_elements(p_payloads) with ordinality as e (payload, ord)
    cross join lateral ingest.kline_fields(e.payload) f
  ) c
  where c.problem is not null
  order by c.ord
  limit 1;
  if v_problem is not null then
    raise exception 'kline payload % of the batch %', v_bad, v_problem using errcode = '22023';
  end if;

  with input as (
    select distinct on (f.open_ms)
           util.ms_to_ts(f.open_ms) as open_time, e.payload,
           coalesce(f.closed, util.ms_to_ts(f.close_ms) < now()) as closed
    from jsonb_array_elements(p_payloads) with ordinality as e (payload, ord)
    cross join lateral ingest.kline_fields(e.payload) f
    order by f.open_ms, e.ord desc
  ), written as (
    insert into ingest.klines_raw as r (source, symbol, window_label, open_time, payload, closed)
    select p_source, p_symbol, p_window, i.open_time, i.payload, i.closed from input i
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
    insert into ingest.cursors as c (source, stream, symbol, window_label, last_time)
    values (p_source, 'klines', p_symbol, p_window, v_max)
    on conflict (source, stream, symbol, window_label) do update set last_time = excluded.last_time
    where c.last_time is null or c.last_time < excluded.last_time;
  end if;

  return query
    select jsonb_array_length(p_payloads), v_inserted, v_updated, c.last_time
    from (select 1) one
    left join ingest.cursors c
      on c.source = p_source and c.stream = 'klines' and c.symbol = p_symbol and c.window_label = p_window;
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
  v_problem  text;
  v_inserted integer;
  v_max_id   bigint;
  v_max_time timestamptz;
begin
  perform ingest.check_stream(p_source, p_symbol);
  if p_payloads is null or jsonb_typeof(p_payloads) <> 'array' then
    raise exception 'payloads must be a json array' using errcode = '22023';
  end if;
  select c.ord - 1, c.problem into v_bad, v_problem
  from (
    select e.ord, coalesce(f.problem, case when f.event_symbol is not null and f.event_symbol <> p_symbol
                                        then 'is an event of another symbol' end) as problem
    from jsonb_array_elements(p_payloads) with ordinality as e (payload, ord)
    cross join lateral ingest.trade_fields(e.payload) f
  ) c
  where c.problem is not null
  order by c.ord
  limit 1;
  if v_problem is not null then
    raise exception 'trade payload % of the batch %', v_bad, v_problem using errcode = '22023';
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
    insert into ingest.cursors as c (source, stream, symbol, window_label, last_id, last_time)
    values (p_source, 'trades', p_symbol, '', v_max_id, v_max_time)
    on conflict (source, stream, symbol, window_label) do update
      set last_id = excluded.last_id, last_time = excluded.last_time -- the trigger keeps the greatest
    where c.last_id is null or c.last_id < excluded.last_id
       or c.last_time is null or c.last_time < excluded.last_time;
  end if;

  return query
    select jsonb_array_length(p_payloads), v_inserted, c.last_id, c.last_time
    from (select 1) one
    left join ingest.cursors c
      on c.source = p_source and c.stream = 'trades' and c.symbol = p_symbol and c.window_label = '';
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Promotion: captured klines into market.klines, normalized (numbers as double precision and
-- numeric, times as timestamptz), in one statement. The symbol (with its assets) and the window
-- are created when missing; the market checks apply. An unchanged candle is not rewritten.
-- Returns the candles written (inserted or changed). [p_from, p_to) by open time: p_to is exclusive.
create or replace function ingest.sp_promote_klines(
  p_source text, p_symbol text, p_window text, p_from timestamptz default null, p_to timestamptz default null
) returns integer
language plpgsql
set search_path = pg_catalog, ingest
as $$
declare
  v_count integer;
  v_other text;
begin
  if p_window is null then
    raise exception 'klines need a window' using errcode = '22023';
  end if;
  perform ingest.check_stream(p_source, p_symbol, p_window);
  if not exists (select 1 from market.symbols s where s.symbol = p_symbol) then
    perform market.sp_upsert_symbol(p_symbol);
  end if;
  if not exists (select 1 from settings.windows w where w.label = p_window) then
    begin
      perform settings.sp_upsert_window(p_window);
    exception when unique_violation then
      -- settings.windows holds one label per span: the candles cannot go under another label silently
      select w.label into v_other from settings.windows w
      where w.label <> p_window and w.amount::text || left(w.unit, 1) = p_window;
      raise exception 'the window spans the same time as window %: settings.windows holds one label per span',
        coalesce(quote_literal(v_other), 'another') using errcode = '22023';
    end;
  end if;
  -- the one upsert of market.klines (same checks, unchanged candles not rewritten)
  select m.inserted + m.updated into v_count
  from (
    select array_agg(r.symbol order by r.open_time) as symbol,
           array_agg(r.window_label order by r.open_time) as win,
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
    where r.source = p_source and r.symbol = p_symbol and r.window_label = p_window
      and (p_from is null or r.open_time >= p_from) and (p_to is null or r.open_time < p_to)
  ) a
  cross join lateral market.sp_ingest_klines(a.symbol, a.win, a.open_time, a.close_time, a.open, a.high, a.low,
    a.close, a.volume, a.quote_volume, a.trades, a.taker_buy_base, a.taker_buy_quote, a.source) m;
  return coalesce(v_count, 0);
end;
$$;
