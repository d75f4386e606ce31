/**
 * Candles as column arrays for one `unnest` statement. Pure helper: not re-exported by the module's index.
 */
import type { z } from 'zod';
import type { KlineInput } from './schemas.js';

type Kline = z.output<typeof KlineInput>;

/** One array per column of market.klines, index-aligned. */
export interface KlineColumns {
  symbol: string[];
  window: string[];
  openTime: Date[];
  closeTime: Date[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  volume: (string | null)[];
  quoteVolume: (string | null)[];
  trades: (number | null)[];
  takerBuyBase: (string | null)[];
  takerBuyQuote: (string | null)[];
  source: (string | null)[];
}

function compare(a: Kline, b: Kline): number {
  if (a.symbol !== b.symbol) return a.symbol < b.symbol ? -1 : 1;
  if (a.window !== b.window) return a.window < b.window ? -1 : 1;
  return a.openTime.getTime() - b.openTime.getTime();
}

/**
 * Keeps the last candle of each (symbol, window, openTime) key (an upsert may not touch a row twice) and
 * orders them by key, so that concurrent overlapping batches take their row locks in the same order.
 */
export function collapseKlines(candles: readonly Kline[]): KlineColumns {
  const byKey = new Map<string, Kline>();
  for (const k of candles) byKey.set(`${k.symbol}\u0000${k.window}\u0000${k.openTime.getTime()}`, k);
  const sorted = [...byKey.values()].sort(compare);
  const n = sorted.length;
  const out: KlineColumns = {
    symbol: new Array(n),
    window: new Array(n),
    openTime: new Array(n),
    closeTime: new Array(n),
    open: new Array(n),
    high: new Array(n),
    low: new Array(n),
    close: new Array(n),
    volume: new Array(n),
    quoteVolume: new Array(n),
    trades: new Array(n),
    takerBuyBase: new Array(n),
    takerBuyQuote: new Array(n),
    source: new Array(n),
  };
  for (let i = 0; i < n; i++) {
    const k = sorted[i]!;
    out.symbol[i] = k.symbol;
    out.window[i] = k.window;
    out.openTime[i] = k.openTime;
    out.closeTime[i] = k.closeTime;
    out.open[i] = k.open;
    out.high[i] = k.high;
    out.low[i] = k.low;
    out.close[i] = k.close;
    out.volume[i] = k.volume ?? null;
    out.quoteVolume[i] = k.quoteVolume ?? null;
    out.trades[i] = k.trades ?? null;
    out.takerBuyBase[i] = k.takerBuyBase ?? null;
    out.takerBuyQuote[i] = k.takerBuyQuote ?? null;
    out.source[i] = k.source ?? null;
  }
  return out;
}
