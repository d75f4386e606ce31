/**
 * zod rows and inputs of schema `str_aux` (packs ddl/08_str-aux.sql, 09_str-aux_autonomy.sql,
 * 18_str-aux_support.sql), each with its inferred type. Signals and book figures are
 * `double precision` ⇄ finite number (null: not measured); instants are Dates in rows.
 */
import { z } from 'zod';
import {
  float8,
  float8Input,
  instant,
  json,
  jsonObject,
  jsonObjectRow,
  jsonRow,
  symbol,
  text,
  timestamptz,
} from '../core/codecs.js';

// ---------------------------------------------------------------------------------------------
// fields

const LABEL = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

/** A settings.windows label ('5m', '4h', 'two-hours'). */
export const WindowLabel = text().regex(
  LABEL,
  'expected a window label such as 5m (a letter or digit, then up to 31 letters, digits, _ or -)',
);
/** A sampling spec label ('default'). */
export const SpecLabel = text().regex(
  LABEL,
  'expected a spec label such as default (a letter or digit, then up to 31 letters, digits, _ or -)',
);

/** One symbol or many (at most 10 000), upper case. */
export const Symbols = z.array(symbol).min(1, 'must name at least one symbol').max(10_000);
/** Window labels (at most 1 000). */
export const WindowLabels = z.array(WindowLabel).max(1000);

const signal = float8Input.nullable().optional();
const nonNegative = float8Input
  .refine((n) => n >= 0, 'must not be negative')
  .nullable()
  .optional();
const mode = text({ min: 1, max: 64 }).nullable().optional();

// ---------------------------------------------------------------------------------------------
// samples

/**
 * Input of `upsertSample5s` (and each row of `upsertSamples5s`): a symbol of market.symbols, an
 * instant, and any of the signals and book figures (absent or null: not measured). Signals are
 * finite; spreads, tick times and bucket counts are not negative; liquidityImbalance lies in [-1, 1].
 */
export const Sample5sInput = z.strictObject({
  symbol,
  ts: instant,
  vInner: signal,
  vOuter: signal,
  vSwap: signal,
  vTendency: signal,
  disruption: signal,
  amp: signal,
  volt: signal,
  inertia: signal,
  modeGeneral: mode,
  modeB: mode,
  bucketCount: z
    .int({ error: 'expected an integer' })
    .min(0, 'must not be negative')
    .max(2_147_483_647, 'must be at most 2147483647')
    .nullable()
    .optional(),
  tickMsMin: nonNegative,
  tickMsMax: nonNegative,
  tickMsAvg: nonNegative,
  spreadMin: nonNegative,
  spreadMax: nonNegative,
  spreadAvg: nonNegative,
  midMin: signal,
  midMax: signal,
  liquidityImbalance: float8Input
    .refine((n) => n >= -1 && n <= 1, 'must be between -1 and 1')
    .nullable()
    .optional(),
  qualityFlags: json.nullable().optional(),
  attrs: jsonObject.optional(),
});
export type Sample5sInput = z.input<typeof Sample5sInput>;

