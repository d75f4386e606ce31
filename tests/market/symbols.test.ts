import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { listSymbols, parseSymbol, upsertAsset, upsertSymbol } from '../../src/market/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { functionPins, updatedAtTouches } from '../helpers/catalog.js';
import { refusal } from '../helpers/refusal.js';
import { waitUntil } from './wait.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const symbolsTable = () => db.sql`select * from market.symbols order by symbol`;
const assetsTable = () => db.sql`select * from market.assets order by code`;

it('parseSymbol splits by the longest known quote', async () => {
  expect(await parseSymbol(db.sql, 'ETHBTC')).toEqual({ base: 'ETH', quote: 'BTC' });
  expect(await parseSymbol(db.sql, { symbol: 'BTCFDUSD' })).toEqual({ base: 'BTC', quote: 'FDUSD' });
  expect(await db.client.market.parseSymbol('BTCUSDT')).toEqual({ base: 'BTC', quote: 'USDT' });
  expect(await parseSymbol(db.sql, 'USDTTRY')).toEqual({ base: 'USDT', quote: 'TRY' });
});

it('parseSymbol refuses an unsplittable or malformed symbol', async () => {
  const none = (await refusal(parseSymbol(db.sql, 'XYZABC'))) as ValidationError;
  expect(none).toBeInstanceOf(ValidationError);
  expect(none.issues).toEqual([{ path: [], message: 'symbol XYZABC does not end with a known quote' }]);
  const onlyQuote = (await refusal(parseSymbol(db.sql, 'USDT'))) as ValidationError;
  expect(onlyQuote.issues).toEqual([{ path: [], message: 'symbol USDT does not end with a known quote' }]);
  const lower = (await refusal(parseSymbol(db.sql, 'btcusdt'))) as ValidationError;
  expect(lower.issues).toEqual([
    { path: ['symbol'], message: 'expected an upper-case symbol such as BTCUSDT' },
  ]);
  await expect(db.sql`select * from market.parse_symbol('btc''; drop table x')`).rejects.toMatchObject({
    code: '22023',
    message: 'symbol is not an upper-case symbol such as BTCUSDT', // the value sent is not quoted
  });
});

it('the known quotes live in market.quotes only', async () => {
  await expect(parseSymbol(db.sql, 'BTCAUD')).rejects.toBeInstanceOf(ValidationError);
  await db.sql`insert into market.quotes (code) values ('AUD')`;
  try {
    expect(await parseSymbol(db.sql, 'BTCAUD')).toEqual({ base: 'BTC', quote: 'AUD' });
  } finally {
    await db.sql`delete from market.quotes where code = 'AUD'`;
  }
});

it('upsertAsset creates, and a missing field keeps its value', async () => {
  const ada = await upsertAsset(db.sql, { code: 'ADA', name: 'Cardano', precision: 8 });
  expect(ada).toEqual({
    code: 'ADA',
    name: 'Cardano',
    precision: 8,
    createdAt: expect.any(Date),
    updatedAt: expect.any(Date),
  });
  expect(await db.client.market.upsertAsset({ code: 'ADA' })).toEqual(ada);
  expect(await upsertAsset(db.sql, { code: 'ADA', precision: 6 })).toEqual({
    ...ada,
    precision: 6,
    updatedAt: expect.any(Date),
  });
});

