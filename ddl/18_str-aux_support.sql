-- 18_str-aux_support.sql: read-only helper views over str_aux: which windows have their stats and
-- vectors (coverage), and the strategy_aux opt-in views. strategy_aux holds views only, never tables.
-- Needs 00_schemas, 08_str-aux. Re-runnable: every object is guarded. No begin/commit.

-- Every window with whether its stats and its vector are computed.
create or replace view str_aux.v_window_coverage as
select w.symbol, w.window_label, w.window_start, w.window_end, w.samples_count,
       exists (select 1 from str_aux.window_stats s
               where s.symbol = w.symbol and s.window_label = w.window_label and s.window_start = w.window_start) as has_stats,
       exists (select 1 from str_aux.window_vectors v
               where v.symbol = w.symbol and v.window_label = w.window_label and v.window_start = w.window_start) as has_vector
from str_aux.windows w;

-- Windows whose stats or vector are missing (tick_all computes them for the windows it rolls).
create or replace view str_aux.v_windows_missing_stats as
select c.symbol, c.window_label, c.window_start, c.window_end, c.has_stats, c.has_vector
from str_aux.v_window_coverage c
where not c.has_stats or not c.has_vector;

-- Per symbol and label: windows, and how many have stats and vectors.
create or replace view str_aux.v_coverage_summary as
select c.symbol, c.window_label, count(*)::integer as windows,
       count(*) filter (where c.has_stats)::integer as with_stats,
       count(*) filter (where c.has_vector)::integer as with_vector
from str_aux.v_window_coverage c
group by c.symbol, c.window_label;

-- The latest window of every symbol and label with its stats and vector (opt-in strategy helper).
create or replace view strategy_aux.v_str_latest as
select w.symbol, w.window_label, w.window_start, w.window_end, w.samples_count,
       w.v_inner_avg, w.v_outer_avg, w.v_inner_close, w.v_outer_close,
       s.v_inner_variance, s.v_inner_skew, s.v_outer_variance, s.v_outer_skew, s.spread_p95, v.vector
from str_aux.v_latest_windows w
left join str_aux.window_stats s
  on s.symbol = w.symbol and s.window_label = w.window_label and s.window_start = w.window_start
left join str_aux.window_vectors v
  on v.symbol = w.symbol and v.window_label = w.window_label and v.window_start = w.window_start;