/** A row of `str_aux.samples_5s`. */
export const Sample5sRow = z.object({
  symbol: z.string(),
  ts: timestamptz,
  vInner: float8.nullable(),
  vOuter: float8.nullable(),
  vSwap: float8.nullable(),
  vTendency: float8.nullable(),
  disruption: float8.nullable(),
  amp: float8.nullable(),
  volt: float8.nullable(),
  inertia: float8.nullable(),
  modeGeneral: z.string().nullable(),
  modeB: z.string().nullable(),
  bucketCount: z.int().nullable(),
  tickMsMin: float8.nullable(),
  tickMsMax: float8.nullable(),
  tickMsAvg: float8.nullable(),
  spreadMin: float8.nullable(),
  spreadMax: float8.nullable(),
  spreadAvg: float8.nullable(),
  midMin: float8.nullable(),
  midMax: float8.nullable(),
  liquidityImbalance: float8.nullable(),
  qualityFlags: jsonRow.nullable(),
  attrs: jsonObjectRow,
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type Sample5sRow = z.output<typeof Sample5sRow>;

/** What `upsertSamples5s` reports. */
export interface UpsertSamplesResult {
  /** Rows given. */
  received: number;
  /** Distinct (symbol, ts) keys among them (a key given twice keeps its last row). */
  distinct: number;
  inserted: number;
  updated: number;
  /** Rows already stored exactly so (not rewritten; their cycles not rolled). */
  unchanged: number;
}

/** Progress of `upsertSamples5s`: rows sent so far. */
export interface UpsertSamplesProgress {
  sent: number;
}

/** Options of `upsertSamples5s`. */
export const UpsertSamplesOptions = z.strictObject({
  onProgress: z
    .custom<(p: UpsertSamplesProgress) => void>((v) => typeof v === 'function', 'expected a function')
    .optional(),
});
export type UpsertSamplesOptions = z.input<typeof UpsertSamplesOptions>;

/** Input of `upsertSampleModel`: the book model behind a sample. */
export const SampleModelInput = z.strictObject({
  symbol,
  ts: instant,
  density: jsonObject.optional(),
  stats: jsonObject.optional(),
});
export type SampleModelInput = z.input<typeof SampleModelInput>;

/** A row of `str_aux.samples_5s_model`. */
export const SampleModelRow = z.object({
  symbol: z.string(),
  ts: timestamptz,
  density: jsonObjectRow,
  stats: jsonObjectRow,
  updatedAt: timestamptz,
});
export type SampleModelRow = z.output<typeof SampleModelRow>;

// ---------------------------------------------------------------------------------------------
// cycles and windows

const f = float8.nullable();
const count = z.int();

/** The rollups cycles and windows share. */
const rollups = {
  samplesCount: count,
  vInnerMin: f,
  vInnerMax: f,
  vInnerAvg: f,
  vInnerClose: f,
  vOuterMin: f,
  vOuterMax: f,
  vOuterAvg: f,
  vOuterClose: f,
  vSwapAvg: f,
  vSwapClose: f,
  vTendencyAvg: f,
  vTendencyClose: f,
  disruptionAvg: f,
  ampAvg: f,
  voltAvg: f,
  inertiaAvg: f,
  spreadAvg: f,
  midClose: f,
  modeGeneralClose: z.string().nullable(),
  modeBClose: z.string().nullable(),
  updatedAt: timestamptz,
};

/**
 * A row of `str_aux.cycles_40s`. `…N` is the number of samples with a non-null value of that signal
 * (the weight of its average in a window).
 */
export const CycleRow = z.object({
  symbol: z.string(),
  spec: z.string(),
  cycleStart: timestamptz,
  ...rollups,
  vInnerN: count,
  vOuterN: count,
  vSwapN: count,
  vTendencyN: count,
  disruptionN: count,
  ampN: count,
  voltN: count,
  inertiaN: count,
  spreadN: count,
});
export type CycleRow = z.output<typeof CycleRow>;

/** A row of `str_aux.windows` (`window` is its settings.windows label). */
export const WindowRow = z.object({
  symbol: z.string(),
  window: z.string(),
  windowStart: timestamptz,
  windowEnd: timestamptz,
  spec: z.string(),
  cyclesCount: count,
  ...rollups,
});
export type WindowRow = z.output<typeof WindowRow>;

/**
 * A row of `str_aux.window_stats`: over the window's samples, the mean, population variance and
 * population skewness (m3 / m2^1.5) of vInner and vOuter, the average and the 95th percentile
 * (`percentile_cont(0.95)`) of spreadAvg.
 */
export const WindowStatsRow = z.object({
  symbol: z.string(),
  window: z.string(),
  windowStart: timestamptz,
  samplesCount: count,
  vInnerMean: f,
  vInnerVariance: f,
  vInnerSkew: f,
  vOuterMean: f,
  vOuterVariance: f,
  vOuterSkew: f,
  spreadAvg: f,
  spreadP95: f,
  updatedAt: timestamptz,
});
export type WindowStatsRow = z.output<typeof WindowStatsRow>;

const avgClose = z.object({ avg: f, close: f });
/** A window's vector: inner, outer, swap, tend, each { avg, close }. */
export const WindowVector = z.object({ inner: avgClose, outer: avgClose, swap: avgClose, tend: avgClose });
export type WindowVector = z.output<typeof WindowVector>;

/** A row of `str_aux.window_vectors`. */
export const WindowVectorRow = z.object({
  symbol: z.string(),
  window: z.string(),
  windowStart: timestamptz,
  vector: WindowVector,
  updatedAt: timestamptz,
});
export type WindowVectorRow = z.output<typeof WindowVectorRow>;

// ---------------------------------------------------------------------------------------------
// roll inputs

/** Input of `rollCycle40s`: the cycle's start must be an epoch multiple of the spec's cycle seconds. */
export const RollCycleInput = z.strictObject({ symbol, cycleStart: instant, spec: SpecLabel.optional() });
export type RollCycleInput = z.input<typeof RollCycleInput>;

/** Input of `rollWindowFromCycles`: the start must be an epoch multiple of the window's duration. */
export const RollWindowInput = z.strictObject({
  symbol,
  window: WindowLabel,
  windowStart: instant,
  spec: SpecLabel.optional(),
});
export type RollWindowInput = z.input<typeof RollWindowInput>;

const span = { from: instant, to: instant };
const toNotBeforeFrom: [(v: { from: Date; to: Date }) => boolean, { path: string[]; error: string }] = [
  (v) => v.from.getTime() <= v.to.getTime(),
  { path: ['to'], error: 'must not be before from' },
];

/** Input of `rollAllCyclesBetween`: every cycle overlapping [from, to). */
export const RollAllCyclesBetweenInput = z
  .strictObject({ ...span, symbol: symbol.optional(), spec: SpecLabel.optional() })
  .refine(...toNotBeforeFrom);
export type RollAllCyclesBetweenInput = z.input<typeof RollAllCyclesBetweenInput>;

/** Input of `tryRollAllWindowsNow`. */
export const TryRollAllWindowsNowInput = z.strictObject({ spec: SpecLabel.optional() });
export type TryRollAllWindowsNowInput = z.input<typeof TryRollAllWindowsNowInput>;

/** What `tickAll` did. */
export const TickResult = z.object({
  /** Changed cycles whose windows it rolled again. */
  pendingCycles: count,
  /** Windows rolled (holding cycles). */
  windows: count,
  /** Windows whose stats and vector it computed. */
  computed: count,
});
export type TickResult = z.output<typeof TickResult>;

/** Progress of `backfillBetween`: symbols done of the total. */
export interface BackfillProgress {
  done: number;
  total: number;
  symbol: string;
  cycles: number;
  windows: number;
}

/** Input of `backfillBetween`: one symbol, or every symbol holding samples in [from, to). */
export const BackfillInput = z
  .strictObject({
    ...span,
    symbol: symbol.optional(),
    onProgress: z
      .custom<(p: BackfillProgress) => void>((v) => typeof v === 'function', 'expected a function')
      .optional(),
  })
  .refine(...toNotBeforeFrom);
export type BackfillInput = z.input<typeof BackfillInput>;

/** What `backfillBetween` rolled: cycles and windows holding data. */
export interface BackfillResult {
  cycles: number;
  windows: number;
}

// ---------------------------------------------------------------------------------------------
// read inputs

/** Input of `samplesBetween`: samples of these symbols with ts in [from, to). */
export const SamplesBetweenInput = z.strictObject({ ...span, symbols: Symbols }).refine(...toNotBeforeFrom);
export type SamplesBetweenInput = z.input<typeof SamplesBetweenInput>;

/** Input of `cyclesBetween`: cycles of these symbols with cycleStart in [from, to). */
export const CyclesBetweenInput = z
  .strictObject({ ...span, symbols: Symbols, spec: SpecLabel.optional() })
  .refine(...toNotBeforeFrom);
export type CyclesBetweenInput = z.input<typeof CyclesBetweenInput>;

/** Input of `windowsBetween`, `windowStats`, `windowVectors`: windowStart in [from, to). */
export const WindowsBetweenInput = z
  .strictObject({ ...span, symbols: Symbols, windows: WindowLabels.optional() })
  .refine(...toNotBeforeFrom);
export type WindowsBetweenInput = z.input<typeof WindowsBetweenInput>;

/** Filter of `latestWindows`. */
export const LatestWindowsFilter = z.strictObject({
  symbols: Symbols.optional(),
  windows: WindowLabels.optional(),
});
export type LatestWindowsFilter = z.input<typeof LatestWindowsFilter>;

/** Filter of `health`. */
export const HealthFilter = z.strictObject({ symbols: Symbols.optional() });
export type HealthFilter = z.input<typeof HealthFilter>;

/** A row of `str_aux.v_health`: one per enabled symbol. */
export const HealthRow = z.object({
  symbol: z.string(),
  spec: z.string(),
  lastSampleAt: timestamptz.nullable(),
  lastCycleStart: timestamptz.nullable(),
  /** The start of the latest window of each label (label → Date). */
  lastWindows: z.record(z.string(), timestamptz),
  /** Seconds since the last sample (null without samples). */
  lagSeconds: float8.nullable(),
});
export type HealthRow = z.output<typeof HealthRow>;

/** Input of `flowGaps`. */
export const FlowGapsInput = z.strictObject({
  minGapSeconds: z
    .number({ error: 'expected a number of seconds' })
    .refine(Number.isFinite, 'expected a finite number')
    .refine((n) => n >= 0, 'must not be negative'),
  symbols: Symbols.optional(),
});
export type FlowGapsInput = z.input<typeof FlowGapsInput>;

/** A span without samples: from a sample to the next one, or (ongoing) to now. */
export const FlowGapRow = z.object({
  symbol: z.string(),
  gapStart: timestamptz,
  gapEnd: timestamptz.nullable(),
  gapSeconds: float8,
  ongoing: z.boolean(),
});
export type FlowGapRow = z.output<typeof FlowGapRow>;

// ---------------------------------------------------------------------------------------------
// specs

const seconds = (max: number) =>
  z.int({ error: 'expected an integer' }).min(1, 'must be at least 1').max(max, `must be at most ${max}`);

/**
 * Input of `upsertSamplingSpec`: a missing field keeps its value (new specs: 5 s steps, 40 s cycles,
 * every window). `windows: null` means every label of settings.windows, including labels added later.
 */
export const UpsertSamplingSpecInput = z
  .strictObject({
    label: SpecLabel,
    baseStepSeconds: seconds(3600).optional(),
    cycleSeconds: seconds(86_400).optional(),
    windows: WindowLabels.nullable().optional(),
  })
  .refine(
    (s) =>
      s.baseStepSeconds === undefined ||
      s.cycleSeconds === undefined ||
      s.cycleSeconds % s.baseStepSeconds === 0,
    { path: ['cycleSeconds'], error: 'must be a multiple of baseStepSeconds' },
  );
export type UpsertSamplingSpecInput = z.input<typeof UpsertSamplingSpecInput>;

/** A row of `str_aux.sampling_specs` (`windows` null: every settings.windows label). */
export const SamplingSpecRow = z.object({
  label: z.string(),
  baseStepSeconds: z.int(),
  cycleSeconds: z.int(),
  windows: z.array(z.string()).nullable(),
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type SamplingSpecRow = z.output<typeof SamplingSpecRow>;

/** Input of `setSymbolSpec`: the symbol's spec (default 'default') and its own windows (null: the spec's). */
export const SetSymbolSpecInput = z.strictObject({
  symbol,
  spec: SpecLabel.optional(),
  windows: WindowLabels.nullable().optional(),
});
export type SetSymbolSpecInput = z.input<typeof SetSymbolSpecInput>;

/** A row of `str_aux.symbol_specs`. */
export const SymbolSpecRow = z.object({
  symbol: z.string(),
  spec: z.string(),
  windows: z.array(z.string()).nullable(),
  updatedAt: timestamptz,
});
export type SymbolSpecRow = z.output<typeof SymbolSpecRow>;

// ---------------------------------------------------------------------------------------------
// metronome

/** What a metronome's tick reports to `onTick`. */
export type MetronomeTick =
  | { skipped: false; period: number; at: Date; result: TickResult }
  | {
      skipped: true;
      period: number;
      at: Date;
      /** 'locked': another instance was ticking; 'done': this period was already ticked. */
      reason: 'locked' | 'done';
    };

/** Options of `startMetronome`. */
export const MetronomeOptions = z.strictObject({
  everyMs: z
    .int({ error: 'expected an integer number of milliseconds' })
    .min(10, 'must be at least 10')
    .max(86_400_000, 'must be at most 86400000'),
  /** The ledger name: metronomes of one name tick once per period between them (default 'tick_all'). */
  name: text({ min: 1, max: 64 }).optional(),
  onTick: z
    .custom<(t: MetronomeTick) => void>((v) => typeof v === 'function', 'expected a function')
    .optional(),
  onError: z.custom<(e: unknown) => void>((v) => typeof v === 'function', 'expected a function').optional(),
});
export type MetronomeOptions = z.input<typeof MetronomeOptions>;

/** A running metronome. */
export interface Metronome {
  /** Stops the timer and resolves once a running tick has finished. */
  stop(): Promise<void>;
}
