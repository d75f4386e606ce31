/**
 * zod rows and inputs of schema `market` (pack ddl/03_market.sql), each with its inferred type.
 * Prices are `double precision` ⇄ number; volumes and exchange filters are `numeric` ⇄ decimal string.
 */
import { z } from 'zod';
import {
  assetCode,
  decimal,
  decimalInput,
  float8,
  float8Input,
  instant,
  jsonObject,
  jsonObjectRow,
  symbol,
  text,
  timestamptz,
} from '../core/codecs.js';

/** A window label (a row of settings.windows), such as '1m' or '4h'. */
const windowLabel = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, 'expected a window label such as 1m');
const nonNegativeDecimal = decimalInput.refine((v) => !v.trim().startsWith('-'), 'must not be negative');
/** A price: a finite number ≥ 0 (-0 is stored as 0). */
const price = float8Input.refine((n) => n >= 0, 'must not be negative');
/** One symbol, or many (at most 10 000). */
const symbols = z.array(symbol).min(1, 'must name at least one symbol').max(10_000);

// ---------------------------------------------------------------------------------------------
// symbols and assets

/** `parseSymbol`'s answer: the symbol split by the longest known quote. */
export const SymbolParts = z.object({ base: z.string(), quote: z.string() });
export type SymbolParts = z.output<typeof SymbolParts>;

/** Input of `parseSymbol`. */
export const ParseSymbolInput = z.strictObject({ symbol });
export type ParseSymbolInput = z.input<typeof ParseSymbolInput>;

