/**
 * Schema `market` (pack ddl/03_market.sql): known quotes, assets, symbols, order-book snapshots and
 * klines, reused by matrices, str-aux and wallet valuation. Every function takes a `Queryable` first.
 * @module
 */
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseOne, parseRows, run } from '../core/run.js';
import {
  AssetRow,
  IngestKlinesInput,
  type IngestKlinesResult,
  type IngestOrderbookResult,
  IngestOrderbookInput,
  KlineInput,
  KlineRow,
  LatestKlinesInput,
  ListSymbolsInput,
  OrderbookAtInput,
  OrderbookLevelRow,
  type OrderbookSnapshot,
  ParseSymbolInput,
  SymbolParts,
  SymbolRow,
  UpsertAssetInput,
  UpsertSymbolInput,
} from './schemas.js';
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import { collapseKlines } from './klines.js';

export * from './schemas.js';

const IngestCounts = z.object({ inserted: z.int(), updated: z.int() });
const LevelsCount = z.object({ levels: z.int() });
/** A JSON input checked by core's `jsonObject` (values only): its text is exact, `"__proto__"` keys included. */
const json = (v: object | undefined): string | null => (v === undefined ? null : JSON.stringify(v));

const symbolColumns = (sql: Queryable) => sql`
  symbol, base_asset as "baseAsset", quote_asset as "quoteAsset", status,
  price_tick::text as "priceTick", qty_step::text as "qtyStep", min_notional::text as "minNotional",
  metadata, util.epoch_ms(created_at) as "createdAt", util.epoch_ms(updated_at) as "updatedAt"
`;

const klineColumns = (sql: Queryable) => sql`
  symbol, window_label as "window", util.epoch_ms(open_time) as "openTime",
  util.epoch_ms(close_time) as "closeTime", open, high, low, close, volume::text as volume,
  quote_volume::text as "quoteVolume", trades, taker_buy_base::text as "takerBuyBase",
  taker_buy_quote::text as "takerBuyQuote", source, util.epoch_ms(ingested_at) as "ingestedAt"
`;

// ---------------------------------------------------------------------------------------------
// symbols and assets

/**
 * Splits a symbol into base and quote by the longest known quote (`ETHBTC` → ETH/BTC, `BTCFDUSD` → BTC/FDUSD).
 *
 * Wraps `market.parse_symbol`; the known quotes live only in `market.quotes`.
 * @example
 * ```ts
 * const { base, quote } = await db.market.parseSymbol('BTCFDUSD'); // 'BTC', 'FDUSD'
 * ```
 * @throws ValidationError when the symbol is malformed or ends with no known quote
 */
export async function parseSymbol(sql: Queryable, input: string | ParseSymbolInput): Promise<SymbolParts> {
  const op = 'market.parseSymbol';
  const { symbol } = parseInput(op, ParseSymbolInput, typeof input === 'string' ? { symbol: input } : input);
  const rows = await run(op, sql`select base, quote from market.parse_symbol(${symbol})`);
  return parseOne('market.parse_symbol', SymbolParts, rows);
}

/**
 * Creates or updates an asset; a missing field keeps its value.
 *
 * Wraps `market.sp_upsert_asset`.
 * @example
 * ```ts
 * await db.market.upsertAsset({ code: 'BTC', name: 'Bitcoin', precision: 8 });
 * ```
 * @throws ValidationError when the input is malformed
 */
export async function upsertAsset(sql: Queryable, input: UpsertAssetInput): Promise<AssetRow> {
  const op = 'market.upsertAsset';
  const { code, name = null, precision = null } = parseInput(op, UpsertAssetInput, input);
  const rows = await run(
    op,
    sql`
      select code, name, precision, util.epoch_ms(created_at) as "createdAt", util.epoch_ms(updated_at) as "updatedAt"
      from market.sp_upsert_asset(${code}, ${name}, ${precision})
    `,
  );
  return parseOne('market.sp_upsert_asset', AssetRow, rows);
}

/**
 * Creates or updates a symbol and creates its missing assets. With the symbol alone it makes sure the
 * symbol exists (base and quote derived, status OFF when new); a missing field keeps its stored value.
 *
 * Wraps `market.sp_upsert_symbol`.
 * @example
 * ```ts
 * await db.market.upsertSymbol({ symbol: 'BTCUSDT', priceTick: '0.01', minNotional: '5' });
 * ```
 * @throws ValidationError when the input is malformed, or the symbol ends with no known quote
 */
export async function upsertSymbol(sql: Queryable, input: UpsertSymbolInput): Promise<SymbolRow> {
  const op = 'market.upsertSymbol';
  const p = parseInput(op, UpsertSymbolInput, input);
  const rows = await run(
    op,
    sql`
      select ${symbolColumns(sql)}
      from market.sp_upsert_symbol(${p.symbol}, ${p.base ?? null}, ${p.quote ?? null}, ${p.status ?? null},
        ${p.priceTick ?? null}::numeric, ${p.qtyStep ?? null}::numeric, ${p.minNotional ?? null}::numeric,
        ${json(p.metadata)}::text::jsonb)
    `,
  );
  return parseOne('market.sp_upsert_symbol', SymbolRow, rows);
}

