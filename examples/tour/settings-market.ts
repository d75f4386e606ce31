/**
 * Tour of `settings` and `market`: sync a small universe, look at its market mirror, store a few
 * candles and an order-book snapshot, and read them back. Safe to run twice (everything is an upsert).
 */
import type { Client } from '../../src/client.js';

export async function tour(db: Client, print: (line: string) => void): Promise<void> {
  print('settings + market');

  const synced = await db.settings.syncCoinUniverse(['BTCUSDT', 'ETHUSDT', 'ETHBTC', 'BNBFDUSD']);
  print(`  universe synced: ${synced.enabledCount} enabled, ${synced.disabledCount} disabled`);
  for (const c of await db.settings.listCoinUniverse()) {
    print(`  ${c.enabled ? '●' : '○'} ${c.symbol.padEnd(9)} ${c.base}/${c.quote}`);
  }

  // exchange filters set on the market side survive every later universe change
  await db.market.upsertSymbol({ symbol: 'BTCUSDT', priceTick: '0.01', minNotional: '5' });
  for (const s of await db.market.listSymbols({ quote: 'USDT' })) {
    print(`  market ${s.symbol.padEnd(9)} ${s.status.padEnd(7)} tick ${s.priceTick ?? '-'}`);
  }

  const start = Date.UTC(2024, 0, 1);
  const candles = Array.from({ length: 60 }, (_, i) => {
    const open = 42_000 + 10 * Math.sin(i / 5);
    const close = open + 5 * Math.cos(i / 3);
    return {
      symbol: 'BTCUSDT',
      window: '1m',
      openTime: start + i * 60_000,
      closeTime: start + (i + 1) * 60_000 - 1,
      open,
      high: Math.max(open, close) + 2,
      low: Math.min(open, close) - 2,
      close,
      volume: (1 + (i % 5) / 4).toFixed(3),
    };
  });
  const ingested = await db.market.ingestKlines(candles);
  print(
    `  klines: ${ingested.inserted} inserted, ${ingested.updated} updated, ${ingested.unchanged} unchanged`,
  );
  for (const k of await db.market.latestKlines({ symbol: 'BTCUSDT', window: '1m', limit: 3 })) {
    print(`  ${k.openTime.toISOString()} close ${k.close.toFixed(2)} volume ${k.volume}`);
  }

  await db.market.ingestOrderbook({
    symbol: 'BTCUSDT',
    ts: start,
    bids: [
      ['41999.50', '0.8'],
      ['41999.00', '2.1'],
    ],
    asks: [
      ['42000.25', '0.5'],
      ['42001.00', '1.4'],
    ],
  });
  const book = await db.market.orderbookAt({ symbol: 'BTCUSDT', ts: start });
  if (book) {
    const spread = book.asks[0]!.price - book.bids[0]!.price;
    print(
      `  book at ${book.ts.toISOString()}: best bid ${book.bids[0]!.price}, best ask ${book.asks[0]!.price}, spread ${spread}`,
    );
  }
}