/** A row of `market.assets`. */
export const AssetRow = z.object({
  code: z.string(),
  name: z.string().nullable(),
  precision: z.int().nullable(),
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type AssetRow = z.output<typeof AssetRow>;

/** Input of `upsertAsset`: a missing field keeps its value. */
export const UpsertAssetInput = z.strictObject({
  code: assetCode,
  name: text({ min: 1, max: 128 }).optional(),
  precision: z.int().min(0).max(36).optional(),
});
export type UpsertAssetInput = z.input<typeof UpsertAssetInput>;

/** Trading status of a symbol. */
export const SymbolStatus = z.enum(['TRADING', 'OFF', 'BREAK']);
export type SymbolStatus = z.output<typeof SymbolStatus>;

/** A row of `market.symbols`. */
export const SymbolRow = z.object({
  symbol: z.string(),
  baseAsset: z.string(),
  quoteAsset: z.string(),
  status: SymbolStatus,
  priceTick: decimal.nullable(),
  qtyStep: decimal.nullable(),
  minNotional: decimal.nullable(),
  metadata: jsonObjectRow,
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type SymbolRow = z.output<typeof SymbolRow>;

/**
 * Input of `upsertSymbol`: the symbol alone makes sure it exists (base and quote derived, status OFF
 * when new, missing assets created); a missing field keeps its stored value.
 */
export const UpsertSymbolInput = z.strictObject({
  symbol,
  base: assetCode.optional(),
  quote: assetCode.optional(),
  status: SymbolStatus.optional(),
  priceTick: decimalInput.refine((v) => Number(v) > 0, 'must be positive').optional(),
  qtyStep: decimalInput.refine((v) => Number(v) > 0, 'must be positive').optional(),
  minNotional: nonNegativeDecimal.optional(),
  metadata: jsonObject.optional(),
});
export type UpsertSymbolInput = z.input<typeof UpsertSymbolInput>;

/** Input of `listSymbols`: every filter is optional; `symbols` reads those symbols only. */
export const ListSymbolsInput = z.strictObject({
  status: SymbolStatus.optional(),
  base: assetCode.optional(),
  quote: assetCode.optional(),
  symbols: symbols.optional(),
});
export type ListSymbolsInput = Omit<z.input<typeof ListSymbolsInput>, 'symbols'> & {
  symbols?: readonly string[];
};

// ---------------------------------------------------------------------------------------------
// klines

/** A row of `market.klines` (`window` is the column `window_label`). */
export const KlineRow = z.object({
  symbol: z.string(),
  window: z.string(),
  openTime: timestamptz,
  closeTime: timestamptz,
  open: float8,
  high: float8,
  low: float8,
  close: float8,
  volume: decimal,
  quoteVolume: decimal.nullable(),
  trades: z.int().nullable(),
  takerBuyBase: decimal.nullable(),
  takerBuyQuote: decimal.nullable(),
  source: z.string().nullable(),
  ingestedAt: timestamptz,
});
export type KlineRow = z.output<typeof KlineRow>;

/**
 * One candle to ingest. Times are a Date, epoch milliseconds or an ISO string; the checks are those of
 * the table: high ≥ max(open, close) ≥ min(open, close) ≥ low ≥ 0 and closeTime > openTime.
 */
export const KlineInput = z
  .strictObject({
    symbol,
    window: windowLabel,
    openTime: instant,
    closeTime: instant,
    open: price,
    high: price,
    low: price,
    close: price,
    volume: nonNegativeDecimal.optional(),
    quoteVolume: nonNegativeDecimal.optional(),
    trades: z.int().nonnegative().max(2_147_483_647).optional(),
    takerBuyBase: nonNegativeDecimal.optional(),
    takerBuyQuote: nonNegativeDecimal.optional(),
    source: text({ min: 1, max: 64 }).optional(),
  })
  .superRefine((k, ctx) => {
    // zod runs this even when a field failed (an instant without an offset, a string price): only
    // values that parsed are compared
    const prices = [k.open, k.high, k.low, k.close];
    if (prices.some((p) => typeof p !== 'number')) return;
    if (k.high < Math.max(k.open, k.close)) {
      ctx.addIssue({ code: 'custom', path: ['high'], message: 'high must be at least max(open, close)' });
    }
    if (k.low > Math.min(k.open, k.close)) {
      ctx.addIssue({ code: 'custom', path: ['low'], message: 'low must be at most min(open, close)' });
    }
    if (!(k.openTime instanceof Date) || !(k.closeTime instanceof Date)) return;
    if (k.closeTime.getTime() <= k.openTime.getTime()) {
      ctx.addIssue({ code: 'custom', path: ['closeTime'], message: 'closeTime must be after openTime' });
    }
  });
export type KlineInput = z.input<typeof KlineInput>;

/** Input of `ingestKlines`: any number of candles (a repeated key keeps the last one). */
export const IngestKlinesInput = z.array(KlineInput).max(1_000_000);
export type IngestKlinesInput = z.input<typeof IngestKlinesInput>;

/** What `ingestKlines` did: candles received, distinct keys, inserted, updated (changed values), unchanged. */
export const IngestKlinesResult = z.object({
  received: z.int(),
  distinct: z.int(),
  inserted: z.int(),
  updated: z.int(),
  unchanged: z.int(),
});
export type IngestKlinesResult = z.output<typeof IngestKlinesResult>;

/**
 * Input of `latestKlines`: the newest `limit` candles (default 100, at most 5000) of a window, for one
 * `symbol` or for each of many `symbols` (give one of the two).
 */
export const LatestKlinesInput = z
  .strictObject({
    symbol: symbol.optional(),
    symbols: symbols.optional(),
    window: windowLabel,
    limit: z.int().min(1).max(5000).optional(),
  })
  .refine((k) => (k.symbol === undefined) !== (k.symbols === undefined), {
    path: ['symbols'],
    error: 'give symbol or symbols (one of the two)',
  });
export type LatestKlinesInput = Omit<z.input<typeof LatestKlinesInput>, 'symbols'> & {
  symbols?: readonly string[];
};

// ---------------------------------------------------------------------------------------------
// order book

// as ddl/03_market.sql checks a level: at most 100 characters, an exponent of at most 3 digits, and a
// price double precision holds as a normal number (1e-300 to 1e300)
const UNSIGNED_DECIMAL = /^[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]{1,3})?$/;
const levelValue = (positive: boolean) =>
  z.union([z.number(), z.string()]).refine(
    (v) => {
      const ok =
        typeof v === 'number'
          ? Number.isFinite(v) && v >= 0
          : v.length <= 100 && UNSIGNED_DECIMAL.test(v) && Number.isFinite(Number(v));
      const n = Number(v);
      return ok && (!positive || (n >= 1e-300 && n <= 1e300));
    },
    positive
      ? 'price must be a positive number or decimal string'
      : 'qty must be a number or decimal string ≥ 0',
  );
const level = z.tuple([levelValue(true), levelValue(false)]);

/** Input of `ingestOrderbook`: a snapshot of `[price, qty]` pairs (numbers or decimal strings, as exchanges send). */
export const IngestOrderbookInput = z.strictObject({
  symbol,
  ts: instant,
  bids: z.array(level).max(100_000),
  asks: z.array(level).max(100_000),
});
export type IngestOrderbookInput = z.input<typeof IngestOrderbookInput>;

/** What `ingestOrderbook` stored: the snapshot's key and its number of levels. */
export const IngestOrderbookResult = z.object({ symbol: z.string(), ts: z.date(), levels: z.int() });
export type IngestOrderbookResult = z.output<typeof IngestOrderbookResult>;

/** Input of `orderbookAt`: the snapshot of `symbol` at `ts`, or the latest one before it. */
export const OrderbookAtInput = z.strictObject({ symbol, ts: instant });
export type OrderbookAtInput = z.input<typeof OrderbookAtInput>;

/** A row of `market.orderbook_levels`. */
export const OrderbookLevelRow = z.object({
  ts: timestamptz,
  side: z.enum(['bid', 'ask']),
  price: float8,
  qty: decimal,
});
export type OrderbookLevelRow = z.output<typeof OrderbookLevelRow>;

/** One level of a snapshot. */
export interface OrderbookLevel {
  price: number;
  qty: string;
}

/** An order-book snapshot: bids best (highest) first, asks best (lowest) first. */
export interface OrderbookSnapshot {
  symbol: string;
  ts: Date;
  bids: OrderbookLevel[];
  asks: OrderbookLevel[];
}