it('upsertAsset refuses a bad code, precision or name (NUL, lone surrogate), in the SDK and in SQL, without quoting values', async () => {
  const before = await assetsTable();
  const bad = (await refusal(upsertAsset(db.sql, { code: 'btc', precision: 99 }))) as ValidationError;
  expect(bad.issues.map((i) => i.path)).toEqual([['code'], ['precision']]);
  const nul = (await refusal(upsertAsset(db.sql, { code: 'NULX', name: 'a\u0000b' }))) as ValidationError;
  expect(nul.issues).toEqual([{ path: ['name'], message: 'must not contain NUL (U+0000)' }]);
  const lone = (await refusal(upsertAsset(db.sql, { code: 'LONE', name: 'a\uD800b' }))) as ValidationError;
  expect(lone.issues).toEqual([
    { path: ['name'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
  ]);
  await expect(db.sql`select market.sp_upsert_asset('BTC', null, 99)`).rejects.toMatchObject({
    code: '22023',
    message: 'asset precision is outside 0..36',
  });
  await expect(db.sql`select market.sp_upsert_asset('secret value')`).rejects.toMatchObject({
    code: '22023',
    message: 'asset is not an upper-case code such as BTC',
  });
  expect(await assetsTable()).toEqual(before);
});

it('upsertSymbol with the symbol alone creates it (OFF) and its missing assets', async () => {
  const created = await upsertSymbol(db.sql, { symbol: 'XMRBTC' });
  expect(created).toEqual({
    symbol: 'XMRBTC',
    baseAsset: 'XMR',
    quoteAsset: 'BTC',
    status: 'OFF',
    priceTick: null,
    qtyStep: null,
    minNotional: null,
    metadata: {},
    createdAt: expect.any(Date),
    updatedAt: expect.any(Date),
  });
  expect(await db.sql`select code, name from market.assets where code = 'XMR'`).toEqual([
    { code: 'XMR', name: null },
  ]);
  // the ingest helper's call: makes sure it exists, changes nothing
  const [again] = await db.sql`select util.epoch_ms((market.sp_upsert_symbol('XMRBTC')).updated_at) as ms`;
  expect(Number(again!.ms)).toBe(created.updatedAt.getTime());
});

it('upsertSymbol keeps every stored value a call leaves out', async () => {
  await upsertSymbol(db.sql, { symbol: 'LTCBTC' });
  const withFilters = await db.client.market.upsertSymbol({
    symbol: 'LTCBTC',
    status: 'TRADING',
    priceTick: '0.00001',
    qtyStep: 0.001,
    minNotional: '0.0001',
    metadata: { tier: 1 },
  });
  expect(withFilters).toMatchObject({
    status: 'TRADING',
    priceTick: '0.00001',
    qtyStep: '0.001',
    minNotional: '0.0001',
    metadata: { tier: 1 },
  });
  expect(await upsertSymbol(db.sql, { symbol: 'LTCBTC', status: 'BREAK' })).toEqual({
    ...withFilters,
    status: 'BREAK',
    updatedAt: expect.any(Date),
  });
});

it('upsertSymbol refuses a bad filter, status or symbol, and the database does too; nothing changes', async () => {
  await upsertSymbol(db.sql, { symbol: 'DOTBTC' });
  const before = await symbolsTable();
  const bad = (await refusal(upsertSymbol(db.sql, { symbol: 'DOTBTC', priceTick: '-1' }))) as ValidationError;
  expect(bad.issues).toEqual([{ path: ['priceTick'], message: 'must be positive' }]);
  const status = (await refusal(
    upsertSymbol(db.sql, { symbol: 'DOTBTC', status: 'HALT' as 'OFF' }),
  )) as ValidationError;
  expect(status.issues.map((i) => i.path)).toEqual([['status']]);
  const unsplit = (await refusal(upsertSymbol(db.sql, { symbol: 'FOOBAR' }))) as ValidationError;
  expect(unsplit.issues).toEqual([{ path: [], message: 'symbol FOOBAR does not end with a known quote' }]);
  await expect(db.sql`select market.sp_upsert_symbol('DOTBTC', p_status => 'HALT')`).rejects.toMatchObject({
    code: '22023',
    message: 'symbol status is not TRADING, OFF or BREAK',
  });
  expect(await symbolsTable()).toEqual(before);
});

it('upsertSymbol stores metadata exactly: a "__proto__" key survives the round trip', async () => {
  const metadata = JSON.parse('{"tier":2,"__proto__":{"admin":true}}') as Record<string, never>;
  const row = await upsertSymbol(db.sql, { symbol: 'PROTOBTC', metadata });
  expect(Object.hasOwn(row.metadata, '__proto__')).toBe(true);
  expect(Object.getOwnPropertyDescriptor(row.metadata, '__proto__')?.value).toEqual({ admin: true });
  const [listed] = await listSymbols(db.sql, { symbols: ['PROTOBTC'] });
  expect(Object.keys(listed!.metadata)).toEqual(['tier', '__proto__']);
  expect(
    await db.sql`select metadata -> '__proto__' as p from market.symbols where symbol = 'PROTOBTC'`,
  ).toEqual([{ p: { admin: true } }]);
});

it('concurrent first upserts of one symbol on separate connections make one row', async () => {
  const rows = await Promise.all([0, 1, 2, 3].map(() => upsertSymbol(db.sql, { symbol: 'ADAEUR' })));
  expect(new Set(rows.map((r) => r.createdAt.getTime())).size).toBe(1);
  expect(
    await db.sql`select symbol, base_asset, quote_asset, status from market.symbols where symbol = 'ADAEUR'`,
  ).toEqual([{ symbol: 'ADAEUR', base_asset: 'ADA', quote_asset: 'EUR', status: 'OFF' }]);
});

it('a first upsertSymbol takes its new assets in code order, as the universe mirror does (no deadlock)', async () => {
  const mirror = postgres(db.url, { max: 1, onnotice: () => {} });
  const other = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const [me] = await other<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const pid = me!.pid;
    let upsert: Promise<unknown> = Promise.resolve();
    // the mirror of a universe sync, holding QBTC (it inserts assets in code order: QBTC, then ZQQ)
    await mirror.begin(async (tx) => {
      await tx`insert into market.assets (code) values ('QBTC')`;
      // the first upsertSymbol of ZQQQBTC (base ZQQ, quote QBTC) starts and waits for QBTC
      upsert = upsertSymbol(other, { symbol: 'ZQQQBTC', base: 'ZQQ', quote: 'QBTC' }).then(
        (r) => r.symbol,
        (e: unknown) => e,
      );
      await waitUntil(`backend ${pid} (the upsertSymbol) waits for a lock`, async () => {
        const [w] = await tx<{ waiting: boolean }[]>`
          select wait_event_type = 'Lock' as waiting from pg_stat_activity where pid = ${pid}`;
        return w?.waiting === true;
      });
      await tx`insert into market.assets (code) values ('ZQQ') on conflict do nothing`; // the mirror goes on
    });
    expect(await upsert).toBe('ZQQQBTC');
  } finally {
    await mirror.end();
    await other.end();
  }
});

it('the table refuses NaN and Infinity as exchange filters, whoever writes', async () => {
  await upsertSymbol(db.sql, { symbol: 'NANBTC' });
  const before = await symbolsTable();
  for (const bad of ['NaN', 'Infinity']) {
    await expect(
      db.sql`update market.symbols set price_tick = ${bad}::numeric where symbol = 'NANBTC'`,
    ).rejects.toMatchObject({ code: '23514', constraint_name: 'symbols_filters_finite' });
    await expect(
      db.sql`select market.sp_upsert_symbol('NANBTC', p_min_notional => ${bad}::numeric)`,
    ).rejects.toMatchObject({ code: '23514', constraint_name: 'symbols_filters_finite' });
  }
  const sdk = (await refusal(upsertSymbol(db.sql, { symbol: 'NANBTC', qtyStep: 'NaN' }))) as ValidationError;
  expect(sdk.issues).toEqual([
    { path: ['qtyStep'], message: 'expected a decimal string such as "12.50"' },
    { path: ['qtyStep'], message: 'must be positive' },
  ]);
  expect(await symbolsTable()).toEqual(before);
});

it('listSymbols filters by status, base, quote and a list of symbols', async () => {
  await upsertSymbol(db.sql, { symbol: 'AAAUSDT', status: 'TRADING' });
  await upsertSymbol(db.sql, { symbol: 'AAABTC' });
  await upsertSymbol(db.sql, { symbol: 'BBBUSDT' });
  const mine = ['AAAUSDT', 'AAABTC', 'BBBUSDT'];
  expect((await listSymbols(db.sql, { symbols: mine })).map((s) => s.symbol)).toEqual([
    'AAABTC',
    'AAAUSDT',
    'BBBUSDT',
  ]);
  expect((await db.client.market.listSymbols({ quote: 'USDT', symbols: mine })).map((s) => s.symbol)).toEqual(
    ['AAAUSDT', 'BBBUSDT'],
  );
  expect((await listSymbols(db.sql, { base: 'AAA', status: 'OFF' })).map((s) => s.symbol)).toEqual([
    'AAABTC',
  ]);
  expect(await listSymbols(db.sql, { status: 'TRADING', base: 'BBB' })).toEqual([]);
  const all = await listSymbols(db.sql);
  expect(mine.every((s) => all.some((r) => r.symbol === s))).toBe(true);
});

it('every market function pins search_path; every market table with updated_at is touched', async () => {
  const functions = await functionPins(db.sql, 'market');
  expect(functions.map((f) => f.name)).toEqual([
    'parse_symbol',
    'sp_ingest_kline_row',
    'sp_ingest_klines',
    'sp_ingest_orderbook_levels',
    'sp_upsert_asset',
    'sp_upsert_symbol',
  ]);
  expect(functions.filter((f) => !f.pinned)).toEqual([]);
  expect(
    (await updatedAtTouches(db.sql, 'market')).map((t) => ({ table: t.table, touched: t.touched })),
  ).toEqual([
    { table: 'assets', touched: true },
    { table: 'symbols', touched: true },
  ]);
});
