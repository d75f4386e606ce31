-- 08_str-aux.sql: schema str_aux, the sampling pipeline: 5 s samples roll into cycles (40 s by
-- default), cycles into windows (labels from settings.windows), windows get stats and vectors.
-- Tables, the roll functions and the sample triggers. Needs 00_schemas, 02_settings, 03_market.
-- Re-runnable: every object is guarded. No begin/commit: migrate() gives each pack a transaction.
--
-- Rules every roll follows (docs/str-aux.md explains them):
-- - a sample at ts belongs to the cycle starting at floor(epoch(ts) / cycle_seconds) * cycle_seconds;
-- - a cycle belongs to the window of a label whose [window_start, window_start + duration) holds its
--   cycle_start; window starts are epoch multiples of the duration; a window's samples are its
--   cycles' samples;
-- - averages ignore nulls; a window's average of a signal is the plain average of that signal's
--   non-null values over all its samples (each cycle weighs by its count of non-null values);
-- - a close is the last non-null value (by ts; a window's, that of its last cycle holding one);
-- - a roll is idempotent: an unchanged row is not rewritten (its updated_at stays), a key without
--   samples (cycles) has no row.

-- ---------------------------------------------------------------------------------------------
-- helpers

-- The start of the span of `p_step` that holds `p_ts`, spans counted from the epoch (a floor, also
-- before 1970). date_bin is exact integer arithmetic on microseconds.
create or replace function str_aux.span_floor(p_ts timestamptz, p_step interval) returns timestamptz
language sql immutable parallel safe
return date_bin(p_step, p_ts, timestamptz '1970-01-01 00:00:00+00');

-- The first span start at or after `p_ts`.
create or replace function str_aux.span_ceil(p_ts timestamptz, p_step interval) returns timestamptz
language sql immutable parallel safe
return case when date_bin(p_step, p_ts, timestamptz '1970-01-01 00:00:00+00') = p_ts then p_ts
            else date_bin(p_step, p_ts, timestamptz '1970-01-01 00:00:00+00') + p_step end;

-- a / b, except that a quotient PostgreSQL would refuse as an underflow (|a| below 1e-290, a
-- subnormal result) is 0: float8 arithmetic raises an error where IEEE rounds to zero.
create or replace function str_aux.safe_div(a double precision, b double precision) returns double precision
language sql immutable parallel safe
return case when a is null or b is null then null when a = 0 or abs(a) >= 1e-290 then a / b else 0 end;

-- A deviation from the mean for the moments: below 1e-100 in magnitude it counts as 0 (its square or
-- cube would underflow, which PostgreSQL raises as an error).
create or replace function str_aux.deviation(x double precision, m double precision) returns double precision
language sql immutable parallel safe
return case when abs(x - m) < 1e-100 then 0 else x - m end;

-- Refuses (22023) window labels settings.windows does not hold.
create or replace function str_aux.check_window_labels(p_labels text[]) returns void
language plpgsql stable
set search_path = pg_catalog, str_aux
as $$
declare
  v_unknown text;
begin
  if p_labels is null then
    return;
  end if;
  if array_position(p_labels, null) is not null then
    raise exception 'window labels must not hold null' using errcode = '22023';
  end if;
  select l into v_unknown from unnest(p_labels) l
  where not exists (select 1 from settings.windows w where w.label = l) order by l limit 1;
  if found then
    raise exception 'window % is not in settings.windows', quote_literal(v_unknown) using errcode = '22023';
  end if;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- specs: how a symbol is sampled. 'default' is seeded; a symbol without a symbol_specs row uses it.
-- window_labels null means every label of settings.windows (one added at run time included).

create table if not exists str_aux.sampling_specs (
  label             text primary key
                    constraint sampling_specs_label_form check (label ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$'),
  base_step_seconds integer not null default 5
                    constraint sampling_specs_base_step_range check (base_step_seconds between 1 and 3600),
  cycle_seconds     integer not null default 40
                    constraint sampling_specs_cycle_range check (cycle_seconds between 1 and 86400),
  window_labels     text[],
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  constraint sampling_specs_cycle_multiple check (cycle_seconds % base_step_seconds = 0)
);

insert into str_aux.sampling_specs (label, base_step_seconds, cycle_seconds) values ('default', 5, 40)
on conflict do nothing;

create table if not exists str_aux.symbol_specs (
  symbol        text primary key references market.symbols (symbol) on update cascade on delete cascade,
  spec          text not null default 'default' references str_aux.sampling_specs (label),
  window_labels text[],
  updated_at    timestamptz not null default now()
);

create or replace function str_aux.specs_check() returns trigger
language plpgsql
set search_path = pg_catalog, str_aux
as $$
begin
  perform str_aux.check_window_labels(new.window_labels);
  if tg_table_name = 'sampling_specs' and tg_op = 'UPDATE' then
    if new.cycle_seconds <> old.cycle_seconds and exists (select 1 from str_aux.cycles_40s c where c.spec = old.label) then
      raise exception 'spec % has cycles of % seconds: its cycle_seconds cannot change', quote_literal(old.label),
        old.cycle_seconds using errcode = '22023';
    end if;
  end if;
  return new;
end;
$$;

create or replace trigger trg_sampling_specs_check before insert or update on str_aux.sampling_specs
  for each row execute function str_aux.specs_check();
create or replace trigger trg_symbol_specs_check before insert or update on str_aux.symbol_specs
  for each row execute function str_aux.specs_check();

create or replace trigger trg_sampling_specs_touch before update on str_aux.sampling_specs
  for each row execute function util.touch_updated_at();
create or replace trigger trg_symbol_specs_touch before update on str_aux.symbol_specs
  for each row execute function util.touch_updated_at();

-- The spec of every market symbol, with its cycle length.
create or replace view str_aux.v_symbol_specs as
select m.symbol, sp.label as spec, sp.base_step_seconds, sp.cycle_seconds,
       coalesce(ss.window_labels, sp.window_labels) as window_labels
from market.symbols m
left join str_aux.symbol_specs ss on ss.symbol = m.symbol
join str_aux.sampling_specs sp on sp.label = coalesce(ss.spec, 'default');

-- Every window label each market symbol is rolled for (its own list, else its spec's, else all).
create or replace view str_aux.v_symbol_windows as
select s.symbol, s.spec, s.cycle_seconds, w.label as window_label, w.duration_ms
from str_aux.v_symbol_specs s
join settings.windows w on s.window_labels is null or w.label = any (s.window_labels);

-- ---------------------------------------------------------------------------------------------
-- samples_5s: one row per symbol and sampling instant. Signals may be null (not measured); what is
-- given is finite. Instants: years 1-9999, whole milliseconds (what the SDK accepts).

create table if not exists str_aux.samples_5s (
  symbol              text not null references market.symbols (symbol) on update cascade,
  ts                  timestamptz not null
                      constraint samples_5s_ts_years check (ts >= '0001-01-01 00:00:00+00' and ts < '10000-01-01 00:00:00+00')
                      constraint samples_5s_ts_ms check (ts = date_bin('1 millisecond', ts, '2000-01-01 00:00:00+00')),
  v_inner             double precision,
  v_outer             double precision,
  v_swap              double precision,
  v_tendency          double precision,
  disruption          double precision,
  amp                 double precision,
  volt                double precision,
  inertia             double precision,
  mode_general        text constraint samples_5s_mode_general_length check (length(mode_general) between 1 and 64),
  mode_b              text constraint samples_5s_mode_b_length check (length(mode_b) between 1 and 64),
  bucket_count        integer constraint samples_5s_bucket_count_nonnegative check (bucket_count >= 0),
  tick_ms_min         double precision,
  tick_ms_max         double precision,
  tick_ms_avg         double precision,
  spread_min          double precision,
  spread_max          double precision,
  spread_avg          double precision,
  mid_min             double precision,
  mid_max             double precision,
  liquidity_imbalance double precision
                      constraint samples_5s_liquidity_imbalance_range check (liquidity_imbalance between -1 and 1),
  quality_flags       jsonb,
  attrs               jsonb not null default '{}'::jsonb
                      constraint samples_5s_attrs_object check (jsonb_typeof(attrs) = 'object'),
  created_at          timestamptz not null default now(),
  updated_at          timestamptz not null default now(),
  primary key (symbol, ts),
  -- NaN sorts above 'infinity' in PostgreSQL: `x < 'infinity'` refuses it too
  constraint samples_5s_signals_finite check ((
    v_inner > '-infinity'::float8 and v_inner < 'infinity'::float8
    and v_outer > '-infinity'::float8 and v_outer < 'infinity'::float8
    and v_swap > '-infinity'::float8 and v_swap < 'infinity'::float8
    and v_tendency > '-infinity'::float8 and v_tendency < 'infinity'::float8
    and disruption > '-infinity'::float8 and disruption < 'infinity'::float8
    and amp > '-infinity'::float8 and amp < 'infinity'::float8
    and volt > '-infinity'::float8 and volt < 'infinity'::float8
    and inertia > '-infinity'::float8 and inertia < 'infinity'::float8) is not false),
  constraint samples_5s_book_nonnegative check ((
    tick_ms_min >= 0 and tick_ms_min < 'infinity'::float8
    and tick_ms_max >= 0 and tick_ms_max < 'infinity'::float8
    and tick_ms_avg >= 0 and tick_ms_avg < 'infinity'::float8
    and spread_min >= 0 and spread_min < 'infinity'::float8
    and spread_max >= 0 and spread_max < 'infinity'::float8
    and spread_avg >= 0 and spread_avg < 'infinity'::float8) is not false),
  constraint samples_5s_mid_finite check ((
    mid_min > '-infinity'::float8 and mid_min < 'infinity'::float8
    and mid_max > '-infinity'::float8 and mid_max < 'infinity'::float8) is not false)
);

-- The `and` of the checks above is null as soon as one value is null; `is not false` keeps a null
-- signal allowed while a given NaN / Infinity (false) is refused. Each term is false for NaN or an
-- infinity, true or null otherwise, so the whole is false exactly when one given value is bad.

create or replace trigger trg_samples_5s_touch before update on str_aux.samples_5s
  for each row execute function util.touch_updated_at();

-- samples_5s_model: the book model behind a sample (density of book, mid, bid/ask, spread, volumes).
create table if not exists str_aux.samples_5s_model (
  symbol     text not null references market.symbols (symbol) on update cascade,
  ts         timestamptz not null
             constraint samples_5s_model_ts_years check (ts >= '0001-01-01 00:00:00+00' and ts < '10000-01-01 00:00:00+00')
             constraint samples_5s_model_ts_ms check (ts = date_bin('1 millisecond', ts, '2000-01-01 00:00:00+00')),
  density    jsonb not null default '{}'::jsonb constraint samples_5s_model_density_object check (jsonb_typeof(density) = 'object'),
  stats      jsonb not null default '{}'::jsonb constraint samples_5s_model_stats_object check (jsonb_typeof(stats) = 'object'),
  updated_at timestamptz not null default now(),
  primary key (symbol, ts)
);

create or replace trigger trg_samples_5s_model_touch before update on str_aux.samples_5s_model
  for each row execute function util.touch_updated_at();

-- ---------------------------------------------------------------------------------------------
-- cycles_40s: one row per symbol, spec and cycle. `*_n` counts the non-null values of a signal (the
-- weight of its average in a window).

create table if not exists str_aux.cycles_40s (
  symbol             text not null references market.symbols (symbol) on update cascade,
  spec               text not null references str_aux.sampling_specs (label),
  cycle_start        timestamptz not null,
  samples_count      integer not null constraint cycles_40s_samples_count_positive check (samples_count > 0),
  v_inner_min        double precision,
  v_inner_max        double precision,
  v_inner_avg        double precision,
  v_inner_close      double precision,
  v_inner_n          integer not null default 0,
  v_outer_min        double precision,
  v_outer_max        double precision,
  v_outer_avg        double precision,
  v_outer_close      double precision,
  v_outer_n          integer not null default 0,
  v_swap_avg         double precision,
  v_swap_close       double precision,
  v_swap_n           integer not null default 0,
  v_tendency_avg     double precision,
  v_tendency_close   double precision,
  v_tendency_n       integer not null default 0,
  disruption_avg     double precision,
  disruption_n       integer not null default 0,
  amp_avg            double precision,
  amp_n              integer not null default 0,
  volt_avg           double precision,
  volt_n             integer not null default 0,
  inertia_avg        double precision,
  inertia_n          integer not null default 0,
  spread_avg         double precision,
  spread_n           integer not null default 0,
  mid_close          double precision,
  mode_general_close text,
  mode_b_close       text,
  updated_at         timestamptz not null default now(),
  primary key (symbol, spec, cycle_start)
);

-- Cycles whose rows changed since tick_all last rolled the windows holding them (09 consumes it).
create table if not exists str_aux.pending_cycles (
  symbol      text not null references market.symbols (symbol) on update cascade on delete cascade,
  spec        text not null,
  cycle_start timestamptz not null,
  marked_at   timestamptz not null default now(),
  primary key (symbol, spec, cycle_start)
);

-- ---------------------------------------------------------------------------------------------
-- windows, their stats and vectors

create table if not exists str_aux.windows (
  symbol             text not null references market.symbols (symbol) on update cascade,
  window_label       text not null references settings.windows (label) on update cascade on delete cascade,
  window_start       timestamptz not null,
  window_end         timestamptz not null,
  spec               text not null references str_aux.sampling_specs (label),
  cycles_count       integer not null constraint windows_cycles_count_positive check (cycles_count > 0),
  samples_count      integer not null constraint windows_samples_count_positive check (samples_count > 0),
  v_inner_min        double precision,
  v_inner_max        double precision,
  v_inner_avg        double precision,
  v_inner_close      double precision,
  v_outer_min        double precision,
  v_outer_max        double precision,
  v_outer_avg        double precision,
  v_outer_close      double precision,
  v_swap_avg         double precision,
  v_swap_close       double precision,
  v_tendency_avg     double precision,
  v_tendency_close   double precision,
  disruption_avg     double precision,
  amp_avg            double precision,
  volt_avg           double precision,
  inertia_avg        double precision,
  spread_avg         double precision,
  mid_close          double precision,
  mode_general_close text,
  mode_b_close       text,
  updated_at         timestamptz not null default now(),
  primary key (symbol, window_label, window_start)
);

create index if not exists windows_label_start_idx on str_aux.windows (window_label, window_start);

-- Stats over a window's samples: population variance (divided by n) and population skewness
-- g1 = m3 / m2^(3/2) (null without values or when m2 = 0; deviations below 1e-100 count as 0); spread p95 is percentile_cont(0.95)
-- of the samples' spread_avg (linear interpolation between closest ranks).
create table if not exists str_aux.window_stats (
  symbol           text not null,
  window_label     text not null,
  window_start     timestamptz not null,
  samples_count    integer not null,
  v_inner_mean     double precision,
  v_inner_variance double precision,
  v_inner_skew     double precision,
  v_outer_mean     double precision,
  v_outer_variance double precision,
  v_outer_skew     double precision,
  spread_avg       double precision,
  spread_p95       double precision,
  updated_at       timestamptz not null default now(),
  primary key (symbol, window_label, window_start),
  foreign key (symbol, window_label, window_start) references str_aux.windows on update cascade on delete cascade
);

-- {inner, outer, swap, tend} each {avg, close} (null where the window has none).
create table if not exists str_aux.window_vectors (
  symbol       text not null,
  window_label text not null,
  window_start timestamptz not null,
  vector       jsonb not null constraint window_vectors_vector_object check (jsonb_typeof(vector) = 'object'),
  updated_at   timestamptz not null default now(),
  primary key (symbol, window_label, window_start),
  foreign key (symbol, window_label, window_start) references str_aux.windows on update cascade on delete cascade
);

create or replace trigger trg_cycles_40s_touch before update on str_aux.cycles_40s
  for each row execute function util.touch_updated_at();
create or replace trigger trg_windows_touch before update on str_aux.windows
  for each row execute function util.touch_updated_at();
create or replace trigger trg_window_stats_touch before update on str_aux.window_stats
  for each row execute function util.touch_updated_at();
create or replace trigger trg_window_vectors_touch before update on str_aux.window_vectors
  for each row execute function util.touch_updated_at();

-- The latest window per symbol and label.
create or replace view str_aux.v_latest_windows as
select distinct on (w.symbol, w.window_label) w.*
from str_aux.windows w
order by w.symbol, w.window_label, w.window_start desc;

-- ---------------------------------------------------------------------------------------------
-- set-based rolls (internal: the sp_ functions, the trigger and 09's helpers call them)

-- Serializes rolls of the same symbols until commit (sorted: no deadlock), so a roll computed
-- after another transaction's samples committed sees them. Separate from the roll statement: in
-- READ COMMITTED the next statement takes a new snapshot.
create or replace function str_aux.lock_symbols(p_symbols text[]) returns void
language plpgsql
set search_path = pg_catalog, str_aux
as $$
begin
  perform pg_advisory_xact_lock(1937011553, hashtext(s))
  from (select distinct s from unnest(p_symbols) s order by s) t(s);
end;
$$;

-- Rolls the given (symbol, spec, cycle_start) keys from their samples: upserts the changed rows,
-- deletes rows left without samples, marks the changed cycles pending. Returns the cycles holding samples.
-- Every float sum and average of a roll aggregates its rows in time order (`avg(x order by ts)`): a
-- float sum depends on the order of its terms, and the plan decides the order otherwise, so a
-- backfill and a live roll of the same samples (or two rolls of one span) could differ in the
-- last bits.
create or replace function str_aux.roll_cycle_keys(p_symbols text[], p_specs text[], p_starts timestamptz[])
returns integer
language sql
set search_path = pg_catalog, str_aux
as $$
  with k as (
    select distinct k.symbol, k.spec, k.cycle_start,
           k.cycle_start + sp.cycle_seconds * interval '1 second' as cycle_end
    from unnest(p_symbols, p_specs, p_starts) k(symbol, spec, cycle_start)
    join str_aux.sampling_specs sp on sp.label = k.spec
  ),
  agg as (
    select k.symbol, k.spec, k.cycle_start, count(*)::integer as samples_count,
      min(s.v_inner) as v_inner_min, max(s.v_inner) as v_inner_max, avg(s.v_inner order by s.ts) as v_inner_avg,
      (array_agg(s.v_inner order by s.ts desc) filter (where s.v_inner is not null))[1] as v_inner_close,
      count(s.v_inner)::integer as v_inner_n,
      min(s.v_outer) as v_outer_min, max(s.v_outer) as v_outer_max, avg(s.v_outer order by s.ts) as v_outer_avg,
      (array_agg(s.v_outer order by s.ts desc) filter (where s.v_outer is not null))[1] as v_outer_close,
      count(s.v_outer)::integer as v_outer_n,
      avg(s.v_swap order by s.ts) as v_swap_avg,
      (array_agg(s.v_swap order by s.ts desc) filter (where s.v_swap is not null))[1] as v_swap_close,
      count(s.v_swap)::integer as v_swap_n,
      avg(s.v_tendency order by s.ts) as v_tendency_avg,
      (array_agg(s.v_tendency order by s.ts desc) filter (where s.v_tendency is not null))[1] as v_tendency_close,
      count(s.v_tendency)::integer as v_tendency_n,
      avg(s.disruption order by s.ts) as disruption_avg, count(s.disruption)::integer as disruption_n,
      avg(s.amp order by s.ts) as amp_avg, count(s.amp)::integer as amp_n,
      avg(s.volt order by s.ts) as volt_avg, count(s.volt)::integer as volt_n,
      avg(s.inertia order by s.ts) as inertia_avg, count(s.inertia)::integer as inertia_n,
      avg(s.spread_avg order by s.ts) as spread_avg, count(s.spread_avg)::integer as spread_n,
      (array_agg(str_aux.safe_div(s.mid_min + s.mid_max, 2) order by s.ts desc)
        filter (where s.mid_min is not null and s.mid_max is not null))[1] as mid_close,
      (array_agg(s.mode_general order by s.ts desc) filter (where s.mode_general is not null))[1] as mode_general_close,
      (array_agg(s.mode_b order by s.ts desc) filter (where s.mode_b is not null))[1] as mode_b_close
    from k
    join str_aux.samples_5s s on s.symbol = k.symbol and s.ts >= k.cycle_start and s.ts < k.cycle_end
    group by k.symbol, k.spec, k.cycle_start
  ),
  del as (
    delete from str_aux.cycles_40s c
    using k
    where c.symbol = k.symbol and c.spec = k.spec and c.cycle_start = k.cycle_start
      and not exists (select 1 from agg a where a.symbol = k.symbol and a.spec = k.spec and a.cycle_start = k.cycle_start)
    returning c.symbol, c.spec, c.cycle_start
  ),
  up as (
    insert into str_aux.cycles_40s as c (
      symbol, spec, cycle_start, samples_count,
      v_inner_min, v_inner_max, v_inner_avg, v_inner_close, v_inner_n,
      v_outer_min, v_outer_max, v_outer_avg, v_outer_close, v_outer_n,
      v_swap_avg, v_swap_close, v_swap_n, v_tendency_avg, v_tendency_close, v_tendency_n,
      disruption_avg, disruption_n, amp_avg, amp_n, volt_avg, volt_n, inertia_avg, inertia_n,
      spread_avg, spread_n, mid_close, mode_general_close, mode_b_close)
    select symbol, spec, cycle_start, samples_count,
      v_inner_min, v_inner_max, v_inner_avg, v_inner_close, v_inner_n,
      v_outer_min, v_outer_max, v_outer_avg, v_outer_close, v_outer_n,
      v_swap_avg, v_swap_close, v_swap_n, v_tendency_avg, v_tendency_close, v_tendency_n,
      disruption_avg, disruption_n, amp_avg, amp_n, volt_avg, volt_n, inertia_avg, inertia_n,
      spread_avg, spread_n, mid_close, mode_general_close, mode_b_close
    from agg
    order by symbol, spec, cycle_start
    on conflict (symbol, spec, cycle_start) do update set
      samples_count = excluded.samples_count,
      v_inner_min = excluded.v_inner_min, v_inner_max = excluded.v_inner_max, v_inner_avg = excluded.v_inner_avg,
      v_inner_close = excluded.v_inner_close, v_inner_n = excluded.v_inner_n,
      v_outer_min = excluded.v_outer_min, v_outer_max = excluded.v_outer_max, v_outer_avg = excluded.v_outer_avg,
      v_outer_close = excluded.v_outer_close, v_outer_n = excluded.v_outer_n,
      v_swap_avg = excluded.v_swap_avg, v_swap_close = excluded.v_swap_close, v_swap_n = excluded.v_swap_n,
      v_tendency_avg = excluded.v_tendency_avg, v_tendency_close = excluded.v_tendency_close,
      v_tendency_n = excluded.v_tendency_n,
      disruption_avg = excluded.disruption_avg, disruption_n = excluded.disruption_n,
      amp_avg = excluded.amp_avg, amp_n = excluded.amp_n, volt_avg = excluded.volt_avg, volt_n = excluded.volt_n,
      inertia_avg = excluded.inertia_avg, inertia_n = excluded.inertia_n,
      spread_avg = excluded.spread_avg, spread_n = excluded.spread_n, mid_close = excluded.mid_close,
      mode_general_close = excluded.mode_general_close, mode_b_close = excluded.mode_b_close,
      updated_at = now()
    where (c.samples_count, c.v_inner_min, c.v_inner_max, c.v_inner_avg, c.v_inner_close, c.v_inner_n,
           c.v_outer_min, c.v_outer_max, c.v_outer_avg, c.v_outer_close, c.v_outer_n,
           c.v_swap_avg, c.v_swap_close, c.v_swap_n, c.v_tendency_avg, c.v_tendency_close, c.v_tendency_n,
           c.disruption_avg, c.disruption_n, c.amp_avg, c.amp_n, c.volt_avg, c.volt_n, c.inertia_avg, c.inertia_n,
           c.spread_avg, c.spread_n, c.mid_close, c.mode_general_close, c.mode_b_close)
      is distinct from
          (excluded.samples_count, excluded.v_inner_min, excluded.v_inner_max, excluded.v_inner_avg,
           excluded.v_inner_close, excluded.v_inner_n, excluded.v_outer_min, excluded.v_outer_max,
           excluded.v_outer_avg, excluded.v_outer_close, excluded.v_outer_n, excluded.v_swap_avg,
           excluded.v_swap_close, excluded.v_swap_n, excluded.v_tendency_avg, excluded.v_tendency_close,
           excluded.v_tendency_n, excluded.disruption_avg, excluded.disruption_n, excluded.amp_avg, excluded.amp_n,
           excluded.volt_avg, excluded.volt_n, excluded.inertia_avg, excluded.inertia_n, excluded.spread_avg,
           excluded.spread_n, excluded.mid_close, excluded.mode_general_close, excluded.mode_b_close)
    returning c.symbol, c.spec, c.cycle_start
  ),
  mark as (
    insert into str_aux.pending_cycles (symbol, spec, cycle_start)
    select symbol, spec, cycle_start from up
    union
    select symbol, spec, cycle_start from del
    on conflict do nothing
    returning 1
  )
  select (select count(*)::integer from agg) + 0 * (select count(*) from mark);
$$;

-- Locks the keys' symbols, then rolls them (two statements: the roll sees what committed before the lock).
create or replace function str_aux.roll_cycles(p_symbols text[], p_specs text[], p_starts timestamptz[])
returns integer
language plpgsql
set search_path = pg_catalog, str_aux
as $$
begin
  if coalesce(cardinality(p_symbols), 0) = 0 then
    return 0;
  end if;
  perform str_aux.lock_symbols(p_symbols);
  return str_aux.roll_cycle_keys(p_symbols, p_specs, p_starts);
end;
$$;

-- Rolls the given (symbol, window_label, window_start, spec) windows from their cycles: upserts the
-- changed rows (dropping their now stale stats and vectors), deletes rows left without cycles.
-- Returns the windows holding cycles.
create or replace function str_aux.roll_window_keys(
  p_symbols text[], p_labels text[], p_starts timestamptz[], p_specs text[]
) returns integer
language sql
set search_path = pg_catalog, str_aux
as $$
  with k as (
    select distinct k.symbol, k.window_label, k.window_start, k.spec,
           k.window_start + w.duration_ms * interval '1 millisecond' as window_end
    from unnest(p_symbols, p_labels, p_starts, p_specs) k(symbol, window_label, window_start, spec)
    join settings.windows w on w.label = k.window_label
  ),
  agg as (
    select k.symbol, k.window_label, k.window_start, k.window_end, k.spec,
      count(*)::integer as cycles_count, sum(c.samples_count)::integer as samples_count,
      min(c.v_inner_min) as v_inner_min, max(c.v_inner_max) as v_inner_max,
      str_aux.safe_div(sum(c.v_inner_avg * c.v_inner_n order by c.cycle_start), nullif(sum(c.v_inner_n), 0)) as v_inner_avg,
      (array_agg(c.v_inner_close order by c.cycle_start desc) filter (where c.v_inner_close is not null))[1] as v_inner_close,
      min(c.v_outer_min) as v_outer_min, max(c.v_outer_max) as v_outer_max,
      str_aux.safe_div(sum(c.v_outer_avg * c.v_outer_n order by c.cycle_start), nullif(sum(c.v_outer_n), 0)) as v_outer_avg,
      (array_agg(c.v_outer_close order by c.cycle_start desc) filter (where c.v_outer_close is not null))[1] as v_outer_close,
      str_aux.safe_div(sum(c.v_swap_avg * c.v_swap_n order by c.cycle_start), nullif(sum(c.v_swap_n), 0)) as v_swap_avg,
      (array_agg(c.v_swap_close order by c.cycle_start desc) filter (where c.v_swap_close is not null))[1] as v_swap_close,
      str_aux.safe_div(sum(c.v_tendency_avg * c.v_tendency_n order by c.cycle_start), nullif(sum(c.v_tendency_n), 0)) as v_tendency_avg,
      (array_agg(c.v_tendency_close order by c.cycle_start desc) filter (where c.v_tendency_close is not null))[1] as v_tendency_close,
      str_aux.safe_div(sum(c.disruption_avg * c.disruption_n order by c.cycle_start), nullif(sum(c.disruption_n), 0)) as disruption_avg,
      str_aux.safe_div(sum(c.amp_avg * c.amp_n order by c.cycle_start), nullif(sum(c.amp_n), 0)) as amp_avg,
      str_aux.safe_div(sum(c.volt_avg * c.volt_n order by c.cycle_start), nullif(sum(c.volt_n), 0)) as volt_avg,
      str_aux.safe_div(sum(c.inertia_avg * c.inertia_n order by c.cycle_start), nullif(sum(c.inertia_n), 0)) as inertia_avg,
      str_aux.safe_div(sum(c.spread_avg * c.spread_n order by c.cycle_start), nullif(sum(c.spread_n), 0)) as spread_avg,
      (array_agg(c.mid_close order by c.cycle_start desc) filter (where c.mid_close is not null))[1] as mid_close,
      (array_agg(c.mode_general_close order by c.cycle_start desc) filter (where c.mode_general_close is not null))[1] as mode_general_close,
      (array_agg(c.mode_b_close order by c.cycle_start desc) filter (where c.mode_b_close is not null))[1] as mode_b_close
    from k
    join str_aux.cycles_40s c
      on c.symbol = k.symbol and c.spec = k.spec and c.cycle_start >= k.window_start and c.cycle_start < k.window_end
    group by k.symbol, k.window_label, k.window_start, k.window_end, k.spec
  ),
  del as (
    delete from str_aux.windows w
    using k
    where w.symbol = k.symbol and w.window_label = k.window_label and w.window_start = k.window_start
      and not exists (select 1 from agg a
                      where a.symbol = k.symbol and a.window_label = k.window_label and a.window_start = k.window_start)
    returning 1
  ),
  up as (
    insert into str_aux.windows as w (
      symbol, window_label, window_start, window_end, spec, cycles_count, samples_count,
      v_inner_min, v_inner_max, v_inner_avg, v_inner_close, v_outer_min, v_outer_max, v_outer_avg, v_outer_close,
      v_swap_avg, v_swap_close, v_tendency_avg, v_tendency_close, disruption_avg, amp_avg, volt_avg, inertia_avg,
      spread_avg, mid_close, mode_general_close, mode_b_close)
    select symbol, window_label, window_start, window_end, spec, cycles_count, samples_count,
      v_inner_min, v_inner_max, v_inner_avg, v_inner_close, v_outer_min, v_outer_max, v_outer_avg, v_outer_close,
      v_swap_avg, v_swap_close, v_tendency_avg, v_tendency_close, disruption_avg, amp_avg, volt_avg, inertia_avg,
      spread_avg, mid_close, mode_general_close, mode_b_close
    from agg
    order by symbol, window_label, window_start
    on conflict (symbol, window_label, window_start) do update set
      window_end = excluded.window_end, spec = excluded.spec, cycles_count = excluded.cycles_count,
      samples_count = excluded.samples_count,
      v_inner_min = excluded.v_inner_min, v_inner_max = excluded.v_inner_max, v_inner_avg = excluded.v_inner_avg,
      v_inner_close = excluded.v_inner_close,
      v_outer_min = excluded.v_outer_min, v_outer_max = excluded.v_outer_max, v_outer_avg = excluded.v_outer_avg,
      v_outer_close = excluded.v_outer_close,
      v_swap_avg = excluded.v_swap_avg, v_swap_close = excluded.v_swap_close,
      v_tendency_avg = excluded.v_tendency_avg, v_tendency_close = excluded.v_tendency_close,
      disruption_avg = excluded.disruption_avg, amp_avg = excluded.amp_avg, volt_avg = excluded.volt_avg,
      inertia_avg = excluded.inertia_avg, spread_avg = excluded.spread_avg, mid_close = excluded.mid_close,
      mode_general_close = excluded.mode_general_close, mode_b_close = excluded.mode_b_close,
      updated_at = now()
    where (w.window_end, w.spec, w.cycles_count, w.samples_count, w.v_inner_min, w.v_inner_max, w.v_inner_avg,
           w.v_inner_close, w.v_outer_min, w.v_outer_max, w.v_outer_avg, w.v_outer_close, w.v_swap_avg,
           w.v_swap_close, w.v_tendency_avg, w.v_tendency_close, w.disruption_avg, w.amp_avg, w.volt_avg,
           w.inertia_avg, w.spread_avg, w.mid_close, w.mode_general_close, w.mode_b_close)
      is distinct from
          (excluded.window_end, excluded.spec, excluded.cycles_count, excluded.samples_count, excluded.v_inner_min,
           excluded.v_inner_max, excluded.v_inner_avg, excluded.v_inner_close, excluded.v_outer_min,
           excluded.v_outer_max, excluded.v_outer_avg, excluded.v_outer_close, excluded.v_swap_avg,
           excluded.v_swap_close, excluded.v_tendency_avg, excluded.v_tendency_close, excluded.disruption_avg,
           excluded.amp_avg, excluded.volt_avg, excluded.inertia_avg, excluded.spread_avg, excluded.mid_close,
           excluded.mode_general_close, excluded.mode_b_close)
    returning w.symbol, w.window_label, w.window_start
  ),
  stale_stats as (
    delete from str_aux.window_stats s using up
    where s.symbol = up.symbol and s.window_label = up.window_label and s.window_start = up.window_start
    returning 1
  ),
  stale_vectors as (
    delete from str_aux.window_vectors v using up
    where v.symbol = up.symbol and v.window_label = up.window_label and v.window_start = up.window_start
    returning 1
  )
  select (select count(*)::integer from agg)
    + 0 * ((select count(*) from del) + (select count(*) from stale_stats) + (select count(*) from stale_vectors));
$$;

create or replace function str_aux.roll_windows(
  p_symbols text[], p_labels text[], p_starts timestamptz[], p_specs text[]
) returns integer
language plpgsql
set search_path = pg_catalog, str_aux
as $$
begin
  if coalesce(cardinality(p_symbols), 0) = 0 then
    return 0;
  end if;
  perform str_aux.lock_symbols(p_symbols);
  return str_aux.roll_window_keys(p_symbols, p_labels, p_starts, p_specs);
end;
$$;

-- Computes the stats and vectors of the given windows (those that exist) from their samples and
-- rows; an unchanged row is not rewritten. Returns the windows computed.
create or replace function str_aux.compute_window_keys(p_symbols text[], p_labels text[], p_starts timestamptz[])
returns integer
language sql
set search_path = pg_catalog, str_aux
as $$
  with w as (
    select distinct on (w.symbol, w.window_label, w.window_start) w.*,
           str_aux.span_ceil(w.window_start, sp.cycle_seconds * interval '1 second') as lo,
           str_aux.span_ceil(w.window_end, sp.cycle_seconds * interval '1 second') as hi
    from unnest(p_symbols, p_labels, p_starts) k(symbol, window_label, window_start)
    join str_aux.windows w
      on w.symbol = k.symbol and w.window_label = k.window_label and w.window_start = k.window_start
    join str_aux.sampling_specs sp on sp.label = w.spec
  ),
  -- one index range scan of the window's samples per window (lateral), then one for the moments
  m as (
    select w.symbol, w.window_label, w.window_start, a.samples_count, a.mi, a.mo, a.spread_avg, a.spread_p95,
           b.i2, b.i3, b.o2, b.o3
    from w
    cross join lateral (
      select count(*)::integer as samples_count, avg(s.v_inner order by s.ts) as mi, avg(s.v_outer order by s.ts) as mo,
             avg(s.spread_avg order by s.ts) as spread_avg,
             percentile_cont(0.95) within group (order by s.spread_avg) as spread_p95
      from str_aux.samples_5s s
      where s.symbol = w.symbol and s.ts >= w.lo and s.ts < w.hi
    ) a
    cross join lateral (
      select avg(str_aux.deviation(s.v_inner, a.mi) ^ 2 order by s.ts) as i2, avg(str_aux.deviation(s.v_inner, a.mi) ^ 3 order by s.ts) as i3,
             avg(str_aux.deviation(s.v_outer, a.mo) ^ 2 order by s.ts) as o2, avg(str_aux.deviation(s.v_outer, a.mo) ^ 3 order by s.ts) as o3
      from str_aux.samples_5s s
      where s.symbol = w.symbol and s.ts >= w.lo and s.ts < w.hi
    ) b
    where a.samples_count > 0
  ),
  st as (
    insert into str_aux.window_stats as t (
      symbol, window_label, window_start, samples_count, v_inner_mean, v_inner_variance, v_inner_skew,
      v_outer_mean, v_outer_variance, v_outer_skew, spread_avg, spread_p95)
    select m.symbol, m.window_label, m.window_start, m.samples_count,
      m.mi, m.i2, case when m.i2 > 0 then m.i3 / (m.i2 ^ 1.5) end,
      m.mo, m.o2, case when m.o2 > 0 then m.o3 / (m.o2 ^ 1.5) end,
      m.spread_avg, m.spread_p95
    from m
    order by 1, 2, 3
    on conflict (symbol, window_label, window_start) do update set
      samples_count = excluded.samples_count,
      v_inner_mean = excluded.v_inner_mean, v_inner_variance = excluded.v_inner_variance,
      v_inner_skew = excluded.v_inner_skew, v_outer_mean = excluded.v_outer_mean,
      v_outer_variance = excluded.v_outer_variance, v_outer_skew = excluded.v_outer_skew,
      spread_avg = excluded.spread_avg, spread_p95 = excluded.spread_p95, updated_at = now()
    where (t.samples_count, t.v_inner_mean, t.v_inner_variance, t.v_inner_skew, t.v_outer_mean, t.v_outer_variance,
           t.v_outer_skew, t.spread_avg, t.spread_p95)
      is distinct from
          (excluded.samples_count, excluded.v_inner_mean, excluded.v_inner_variance, excluded.v_inner_skew,
           excluded.v_outer_mean, excluded.v_outer_variance, excluded.v_outer_skew, excluded.spread_avg,
           excluded.spread_p95)
    returning 1
  ),
  vec as (
    insert into str_aux.window_vectors as v (symbol, window_label, window_start, vector)
    select w.symbol, w.window_label, w.window_start, jsonb_build_object(
      'inner', jsonb_build_object('avg', w.v_inner_avg, 'close', w.v_inner_close),
      'outer', jsonb_build_object('avg', w.v_outer_avg, 'close', w.v_outer_close),
      'swap', jsonb_build_object('avg', w.v_swap_avg, 'close', w.v_swap_close),
      'tend', jsonb_build_object('avg', w.v_tendency_avg, 'close', w.v_tendency_close))
    from w
    order by 1, 2, 3
    on conflict (symbol, window_label, window_start) do update set vector = excluded.vector, updated_at = now()
    where v.vector is distinct from excluded.vector
    returning 1
  )
  select (select count(*)::integer from w) + 0 * ((select count(*) from st) + (select count(*) from vec));
$$;

-- ---------------------------------------------------------------------------------------------
-- the procedures (one key each)

-- The effective spec of a symbol: p_spec when given (22023 when unknown), else its own.
create or replace function str_aux.spec_of(p_symbol text, p_spec text default null)
returns str_aux.sampling_specs
language plpgsql stable
set search_path = pg_catalog, str_aux
as $$
declare
  v_row str_aux.sampling_specs;
begin
  select sp.* into v_row from str_aux.sampling_specs sp
  where sp.label = coalesce(p_spec, (select ss.spec from str_aux.symbol_specs ss where ss.symbol = p_symbol), 'default');
  if not found then
    raise exception 'sampling spec % does not exist', quote_literal(coalesce(p_spec, 'default')) using errcode = '22023';
  end if;
  return v_row;
end;
$$;

-- Refuses (22023) a symbol market.symbols does not hold.
create or replace function str_aux.check_symbol(p_symbol text) returns void
language plpgsql stable
set search_path = pg_catalog, str_aux
as $$
begin
  if p_symbol is null or not exists (select 1 from market.symbols m where m.symbol = p_symbol) then
    raise exception 'symbol % is not in market.symbols', coalesce(quote_literal(p_symbol), 'null') using errcode = '22023';
  end if;
end;
$$;

-- Rolls one cycle from its samples and returns its row (none when it holds no sample).
create or replace function str_aux.sp_roll_cycle_40s(p_symbol text, p_cycle_start timestamptz, p_spec text default null)
returns setof str_aux.cycles_40s
language plpgsql
set search_path = pg_catalog, str_aux
as $$
declare
  v_spec str_aux.sampling_specs;
begin
  perform str_aux.check_symbol(p_symbol);
  v_spec := str_aux.spec_of(p_symbol, p_spec);
  if p_cycle_start is null or str_aux.span_floor(p_cycle_start, v_spec.cycle_seconds * interval '1 second') <> p_cycle_start then
    raise exception 'cycle_start must be an epoch multiple of % seconds', v_spec.cycle_seconds using errcode = '22023';
  end if;
  perform str_aux.roll_cycles(array[p_symbol], array[v_spec.label], array[p_cycle_start]);
  return query select c.* from str_aux.cycles_40s c
    where c.symbol = p_symbol and c.spec = v_spec.label and c.cycle_start = p_cycle_start;
end;
$$;

-- Rolls one window from its cycles and returns its row (none when it holds no cycle).
create or replace function str_aux.sp_roll_window_from_cycles(
  p_symbol text, p_window_label text, p_window_start timestamptz, p_spec text default null
) returns setof str_aux.windows
language plpgsql
set search_path = pg_catalog, str_aux
as $$
declare
  v_spec     str_aux.sampling_specs;
  v_duration bigint;
begin
  perform str_aux.check_symbol(p_symbol);
  select w.duration_ms into v_duration from settings.windows w where w.label = p_window_label;
  if not found then
    raise exception 'window % is not in settings.windows', coalesce(quote_literal(p_window_label), 'null')
      using errcode = '22023';
  end if;
  v_spec := str_aux.spec_of(p_symbol, p_spec);
  if p_window_start is null
     or str_aux.span_floor(p_window_start, v_duration * interval '1 millisecond') <> p_window_start then
    raise exception 'window_start must be an epoch multiple of the window (% ms)', v_duration using errcode = '22023';
  end if;
  perform str_aux.roll_windows(array[p_symbol], array[p_window_label], array[p_window_start], array[v_spec.label]);
  return query select w.* from str_aux.windows w
    where w.symbol = p_symbol and w.window_label = p_window_label and w.window_start = p_window_start;
end;
$$;

-- Rolls every cycle overlapping [p_from, p_to) (cycle_start in [floor(p_from), p_to)), of one symbol
-- or of all, from the samples (and deletes cycles left without samples). Each symbol's own spec
-- unless p_spec is given. Returns the cycles holding samples.
create or replace function str_aux.roll_all_cycles_between(
  p_from timestamptz, p_to timestamptz, p_spec text default null, p_symbol text default null
) returns integer
language plpgsql
set search_path = pg_catalog, str_aux
as $$
declare
  v_symbols text[];
  v_specs   text[];
  v_starts  timestamptz[];
begin
  if p_from is null or p_to is null or p_from > p_to then
    raise exception 'roll_all_cycles_between needs from <= to' using errcode = '22023';
  end if;
  if p_spec is not null then
    perform str_aux.spec_of(null, p_spec);
  end if;
  if p_symbol is not null then
    perform str_aux.check_symbol(p_symbol);
  end if;
  with t as (
    select vs.symbol, sp.label as spec, sp.cycle_seconds * interval '1 second' as step
    from str_aux.v_symbol_specs vs
    join str_aux.sampling_specs sp on sp.label = coalesce(p_spec, vs.spec)
    where p_symbol is null or vs.symbol = p_symbol
  )
  select array_agg(k.symbol), array_agg(k.spec), array_agg(k.cycle_start)
  into v_symbols, v_specs, v_starts
  from (
    select distinct t.symbol, t.spec, str_aux.span_floor(s.ts, t.step) as cycle_start
    from t
    join str_aux.samples_5s s
      on s.symbol = t.symbol and s.ts >= str_aux.span_floor(p_from, t.step) and s.ts < str_aux.span_ceil(p_to, t.step)
    union
    select c.symbol, c.spec, c.cycle_start
    from t
    join str_aux.cycles_40s c on c.symbol = t.symbol and c.spec = t.spec
    where c.cycle_start >= str_aux.span_floor(p_from, t.step) and c.cycle_start < p_to
  ) k;
  return str_aux.roll_cycles(v_symbols, v_specs, v_starts);
end;
$$;

-- Rolls every window of one label overlapping [p_from, p_to) (window_start in [floor(p_from), p_to))
-- for the given symbols (null: every symbol holding cycles there), from their cycles. Returns the windows holding cycles.
-- With p_compute, also computes their stats and vectors.
create or replace function str_aux.roll_windows_between(
  p_window_label text, p_from timestamptz, p_to timestamptz, p_symbols text[] default null,
  p_compute boolean default true
) returns integer
language plpgsql
set search_path = pg_catalog, str_aux
as $$
declare
  v_duration interval;
  v_symbols  text[];
  v_labels   text[];
  v_starts   timestamptz[];
  v_specs    text[];
  v_count    integer;
begin
  select w.duration_ms * interval '1 millisecond' into v_duration from settings.windows w where w.label = p_window_label;
  if not found then
    raise exception 'window % is not in settings.windows', coalesce(quote_literal(p_window_label), 'null')
      using errcode = '22023';
  end if;
  select array_agg(k.symbol), array_agg(p_window_label), array_agg(k.window_start), array_agg(k.spec)
  into v_symbols, v_labels, v_starts, v_specs
  from (
    select distinct c.symbol, str_aux.span_floor(c.cycle_start, v_duration) as window_start, c.spec
    from str_aux.v_symbol_specs vs
    join str_aux.cycles_40s c on c.symbol = vs.symbol and c.spec = vs.spec
    where c.cycle_start >= str_aux.span_floor(p_from, v_duration)
      and c.cycle_start < p_to
      and (p_symbols is null or vs.symbol = any (p_symbols))
    union
    select w.symbol, w.window_start, vs.spec
    from str_aux.windows w
    join str_aux.v_symbol_specs vs on vs.symbol = w.symbol
    where w.window_label = p_window_label and w.window_start >= str_aux.span_floor(p_from, v_duration)
      and w.window_start < p_to
      and (p_symbols is null or w.symbol = any (p_symbols))
  ) k
  where k.window_start >= str_aux.span_floor(p_from, v_duration) and k.window_start < p_to;
  v_count := str_aux.roll_windows(v_symbols, v_labels, v_starts, v_specs);
  if p_compute and v_count > 0 then
    perform str_aux.compute_window_keys(v_symbols, v_labels, v_starts);
  end if;
  return v_count;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- writers

-- Upserts one sample (its cycle is rolled by the trigger) and returns it as stored.
create or replace function str_aux.upsert_sample_5s(
  p_symbol text, p_ts timestamptz,
  p_v_inner double precision default null, p_v_outer double precision default null,
  p_v_swap double precision default null, p_v_tendency double precision default null,
  p_disruption double precision default null, p_amp double precision default null,
  p_volt double precision default null, p_inertia double precision default null,
  p_mode_general text default null, p_mode_b text default null, p_bucket_count integer default null,
  p_tick_ms_min double precision default null, p_tick_ms_max double precision default null,
  p_tick_ms_avg double precision default null, p_spread_min double precision default null,
  p_spread_max double precision default null, p_spread_avg double precision default null,
  p_mid_min double precision default null, p_mid_max double precision default null,
  p_liquidity_imbalance double precision default null, p_quality_flags jsonb default null,
  p_attrs jsonb default null
) returns str_aux.samples_5s
language plpgsql
set search_path = pg_catalog, str_aux
as $$
declare
  v_row str_aux.samples_5s;
begin
  perform str_aux.check_symbol(p_symbol);
  insert into str_aux.samples_5s as s (
    symbol, ts, v_inner, v_outer, v_swap, v_tendency, disruption, amp, volt, inertia, mode_general, mode_b,
    bucket_count, tick_ms_min, tick_ms_max, tick_ms_avg, spread_min, spread_max, spread_avg, mid_min, mid_max,
    liquidity_imbalance, quality_flags, attrs)
  values (p_symbol, p_ts, p_v_inner, p_v_outer, p_v_swap, p_v_tendency, p_disruption, p_amp, p_volt, p_inertia,
    p_mode_general, p_mode_b, p_bucket_count, p_tick_ms_min, p_tick_ms_max, p_tick_ms_avg, p_spread_min,
    p_spread_max, p_spread_avg, p_mid_min, p_mid_max, p_liquidity_imbalance, p_quality_flags,
    coalesce(p_attrs, '{}'::jsonb))
  on conflict (symbol, ts) do update set
    v_inner = excluded.v_inner, v_outer = excluded.v_outer, v_swap = excluded.v_swap,
    v_tendency = excluded.v_tendency, disruption = excluded.disruption, amp = excluded.amp, volt = excluded.volt,
    inertia = excluded.inertia, mode_general = excluded.mode_general, mode_b = excluded.mode_b,
    bucket_count = excluded.bucket_count, tick_ms_min = excluded.tick_ms_min, tick_ms_max = excluded.tick_ms_max,
    tick_ms_avg = excluded.tick_ms_avg, spread_min = excluded.spread_min, spread_max = excluded.spread_max,
    spread_avg = excluded.spread_avg, mid_min = excluded.mid_min, mid_max = excluded.mid_max,
    liquidity_imbalance = excluded.liquidity_imbalance, quality_flags = excluded.quality_flags,
    attrs = excluded.attrs
  returning s.* into v_row;
  return v_row;
end;
$$;

-- ---------------------------------------------------------------------------------------------
-- the sample triggers: statement-level, with transition tables (one for INSERT, one for UPDATE, one
-- for DELETE: a trigger with transition tables serves one event). Each rolls every cycle its
-- statement touched once, set-based; an update that moves a sample re-rolls both cycles.

create or replace function str_aux.after_samples_5s() returns trigger
language plpgsql
set search_path = pg_catalog, str_aux
as $$
declare
  v_symbols text[];
  v_specs   text[];
  v_starts  timestamptz[];
begin
  if tg_op = 'INSERT' then
    select array_agg(k.symbol), array_agg(k.spec), array_agg(k.cycle_start) into v_symbols, v_specs, v_starts
    from (select distinct r.symbol, vs.spec, str_aux.span_floor(r.ts, vs.cycle_seconds * interval '1 second') as cycle_start
          from new_rows r join str_aux.v_symbol_specs vs on vs.symbol = r.symbol) k;
  elsif tg_op = 'UPDATE' then
    select array_agg(k.symbol), array_agg(k.spec), array_agg(k.cycle_start) into v_symbols, v_specs, v_starts
    from (select distinct r.symbol, vs.spec, str_aux.span_floor(r.ts, vs.cycle_seconds * interval '1 second') as cycle_start
          from (select symbol, ts from new_rows union all select symbol, ts from old_rows) r
          join str_aux.v_symbol_specs vs on vs.symbol = r.symbol) k;
  else
    select array_agg(k.symbol), array_agg(k.spec), array_agg(k.cycle_start) into v_symbols, v_specs, v_starts
    from (select distinct r.symbol, vs.spec, str_aux.span_floor(r.ts, vs.cycle_seconds * interval '1 second') as cycle_start
          from old_rows r join str_aux.v_symbol_specs vs on vs.symbol = r.symbol) k;
  end if;
  perform str_aux.roll_cycles(v_symbols, v_specs, v_starts);
  return null;
end;
$$;

create or replace trigger trg_after_sample_5s after insert on str_aux.samples_5s
  referencing new table as new_rows
  for each statement execute function str_aux.after_samples_5s();
create or replace trigger trg_after_sample_5s_update after update on str_aux.samples_5s
  referencing old table as old_rows new table as new_rows
  for each statement execute function str_aux.after_samples_5s();
create or replace trigger trg_after_sample_5s_delete after delete on str_aux.samples_5s
  referencing old table as old_rows
  for each statement execute function str_aux.after_samples_5s();