/**
 * Lists symbols in symbol order, optionally by status, base, quote, or a list of symbols.
 *
 * Reads `market.symbols`.
 * @example
 * ```ts
 * const trading = await db.market.listSymbols({ status: 'TRADING', quote: 'USDT' });
 * const some = await db.market.listSymbols({ symbols: ['BTCUSDT', 'ETHUSDT'] }); // the stored ones of these
 * ```
 * @throws ValidationError when the input is malformed
 */
export async function listSymbols(sql: Queryable, input: ListSymbolsInput = {}): Promise<SymbolRow[]> {
  const op = 'market.listSymbols';
  const f = parseInput(op, ListSymbolsInput, input);
  const { status = null, base = null, quote = null } = f;
  const symbols = f.symbols === undefined ? null : pgArray(f.symbols);
  const rows = await run(
    op,
    sql`
      select ${symbolColumns(sql)}
      from market.symbols
      where (${status}::text is null or status = ${status}::text)
        and (${symbols}::text[] is null or symbol = any(${symbols}::text[]))
        and (${base}::text is null or base_asset = ${base}::text)
        and (${quote}::text is null or quote_asset = ${quote}::text)
      order by symbol
    `,
  );
  return parseRows('market.symbols', SymbolRow, rows);
}

// ---------------------------------------------------------------------------------------------
// klines

/**
 * Upserts one candle and returns it as stored (an unchanged candle is not rewritten).
 *
 * Wraps `market.sp_ingest_kline_row`; the symbol and the window must exist.
 * @example
 * ```ts
 * await db.market.ingestKlineRow({ symbol: 'BTCUSDT', window: '1m', openTime: 1_700_000_000_000,
 *   closeTime: 1_700_000_059_999, open: 100, high: 101, low: 99, close: 100.5, volume: '12.5' });
 * ```
 * @throws ValidationError when the candle breaks an OHLC rule, or the symbol or window does not exist
 */
export async function ingestKlineRow(sql: Queryable, input: KlineInput): Promise<KlineRow> {
  const op = 'market.ingestKlineRow';
  const k = parseInput(op, KlineInput, input);
  const rows = await run(
    op,
    sql`
      select ${klineColumns(sql)}
      from market.sp_ingest_kline_row(${k.symbol}, ${k.window}, ${k.openTime}, ${k.closeTime},
        ${k.open}, ${k.high}, ${k.low}, ${k.close}, ${k.volume ?? '0'}::numeric, ${k.quoteVolume ?? null}::numeric,
        ${k.trades ?? null}::integer, ${k.takerBuyBase ?? null}::numeric, ${k.takerBuyQuote ?? null}::numeric,
        ${k.source ?? null})
    `,
  );
  return parseOne('market.sp_ingest_kline_row', KlineRow, rows);
}

/**
 * Upserts any number of candles in ONE statement (`unnest` of column arrays) and counts what changed.
 *
 * Writes `market.klines` (its OHLC checks hold every writer). A repeated key keeps the last candle;
 * re-ingesting the same candles changes nothing (an unchanged row is not rewritten). Candles are written
 * in key order, so concurrent overlapping batches do not deadlock. All or nothing.
 * @example
 * ```ts
 * const r = await db.market.ingestKlines(candles); // { received, distinct, inserted, updated, unchanged }
 * ```
 * @throws ValidationError when a candle breaks an OHLC rule (issue path `[index, field]`) or names a
 * symbol or window that does not exist; nothing of the batch is written
 */
export async function ingestKlines(sql: Queryable, candles: IngestKlinesInput): Promise<IngestKlinesResult> {
  const op = 'market.ingestKlines';
  const parsed = parseInput(op, IngestKlinesInput, candles);
  const c = collapseKlines(parsed);
  if (c.symbol.length === 0) {
    return { received: parsed.length, distinct: 0, inserted: 0, updated: 0, unchanged: 0 };
  }
  const rows = await run(
    op,
    sql`
      select inserted, updated from market.sp_ingest_klines(
        ${pgArray(c.symbol)}::text[], ${pgArray(c.window)}::text[],
        ${pgArray(c.openTime)}::timestamptz[], ${pgArray(c.closeTime)}::timestamptz[],
        ${pgArray(c.open)}::float8[], ${pgArray(c.high)}::float8[],
        ${pgArray(c.low)}::float8[], ${pgArray(c.close)}::float8[],
        ${pgArray(c.volume)}::numeric[], ${pgArray(c.quoteVolume)}::numeric[],
        ${pgArray(c.trades)}::integer[], ${pgArray(c.takerBuyBase)}::numeric[],
        ${pgArray(c.takerBuyQuote)}::numeric[], ${pgArray(c.source)}::text[])
    `,
  );
  const { inserted, updated } = parseOne('market.sp_ingest_klines', IngestCounts, rows);
  const distinct = c.symbol.length;
  return { received: parsed.length, distinct, inserted, updated, unchanged: distinct - inserted - updated };
}

