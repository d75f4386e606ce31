-- 09_str-aux_autonomy.sql: what keeps str_aux rolling on its own and follows the universe: the
-- enabled symbols and ingest targets, health and flow-gap views, the roll-all / tick / backfill
-- helpers and the metronome's period ledger. Needs 00_schemas, 02_settings, 03_market, 08_str-aux;
-- no other 09 pack (the 09_cin-aux-* packs share the prefix; loadPacks orders them by name).
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.

-- Enabled universe symbols (settings.coin_universe.enabled) that market.symbols holds, with their spec.
create or replace view str_aux.v_enabled_symbols as
select c.symbol, c.base_asset as base, c.quote_asset as quote, c.sort_order, vs.spec, vs.base_step_seconds,
       vs.cycle_seconds
from settings.coin_universe c
join str_aux.v_symbol_specs vs on vs.symbol = c.symbol
where c.enabled;

-- What a sampler loads: every enabled symbol, its step and cycle, and the windows rolled for it.
create or replace view str_aux.v_ingest_targets as
select e.symbol, e.base, e.quote, e.spec, e.base_step_seconds, e.cycle_seconds,
       coalesce((select array_agg(sw.window_label order by sw.duration_ms, sw.window_label)
                 from str_aux.v_symbol_windows sw where sw.symbol = e.symbol), '{}'::text[]) as window_labels
from str_aux.v_enabled_symbols e;

-- Per enabled symbol: its last sample, last cycle and lag behind now (seconds since the last sample),
-- and the last window of each label as a jsonb object label -> epoch ms of the window start.
create or replace view str_aux.v_health as
select e.symbol, e.spec,
       (select max(s.ts) from str_aux.samples_5s s where s.symbol = e.symbol) as last_sample_at,
       (select max(c.cycle_start) from str_aux.cycles_40s c where c.symbol = e.symbol and c.spec = e.spec) as last_cycle_start,
       coalesce((select jsonb_object_agg(lw.window_label, util.epoch_ms(lw.window_start))
                 from str_aux.v_latest_windows lw where lw.symbol = e.symbol), '{}'::jsonb) as last_windows,
       extract(epoch from now() - (select max(s.ts) from str_aux.samples_5s s where s.symbol = e.symbol))::double precision
         as lag_seconds
from str_aux.v_enabled_symbols e;

-- Spans without samples longer than a threshold: between two consecutive samples of a symbol
-- (gap_end the next sample), and for an enabled symbol from its last sample to now (gap_end null,
-- ongoing). gap_seconds is the span's length. p_symbols null: every symbol.
create or replace function str_aux.flow_gaps(p_min_gap_seconds double precision, p_symbols text[] default null)
returns table(symbol text, gap_start timestamptz, gap_end timestamptz, gap_seconds double precision, ongoing boolean)
language sql stable
set search_path = pg_catalog, str_aux
as $$
  select g.symbol, g.gap_start, g.gap_end, extract(epoch from coalesce(g.gap_end, now()) - g.gap_start)::double precision,
         g.gap_end is null
  from (
    select s.symbol, s.ts as gap_start, lead(s.ts) over (partition by s.symbol order by s.ts) as gap_end
    from str_aux.samples_5s s
    where p_symbols is null or s.symbol = any (p_symbols)
  ) g
  where (g.gap_end is not null or exists (select 1 from str_aux.v_enabled_symbols e where e.symbol = g.symbol))
    and extract(epoch from coalesce(g.gap_end, now()) - g.gap_start) > p_min_gap_seconds
$$;

-- Gaps longer than each symbol's base step (the default view of flow_gaps).
create or replace view str_aux.v_flow_gaps as
select g.*
from str_aux.flow_gaps(0) g
join str_aux.v_symbol_specs vs on vs.symbol = g.symbol
where g.gap_seconds > vs.base_step_seconds;

-- Rolls the last fully closed window of every label for every enabled symbol (of spec p_spec when
-- given), with its stats and vector when they are missing. Returns the windows holding cycles.
create or replace function str_aux.try_roll_all_windows_now_for_all(p_spec text default null)
returns integer
language plpgsql
set search_path = pg_catalog, str_aux
as $$
declare
  v_symbols text[];
  v_labels  text[];
  v_starts  timestamptz[];
  v_specs   text[];
  v_count   integer;
begin
  if p_spec is not null then
    perform str_aux.spec_of(null, p_spec);
  end if;
  select array_agg(sw.symbol), array_agg(sw.window_label),
         array_agg(str_aux.span_floor(now(), sw.duration_ms * interval '1 millisecond') - sw.duration_ms * interval '1 millisecond'),
         array_agg(sw.spec)
  into v_symbols, v_labels, v_starts, v_specs
  from str_aux.v_symbol_windows sw
  join str_aux.v_enabled_symbols e on e.symbol = sw.symbol
  where p_spec is null or sw.spec = p_spec;
  v_count := str_aux.roll_windows(v_symbols, v_labels, v_starts, v_specs);
  perform str_aux.compute_missing(v_symbols, v_labels, v_starts);
  return v_count;
end;
$$;

