// Payloads shared by the ingest suites: Binance REST klines and websocket events, built by hand.
import type { Sql } from '../../src/core/queryable.js';
import type { RestKline, WsKlineEvent } from '../../src/ingest/index.js';

/** 2025-01-01T00:00:00Z. */
export const T0 = Date.parse('2025-01-01T00:00:00Z');
export const MIN = 60_000;

/** A REST kline of minute m after T0 (prices with Binance's 8 decimals). */
export const rest = (m: number, close = '101.50000000'): RestKline => [
  T0 + m * MIN,
  '100.00000000',
  '102.25000000',
  '99.75000000',
  close,
  '12.34567890',
  T0 + m * MIN + MIN - 1,
  '1251.00000001',
  42 + m,
  '6.00000000',
  '608.12345678',
  '0',
];

/** A websocket kline event of minute m after T0. */
export const event = (
  m: number,
  closed: boolean,
  close = '101.00000000',
  symbol = 'ETHUSDT',
): WsKlineEvent => ({
  e: 'kline',
  E: T0 + m * MIN + 30_000,
  s: symbol,
  k: {
    t: T0 + m * MIN,
    T: T0 + m * MIN + MIN - 1,
    s: symbol,
    i: '1m',
    f: 100,
    L: 200,
    o: '100.00000000',
    c: close,
    h: '103.00000000',
    l: '99.00000000',
    v: '5.00000000',
    n: 101,
    x: closed,
    q: '505.00000000',
    V: '2.50000000',
    Q: '252.50000000',
    B: '0',
  },
});

/**
 * The REST example row of Binance's API documentation (GET /api/v3/klines): a one-week candle,
 * open 2017-07-03T00:00:00Z (a Monday), close 2017-07-09T23:59:59.999Z.
 */
export const BINANCE_DOC_ROW: RestKline = [
  1499040000000,
  '0.01634790',
  '0.80000000',
  '0.01575800',
  '0.01577100',
  '148976.11427815',
  1499644799999,
  '2434.19055334',
  308,
  '1756.87402397',
  '28.46694368',
  '0',
];

/** The error a promise rejects with, or undefined when it resolves. */
export async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** Every row of the capture tables, to show that a refused call changed nothing. */
export async function captured(sql: Sql) {
  return {
    klines:
      await sql`select source, symbol, window_label, open_time, payload, closed from ingest.klines_raw order by 1, 2, 3, 4`,
    trades: await sql`select source, symbol, trade_id, payload from ingest.trades_raw order by 1, 2, 3`,
    cursors:
      await sql`select source, stream, symbol, window_label, last_time, last_id from ingest.cursors order by 1, 2, 3, 4`,
  };
}
