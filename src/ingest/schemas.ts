/**
 * zod rows and inputs of schema `ingest` (pack ddl/16_ingest.sql), each with its inferred type, and the
 * Binance payload types. A settings.windows label is `window` here and `window_label` in SQL.
 */
import { z } from 'zod';
import { instant, int8, jsonProblem, jsonRow, symbol, text, timestamptz } from '../core/codecs.js';
import { klineSpanProblem } from './windows.js';

/** A data source such as `binance`: lower-case letters, digits and `_ . : -`, up to 64 characters. */
export const Source = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.:-]{0,63}$/, 'expected a lower-case source name such as binance');

/** A stream name such as `klines` or `trades`. */
export const Stream = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,31}$/, 'expected a lower-case stream name such as klines');

/**
 * A kline window: a settings.windows label spelled as a Binance interval (`1m`, `4h`, `1d`, `1w`,
 * `1M`): an amount 1–9999 and a unit `s m h d w M`.
 */
export const Window = z
  .string()
  .regex(/^[1-9][0-9]{0,3}[smhdwM]$/, 'expected a window spelled as a Binance interval such as 1m');

// ------------------------------------------------------------------------------------ payloads

/** Epoch milliseconds as Binance sends them (years 1970 to 9999). */
const EpochMs = z.int().min(0).max(253_402_300_799_999);
/** An unsigned decimal string as Binance sends prices and quantities ("0.01634790"). */
const Decimal = z
  .string()
  .regex(
    /^\d{1,40}(\.\d{1,40})?$/,
    'expected a decimal string such as "0.01634790" (at most 40 digits before and after the point)',
  );
const Count = z.int().min(0).max(2_147_483_647);

/**
 * A Binance REST kline (`GET /api/v3/klines`), exactly as Binance documents it: open and close times
 * in epoch milliseconds, prices and volumes as decimal strings, the trade count as a number.
 */
export type RestKline = [
  openTime: number,
  open: string,
  high: string,
  low: string,
  close: string,
  volume: string,
  closeTime: number,
  quoteVolume: string,
  trades: number,
  takerBuyBase: string,
  takerBuyQuote: string,
  ignore: string,
];

/** The validator of {@link RestKline}. */
export const RestKline: z.ZodType<RestKline> = z.tuple([
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
  z.string(),
]);

/** The candle of a Binance websocket kline event (`<symbol>@kline_<interval>`), as Binance documents it. */
export interface WsKline {
  /** Kline start time (epoch ms). */
  t: number;
  /** Kline close time (epoch ms). */
  T: number;
  /** Symbol. */
  s: string;
  /** Interval (our `window`). */
  i: string;
  /** First trade id (not read). */
  f?: number;
  /** Last trade id (not read). */
  L?: number;
  o: string;
  c: string;
  h: string;
  l: string;
  /** Base asset volume. */
  v: string;
  /** Number of trades. */
  n: number;
  /** Is this kline closed (final)? */
  x: boolean;
  /** Quote asset volume. */
  q: string;
  /** Taker buy base asset volume. */
  V: string;
  /** Taker buy quote asset volume. */
  Q: string;
  /** Ignore. */
  B?: string;
}

/** A Binance websocket kline event `{ e: 'kline', E, s, k }`, as Binance documents it. */
export interface WsKlineEvent {
  e: 'kline';
  /** Event time (epoch ms). */
  E: number;
  s: string;
  k: WsKline;
}

/**
 * An exchange object with the fields we check; other fields are kept as received (the payload is
 * stored as given, never rebuilt) and checked as JSON values by core's `jsonProblem` first.
 */
const asReceived = <T extends z.core.$ZodLooseShape>(shape: T) => z.looseObject(shape);

/** The validator of {@link WsKlineEvent}. */
export const WsKlineEvent = asReceived({
  e: z.literal('kline'),
  E: EpochMs,
  s: symbol,
  k: asReceived({
    t: EpochMs,
    T: EpochMs,
    s: symbol,
    i: Window,
    f: z.int().optional(),
    L: z.int().optional(),
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
    B: z.string().optional(),
  }),
});

/** A kline payload: a REST kline or a websocket kline event. */
export type KlinePayload = RestKline | WsKlineEvent;

/** A Binance REST trade (`GET /api/v3/trades`), as Binance documents it. */
export interface RestTrade {
  id: number;
  price: string;
  qty: string;
  quoteQty?: string;
  /** Trade time (epoch ms). */
  time: number;
  isBuyerMaker: boolean;
  isBestMatch?: boolean;
}

/** The validator of {@link RestTrade}. */
export const RestTrade = asReceived({
  id: z.int().min(0),
  price: Decimal,
  qty: Decimal,
  quoteQty: Decimal.optional(),
  time: EpochMs,
  isBuyerMaker: z.boolean(),
  isBestMatch: z.boolean().optional(),
});

