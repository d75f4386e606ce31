import { afterAll, beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { captureKlines, listKlinesRaw, promoteKlines, type RestKline } from '../../src/ingest/index.js';
import { latestKlines } from '../../src/market/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { caught, event, MIN, rest, T0 } from './fixtures.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const stream = (symbol: string, window = '1m') => ({ source: 'binance', symbol, window });
/** A REST kline at T0 spanning `spanMs` (T0 is a Wednesday, 2025-01-01: aligned to s, m, h and d windows). */
const candle = (spanMs: number): RestKline => [
  T0,
  '1.0',
  '2.0',
  '0.5',
  '1.5',
  '10',
  T0 + spanMs - 1,
  '15',
  3,
  '5',
  '7.5',
  '0',
];

it('fills market.klines with the same values, normalized, and rewrites nothing on a second run', async () => {
  const batch = [
    rest(0, '101.50000000'),
    rest(1, '100.12345678'),
    event(2, true, '102.00000000', 'LINKUSDT'),
  ];
  await captureKlines(db.sql, { ...stream('LINKUSDT'), payloads: batch });
  expect(await db.client.ingest.promoteKlines(stream('LINKUSDT'))).toEqual({ promoted: 3 });
  const candles = await latestKlines(db.sql, { symbol: 'LINKUSDT', window: '1m' });
  const common = { symbol: 'LINKUSDT', window: '1m', source: 'binance', ingestedAt: expect.any(Date) };
  expect(candles).toEqual([
    {
      ...common,
      openTime: new Date(T0 + 2 * MIN),
      closeTime: new Date(T0 + 3 * MIN - 1),
      open: 100,
      high: 103,
      low: 99,
      close: 102,
      volume: '5.00000000',
      quoteVolume: '505.00000000',
      trades: 101,
      takerBuyBase: '2.50000000',
      takerBuyQuote: '252.50000000',
    },
    {
      ...common,
      openTime: new Date(T0 + MIN),
      closeTime: new Date(T0 + 2 * MIN - 1),
      open: 100,
      high: 102.25,
      low: 99.75,
      close: 100.12345678,
      volume: '12.34567890',
      quoteVolume: '1251.00000001',
      trades: 43,
      takerBuyBase: '6.00000000',
      takerBuyQuote: '608.12345678',
    },
    {
      ...common,
      openTime: new Date(T0),
      closeTime: new Date(T0 + MIN - 1),
      open: 100,
      high: 102.25,
      low: 99.75,
      close: 101.5,
      volume: '12.34567890',
      quoteVolume: '1251.00000001',
      trades: 42,
      takerBuyBase: '6.00000000',
      takerBuyQuote: '608.12345678',
    },
  ]);
  expect(await promoteKlines(db.sql, stream('LINKUSDT'))).toEqual({ promoted: 0 });
  // a corrected candle is captured and promoted again; a range limits the promotion
  await captureKlines(db.sql, { ...stream('LINKUSDT'), payloads: [rest(1, '100.20000000')] });
  // [from, to): `to` is exclusive, so [T0 + 1 min, T0 + 1 min) is empty and [T0 + 1 min, T0 + 2 min) the one candle
  expect(await promoteKlines(db.sql, { ...stream('LINKUSDT'), from: T0 + MIN, to: T0 + MIN })).toEqual({
    promoted: 0,
  });
  expect(await promoteKlines(db.sql, { ...stream('LINKUSDT'), from: T0 + MIN, to: T0 + 2 * MIN })).toEqual({
    promoted: 1,
  });
  const raw = await listKlinesRaw(db.sql, { ...stream('LINKUSDT'), from: T0 + MIN, to: T0 + 2 * MIN });
  expect(raw.map((r) => r.openTime)).toEqual([new Date(T0 + MIN)]);
  expect((await latestKlines(db.sql, { symbol: 'LINKUSDT', window: '1m' })).map((k) => k.close)).toEqual([
    102, 100.2, 101.5,
  ]);
});

it('creates a missing window, and refuses a window settings.windows cannot derive from its label', async () => {
  await captureKlines(db.sql, { ...stream('DOGEUSDT', '2h'), payloads: [candle(7_200_000)] });
  expect(await promoteKlines(db.sql, stream('DOGEUSDT', '2h'))).toEqual({ promoted: 1 });
  expect(await db.sql`select label, amount, unit from settings.windows where label = '2h'`).toEqual([
    { label: '2h', amount: 2, unit: 'hour' },
  ]);
  // 2025-01-06 is a Monday: a Binance week
  const week: RestKline = [...candle(0)];
  week[0] = Date.parse('2025-01-06T00:00:00Z');
  week[6] = Date.parse('2025-01-12T23:59:59.999Z');
  await captureKlines(db.sql, { ...stream('DOGEUSDT', '1w'), payloads: [week] });
  const error = await caught(promoteKlines(db.sql, stream('DOGEUSDT', '1w')));
  expect(error).toBeInstanceOf(ValidationError);
  expect(await latestKlines(db.sql, { symbol: 'DOGEUSDT', window: '2h' })).toHaveLength(1);
  expect(await db.sql`select count(*)::int as n from market.klines where symbol = 'DOGEUSDT'`).toEqual([
    { n: 1 },
  ]);
});

it('a window whose span another label holds is a ValidationError that names that label, not a conflict', async () => {
  await db.sql`insert into settings.windows (label, amount, unit) values ('six_hours', 6, 'hour')`;
  await captureKlines(db.sql, { ...stream('LTCUSDT', '6h'), payloads: [candle(21_600_000)] });
  const error = await caught(promoteKlines(db.sql, stream('LTCUSDT', '6h')));
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).issues).toEqual([
    {
      path: [],
      message:
        "the window spans the same time as window 'six_hours': settings.windows holds one label per span",
    },
  ]);
  expect(await latestKlines(db.sql, { symbol: 'LTCUSDT', window: 'six_hours' })).toEqual([]);
});

it('promoteKlines refuses a malformed input before sending anything', async () => {
  const error = await caught(promoteKlines(db.sql, { source: 'binance', symbol: 'LTCUSDT', window: '1 h' }));
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).issues).toEqual([
    { path: ['window'], message: 'expected a window spelled as a Binance interval such as 1m' },
  ]);
  const legacy = await caught(
    promoteKlines(db.sql, { source: 'binance', symbol: 'LTCUSDT', interval: '1m' } as unknown as {
      source: string;
      symbol: string;
      window: string;
    }),
  );
  expect((legacy as ValidationError).issues.map((i) => i.path)).toEqual([['window'], []]);
});
