/**
 * The select lists of str_aux's tables as the SDK reads them (camelCase aliases, instants as epoch
 * milliseconds through `util.epoch_ms`). Internal: not re-exported by the module's index.
 */

/** snake_case → camelCase (`v_inner_n` → `vInnerN`). */
function camel(column: string): string {
  return column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A select list: plain columns aliased to camelCase, instants through util.epoch_ms. */
function list(
  alias: string,
  plain: readonly string[],
  instants: readonly string[],
  renamed: Record<string, string> = {},
) {
  const parts = plain.map((c) => `${alias}.${c} as "${renamed[c] ?? camel(c)}"`);
  for (const c of instants) parts.push(`util.epoch_ms(${alias}.${c}) as "${renamed[c] ?? camel(c)}"`);
  return parts.join(', ');
}

/** The sample columns a writer sets, in the stage's order (after seq, symbol, ts). */
export const SAMPLE_VALUE_COLUMNS = [
  'v_inner',
  'v_outer',
  'v_swap',
  'v_tendency',
  'disruption',
  'amp',
  'volt',
  'inertia',
  'mode_general',
  'mode_b',
  'bucket_count',
  'tick_ms_min',
  'tick_ms_max',
  'tick_ms_avg',
  'spread_min',
  'spread_max',
  'spread_avg',
  'mid_min',
  'mid_max',
  'liquidity_imbalance',
  'quality_flags',
  'attrs',
] as const;

/** camelCase input field of each value column. */
export const SAMPLE_FIELDS = SAMPLE_VALUE_COLUMNS.map(camel);

export const sampleColumns = (alias: string) =>
  list(alias, ['symbol', ...SAMPLE_VALUE_COLUMNS], ['ts', 'created_at', 'updated_at']);

const ROLLUPS = [
  'samples_count',
  'v_inner_min',
  'v_inner_max',
  'v_inner_avg',
  'v_inner_close',
  'v_outer_min',
  'v_outer_max',
  'v_outer_avg',
  'v_outer_close',
  'v_swap_avg',
  'v_swap_close',
  'v_tendency_avg',
  'v_tendency_close',
  'disruption_avg',
  'amp_avg',
  'volt_avg',
  'inertia_avg',
  'spread_avg',
  'mid_close',
  'mode_general_close',
  'mode_b_close',
];

const COUNTS = [
  'v_inner_n',
  'v_outer_n',
  'v_swap_n',
  'v_tendency_n',
  'disruption_n',
  'amp_n',
  'volt_n',
  'inertia_n',
  'spread_n',
];

export const cycleColumns = (alias: string) =>
  list(alias, ['symbol', 'spec', ...ROLLUPS, ...COUNTS], ['cycle_start', 'updated_at']);

export const windowColumns = (alias: string) =>
  list(
    alias,
    ['symbol', 'window_label', 'spec', 'cycles_count', ...ROLLUPS],
    ['window_start', 'window_end', 'updated_at'],
    {
      window_label: 'window',
    },
  );

export const statsColumns = (alias: string) =>
  list(
    alias,
    [
      'symbol',
      'window_label',
      'samples_count',
      'v_inner_mean',
      'v_inner_variance',
      'v_inner_skew',
      'v_outer_mean',
      'v_outer_variance',
      'v_outer_skew',
      'spread_avg',
      'spread_p95',
    ],
    ['window_start', 'updated_at'],
    { window_label: 'window' },
  );

export const vectorColumns = (alias: string) =>
  list(alias, ['symbol', 'window_label', 'vector'], ['window_start', 'updated_at'], {
    window_label: 'window',
  });
