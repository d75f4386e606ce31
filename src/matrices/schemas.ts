import { z } from 'zod';
import {
  assetCode,
  float8,
  float8Input,
  instant,
  int8,
  jsonObject,
  jsonObjectRow,
  symbol,
  text,
  timestamptz,
} from '../core/codecs.js';

/** True for a series key's shape: no leading or trailing whitespace (as JavaScript's `trim()` sees it). */
function isTrimmed(key: string): boolean {
  return key.trim() === key;
}

/**
 * A series key (`id_pct:BTC/USDT` for grid cells): 1 to 200 characters of text PostgreSQL stores
 * exactly (no NUL, no lone surrogate), no surrounding whitespace (the table checks the same).
 */
export const SeriesKey = text({ min: 1, max: 200 }).refine(isTrimmed, {
  error: 'must not start or end with whitespace',
});

/** Up to this many series keys in one read. */
export const MAX_KEYS = 100_000;

/** A matrix type such as `id_pct`, `pct24h`, `benchmark`: lower-case, starts with a letter. */
export const MatrixType = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a lower-case matrix type such as id_pct');

/** A row of `matrices.v_series_symbol`: a series with its target's symbol, base, quote and matrix type. */
export const SeriesRow = z.object({
  id: int8,
  key: z.string(),
  name: z.string().nullable(),
  scope: z.string().nullable(),
  unit: z.string().nullable(),
  target: jsonObjectRow,
  symbol: z.string().nullable(),
  base: z.string().nullable(),
  quote: z.string().nullable(),
  matrixType: z.string().nullable(),
  createdAt: timestamptz,
});
export type SeriesRow = z.infer<typeof SeriesRow>;

/** A point read back by `pointsBetween`: its series key, instant, value and attrs. */
export const PointRow = z.object({
  seriesKey: z.string(),
  ts: timestamptz,
  value: float8,
  attrs: jsonObjectRow.nullable(),
});
export type PointRow = z.infer<typeof PointRow>;

/** A point as stored by `putPoint`: the point with its series id. */
export const StoredPointRow = PointRow.extend({ seriesId: int8 });
export type StoredPointRow = z.infer<typeof StoredPointRow>;

/** A row of `matrices.v_latest_points`: a series and its latest point. */
export const LatestPointRow = SeriesRow.omit({ id: true, createdAt: true }).extend({
  seriesId: int8,
  ts: timestamptz,
  value: float8,
  attrs: jsonObjectRow.nullable(),
});
export type LatestPointRow = z.infer<typeof LatestPointRow>;

/** A grid read back by `getGrid`: `values[i][j]` is the cell of base `coins[i]` in quote `coins[j]`. */
export const GridRow = z.object({
  ts: timestamptz,
  coins: z.array(z.string()),
  values: z.array(z.array(float8.nullable())),
});
export type GridRow = z.infer<typeof GridRow>;

/** Input of `ensureSeries`: a key; null or absent fields keep what is stored; `target` is merged. */
export const EnsureSeriesInput = z.strictObject({
  key: SeriesKey,
  name: text({ max: 200 }).nullish(),
  scope: text({ max: 100 }).nullish(),
  unit: text({ max: 50 }).nullish(),
  /** A JSON object (JSON values only, bounded depth and size), merged into the stored target. */
  target: jsonObject.nullish(),
});
export type EnsureSeriesInput = z.input<typeof EnsureSeriesInput>;

/** Filter of `listSeries`: every given field must match (all absent: every series). */
export const ListSeriesFilter = z.strictObject({
  keys: z.array(SeriesKey).max(MAX_KEYS).readonly().optional(),
  /** Series whose key starts with this text, e.g. `id_pct:`. */
  keyPrefix: text({ min: 1, max: 200 }).optional(),
  /** Series whose `target.symbol` is one of these (grid cells carry it). */
  symbols: z.array(symbol).max(MAX_KEYS).readonly().optional(),
  matrixType: MatrixType.optional(),
});
export type ListSeriesFilter = z.input<typeof ListSeriesFilter>;

/**
 * One point to write: its series key (created when unknown), instant (years 1–9999, whole
 * milliseconds), finite value (-0 is stored as 0), optional attrs (a JSON object).
 */
export const PointInput = z.strictObject({
  seriesKey: SeriesKey,
  ts: instant,
  value: float8Input,
  attrs: jsonObject.nullish(),
});
export type PointInput = z.input<typeof PointInput>;

/** Input of `putPointsBulk`: any number of points over any number of series. */
export const PointsBulkInput = z.array(PointInput);
export type PointsBulkInput = z.input<typeof PointsBulkInput>;

/** Input of `pointsBetween`: the series and the range, `from <= ts < to` (an absent end is open). */
export const PointsBetweenInput = z.strictObject({
  seriesKeys: z.array(SeriesKey).min(1).max(MAX_KEYS).readonly(),
  /** Inclusive; absent: from the first point. */
  from: instant.optional(),
  /** Exclusive; absent: up to the last point. */
  to: instant.optional(),
});
export type PointsBetweenInput = z.input<typeof PointsBetweenInput>;

/** Filter of `latestPoints`: every given field must match (all absent: every series). */
export const LatestPointsFilter = z.strictObject({
  keys: z.array(SeriesKey).max(MAX_KEYS).readonly().optional(),
  /** Series whose key starts with this text, e.g. `id_pct:`. */
  keyPrefix: text({ min: 1, max: 200 }).optional(),
  scope: text({ max: 100 }).optional(),
  symbol: symbol.optional(),
  matrixType: MatrixType.optional(),
});
export type LatestPointsFilter = z.input<typeof LatestPointsFilter>;

/** A grid cell as given to `putGrid`: a number (non-finite is skipped, -0 is 0) or null (skipped). */
const GridCell = z.custom<number | null>((v) => v === null || typeof v === 'number', {
  error: 'expected a number or null',
});

/**
 * Input of `putGrid`: an N x N grid over `coins` (row = base, column = quote) at one instant.
 * The diagonal, null and non-finite cells are skipped.
 */
export const PutGridInput = z
  .strictObject({
    matrixType: MatrixType,
    ts: instant,
    coins: z
      .array(assetCode)
      .min(2)
      .max(1000)
      .readonly()
      .refine((c) => new Set(c).size === c.length, { error: 'coins must be distinct' }),
    values: z.array(z.array(GridCell).readonly()).readonly(),
  })
  .superRefine((g, ctx) => {
    const n = g.coins.length;
    if (g.values.length !== n) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `expected ${n} rows, one per coin` });
      return;
    }
    g.values.forEach((row, i) => {
      if (row.length !== n)
        ctx.addIssue({ code: 'custom', path: ['values', i], message: `expected ${n} cells, one per coin` });
    });
  });
export type PutGridInput = z.input<typeof PutGridInput>;

/** Result of `putGrid`: how many cells were written as points. */
export const PutGridResult = z.object({ points: z.number() });
export type PutGridResult = z.infer<typeof PutGridResult>;

/** Input of `getGrid`: a matrix type and the grid's instant (default: the latest grid). */
export const GetGridInput = z.strictObject({ matrixType: MatrixType, ts: instant.optional() });
export type GetGridInput = z.input<typeof GetGridInput>;