-- Stats and vectors of those of the given windows that lack one of them.
create or replace function str_aux.compute_missing(p_symbols text[], p_labels text[], p_starts timestamptz[])
returns integer
language plpgsql
set search_path = pg_catalog, str_aux
as $$
declare
  v_symbols text[];
  v_labels  text[];
  v_starts  timestamptz[];
begin
  select array_agg(w.symbol), array_agg(w.window_label), array_agg(w.window_start)
  into v_symbols, v_labels, v_starts
  from (select distinct * from unnest(p_symbols, p_labels, p_starts) k(symbol, window_label, window_start)) k
  join str_aux.windows w on w.symbol = k.symbol and w.window_label = k.window_label and w.window_start = k.window_start
  where not exists (select 1 from str_aux.window_stats s
                    where s.symbol = w.symbol and s.window_label = w.window_label and s.window_start = w.window_start)
     or not exists (select 1 from str_aux.window_vectors v
                    where v.symbol = w.symbol and v.window_label = w.window_label and v.window_start = w.window_start);
  if v_symbols is null then
    return 0;
  end if;
  return str_aux.compute_window_keys(v_symbols, v_labels, v_starts);
end;
$$;

-- The metronome's one-shot refresh: for every enabled symbol, rolls again every window holding a
-- cycle changed since the last tick (str_aux.pending_cycles: late or corrected samples) and the last
-- closed window of every label, then computes the stats and vectors those windows lack. Cycles are
-- rolled by the sample triggers as samples arrive. Pending cycles of disabled symbols stay queued.
create or replace function str_aux.tick_all()
returns table(pending_cycles integer, windows integer, computed integer)
language plpgsql
set search_path = pg_catalog, str_aux
as $$
declare
  v_symbols text[];
  v_labels  text[];
  v_starts  timestamptz[];
  v_specs   text[];
begin
  with taken as (
    delete from str_aux.pending_cycles p
    using str_aux.v_enabled_symbols e
    where p.symbol = e.symbol
    returning p.symbol, p.spec, p.cycle_start
  ),
  keys as (
    select t.symbol, sw.window_label,
           str_aux.span_floor(t.cycle_start, sw.duration_ms * interval '1 millisecond') as window_start, sw.spec
    from taken t
    join str_aux.v_symbol_windows sw on sw.symbol = t.symbol and sw.spec = t.spec
    union
    select sw.symbol, sw.window_label,
           str_aux.span_floor(now(), sw.duration_ms * interval '1 millisecond') - sw.duration_ms * interval '1 millisecond',
           sw.spec
    from str_aux.v_symbol_windows sw
    join str_aux.v_enabled_symbols e on e.symbol = sw.symbol
  )
  select array_agg(k.symbol), array_agg(k.window_label), array_agg(k.window_start), array_agg(k.spec),
         (select count(*)::integer from taken)
  into v_symbols, v_labels, v_starts, v_specs, pending_cycles
  from keys k;
  windows := str_aux.roll_windows(v_symbols, v_labels, v_starts, v_specs);
  computed := coalesce(str_aux.compute_missing(v_symbols, v_labels, v_starts), 0);
  pending_cycles := coalesce(pending_cycles, 0);
  return next;
end;
$$;

-- Rolls everything a span of samples feeds, as live rolling would: every cycle overlapping
-- [p_from, p_to) of one symbol (or of every symbol), then every window of each of the symbol's labels
-- overlapping those cycles, with stats and vectors; the pending marks of those cycles are cleared.
create or replace function str_aux.backfill_between(p_symbol text, p_from timestamptz, p_to timestamptz)
returns table(cycles integer, windows integer)
language plpgsql
set search_path = pg_catalog, str_aux
as $$
declare
  v_from  timestamptz;
  v_label record;
begin
  if p_from is null or p_to is null or p_from > p_to then
    raise exception 'backfill_between needs from <= to' using errcode = '22023';
  end if;
  cycles := str_aux.roll_all_cycles_between(p_from, p_to, null, p_symbol);
  windows := 0;
  for v_label in
    select sw.window_label, array_agg(sw.symbol) as symbols,
           min(str_aux.span_floor(p_from, sw.cycle_seconds * interval '1 second')) as cycles_from
    from str_aux.v_symbol_windows sw
    where p_symbol is null or sw.symbol = p_symbol
    group by sw.window_label
    order by sw.window_label
  loop
    windows := windows + str_aux.roll_windows_between(v_label.window_label, v_label.cycles_from, p_to, v_label.symbols, true);
  end loop;
  delete from str_aux.pending_cycles p
  using str_aux.v_symbol_specs vs
  where vs.symbol = p.symbol and p.spec = vs.spec and (p_symbol is null or p.symbol = p_symbol)
    and p.cycle_start >= str_aux.span_floor(p_from, vs.cycle_seconds * interval '1 second') and p.cycle_start < p_to;
  return next;
end;
$$;

-- The metronome's ledger: the last period each named metronome ticked (one tick per period between
-- every instance; the SDK takes a transaction-level advisory lock around it).
create table if not exists str_aux.metronome_periods (
  name       text primary key constraint metronome_periods_name_form check (length(name) between 1 and 64),
  period_ms  bigint not null constraint metronome_periods_period_positive check (period_ms > 0),
  last_period bigint not null,
  ticked_at  timestamptz not null default now()
);
