-- 03_market.sql: schema market (known quotes, assets, symbols, order-book levels, klines), and the
-- link from settings.coin_universe to market (the universe triggers). Needs 00_schemas, 02_settings.
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

-- ---------------------------------------------------------------------------------------------
-- quotes: the known-quotes list, kept here and nowhere else (parse_symbol reads it).

create table if not exists market.quotes (
  code       text primary key check (code ~ '^[A-Z0-9]{2,10}$'),
  created_at timestamptz not null default now()
);

insert into market.quotes (code) values
  ('USDT'), ('USDC'), ('FDUSD'), ('BUSD'), ('TUSD'), ('DAI'), ('BTC'), ('ETH'), ('BNB'), ('TRY'),
  ('EUR'), ('BRL')
on conflict do nothing;

-- Splits BASEQUOTE by the longest known quote that leaves a non-empty base (ETHBTC is ETH/BTC,
-- BTCFDUSD is BTC/FDUSD); 22023 for a malformed symbol or one no known quote ends.
create or replace function market.parse_symbol(p_symbol text)
returns table(base text, quote text)
language plpgsql stable
set search_path = pg_catalog, market
as $$
begin
  if p_symbol is null or p_symbol !~ '^[A-Z0-9]{2,30}$' then
    raise exception 'symbol is not an upper-case symbol such as BTCUSDT' using errcode = '22023';
  end if;
  return query
  select left(p_symbol, length(p_symbol) - length(q.code)), q.code
  from market.quotes q
  where length(p_symbol) > length(q.code) and right(p_symbol, length(q.code)) = q.code
  order by length(q.code) desc, q.code
  limit 1;
  if not found then
    raise exception 'symbol % does not end with a known quote', p_symbol using errcode = '22023';
  end if;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- assets and symbols

