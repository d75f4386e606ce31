import { z } from 'zod';
import { instant, int8, jsonObject, symbol, timestamptz } from '../core/codecs.js';

/** A data source such as `binance`: lower-case letters, digits and `_ . : -`, up to 64 characters. */
export const Source = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.:-]{0,63}$/, 'expected a lower-case source name such as binance');

/** A stream name such as `klines` or `trades`. */
export const Stream = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,31}$/, 'expected a lower-case stream name such as klines');

/** A Binance interval such as `1m`, `4h`, `1d`, `1w`, `1M`. */
export const Interval = z
  .string()
  .regex(/^[1-9][0-9]{0,3}[smhdwM]$/, 'expected a Binance interval such as 1m');

/**
 * An exchange object with the fields we check; its other fields are kept as received, so they must be
 * JSON values too (a BigInt, a function or NaN cannot be stored as jsonb).
 */
function asReceived<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.object(shape).catchall(z.json());
}

/** Epoch milliseconds as Binance sends them (years 1970 to 9999). */
const EpochMs = z.int().min(0).max(253_402_300_799_999);
/** A non-negative decimal string as Binance sends prices and quantities ("0.01634790"). */
const Decimal = z.string().regex(/^\d+(\.\d+)?$/, 'expected a decimal string such as "0.01634790"');
const Count = z.int().min(0).max(2_147_483_647);

/**
 * A Binance REST kline: `[openTime, "open", "high", "low", "close", "volume", closeTime,
 * "quoteVolume", trades, "takerBuyBase", "takerBuyQuote", "ignore"]`.
 */
export const RestKline = z.tuple([
  EpochMs,
  Decimal,
  Decimal,
  Decimal,
  Decimal,
  Decimal,
  EpochMs,
  Decimal,
  Count,
  Decimal,
  Decimal,
  z.union([z.string(), z.number()]),
]);
export type RestKline = z.infer<typeof RestKline>;

/** A Binance websocket kline event `{ e: 'kline', E, s, k: { t, T, s, i, o, c, h, l, v, n, x, q, V, Q, B } }` (more fields kept). */
export const WsKlineEvent = asReceived({
  e: z.literal('kline'),
  E: EpochMs,
  s: symbol,
  k: asReceived({
    t: EpochMs,
    T: EpochMs,
    s: symbol,
    i: Interval,
    o: Decimal,
    c: Decimal,
    h: Decimal,
    l: Decimal,
    v: Decimal,
    n: Count,
    x: z.boolean(),
    q: Decimal,
    V: Decimal,
    Q: Decimal,
  }),
});
export type WsKlineEvent = z.infer<typeof WsKlineEvent>;

/** A kline payload: a REST array or a websocket event. */
export type KlinePayload = RestKline | WsKlineEvent;

/** A Binance REST trade `{ id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch }` (more fields kept). */
export const RestTrade = asReceived({
  id: z.int().min(0),
  price: Decimal,
  qty: Decimal,
  quoteQty: Decimal.optional(),
  time: EpochMs,
  isBuyerMaker: z.boolean(),
  isBestMatch: z.boolean().optional(),
});
export type RestTrade = z.infer<typeof RestTrade>;

/** A Binance websocket trade event `{ e: 'trade', E, s, t, p, q, T, m, M }` (more fields kept). */
export const WsTradeEvent = asReceived({
  e: z.literal('trade'),
  E: EpochMs,
  s: symbol,
  t: z.int().min(0),
  p: Decimal,
  q: Decimal,
  T: EpochMs,
  m: z.boolean(),
  M: z.boolean().optional(),
});
export type WsTradeEvent = z.infer<typeof WsTradeEvent>;

/** A trade payload: a REST trade or a websocket trade event. */
export type TradePayload = RestTrade | WsTradeEvent;

/** The fields of a kline payload the checks need, whichever its shape. */
function klineParts(p: RestKline | WsKlineEvent) {
  if (Array.isArray(p)) {
    return { t: p[0], T: p[6], o: Number(p[1]), h: Number(p[2]), l: Number(p[3]), c: Number(p[4]) };
  }
  const k = p.k;
  return {
    t: k.t,
    T: k.T,
    o: Number(k.o),
    h: Number(k.h),
    l: Number(k.l),
    c: Number(k.c),
    s: k.s,
    i: k.i,
    es: p.s,
  };
}

