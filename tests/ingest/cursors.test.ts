import { afterAll, beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { captureKlines, captureTrades, cursor, listCursors } from '../../src/ingest/index.js';
import { syncCoinUniverse } from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { caught, MIN, rest, T0 } from './fixtures.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

it('enabling universe symbols seeds their cursors (binance klines 1m and trades), once', async () => {
  await syncCoinUniverse(db.sql, { symbols: ['AVAXUSDT', 'ATOMUSDT'], autoDisable: false });
  const seeded = await listCursors(db.sql, { symbol: 'AVAXUSDT' });
  expect(seeded.map((c) => [c.source, c.stream, c.symbol, c.window, c.lastTime, c.lastId])).toEqual([
    ['binance', 'klines', 'AVAXUSDT', '1m', null, null],
    ['binance', 'trades', 'AVAXUSDT', null, null, null],
  ]);
  expect(await listCursors(db.sql, { symbol: 'ATOMUSDT' })).toHaveLength(2);

  // a symbol added disabled gets none until it is enabled; re-enabling keeps a cursor's position
  await db.sql`insert into settings.coin_universe (symbol, enabled) values ('NEARUSDT', false)`;
  expect(await listCursors(db.sql, { symbol: 'NEARUSDT' })).toEqual([]);
  await db.sql`update settings.coin_universe set enabled = true where symbol = 'NEARUSDT'`;
  expect((await listCursors(db.sql, { symbol: 'NEARUSDT' })).map((c) => c.stream)).toEqual([
    'klines',
    'trades',
  ]);

  await captureKlines(db.sql, { source: 'binance', symbol: 'AVAXUSDT', window: '1m', payloads: [rest(5)] });
  await db.sql`update settings.coin_universe set enabled = false where symbol = 'AVAXUSDT'`;
  await db.sql`update settings.coin_universe set enabled = true where symbol = 'AVAXUSDT'`;
  const key = { source: 'binance', stream: 'klines', symbol: 'AVAXUSDT', window: '1m' };
  expect((await cursor(db.sql, key))?.lastTime).toEqual(new Date(T0 + 5 * MIN));
});

it('listCursors reads many symbols at once, by source, stream, symbol and window', async () => {
  const klines = (symbol: string, window: string, payloads = [rest(0)]) =>
    captureKlines(db.sql, { source: 'binance', symbol, window, payloads });
  await klines('MANYAUSDT', '1m');
  await klines('MANYBUSDT', '1m', [rest(1)]);
  await klines('MANYCUSDT', '1m');
  await klines('MANYAUSDT', '1h', []); // an empty batch writes no cursor
  await captureTrades(db.sql, {
    source: 'binance',
    symbol: 'MANYAUSDT',
    payloads: [{ id: 9, price: '1', qty: '1', time: T0, isBuyerMaker: false }],
  });
  const picked = await db.client.ingest.listCursors({ symbols: ['MANYBUSDT', 'MANYAUSDT', 'NOSUCHUSDT'] });
  expect(picked.map((c) => [c.symbol, c.stream, c.window, c.lastTime, c.lastId])).toEqual([
    ['MANYAUSDT', 'klines', '1m', new Date(T0), null],
    ['MANYBUSDT', 'klines', '1m', new Date(T0 + MIN), null],
    ['MANYAUSDT', 'trades', null, new Date(T0), 9],
  ]);
  expect(
    (await listCursors(db.sql, { symbols: ['MANYAUSDT', 'MANYCUSDT'], stream: 'klines', window: '1m' })).map(
      (c) => c.symbol,
    ),
  ).toEqual(['MANYAUSDT', 'MANYCUSDT']);
  expect(await listCursors(db.sql, { symbols: [] })).toEqual([]);
  const both = await caught(listCursors(db.sql, { symbol: 'MANYAUSDT', symbols: ['MANYBUSDT'] }));
  expect(both).toBeInstanceOf(ValidationError);
  expect((both as ValidationError).issues).toEqual([
    { path: ['symbols'], message: 'give symbol or symbols, not both' },
  ]);
});

it('cursor takes one object; a positional call is refused, nothing sent', async () => {
  const old = cursor as unknown as (sql: unknown, ...args: string[]) => Promise<unknown>;
  const error = await caught(old(db.sql, 'binance', 'klines', 'BTCUSDT', '1m'));
  expect(error).toBeInstanceOf(ValidationError);
  expect(await cursor(db.sql, { source: 'binance', stream: 'trades', symbol: 'NONEUSDT' })).toBeNull();
});