create table if not exists market.assets (
  code       text primary key check (code ~ '^[A-Z0-9]{1,20}$'),
  name       text check (length(name) between 1 and 128),
  precision  integer check (precision between 0 and 36),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create or replace trigger trg_assets_touch before update on market.assets
  for each row execute function util.touch_updated_at();

create or replace function market.sp_upsert_asset(
  p_code text, p_name text default null, p_precision integer default null
) returns market.assets
language plpgsql
set search_path = pg_catalog, market
as $$
declare
  v_row market.assets;
begin
  if p_code is null or p_code !~ '^[A-Z0-9]{1,20}$' then
    raise exception 'asset is not an upper-case code such as BTC' using errcode = '22023';
  end if;
  if p_precision is not null and p_precision not between 0 and 36 then
    raise exception 'asset precision is outside 0..36' using errcode = '22023';
  end if;
  insert into market.assets as a (code, name, precision) values (p_code, p_name, p_precision)
  on conflict (code) do update set
    name = coalesce(p_name, a.name), precision = coalesce(p_precision, a.precision)
  where (a.name, a.precision) is distinct from (coalesce(p_name, a.name), coalesce(p_precision, a.precision))
  returning a.* into v_row;
  if v_row.code is null then
    select a.* into v_row from market.assets a where a.code = p_code;
  end if;
  return v_row;
end;
$$;

create table if not exists market.symbols (
  symbol       text primary key check (symbol ~ '^[A-Z0-9]{2,30}$'),
  base_asset   text not null references market.assets (code),
  quote_asset  text not null references market.assets (code),
  status       text not null default 'OFF' check (status in ('TRADING', 'OFF', 'BREAK')),
  price_tick   numeric check (price_tick > 0),
  qty_step     numeric check (qty_step > 0),
  min_notional numeric check (min_notional >= 0),
  metadata     jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object'),
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  constraint symbols_symbol_is_base_quote check (symbol = base_asset || quote_asset),
  -- numeric also holds NaN and ±Infinity, and NaN > 0 is true: the filters must be finite decimals
  constraint symbols_filters_finite check (
    price_tick < 'Infinity'::numeric and qty_step < 'Infinity'::numeric and min_notional < 'Infinity'::numeric)
);

create index if not exists symbols_quote_idx on market.symbols (quote_asset, symbol);

create or replace trigger trg_symbols_touch before update on market.symbols
  for each row execute function util.touch_updated_at();

-- Creates or updates a symbol: with the symbol alone it makes sure the symbol exists (base and
-- quote derived, status OFF when new) with its assets; a null argument keeps the stored value.
create or replace function market.sp_upsert_symbol(
  p_symbol text,
  p_base text default null,
  p_quote text default null,
  p_status text default null,
  p_price_tick numeric default null,
  p_qty_step numeric default null,
  p_min_notional numeric default null,
  p_metadata jsonb default null
) returns market.symbols
language plpgsql
set search_path = pg_catalog, market
as $$
declare
  v_base  text := p_base;
  v_quote text := p_quote;
  v_row   market.symbols;
  v_split record;
begin
  if p_symbol is null or p_symbol !~ '^[A-Z0-9]{2,30}$' then
    raise exception 'symbol is not an upper-case symbol such as BTCUSDT' using errcode = '22023';
  end if;
  if p_status is not null and p_status not in ('TRADING', 'OFF', 'BREAK') then
    raise exception 'symbol status is not TRADING, OFF or BREAK' using errcode = '22023';
  end if;
  if p_metadata is not null and jsonb_typeof(p_metadata) <> 'object' then
    raise exception 'symbol metadata must be a json object' using errcode = '22023';
  end if;
  if v_base is null or v_quote is null then
    select s.base_asset as base, s.quote_asset as quote into v_split from market.symbols s where s.symbol = p_symbol;
    if not found then
      select p.base, p.quote into v_split from market.parse_symbol(p_symbol) p;
    end if;
    v_base := coalesce(v_base, v_split.base);
    v_quote := coalesce(v_quote, v_split.quote);
  end if;
  -- in code order, as every writer of assets (the universe mirror too): two first writers of the same
  -- new assets wait for each other instead of deadlocking
  insert into market.assets (code) select a.code from unnest(array[v_base, v_quote]) a(code) order by a.code
  on conflict do nothing;
  insert into market.symbols as s
    (symbol, base_asset, quote_asset, status, price_tick, qty_step, min_notional, metadata)
  values (p_symbol, v_base, v_quote, coalesce(p_status, 'OFF'), p_price_tick, p_qty_step, p_min_notional,
          coalesce(p_metadata, '{}'::jsonb))
  on conflict (symbol) do update set
    base_asset   = v_base,
    quote_asset  = v_quote,
    status       = coalesce(p_status, s.status),
    price_tick   = coalesce(p_price_tick, s.price_tick),
    qty_step     = coalesce(p_qty_step, s.qty_step),
    min_notional = coalesce(p_min_notional, s.min_notional),
    metadata     = coalesce(p_metadata, s.metadata)
  where (s.base_asset, s.quote_asset, s.status, s.price_tick, s.qty_step, s.min_notional, s.metadata)
    is distinct from (v_base, v_quote, coalesce(p_status, s.status), coalesce(p_price_tick, s.price_tick),
                      coalesce(p_qty_step, s.qty_step), coalesce(p_min_notional, s.min_notional),
                      coalesce(p_metadata, s.metadata))
  returning s.* into v_row;
  if v_row.symbol is null then -- nothing to change: the stored row
    select s.* into v_row from market.symbols s where s.symbol = p_symbol;
  end if;
  return v_row;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- order-book levels: one snapshot per (symbol, ts), a level per side and price.

create table if not exists market.orderbook_levels (
  symbol text not null references market.symbols (symbol) on delete cascade,
  ts     timestamptz not null,
  side   text not null check (side in ('bid', 'ask')),
  price  double precision not null check (price > 0 and price < 'infinity'::float8),
  qty    numeric not null check (qty >= 0),
  primary key (symbol, ts, side, price),
  -- qty is numeric: NaN and Infinity are not quantities (NaN > 0 is true, so `qty >= 0` lets it in)
  constraint orderbook_levels_qty_finite check (qty < 'Infinity'::numeric)
);

-- Writes the snapshot of p_symbol at p_ts from [price, qty] pairs (numbers or decimal strings):
-- levels of that snapshot not given are removed, the same price twice on a side keeps the last.
-- Returns the number of levels the snapshot holds.
create or replace function market.sp_ingest_orderbook_levels(
  p_symbol text, p_ts timestamptz, p_bids jsonb, p_asks jsonb
) returns integer
language plpgsql
set search_path = pg_catalog, market
as $$
declare
  v_bad    text;
  v_sides  text[];
  v_prices double precision[];
  v_qtys   numeric[];
begin
  if p_symbol is null or p_ts is null then
    raise exception 'an order-book snapshot needs a symbol and a time' using errcode = '22023';
  end if;
  if jsonb_typeof(coalesce(p_bids, '[]')) <> 'array' or jsonb_typeof(coalesce(p_asks, '[]')) <> 'array' then
    raise exception 'bids and asks must be json arrays of [price, qty] pairs' using errcode = '22023';
  end if;
  select format('%s[%s]', l.side, l.pos - 1) into v_bad
  from (
    select 'bids' as side, e, pos from jsonb_array_elements(coalesce(p_bids, '[]')) with ordinality b(e, pos)
    union all
    select 'asks', e, pos from jsonb_array_elements(coalesce(p_asks, '[]')) with ordinality a(e, pos)
  ) l
  -- no cast that can fail (its message would quote the value): shape and text first, then the range
  where case
          when jsonb_typeof(l.e) <> 'array' then true
          when jsonb_array_length(l.e) <> 2 then true
          when jsonb_typeof(l.e -> 0) not in ('number', 'string') or jsonb_typeof(l.e -> 1) not in ('number', 'string')
            then true
          when length(l.e ->> 0) > 100 or length(l.e ->> 1) > 100 then true
          when (l.e ->> 0) !~ '^[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]{1,3})?$'
            or (l.e ->> 1) !~ '^[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]{1,3})?$' then true
          -- a price double precision holds as a normal number
          else not ((l.e ->> 0)::numeric between 1e-300 and 1e300)
        end
  order by l.side desc, l.pos
  limit 1;
  if found then
    raise exception 'order-book level % is not a [price > 0, qty >= 0] pair', v_bad using errcode = '22023';
  end if;
  -- Two writers of the same snapshot would each delete only what was committed before them and
  -- leave the union of both: the second waits for the first, then replaces it whole.
  perform pg_advisory_xact_lock(hashtext('market.orderbook_levels'),
                                hashtext(p_symbol || '@' || extract(epoch from p_ts)::text));

  -- the snapshot as given, one level per side and price (the last one given wins)
  select coalesce(array_agg(d.side order by d.side, d.price), '{}'),
         coalesce(array_agg(d.price order by d.side, d.price), '{}'),
         coalesce(array_agg(d.qty order by d.side, d.price), '{}')
  into v_sides, v_prices, v_qtys
  from (
    select distinct on (l.side, l.price) l.side, l.price, l.qty
    from (
      select 'bid' as side, (e ->> 0)::float8 as price, (e ->> 1)::numeric as qty, pos
      from jsonb_array_elements(coalesce(p_bids, '[]')) with ordinality b(e, pos)
      union all
      select 'ask', (e ->> 0)::float8, (e ->> 1)::numeric, pos
      from jsonb_array_elements(coalesce(p_asks, '[]')) with ordinality a(e, pos)
    ) l
    order by l.side, l.price, l.pos desc
  ) d;

  delete from market.orderbook_levels o
  where o.symbol = p_symbol and o.ts = p_ts
    and not exists (select 1 from unnest(v_sides, v_prices) n(side, price) where n.side = o.side and n.price = o.price);

  insert into market.orderbook_levels as o (symbol, ts, side, price, qty)
  select p_symbol, p_ts, n.side, n.price, n.qty from unnest(v_sides, v_prices, v_qtys) n(side, price, qty)
  order by n.side, n.price
  on conflict (symbol, ts, side, price) do update set qty = excluded.qty
  where o.qty is distinct from excluded.qty;

  return cardinality(v_sides);
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- klines: candles per symbol and window. The OHLC rules are table checks: every writer (the SDK,
-- the ingest promoter, a host's own SQL) is held to them.

create table if not exists market.klines (
  symbol          text not null references market.symbols (symbol) on delete cascade,
  window_label    text not null references settings.windows (label),
  open_time       timestamptz not null,
  close_time      timestamptz not null,
  open            double precision not null,
  high            double precision not null,
  low             double precision not null,
  close           double precision not null,
  volume          numeric not null default 0 check (volume >= 0),
  quote_volume    numeric check (quote_volume >= 0),
  trades          integer check (trades >= 0),
  taker_buy_base  numeric check (taker_buy_base >= 0),
  taker_buy_quote numeric check (taker_buy_quote >= 0),
  source          text check (length(source) between 1 and 64),
  ingested_at     timestamptz not null default now(),
  primary key (symbol, window_label, open_time),
  constraint klines_high_check check (high >= greatest(open, close) and high < 'infinity'::float8),
  constraint klines_low_check check (least(open, close) >= low),
  constraint klines_low_nonnegative_check check (low >= 0),
  constraint klines_close_after_open_check check (close_time > open_time),
  -- volumes are numeric: NaN and Infinity are not volumes (NaN >= 0 is true, so the checks above let them in)
  constraint klines_volumes_finite check (
    volume < 'Infinity'::numeric and quote_volume < 'Infinity'::numeric
    and taker_buy_base < 'Infinity'::numeric and taker_buy_quote < 'Infinity'::numeric)
);

create index if not exists klines_symbol_open_time_idx on market.klines (symbol, open_time desc);

-- Upserts many candles in one statement, from column arrays (one element per candle, no key twice):
-- the one upsert of market.klines, used by ingestKlines, sp_ingest_kline_row and ingest's promotion.
-- The table's checks hold every candle to the OHLC rules; an unchanged candle is not rewritten.
create or replace function market.sp_ingest_klines(
  p_symbol text[],
  p_window text[],
  p_open_time timestamptz[],
  p_close_time timestamptz[],
  p_open double precision[],
  p_high double precision[],
  p_low double precision[],
  p_close double precision[],
  p_volume numeric[],
  p_quote_volume numeric[],
  p_trades integer[],
  p_taker_buy_base numeric[],
  p_taker_buy_quote numeric[],
  p_source text[]
) returns table (inserted integer, updated integer)
language sql
set search_path = pg_catalog, market
as $$
  with up as (
    insert into market.klines as k (symbol, window_label, open_time, close_time, open, high, low, close,
      volume, quote_volume, trades, taker_buy_base, taker_buy_quote, source)
    select r.symbol, r.window_label, r.open_time, r.close_time, r.open, r.high, r.low, r.close,
           coalesce(r.volume, 0), r.quote_volume, r.trades, r.taker_buy_base, r.taker_buy_quote, r.source
    from unnest(p_symbol, p_window, p_open_time, p_close_time, p_open, p_high, p_low, p_close, p_volume,
                p_quote_volume, p_trades, p_taker_buy_base, p_taker_buy_quote, p_source)
      with ordinality as r(symbol, window_label, open_time, close_time, open, high, low, close, volume,
                           quote_volume, trades, taker_buy_base, taker_buy_quote, source, n)
    order by r.n
    on conflict (symbol, window_label, open_time) do update set
      close_time = excluded.close_time, open = excluded.open, high = excluded.high, low = excluded.low,
      close = excluded.close, volume = excluded.volume, quote_volume = excluded.quote_volume,
      trades = excluded.trades, taker_buy_base = excluded.taker_buy_base,
      taker_buy_quote = excluded.taker_buy_quote, source = excluded.source, ingested_at = now()
    where (k.close_time, k.open, k.high, k.low, k.close, k.volume, k.quote_volume, k.trades,
           k.taker_buy_base, k.taker_buy_quote, k.source)
      is distinct from (excluded.close_time, excluded.open, excluded.high, excluded.low, excluded.close,
           excluded.volume, excluded.quote_volume, excluded.trades, excluded.taker_buy_base,
           excluded.taker_buy_quote, excluded.source)
    returning (xmax = 0) as inserted
  )
  select (count(*) filter (where up.inserted))::integer, (count(*) filter (where not up.inserted))::integer
  from up
$$;

-- Upserts one candle (checks first, with a plain message); an unchanged candle is not rewritten.
create or replace function market.sp_ingest_kline_row(
  p_symbol text,
  p_window text,
  p_open_time timestamptz,
  p_close_time timestamptz,
  p_open double precision,
  p_high double precision,
  p_low double precision,
  p_close double precision,
  p_volume numeric default 0,
  p_quote_volume numeric default null,
  p_trades integer default null,
  p_taker_buy_base numeric default null,
  p_taker_buy_quote numeric default null,
  p_source text default null
) returns market.klines
language plpgsql
set search_path = pg_catalog, market
as $$
declare
  v_row market.klines;
begin
  if p_symbol is null or p_window is null or p_open_time is null or p_close_time is null
     or p_open is null or p_high is null or p_low is null or p_close is null then
    raise exception 'a kline needs symbol, window, open and close times and open, high, low, close'
      using errcode = '22023';
  end if;
  if not (p_high >= greatest(p_open, p_close) and least(p_open, p_close) >= p_low and p_low >= 0
          and p_high < 'infinity'::float8) then
    raise exception 'kline: expected high >= max(open, close) >= min(open, close) >= low >= 0'
      using errcode = '22023';
  end if;
  if p_close_time <= p_open_time then
    raise exception 'kline: close_time must be after open_time' using errcode = '22023';
  end if;
  perform market.sp_ingest_klines(array[p_symbol], array[p_window], array[p_open_time], array[p_close_time],
    array[p_open], array[p_high], array[p_low], array[p_close], array[p_volume], array[p_quote_volume],
    array[p_trades], array[p_taker_buy_base], array[p_taker_buy_quote], array[p_source]);
  select k.* into v_row from market.klines k
  where k.symbol = p_symbol and k.window_label = p_window and k.open_time = p_open_time;
  return v_row;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- The universe link (settings objects that need market): attached here, by the later pack.

create or replace trigger trg_coin_universe_derive
  before insert or update of symbol, base_asset, quote_asset on settings.coin_universe
  for each row execute function settings.coin_universe_derive();

create or replace trigger trg_coin_universe_sync
  after update on settings.coin_universe
  referencing old table as old_rows new table as new_rows
  for each statement execute function settings.coin_universe_sync();

create or replace trigger trg_coin_universe_sync_insert
  after insert on settings.coin_universe
  referencing new table as new_rows
  for each statement execute function settings.coin_universe_sync();

create or replace trigger trg_coin_universe_sync_delete
  after delete on settings.coin_universe
  referencing old table as old_rows
  for each statement execute function settings.coin_universe_sync();

create or replace trigger trg_coin_universe_truncate
  before truncate on settings.coin_universe
  for each statement execute function settings.coin_universe_truncate();