/**
 * Input of `captureKlines`: every payload is a REST kline or a websocket kline event of this
 * symbol and interval, closes after it opens, and has high ≥ max(open, close) ≥ min(open, close) ≥ low.
 */
export const CaptureKlinesInput = z
  .strictObject({
    source: Source,
    symbol,
    interval: Interval,
    payloads: z.array(z.unknown()).max(10_000),
  })
  .superRefine((input, ctx) => {
    input.payloads.forEach((payload, i) => {
      const schema = Array.isArray(payload) ? RestKline : WsKlineEvent;
      const r = schema.safeParse(payload);
      if (!r.success) {
        for (const issue of r.error.issues) {
          ctx.addIssue({ code: 'custom', path: ['payloads', i, ...issue.path], message: issue.message });
        }
        return;
      }
      const k = klineParts(r.data);
      const at = (message: string) => ctx.addIssue({ code: 'custom', path: ['payloads', i], message });
      if ('s' in k && (k.s !== input.symbol || k.es !== input.symbol))
        at(`expected an event of ${input.symbol}`);
      if ('i' in k && k.i !== input.interval) at(`expected an event of interval ${input.interval}`);
      if (k.T <= k.t) at('close time must be after open time');
      if (!(k.h >= Math.max(k.o, k.c) && Math.min(k.o, k.c) >= k.l)) {
        at('expected high ≥ max(open, close) ≥ min(open, close) ≥ low');
      }
    });
  });
export type CaptureKlinesInput = z.input<typeof CaptureKlinesInput>;

/** Input of `captureTrades`: every payload is a REST trade or a websocket trade event of this symbol. */
export const CaptureTradesInput = z
  .strictObject({
    source: Source,
    symbol,
    payloads: z.array(z.unknown()).max(10_000),
  })
  .superRefine((input, ctx) => {
    input.payloads.forEach((payload, i) => {
      const isEvent = typeof payload === 'object' && payload !== null && 'e' in payload;
      const r = (isEvent ? WsTradeEvent : RestTrade).safeParse(payload);
      if (!r.success) {
        for (const issue of r.error.issues) {
          ctx.addIssue({ code: 'custom', path: ['payloads', i, ...issue.path], message: issue.message });
        }
        return;
      }
      const price = 'p' in r.data ? r.data.p : r.data.price;
      if (!(Number(price) > 0))
        ctx.addIssue({ code: 'custom', path: ['payloads', i], message: 'price must be positive' });
      if ('s' in r.data && r.data.s !== input.symbol) {
        ctx.addIssue({
          code: 'custom',
          path: ['payloads', i],
          message: `expected an event of ${input.symbol}`,
        });
      }
    });
  });
export type CaptureTradesInput = z.input<typeof CaptureTradesInput>;

/** Result of `captureKlines`: payloads given, rows inserted, rows replaced, and the cursor's time after. */
export const CaptureKlinesResult = z.object({
  seen: z.int(),
  inserted: z.int(),
  updated: z.int(),
  lastTime: timestamptz.nullable(),
});
export type CaptureKlinesResult = z.infer<typeof CaptureKlinesResult>;

/** Result of `captureTrades`: payloads given, trades inserted, and the cursor's id and time after. */
export const CaptureTradesResult = z.object({
  seen: z.int(),
  inserted: z.int(),
  lastId: int8.nullable(),
  lastTime: timestamptz.nullable(),
});
export type CaptureTradesResult = z.infer<typeof CaptureTradesResult>;

