import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  listCoinUniverse,
  mirrorUniverseToMarket,
  queueUniverseBatch,
  syncCoinUniverse,
} from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const enabled = async () =>
  (await db.sql`select symbol from settings.coin_universe where enabled order by symbol`).map(
    (r) => r.symbol,
  );
const market = (symbols: string[]) =>
  db.sql`select symbol, base_asset, quote_asset, status, price_tick::text, min_notional::text
         from market.symbols where symbol = any(${symbols}) order by symbol`;
/** An empty universe (market keeps its symbols, OFF), so that each test starts from nothing. */
const empty = () => db.sql`delete from settings.coin_universe`;
const row = (
  symbol: string,
  base: string,
  quote: string,
  status: string,
  tick: string | null = null,
  min: string | null = null,
) => ({
  symbol,
  base_asset: base,
  quote_asset: quote,
  status,
  price_tick: tick,
  min_notional: min,
});

it('sync then sync leaves exactly the second list enabled, with the right counts', async () => {
  await empty();
  expect(await syncCoinUniverse(db.sql, ['BTCUSDT', 'ETHUSDT'])).toEqual({
    enabledCount: 2,
    disabledCount: 0,
  });
  expect(await db.client.settings.syncCoinUniverse(['ETHUSDT', 'SOLUSDT'])).toEqual({
    enabledCount: 2,
    disabledCount: 1,
  });
  expect(await enabled()).toEqual(['ETHUSDT', 'SOLUSDT']);
  expect(await listCoinUniverse(db.sql)).toEqual([
    { symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', enabled: false, sortOrder: 1 },
    { symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', enabled: true, sortOrder: 2 },
    { symbol: 'SOLUSDT', base: 'SOL', quote: 'USDT', enabled: true, sortOrder: 3 },
  ]);
  expect(await listCoinUniverse(db.sql, { enabled: false })).toEqual([
    { symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', enabled: false, sortOrder: 1 },
  ]);
  // idempotent; duplicates count once
  expect(await syncCoinUniverse(db.sql, ['ETHUSDT', 'SOLUSDT', 'ETHUSDT'])).toEqual({
    enabledCount: 2,
    disabledCount: 0,
  });
});

it('takes a readonly array (as const) as well as a plain one', async () => {
  await empty();
  const symbols = ['BTCUSDT', 'ETHUSDT'] as const;
  expect(await syncCoinUniverse(db.sql, symbols)).toEqual({ enabledCount: 2, disabledCount: 0 });
  expect(await queueUniverseBatch(db.sql, { symbols })).toMatchObject({ enabledCount: 2, disabledCount: 0 });
  expect(await syncCoinUniverse(db.sql, { symbols, autoDisable: false })).toEqual({
    enabledCount: 2,
    disabledCount: 0,
  });
});

it('market.symbols mirrors the universe, and keeps exchange filters across universe changes', async () => {
  await empty();
  await syncCoinUniverse(db.sql, ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
  await db.sql`update market.symbols set price_tick = null, min_notional = null where symbol in ('BTCUSDT', 'SOLUSDT')`;
  await db.sql`select market.sp_upsert_symbol('ETHUSDT', p_price_tick => 0.01, p_min_notional => 5)`;
  await syncCoinUniverse(db.sql, ['BTCUSDT']);
  expect(await market(['BTCUSDT', 'ETHUSDT', 'SOLUSDT'])).toEqual([
    row('BTCUSDT', 'BTC', 'USDT', 'TRADING'),
    row('ETHUSDT', 'ETH', 'USDT', 'OFF', '0.01', '5'),
    row('SOLUSDT', 'SOL', 'USDT', 'OFF'),
  ]);
  await syncCoinUniverse(db.sql, ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
  await db.sql`delete from settings.coin_universe where symbol = 'SOLUSDT'`;
  expect(await market(['BTCUSDT', 'ETHUSDT', 'SOLUSDT'])).toEqual([
    row('BTCUSDT', 'BTC', 'USDT', 'TRADING'),
    row('ETHUSDT', 'ETH', 'USDT', 'TRADING', '0.01', '5'),
    row('SOLUSDT', 'SOL', 'USDT', 'OFF'),
  ]);
  expect(
    (
      await db.sql`select code from market.assets where code in ('BTC', 'ETH', 'SOL', 'USDT') order by code`
    ).map((r) => r.code),
  ).toEqual(['BTC', 'ETH', 'SOL', 'USDT']);
});

it('is callable twice in one transaction', async () => {
  await empty();
  const results = await db.client.transaction(async (tx) => [
    await tx.settings.syncCoinUniverse(['BTCUSDT', 'ETHUSDT', 'BNBBTC']),
    await tx.settings.syncCoinUniverse(['ETHBTC', 'BNBBTC']),
  ]);
  expect(results).toEqual([
    { enabledCount: 3, disabledCount: 0 },
    { enabledCount: 2, disabledCount: 2 },
  ]);
  expect(await enabled()).toEqual(['BNBBTC', 'ETHBTC']);
  expect((await listCoinUniverse(db.sql, { enabled: true })).map((r) => [r.symbol, r.base, r.quote])).toEqual(
    [
      ['BNBBTC', 'BNB', 'BTC'],
      ['ETHBTC', 'ETH', 'BTC'],
    ],
  );
});

it('derives base and quote by the longest known quote, for every writer', async () => {
  await empty();
  await syncCoinUniverse(db.sql, { symbols: ['BTCFDUSD', 'ETHBTC'], autoDisable: false });
  expect(
    await db.sql`select symbol, base_asset, quote_asset from settings.coin_universe
                 where symbol in ('BTCFDUSD', 'ETHBTC') order by symbol`,
  ).toEqual([
    { symbol: 'BTCFDUSD', base_asset: 'BTC', quote_asset: 'FDUSD' },
    { symbol: 'ETHBTC', base_asset: 'ETH', quote_asset: 'BTC' },
  ]);
  // other writers get the same derivation (trg_coin_universe_derive)
  await db.sql`insert into settings.coin_universe (symbol, enabled) values ('DOGETRY', false)`;
  expect(
    await db.sql`select base_asset, quote_asset from settings.coin_universe where symbol = 'DOGETRY'`,
  ).toEqual([{ base_asset: 'DOGE', quote_asset: 'TRY' }]);
});

it('an unsplittable or malformed symbol is a ValidationError and nothing is written', async () => {
  await empty();
  await syncCoinUniverse(db.sql, ['BTCUSDT']);
  const universe = () => db.sql`select * from settings.coin_universe order by symbol`;
  const symbols = () => db.sql`select * from market.symbols order by symbol`;
  const [u0, s0] = [await universe(), await symbols()];
  const e = (await refusal(syncCoinUniverse(db.sql, ['ADAUSDT', 'FOOBAR']))) as ValidationError;
  expect(e).toBeInstanceOf(ValidationError);
  expect(e.sqlstate).toBe('22023');
  const lower = (await refusal(syncCoinUniverse(db.sql, ['btcusdt']))) as ValidationError;
  expect(lower.issues).toEqual([
    { path: ['symbols', 0], message: 'expected an upper-case symbol such as BTCUSDT' },
  ]);
  const notArray = (await refusal(
    syncCoinUniverse(db.sql, { symbols: 'BTCUSDT' as never }),
  )) as ValidationError;
  expect(notArray.issues).toEqual([{ path: ['symbols'], message: 'expected an array of symbols' }]);
  expect([await universe(), await symbols()]).toEqual([u0, s0]);
});

it('sp_sync_coin_universe refuses a malformed symbol without quoting it, and a null auto_disable', async () => {
  await empty();
  await syncCoinUniverse(db.sql, ['BTCUSDT']);
  const before = await db.sql`select symbol, enabled from settings.coin_universe order by symbol`;
  await expect(db.sql`select * from settings.sp_sync_coin_universe(array['btc'])`).rejects.toMatchObject({
    code: '22023',
    message: 'every symbol must be upper-case letters and digits such as BTCUSDT',
    detail: "symbol 'btc'",
  });
  await expect(
    db.sql`select * from settings.sp_sync_coin_universe(array['BTCUSDT'], null)`,
  ).rejects.toMatchObject({
    code: '22023',
    message: 'auto_disable must be true or false, not null',
  });
  expect(await db.sql`select symbol, enabled from settings.coin_universe order by symbol`).toEqual(before);
});

it('works on a host pool that does not fetch array types (fetch_types: false)', async () => {
  await empty();
  const raw = postgres(db.url, { fetch_types: false, max: 2, onnotice: () => {} });
  try {
    expect(await syncCoinUniverse(raw, ['BTCUSDT', 'ETHUSDT'])).toMatchObject({ enabledCount: 2 });
    expect(await queueUniverseBatch(raw, { symbols: ['ETHUSDT', 'BTCUSDT'] })).toMatchObject({
      symbols: ['ETHUSDT', 'BTCUSDT'],
      enabledCount: 2,
      disabledCount: 0,
    });
    expect(await enabled()).toEqual(['BTCUSDT', 'ETHUSDT']);
  } finally {
    await raw.end();
  }
});

it('concurrent syncs on separate connections never blend their lists', async () => {
  await empty();
  const lists = [
    ['BTCUSDT', 'ETHUSDT'],
    ['SOLUSDT', 'XRPUSDT', 'ADAUSDT'],
    ['BNBUSDT'],
    ['ETHUSDT', 'DOTUSDT', 'LTCUSDT', 'TRXUSDT'],
  ];
  for (let round = 0; round < 3; round++) {
    const results = await Promise.all(lists.map((l) => syncCoinUniverse(db.sql, l)));
    expect(results.map((r) => r.enabledCount)).toEqual([2, 3, 1, 4]);
    expect(lists.map((l) => [...l].sort())).toContainEqual(await enabled());
  }
  expect(
    await db.sql`select count(*)::int as n from settings.coin_universe c join market.symbols m using (symbol)
                 where (m.status = 'TRADING') <> c.enabled`,
  ).toEqual([{ n: 0 }]);
});

it('mirrorUniverseToMarket repairs market.symbols without wiping filters', async () => {
  await empty();
  await syncCoinUniverse(db.sql, ['BTCUSDT', 'ETHUSDT']);
  await db.sql`select market.sp_upsert_symbol('ETHUSDT', p_price_tick => 0.01, p_min_notional => 5)`;
  await db.sql`update market.symbols set status = 'BREAK' where symbol in ('BTCUSDT', 'ETHUSDT')`;
  await db.sql`update market.symbols set status = 'OFF'
               where symbol not in ('BTCUSDT', 'ETHUSDT') and status <> 'OFF'`;
  expect(await db.client.settings.mirrorUniverseToMarket()).toEqual({ symbolsUpserted: 2, assetsCreated: 0 });
  expect(
    (await market(['BTCUSDT', 'ETHUSDT'])).map((r) => [r.symbol, r.status, r.price_tick, r.min_notional]),
  ).toEqual([
    ['BTCUSDT', 'TRADING', null, null],
    ['ETHUSDT', 'TRADING', '0.01', '5'],
  ]);
  expect(await mirrorUniverseToMarket(db.sql)).toEqual({ symbolsUpserted: 0, assetsCreated: 0 });
});

it('queueUniverseBatch applies the batch and records counts and applied time on the row', async () => {
  await empty();
  await syncCoinUniverse(db.sql, ['BTCUSDT', 'ETHUSDT']);
  const batch = await queueUniverseBatch(db.sql, { symbols: ['ETHUSDT', 'LINKUSDT'] });
  expect(batch).toEqual({
    id: expect.any(Number),
    symbols: ['ETHUSDT', 'LINKUSDT'],
    autoDisable: true,
    requestedAt: expect.any(Date),
    appliedAt: expect.any(Date),
    enabledCount: 2,
    disabledCount: 1,
  });
  expect(await enabled()).toEqual(['ETHUSDT', 'LINKUSDT']);
  const keep = await db.client.settings.queueUniverseBatch({ symbols: ['BTCUSDT'], autoDisable: false });
  expect([keep.enabledCount, keep.disabledCount, keep.autoDisable]).toEqual([1, 0, false]);
  expect(await enabled()).toEqual(['BTCUSDT', 'ETHUSDT', 'LINKUSDT']);
  expect(
    await db.sql`select symbols, enabled_count, disabled_count, applied_at is not null as applied
                 from settings.universe_batch_ops where id >= ${batch.id} order by id`,
  ).toEqual([
    { symbols: ['ETHUSDT', 'LINKUSDT'], enabled_count: 2, disabled_count: 1, applied: true },
    { symbols: ['BTCUSDT'], enabled_count: 1, disabled_count: 0, applied: true },
  ]);
  const before = await db.sql`select * from settings.universe_batch_ops order by id`;
  const e = (await refusal(queueUniverseBatch(db.sql, { symbols: ['FOOBAR'] }))) as ValidationError;
  expect(e).toBeInstanceOf(ValidationError);
  expect(await db.sql`select * from settings.universe_batch_ops order by id`).toEqual(before);
  expect(await enabled()).toEqual(['BTCUSDT', 'ETHUSDT', 'LINKUSDT']);
});

it('a symbol already in the universe is not split again (another writer gave its base and quote)', async () => {
  await empty();
  await db.sql`insert into settings.coin_universe (symbol, base_asset, quote_asset, enabled)
               values ('GOLDOZ', 'GOLD', 'OZ', false)`;
  expect(await syncCoinUniverse(db.sql, { symbols: ['GOLDOZ'], autoDisable: false })).toEqual({
    enabledCount: 1,
    disabledCount: 0,
  });
  expect(
    await db.sql`select c.base_asset, c.quote_asset, c.enabled, m.status from settings.coin_universe c
                 join market.symbols m using (symbol) where symbol = 'GOLDOZ'`,
  ).toEqual([{ base_asset: 'GOLD', quote_asset: 'OZ', enabled: true, status: 'TRADING' }]);
});

it('renaming a universe symbol alone re-splits it; market and cursors follow the new name', async () => {
  await empty();
  await syncCoinUniverse(db.sql, { symbols: ['RNMUSDT'], autoDisable: false });
  await db.sql`update settings.coin_universe set symbol = 'RNMUSDC' where symbol = 'RNMUSDT'`;
  expect(
    await db.sql`select symbol, base_asset, quote_asset, enabled from settings.coin_universe where symbol like 'RNM%'`,
  ).toEqual([{ symbol: 'RNMUSDC', base_asset: 'RNM', quote_asset: 'USDC', enabled: true }]);
  expect(
    await db.sql`select symbol, base_asset, quote_asset, status from market.symbols
                 where symbol like 'RNM%' order by symbol`,
  ).toEqual([
    { symbol: 'RNMUSDC', base_asset: 'RNM', quote_asset: 'USDC', status: 'TRADING' },
    { symbol: 'RNMUSDT', base_asset: 'RNM', quote_asset: 'USDT', status: 'OFF' },
  ]);
  expect(await db.sql`select stream from ingest.cursors where symbol = 'RNMUSDC' order by stream`).toEqual([
    { stream: 'klines' },
    { stream: 'trades' },
  ]);
  // a writer that gives base and quote with the new name keeps them; one that breaks the rule is refused
  await db.sql`update settings.coin_universe set symbol = 'RNMUSDT', base_asset = 'RNMU', quote_asset = 'SDT'
               where symbol = 'RNMUSDC'`;
  expect(
    await db.sql`select symbol, base_asset, quote_asset from settings.coin_universe where symbol like 'RNM%'`,
  ).toEqual([{ symbol: 'RNMUSDT', base_asset: 'RNMU', quote_asset: 'SDT' }]);
  await expect(
    db.sql`update settings.coin_universe set symbol = 'RNMBTC', quote_asset = 'USDT' where symbol = 'RNMUSDT'`,
  ).rejects.toMatchObject({ code: '23514' });
});