/** A Binance websocket trade event (`<symbol>@trade`), as Binance documents it. */
export interface WsTradeEvent {
  e: 'trade';
  /** Event time (epoch ms). */
  E: number;
  s: string;
  /** Trade id. */
  t: number;
  p: string;
  q: string;
  /** Trade time (epoch ms). */
  T: number;
  /** Is the buyer the market maker? */
  m: boolean;
  /** Ignore. */
  M?: boolean;
}

/** The validator of {@link WsTradeEvent}. */
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

/** A trade payload: a REST trade or a websocket trade event. */
export type TradePayload = RestTrade | WsTradeEvent;

/** The fields of a (valid) kline payload the checks need, whichever its shape. */
function klineParts(p: KlinePayload) {
  if (Array.isArray(p)) {
    return { t: p[0], T: p[6], o: Number(p[1]), h: Number(p[2]), l: Number(p[3]), c: Number(p[4]) };
  }
  const k = p.k;
  return { t: k.t, T: k.T, o: Number(k.o), h: Number(k.h), l: Number(k.l), c: Number(k.c), event: p };
}

type Ctx = z.core.$RefinementCtx<unknown>;

/** Adds an issue per problem of `payload` under `['payloads', i, …]`; true when it is well formed. */
function checkPayload(payload: unknown, i: number, schema: z.ZodType, ctx: Ctx): boolean {
  const json = jsonProblem(payload);
  if (json) {
    ctx.addIssue({ code: 'custom', path: ['payloads', i, ...json.path], message: json.message });
    return false;
  }
  const r = schema.safeParse(payload);
  if (r.success) return true;
  for (const issue of r.error.issues) {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    ctx.addIssue({ code: 'custom', path: ['payloads', i, ...path], message: issue.message });
  }
  return false;
}

const Payloads = z.array(z.unknown(), { error: 'expected an array of payloads' }).max(10_000);

/**
 * Input of `captureKlines`: one stream (`source`, `symbol`, `window`) and its batch. Every payload is
 * a REST kline or a websocket kline event of this symbol and window that opens where a kline of the
 * window opens and closes 1 ms before the next one (see `klineSpanProblem`), with
 * high ≥ max(open, close) ≥ min(open, close) ≥ low.
 */
export const CaptureKlinesInput = z
  .strictObject({
    source: Source,
    symbol,
    window: Window,
    payloads: Payloads,
  })
  .superRefine((input, ctx) => {
    input.payloads.forEach((payload, i) => {
      const schema = Array.isArray(payload) ? RestKline : WsKlineEvent;
      if (!checkPayload(payload, i, schema, ctx)) return;
      const k = klineParts(payload as KlinePayload);
      const at = (message: string) => ctx.addIssue({ code: 'custom', path: ['payloads', i], message });
      if (k.event && (k.event.s !== input.symbol || k.event.k.s !== input.symbol))
        at('expected an event of the captured symbol');
      if (k.event && k.event.k.i !== input.window) at('expected an event of the captured window');
      if (k.T <= k.t) at('close time must be after open time');
      else {
        const span = klineSpanProblem(input.window, k.t, k.T);
        if (span) at(span);
      }
      if (!(k.h >= Math.max(k.o, k.c) && Math.min(k.o, k.c) >= k.l)) {
        at('expected high ≥ max(open, close) ≥ min(open, close) ≥ low');
      }
    });
  });
export type CaptureKlinesInput = Omit<z.input<typeof CaptureKlinesInput>, 'payloads'> & {
  /** The batch, as received from Binance (REST klines and websocket events, mixed freely). */
  payloads: readonly KlinePayload[];
};

/** Input of `captureTrades`: one stream (`source`, `symbol`) and its batch of REST trades or websocket trade events. */
export const CaptureTradesInput = z
  .strictObject({
    source: Source,
    symbol,
    payloads: Payloads,
  })
  .superRefine((input, ctx) => {
    input.payloads.forEach((payload, i) => {
      const isEvent = typeof payload === 'object' && payload !== null && 'e' in payload;
      if (!checkPayload(payload, i, isEvent ? WsTradeEvent : RestTrade, ctx)) return;
      const t = payload as TradePayload;
      const price = 'p' in t ? t.p : t.price;
      if (!(Number(price) > 0))
        ctx.addIssue({ code: 'custom', path: ['payloads', i], message: 'price must be positive' });
      if ('s' in t && t.s !== input.symbol) {
        ctx.addIssue({
          code: 'custom',
          path: ['payloads', i],
          message: 'expected an event of the captured symbol',
        });
      }
    });
  });
export type CaptureTradesInput = Omit<z.input<typeof CaptureTradesInput>, 'payloads'> & {
  /** The batch, as received from Binance (REST trades and websocket events, mixed freely). */
  payloads: readonly TradePayload[];
};

