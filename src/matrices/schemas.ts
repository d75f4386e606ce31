import { z } from 'zod';
import { assetCode, float8, instant, int8, jsonObject, symbol, timestamptz } from '../core/codecs.js';

/** Earliest instant a point may have (0001-01-01T00:00:00Z), in epoch ms. */
export const MIN_POINT_MS = -62_135_596_800_000;
/** Latest instant a point may have (9999-12-31T23:59:59.999Z), in epoch ms. */
export const MAX_POINT_MS = 253_402_300_799_999;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True for a series key: 1 to 200 characters, no leading or trailing whitespace. */
function isSeriesKey(key: string): boolean {
  return key.length >= 1 && key.length <= 200 && key.trim() === key;
}

/** True for text PostgreSQL stores as given: no NUL (refused), no lone surrogate (UTF-8 would make it U+FFFD). */
function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

const STORABLE = 'must not hold NUL characters or lone surrogates';

/** True when a JSON value can be stored as jsonb: no NUL character and no lone surrogate in any string. */
function jsonbSafe(value: unknown): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (Array.isArray(value)) return value.every(jsonbSafe);
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (!jsonbSafe(k) || !jsonbSafe(v)) return false;
  }
  return true;
}

/** A series key (`id_pct:BTC/USDT` for grid cells): 1 to 200 characters, no surrounding whitespace. */
export const SeriesKey = z
  .string()
  .refine(isSeriesKey, { error: 'expected 1 to 200 characters without surrounding whitespace' })
  .refine(isStorableText, { error: STORABLE });

/** A JSON object as an input (target, attrs): JSON values only, storable as jsonb. */
export const JsonObjectInput = z
  .record(z.string(), z.json())
  .refine(jsonbSafe, { error: 'strings must not hold NUL characters or lone surrogates' });

/**
 * A point's instant: a Date, epoch ms or ISO-8601 string, in whole milliseconds (what a Date holds:
 * a string's microseconds would be cut off silently, and two instants could become one point), in
 * years 1 to 9999 (the years ISO-8601 writes with four digits, which is how instants travel as text
 * to PostgreSQL). The tables refuse other instants too (`points_ts_ms`, `grids_ts_ms`).
 */
export const PointTime = instant.refine((d) => d.getTime() >= MIN_POINT_MS && d.getTime() <= MAX_POINT_MS, {
  error: 'expected an instant in years 1 to 9999',
});

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
  target: jsonObject,
  symbol: z.string().nullable(),
  base: z.string().nullable(),
  quote: z.string().nullable(),
  matrixType: z.string().nullable(),
  createdAt: timestamptz,
});
export type SeriesRow = z.infer<typeof SeriesRow>;

/** A point of one series (`pointsBetween`). */
export const PointRow = z.object({
  ts: timestamptz,
  value: float8,
  attrs: jsonObject.nullable(),
});
export type PointRow = z.infer<typeof PointRow>;

/** A point as stored by `putPoint`: the point with its series. */
export const StoredPointRow = PointRow.extend({ seriesId: int8, seriesKey: z.string() });
export type StoredPointRow = z.infer<typeof StoredPointRow>;

/** A row of `matrices.v_latest_points`: a series and its latest point. */
export const LatestPointRow = SeriesRow.omit({ id: true, createdAt: true }).extend({
  seriesId: int8,
  ts: timestamptz,
  value: float8,
  attrs: jsonObject.nullable(),
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
  name: z.string().max(200).refine(isStorableText, { error: STORABLE }).nullish(),
  scope: z.string().max(100).refine(isStorableText, { error: STORABLE }).nullish(),
  unit: z.string().max(50).refine(isStorableText, { error: STORABLE }).nullish(),
  target: JsonObjectInput.nullish(),
});
export type EnsureSeriesInput = z.input<typeof EnsureSeriesInput>;

/** One point to write: its series key (created when unknown), instant, finite value, optional attrs. */
export const PointInput = z.strictObject({
  seriesKey: SeriesKey,
  ts: PointTime,
  value: z.number(), // zod 4 refuses NaN and ±Infinity
  attrs: JsonObjectInput.nullish(),
});
export type PointInput = z.input<typeof PointInput>;

/** Input of `putPointsBulk`: any number of points over any number of series. */
export const PointsBulkInput = z.array(PointInput);
export type PointsBulkInput = z.input<typeof PointsBulkInput>;

/** Filter of `latestPoints`: every given field must match (all absent: every series). */
export const LatestPointsFilter = z.strictObject({
  keys: z.array(SeriesKey).max(100_000).optional(),
  /** Series whose key starts with this text, e.g. `id_pct:`. */
  keyPrefix: z.string().min(1).max(200).optional(),
  scope: z.string().max(100).optional(),
  symbol: symbol.optional(),
  matrixType: MatrixType.optional(),
});
export type LatestPointsFilter = z.input<typeof LatestPointsFilter>;

/** A grid cell as given to `putGrid`: a number (non-finite is skipped) or null (skipped). */
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
    ts: PointTime,
    coins: z
      .array(assetCode)
      .min(2)
      .max(1000)
      .refine((c) => new Set(c).size === c.length, { error: 'coins must be distinct' }),
    values: z.array(z.array(GridCell)),
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