/** A row of `ingest.cursors`; `interval` is null for streams without one (trades). */
export const CursorRow = z.object({
  source: z.string(),
  stream: z.string(),
  symbol: z.string(),
  interval: z.string().nullable(),
  lastTime: timestamptz.nullable(),
  lastId: int8.nullable(),
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type CursorRow = z.infer<typeof CursorRow>;

/** Input of `cursor`: which stream. */
export const CursorInput = z.strictObject({
  source: Source,
  stream: Stream,
  symbol,
  interval: Interval.optional(),
});
export type CursorInput = z.input<typeof CursorInput>;

/** Filter of `listCursors`: every given field must match. */
export const ListCursorsFilter = z.strictObject({
  source: Source.optional(),
  stream: Stream.optional(),
  symbol: symbol.optional(),
});
export type ListCursorsFilter = z.input<typeof ListCursorsFilter>;

/** Status of a load run. */
export const LoadStatus = z.enum(['running', 'ok', 'failed']);
export type LoadStatus = z.infer<typeof LoadStatus>;

/** A row of `ingest.load_logs`. */
export const LoadLogRow = z.object({
  id: int8,
  source: z.string(),
  stream: z.string(),
  symbol: z.string().nullable(),
  startedAt: timestamptz,
  finishedAt: timestamptz.nullable(),
  rowsSeen: int8,
  rowsInserted: int8,
  status: LoadStatus,
  error: z.string().nullable(),
});
export type LoadLogRow = z.infer<typeof LoadLogRow>;

/** Input of `startLoad` and `runLoad`: what is loaded. */
export const StartLoadInput = z.strictObject({
  source: Source,
  stream: Stream,
  symbol: symbol.optional(),
});
export type StartLoadInput = z.input<typeof StartLoadInput>;

const RowCount = z.int().min(0);

/** Input of `finishLoad`: the outcome of a running load. */
export const FinishLoadInput = z
  .strictObject({
    id: z.int().positive(),
    status: z.enum(['ok', 'failed']),
    rowsSeen: RowCount.optional(),
    rowsInserted: RowCount.optional(),
    error: z.string().optional(),
  })
  .refine((f) => f.status === 'failed' || f.error === undefined, {
    path: ['error'],
    error: 'only a failed load has an error',
  });
export type FinishLoadInput = z.input<typeof FinishLoadInput>;

/** Filter of `loadLogs`: every given field must match; newest first, at most `limit` (default 100). */
export const LoadLogsFilter = z.strictObject({
  source: Source.optional(),
  stream: Stream.optional(),
  symbol: symbol.optional(),
  status: LoadStatus.optional(),
  limit: z.int().min(1).max(10_000).optional(),
});
export type LoadLogsFilter = z.input<typeof LoadLogsFilter>;

/** Input of `promoteKlines`: the captured klines of one stream, optionally within [from, to] by open time. */
export const PromoteKlinesInput = z.strictObject({
  source: Source,
  symbol,
  interval: Interval,
  from: instant.optional(),
  to: instant.optional(),
});
export type PromoteKlinesInput = z.input<typeof PromoteKlinesInput>;

/** Result of `promoteKlines`: candles inserted into or changed in `market.klines`. */
export const PromoteKlinesResult = z.object({ promoted: z.int() });
export type PromoteKlinesResult = z.infer<typeof PromoteKlinesResult>;

/** A JSON payload as stored: an array (REST kline) or an object. */
const Payload = z.union([z.array(z.unknown()), jsonObject]);

/** A row of `ingest.klines_raw`: the payload exactly as captured. */
export const KlineRawRow = z.object({
  source: z.string(),
  symbol: z.string(),
  interval: z.string(),
  openTime: timestamptz,
  payload: Payload,
  closed: z.boolean(),
  receivedAt: timestamptz,
});
export type KlineRawRow = z.infer<typeof KlineRawRow>;

/** Input of `listKlinesRaw`: one stream, optionally within [from, to] by open time; oldest first. */
export const ListKlinesRawInput = z.strictObject({
  source: Source,
  symbol,
  interval: Interval,
  from: instant.optional(),
  to: instant.optional(),
  limit: z.int().min(1).max(100_000).optional(),
});
export type ListKlinesRawInput = z.input<typeof ListKlinesRawInput>;

/** A row of `ingest.trades_raw`: the payload exactly as captured. */
export const TradeRawRow = z.object({
  source: z.string(),
  symbol: z.string(),
  tradeId: int8,
  tradeTime: timestamptz,
  payload: jsonObject,
  receivedAt: timestamptz,
});
export type TradeRawRow = z.infer<typeof TradeRawRow>;

/** Input of `listTradesRaw`: one stream from a trade id on (inclusive); by trade id. */
export const ListTradesRawInput = z.strictObject({
  source: Source,
  symbol,
  fromId: z.int().min(0).optional(),
  limit: z.int().min(1).max(100_000).optional(),
});
export type ListTradesRawInput = z.input<typeof ListTradesRawInput>;