/**
 * Returns the newest candles of a window for one `symbol` or each of many `symbols`: per symbol (in
 * symbol order) newest first, at most `limit` each (default 100).
 *
 * Reads `market.klines` (its primary key serves each symbol's read), in one query.
 * @example
 * ```ts
 * const [last] = await db.market.latestKlines({ symbol: 'BTCUSDT', window: '1m', limit: 1 });
 * const lasts = await db.market.latestKlines({ symbols: ['BTCUSDT', 'ETHUSDT'], window: '1m', limit: 1 });
 * ```
 * @throws ValidationError when the input is malformed, or gives both or neither of symbol and symbols
 */
export async function latestKlines(sql: Queryable, input: LatestKlinesInput): Promise<KlineRow[]> {
  const op = 'market.latestKlines';
  const q = parseInput(op, LatestKlinesInput, input);
  const { window, limit = 100 } = q;
  const symbols = q.symbols ?? (q.symbol === undefined ? [] : [q.symbol]);
  // per symbol, its newest candles (the primary key serves each lateral read)
  const rows = await run(
    op,
    sql`
      select k.* from (select distinct s.symbol from unnest(${pgArray(symbols)}::text[]) s(symbol)) s
      cross join lateral (
        select ${klineColumns(sql)} from market.klines
        where symbol = s.symbol and window_label = ${window}
        order by open_time desc
        limit ${limit}
      ) k
      order by k.symbol, k."openTime" desc
    `,
  );
  return parseRows('market.klines', KlineRow, rows);
}

// ---------------------------------------------------------------------------------------------
// order book

/**
 * Stores the order-book snapshot of a symbol at a time (a repeated price on a side keeps the last;
 * re-ingesting the same time replaces the snapshot).
 *
 * Wraps `market.sp_ingest_orderbook_levels`; the symbol must exist.
 * @example
 * ```ts
 * await db.market.ingestOrderbook({ symbol: 'BTCUSDT', ts: Date.now(), bids: [['100.5', '2']], asks: [[101, 1]] });
 * ```
 * @throws ValidationError when a level is not a [price > 0, qty ≥ 0] pair, or the symbol does not exist
 */
export async function ingestOrderbook(
  sql: Queryable,
  input: IngestOrderbookInput,
): Promise<IngestOrderbookResult> {
  const op = 'market.ingestOrderbook';
  const { symbol, ts, bids, asks } = parseInput(op, IngestOrderbookInput, input);
  const rows = await run(
    op,
    sql`
      select market.sp_ingest_orderbook_levels(${symbol}, ${ts}, ${JSON.stringify(bids)}::text::jsonb,
        ${JSON.stringify(asks)}::text::jsonb) as levels
    `,
  );
  const { levels } = parseOne('market.sp_ingest_orderbook_levels', LevelsCount, rows);
  return { symbol, ts, levels };
}

/**
 * Returns the order-book snapshot of a symbol at `ts`, or the latest one before it; `null` when none.
 *
 * Reads `market.orderbook_levels`. Bids come best (highest) first, asks best (lowest) first.
 * @example
 * ```ts
 * const book = await db.market.orderbookAt({ symbol: 'BTCUSDT', ts: new Date() });
 * const spread = book && book.asks[0]!.price - book.bids[0]!.price;
 * ```
 * @throws ValidationError when the input is malformed
 */
export async function orderbookAt(
  sql: Queryable,
  input: OrderbookAtInput,
): Promise<OrderbookSnapshot | null> {
  const op = 'market.orderbookAt';
  const { symbol, ts } = parseInput(op, OrderbookAtInput, input);
  const rows = await run(
    op,
    sql`
      select util.epoch_ms(l.ts) as ts, l.side, l.price, l.qty::text as qty
      from market.orderbook_levels l
      where l.symbol = ${symbol}
        and l.ts = (select max(m.ts) from market.orderbook_levels m where m.symbol = ${symbol} and m.ts <= ${ts})
      order by l.side, case when l.side = 'bid' then -l.price else l.price end
    `,
  );
  const levels = parseRows('market.orderbook_levels', OrderbookLevelRow, rows);
  const first = levels[0];
  if (first === undefined) return null;
  return {
    symbol,
    ts: first.ts,
    bids: levels.filter((l) => l.side === 'bid').map(({ price, qty }) => ({ price, qty })),
    asks: levels.filter((l) => l.side === 'ask').map(({ price, qty }) => ({ price, qty })),
  };
}