/** Result of `captureKlines`: payloads given, rows inserted, rows replaced, and the cursor's time after. */
export const CaptureKlinesResult = z.object({
  seen: z.int(),
  inserted: z.int(),
  updated: z.int(),
  lastTime: timestamptz.nullable(),
});
export type CaptureKlinesResult = z.output<typeof CaptureKlinesResult>;

/** Result of `captureTrades`: payloads given, trades inserted, and the cursor's id and time after. */
export const CaptureTradesResult = z.object({
  seen: z.int(),
  inserted: z.int(),
  lastId: int8.nullable(),
  lastTime: timestamptz.nullable(),
});
export type CaptureTradesResult = z.output<typeof CaptureTradesResult>;

// ------------------------------------------------------------------------------------- cursors

/** A row of `ingest.cursors`; `window` (column `window_label`) is null for streams without one (trades). */
export const CursorRow = z.object({
  source: z.string(),
  stream: z.string(),
  symbol: z.string(),
  window: z.string().nullable(),
  lastTime: timestamptz.nullable(),
  lastId: int8.nullable(),
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type CursorRow = z.output<typeof CursorRow>;

/** Input of `cursor`: which stream (`window` for klines streams, none for trades). */
export const CursorInput = z.strictObject({
  source: Source,
  stream: Stream,
  symbol,
  window: Window.optional(),
});
export type CursorInput = z.input<typeof CursorInput>;

/**
 * Filter of `listCursors`: every given field must match; `symbols` reads many symbols' cursors at once
 * (give `symbol` or `symbols`, not both).
 */
export const ListCursorsFilter = z
  .strictObject({
    source: Source.optional(),
    stream: Stream.optional(),
    symbol: symbol.optional(),
    symbols: z.array(symbol).max(10_000).optional(),
    window: Window.optional(),
  })
  .refine((f) => f.symbol === undefined || f.symbols === undefined, {
    path: ['symbols'],
    error: 'give symbol or symbols, not both',
  });
export type ListCursorsFilter = Omit<z.input<typeof ListCursorsFilter>, 'symbols'> & {
  symbols?: readonly string[];
};

// ------------------------------------------------------------------------------------ load logs

/** Status of a load run. */
export const LoadStatus = z.enum(['running', 'ok', 'failed']);
export type LoadStatus = z.output<typeof LoadStatus>;

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
export type LoadLogRow = z.output<typeof LoadLogRow>;

/** Input of `startLoad` and `runLoad`: what is loaded. */
export const StartLoadInput = z.strictObject({
  source: Source,
  stream: Stream,
  symbol: symbol.optional(),
});
export type StartLoadInput = z.input<typeof StartLoadInput>;

const RowCount = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A load log id. */
export const LoadId = z.int().positive().max(Number.MAX_SAFE_INTEGER);

/** The longest error text a load log keeps (a longer one is cut). */
export const LOAD_ERROR_MAX = 4000;

/** Input of `finishLoad`: the outcome of a running load; an error text longer than 4 000 characters is cut. */
export const FinishLoadInput = z
  .strictObject({
    id: LoadId,
    status: z.enum(['ok', 'failed']),
    rowsSeen: RowCount.optional(),
    rowsInserted: RowCount.optional(),
    error: text({ max: 1_000_000 }).optional(),
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

// ------------------------------------------------------------------------------ promotion, reads

/** Input of `promoteKlines`: the captured klines of one stream, optionally within [from, to) by open time (`to` exclusive). */
export const PromoteKlinesInput = z.strictObject({
  source: Source,
  symbol,
  window: Window,
  from: instant.optional(),
  to: instant.optional(),
});
export type PromoteKlinesInput = z.input<typeof PromoteKlinesInput>;

/** Result of `promoteKlines`: candles inserted into or changed in `market.klines`. */
export const PromoteKlinesResult = z.object({ promoted: z.int() });
export type PromoteKlinesResult = z.output<typeof PromoteKlinesResult>;

/** A row of `ingest.klines_raw`: the payload exactly as captured (column `window_label` is `window`). */
export const KlineRawRow = z.object({
  source: z.string(),
  symbol: z.string(),
  window: z.string(),
  openTime: timestamptz,
  payload: jsonRow,
  closed: z.boolean(),
  receivedAt: timestamptz,
});
export type KlineRawRow = z.output<typeof KlineRawRow>;

/** Input of `listKlinesRaw`: one stream, optionally within [from, to) by open time (`to` exclusive); oldest first. */
export const ListKlinesRawInput = z.strictObject({
  source: Source,
  symbol,
  window: Window,
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
  payload: jsonRow,
  receivedAt: timestamptz,
});
export type TradeRawRow = z.output<typeof TradeRawRow>;

/** Input of `listTradesRaw`: one stream from a trade id on (inclusive); by trade id. */
export const ListTradesRawInput = z.strictObject({
  source: Source,
  symbol,
  fromId: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.int().min(1).max(100_000).optional(),
});
export type ListTradesRawInput = z.input<typeof ListTradesRawInput>;
