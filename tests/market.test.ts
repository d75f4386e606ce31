import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/core/errors.js';
import {
  ingestKlineRow,
  ingestKlines,
  ingestOrderbook,
  type KlineInput,
  latestKlines,
  listSymbols,
  orderbookAt,
  parseSymbol,
  upsertAsset,
  upsertSymbol,
} from '../src/market/index.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { refusal } from './helpers/refusal.js';
import { functionPins, updatedAtTouches } from './helpers/catalog.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const T0 = Date.UTC(2024, 0, 1); // 2024-01-01T00:00:00Z
const MINUTE = 60_000;

/** A valid 1m candle `i` minutes after T0. */
function candle(i: number, symbol = 'BTCUSDT', shift = 0): KlineInput {
  const open = 100 + (i % 50) + shift;
  const close = open + ((i % 7) - 3) * 0.25;
  return {
    symbol,
    window: '1m',
    openTime: T0 + i * MINUTE,
    closeTime: T0 + (i + 1) * MINUTE - 1,
    open,
    high: Math.max(open, close) + 0.5,
    low: Math.min(open, close) - 0.5,
    close,
    volume: `${(i % 13) + 1}.5`,
    quoteVolume: `${((i % 13) + 1) * 100}`,
    trades: i % 100,
    source: 'test',
  };
}

describe('symbols', () => {
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
    await expect(db.sql`select * from market.parse_symbol('btcusdt')`).rejects.toMatchObject({
      code: '22023',
    });
  });

  it('the known quotes live in market.quotes only', async () => {
    await expect(parseSymbol(db.sql, 'BTCAUD')).rejects.toBeInstanceOf(ValidationError);
    await db.sql`insert into market.quotes (code) values ('AUD')`;
    expect(await parseSymbol(db.sql, 'BTCAUD')).toEqual({ base: 'BTC', quote: 'AUD' });
    await db.sql`delete from market.quotes where code = 'AUD'`;
  });

  it('upsertAsset creates, and a missing field keeps its value', async () => {
    const btc = await upsertAsset(db.sql, { code: 'BTC', name: 'Bitcoin', precision: 8 });
    expect(btc).toEqual({
      code: 'BTC',
      name: 'Bitcoin',
      precision: 8,
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    expect(await db.client.market.upsertAsset({ code: 'BTC' })).toEqual(btc);
    expect(await upsertAsset(db.sql, { code: 'BTC', precision: 6 })).toEqual({
      ...btc,
      precision: 6,
      updatedAt: expect.any(Date),
    });
    const bad = (await refusal(upsertAsset(db.sql, { code: 'btc', precision: 99 }))) as ValidationError;
    expect(bad.issues.map((i) => i.path)).toEqual([['code'], ['precision']]);
    await expect(db.sql`select market.sp_upsert_asset('BTC', null, 99)`).rejects.toMatchObject({
      code: '22023',
    });
  });

  it('upsertSymbol with the symbol alone creates it (OFF) and its missing assets', async () => {
    const created = await upsertSymbol(db.sql, { symbol: 'ETHBTC' });
    expect(created).toEqual({
      symbol: 'ETHBTC',
      baseAsset: 'ETH',
      quoteAsset: 'BTC',
      status: 'OFF',
      priceTick: null,
      qtyStep: null,
      minNotional: null,
      metadata: {},
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    expect((await db.sql`select code, name from market.assets where code = 'ETH'`)[0]).toEqual({
      code: 'ETH',
      name: null,
    });
    // the ingest helper's call: makes sure it exists, changes nothing
    const again = await db.sql`select (market.sp_upsert_symbol('ETHBTC')).updated_at`;
    expect(again[0]!.updated_at).toEqual(created.updatedAt);
  });

  it('upsertSymbol keeps every stored value a call leaves out', async () => {
    const withFilters = await db.client.market.upsertSymbol({
      symbol: 'ETHBTC',
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
    expect(await upsertSymbol(db.sql, { symbol: 'ETHBTC', status: 'BREAK' })).toEqual({
      ...withFilters,
      status: 'BREAK',
      updatedAt: expect.any(Date),
    });
    const before = await db.sql`select * from market.symbols order by symbol`;
    const bad = (await refusal(
      upsertSymbol(db.sql, { symbol: 'ETHBTC', priceTick: '-1' }),
    )) as ValidationError;
    expect(bad.issues).toEqual([{ path: ['priceTick'], message: 'must be positive' }]);
    const status = (await refusal(
      upsertSymbol(db.sql, { symbol: 'ETHBTC', status: 'HALT' as 'OFF' }),
    )) as ValidationError;
    expect(status.issues.map((i) => i.path)).toEqual([['status']]);
    const unsplit = (await refusal(upsertSymbol(db.sql, { symbol: 'FOOBAR' }))) as ValidationError;
    expect(unsplit.issues).toEqual([{ path: [], message: 'symbol FOOBAR does not end with a known quote' }]);
    await expect(db.sql`select market.sp_upsert_symbol('ETHBTC', p_status => 'HALT')`).rejects.toMatchObject({
      code: '22023',
    });
    expect(await db.sql`select * from market.symbols order by symbol`).toEqual(before);
  });

  it('concurrent first upserts of one symbol on separate connections make one row', async () => {
    const rows = await Promise.all([0, 1, 2, 3].map(() => upsertSymbol(db.sql, { symbol: 'ADAEUR' })));
    expect(new Set(rows.map((r) => r.createdAt.getTime())).size).toBe(1);
    expect(
      await db.sql`select symbol, base_asset, quote_asset, status from market.symbols where symbol = 'ADAEUR'`,
    ).toEqual([{ symbol: 'ADAEUR', base_asset: 'ADA', quote_asset: 'EUR', status: 'OFF' }]);
    await db.sql`delete from market.symbols where symbol = 'ADAEUR'`;
  });

  it('a first upsertSymbol takes its new assets in code order, as the universe mirror does (no deadlock)', async () => {
    const mirror = postgres(db.url, { max: 1, onnotice: () => {} });
    const other = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const [me] = await other<{ pid: number }[]>`select pg_backend_pid() as pid`;
      let upsert: Promise<unknown> = Promise.resolve();
      // the mirror of a universe sync, holding QBTC (it inserts assets in code order: QBTC, then ZQQ)
      await mirror.begin(async (tx) => {
        await tx`insert into market.assets (code) values ('QBTC')`;
        // the first upsertSymbol of ZQQQBTC (base ZQQ, quote QBTC) starts and waits for QBTC
        upsert = upsertSymbol(other, { symbol: 'ZQQQBTC', base: 'ZQQ', quote: 'QBTC' }).then(
          (r) => r.symbol,
          (e: unknown) => e,
        );
        for (;;) {
          const [w] = await tx<{ waiting: boolean }[]>`
            select wait_event_type = 'Lock' as waiting from pg_stat_activity where pid = ${me!.pid}`;
          if (w?.waiting) break;
        }
        await tx`insert into market.assets (code) values ('ZQQ') on conflict do nothing`; // the mirror goes on
      });
      expect(await upsert).toBe('ZQQQBTC');
    } finally {
      await mirror.end();
      await other.end();
    }
    await db.sql`delete from market.symbols where symbol = 'ZQQQBTC'`;
  });

  it('the table refuses NaN and Infinity as exchange filters, whoever writes', async () => {
    const before = await db.sql`select * from market.symbols order by symbol`;
    for (const bad of ['NaN', 'Infinity']) {
      await expect(
        db.sql`update market.symbols set price_tick = ${bad}::numeric where symbol = 'ETHBTC'`,
      ).rejects.toMatchObject({ code: '23514', constraint_name: 'symbols_filters_finite' });
      await expect(
        db.sql`select market.sp_upsert_symbol('ETHBTC', p_min_notional => ${bad}::numeric)`,
      ).rejects.toMatchObject({ code: '23514', constraint_name: 'symbols_filters_finite' });
    }
    const sdk = (await refusal(
      upsertSymbol(db.sql, { symbol: 'ETHBTC', qtyStep: 'NaN' }),
    )) as ValidationError;
    expect(sdk.issues).toEqual([
      { path: ['qtyStep'], message: 'expected a decimal string such as "12.50"' },
      { path: ['qtyStep'], message: 'must be positive' },
    ]);
    expect(await db.sql`select * from market.symbols order by symbol`).toEqual(before);
  });

  it('listSymbols filters by status, base and quote', async () => {
    await upsertSymbol(db.sql, { symbol: 'BTCUSDT', status: 'TRADING' });
    await upsertSymbol(db.sql, { symbol: 'ETHUSDT' });
    expect((await listSymbols(db.sql)).map((s) => s.symbol)).toEqual(['BTCUSDT', 'ETHBTC', 'ETHUSDT']);
    expect((await db.client.market.listSymbols({ quote: 'USDT' })).map((s) => s.symbol)).toEqual([
      'BTCUSDT',
      'ETHUSDT',
    ]);
    expect((await listSymbols(db.sql, { base: 'ETH', status: 'OFF' })).map((s) => s.symbol)).toEqual([
      'ETHUSDT',
    ]);
    expect(await listSymbols(db.sql, { status: 'TRADING', base: 'ETH' })).toEqual([]);
  });
});

describe('klines', () => {
  const count = async () => (await db.sql`select count(*)::int as n from market.klines`)[0]!.n as number;

  it('ingestKlineRow upserts one candle and returns it as stored', async () => {
    const row = await ingestKlineRow(db.sql, {
      symbol: 'ETHUSDT',
      window: '1h',
      openTime: '2024-01-01T00:00:00Z',
      closeTime: '2024-01-01T00:59:59.999Z',
      open: 2300.5,
      high: 2310,
      low: 2290.25,
      close: 2305,
      volume: '1234.5678',
      takerBuyBase: '600',
    });
    expect(row).toEqual({
      symbol: 'ETHUSDT',
      window: '1h',
      openTime: new Date('2024-01-01T00:00:00Z'),
      closeTime: new Date('2024-01-01T00:59:59.999Z'),
      open: 2300.5,
      high: 2310,
      low: 2290.25,
      close: 2305,
      volume: '1234.5678',
      quoteVolume: null,
      trades: null,
      takerBuyBase: '600',
      takerBuyQuote: null,
      source: null,
      ingestedAt: expect.any(Date),
    });
    const same = await db.client.market.ingestKlineRow({
      symbol: 'ETHUSDT',
      window: '1h',
      openTime: Date.parse('2024-01-01T00:00:00Z'),
      closeTime: new Date('2024-01-01T00:59:59.999Z'),
      open: 2300.5,
      high: 2310,
      low: 2290.25,
      close: 2305,
      volume: 1234.5678,
      takerBuyBase: '600',
    });
    expect(same).toEqual(row); // unchanged: not rewritten (same ingestedAt)
    const moved = await ingestKlineRow(db.sql, {
      ...candle(0, 'ETHUSDT'),
      window: '1h',
      closeTime: T0 + 3_600_000 - 1,
    });
    expect(moved.close).toBe(99.25);
  });

  it('ingestKlineRow refuses a broken candle (zod first, and the database when bypassed)', async () => {
    const before = await count();
    const high = (await refusal(ingestKlineRow(db.sql, { ...candle(1), high: 90 }))) as ValidationError;
    expect(high).toBeInstanceOf(ValidationError);
    expect(high.issues).toEqual([{ path: ['high'], message: 'high must be at least max(open, close)' }]);
    const time = (await refusal(
      ingestKlineRow(db.sql, { ...candle(1), closeTime: T0 + MINUTE }),
    )) as ValidationError;
    expect(time.issues).toEqual([{ path: ['closeTime'], message: 'closeTime must be after openTime' }]);
    await expect(
      db.sql`select market.sp_ingest_kline_row('BTCUSDT', '1m', now(), now() + interval '1 minute', 10, 8, 9, 11)`,
    ).rejects.toMatchObject({ code: '22023' });
    await expect(
      db.sql`insert into market.klines (symbol, window_label, open_time, close_time, open, high, low, close)
             values ('BTCUSDT', '1m', now(), now(), 10, 12, 9, 11)`,
    ).rejects.toMatchObject({ code: '23514', constraint_name: 'klines_close_after_open_check' });
    const window = (await refusal(ingestKlineRow(db.sql, { ...candle(1), window: '2w' }))) as ValidationError;
    expect(window.sqlstate).toBe('23503');
    expect(await count()).toBe(before);
  });

  it('ingestKlines writes 10 000 candles in one call, and a re-ingest changes only updated values', async () => {
    await db.sql`delete from market.klines`;
    const candles = Array.from({ length: 10_000 }, (_, i) => candle(i));
    expect(await ingestKlines(db.sql, candles)).toEqual({
      received: 10_000,
      distinct: 10_000,
      inserted: 10_000,
      updated: 0,
      unchanged: 0,
    });
    expect(await count()).toBe(10_000);
    const stamp = async () =>
      (await db.sql`select max(ingested_at) as at, sum(close)::float8 as closes from market.klines`)[0]!;
    const first = await stamp();

    expect(await db.client.market.ingestKlines(candles)).toEqual({
      received: 10_000,
      distinct: 10_000,
      inserted: 0,
      updated: 0,
      unchanged: 10_000,
    });
    expect(await stamp()).toEqual(first);

    const changed = candles.map((c, i) => (i % 1000 === 0 ? { ...c, close: c.open, volume: '999' } : c));
    expect(await ingestKlines(db.sql, changed)).toEqual({
      received: 10_000,
      distinct: 10_000,
      inserted: 0,
      updated: 10,
      unchanged: 9_990,
    });
    expect(await count()).toBe(10_000);
    expect(
      (await db.sql`select count(*)::int as n from market.klines where volume = 999 and close = open`)[0],
    ).toEqual({ n: 10 });
  });

  it('ingestKlines keeps the last of a repeated key and reads back through latestKlines', async () => {
    const a = candle(20_000);
    const b = { ...candle(20_000), close: a.open, volume: '7' };
    expect(await ingestKlines(db.sql, [a, candle(20_001), b])).toEqual({
      received: 3,
      distinct: 2,
      inserted: 2,
      updated: 0,
      unchanged: 0,
    });
    const latest = await latestKlines(db.sql, { symbol: 'BTCUSDT', window: '1m', limit: 2 });
    expect(latest.map((k) => [k.openTime.getTime(), k.close, k.volume])).toEqual([
      [T0 + 20_001 * MINUTE, candle(20_001).close, candle(20_001).volume],
      [T0 + 20_000 * MINUTE, a.open, '7'],
    ]);
    expect(latest[1]).toEqual({
      symbol: 'BTCUSDT',
      window: '1m',
      openTime: new Date(T0 + 20_000 * MINUTE),
      closeTime: new Date(T0 + 20_001 * MINUTE - 1),
      open: a.open,
      high: a.high,
      low: a.low,
      close: a.open,
      volume: '7',
      quoteVolume: a.quoteVolume,
      trades: a.trades,
      takerBuyBase: null,
      takerBuyQuote: null,
      source: 'test',
      ingestedAt: expect.any(Date),
    });
    expect(await db.client.market.latestKlines({ symbol: 'BTCUSDT', window: '1m' })).toHaveLength(100);
    expect(await latestKlines(db.sql, { symbol: 'BTCUSDT', window: '4h' })).toEqual([]);
  });

  it('a broken candle in a batch is a ValidationError and nothing of the batch is written', async () => {
    const before =
      await db.sql`select symbol, window_label, open_time, close, volume from market.klines order by 1, 2, 3`;
    const batch = Array.from({ length: 50 }, (_, i) => candle(30_000 + i));
    const highBelowLow = batch.map((c, i) => (i === 7 ? { ...c, high: 1, low: 2 } : c)); // high < low
    const e = (await refusal(ingestKlines(db.sql, highBelowLow))) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.issues).toEqual([{ path: [7, 'high'], message: 'high must be at least max(open, close)' }]);
    const badTime = batch.map((c, i) => (i === 49 ? { ...c, closeTime: c.openTime } : c));
    const t = (await refusal(ingestKlines(db.sql, badTime))) as ValidationError;
    expect(t.issues).toEqual([{ path: [49, 'closeTime'], message: 'closeTime must be after openTime' }]);
    const unknownWindow = batch.map((c, i) => (i === 3 ? { ...c, window: '2w' } : c));
    const w = (await refusal(ingestKlines(db.sql, unknownWindow))) as ValidationError;
    expect(w).toMatchObject({ sqlstate: '23503', constraint: 'klines_window_label_fkey' });
    expect(
      await db.sql`select symbol, window_label, open_time, close, volume from market.klines order by 1, 2, 3`,
    ).toEqual(before);
  });

  it('the table checks hold a set-based writer that bypasses the SDK', async () => {
    await expect(db.sql`
      insert into market.klines (symbol, window_label, open_time, close_time, open, high, low, close)
      select 'BTCUSDT', '1m', t, t + interval '1 minute', 10, case when t > '2030-01-01' then 5 else 12 end, 9, 11
      from generate_series(timestamptz '2030-01-01', timestamptz '2030-01-01 00:10', interval '1 minute') t
    `).rejects.toMatchObject({ code: '23514', constraint_name: 'klines_high_check' });
    expect(
      await db.sql`select count(*)::int as n from market.klines where open_time >= '2030-01-01'`,
    ).toEqual([{ n: 0 }]);
  });

  it('the table refuses NaN and Infinity volumes, whoever writes', async () => {
    const before = await count();
    for (const bad of ['NaN', 'Infinity']) {
      await expect(
        db.sql`insert into market.klines (symbol, window_label, open_time, close_time, open, high, low, close, volume)
               values ('BTCUSDT', '1m', '2031-01-01', '2031-01-01 00:01', 10, 12, 9, 11, ${bad}::numeric)`,
      ).rejects.toMatchObject({ code: '23514', constraint_name: 'klines_volumes_finite' });
      await expect(
        db.sql`select market.sp_ingest_kline_row('BTCUSDT', '1m', '2031-01-01', '2031-01-01 00:01', 10, 12, 9, 11,
                 p_taker_buy_quote => ${bad}::numeric)`,
      ).rejects.toMatchObject({ code: '23514', constraint_name: 'klines_volumes_finite' });
    }
    expect(await count()).toBe(before);
  });

  it('ingestKlines works on a fresh host pool that does not fetch array types', async () => {
    const raw = postgres(db.url, { fetch_types: false, max: 4, onnotice: () => {} });
    try {
      const batch = Array.from({ length: 40 }, (_, i) => ({
        ...candle(40_000 + i),
        source: i % 2 ? 'a"b\\c' : undefined,
      }));
      const parts = [batch.slice(0, 10), batch.slice(10, 20), batch.slice(20, 30), batch.slice(30)];
      const results = await Promise.all(parts.map((p) => ingestKlines(raw, p)));
      expect(results.map((r) => r.inserted)).toEqual([10, 10, 10, 10]);
      const rows = await db.sql`
        select source, count(*)::int as n from market.klines
        where open_time >= ${new Date(T0 + 40_000 * MINUTE)} and open_time < ${new Date(T0 + 40_040 * MINUTE)}
        group by source order by source nulls first`;
      expect(rows).toEqual([
        { source: null, n: 20 },
        { source: 'a"b\\c', n: 20 },
      ]);
    } finally {
      await raw.end();
    }
  });

  it('concurrent overlapping batches on separate connections all succeed (no deadlock)', async () => {
    await upsertSymbol(db.sql, { symbol: 'SOLUSDT' });
    const base = Array.from({ length: 2_000 }, (_, i) => candle(i, 'SOLUSDT'));
    const batches = [0, 1, 2, 3].map((k) =>
      (k % 2 === 0 ? base : [...base].reverse()).map((c) => ({ ...c, volume: `${k + 1}` })),
    );
    const results = await Promise.all(batches.map((b) => ingestKlines(db.sql, b)));
    expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(2_000);
    expect(results.every((r) => r.distinct === 2_000 && r.inserted + r.updated + r.unchanged === 2_000)).toBe(
      true,
    );
    const rows = await db.sql`
      select count(*)::int as n, count(distinct volume)::int as volumes from market.klines where symbol = 'SOLUSDT'`;
    expect(rows).toEqual([{ n: 2_000, volumes: 1 }]);
  });
});

describe('order book', () => {
  const ts = new Date('2024-02-01T12:00:00Z');

  it('ingestOrderbook stores a snapshot and orderbookAt reads it back, best levels first', async () => {
    expect(
      await ingestOrderbook(db.sql, {
        symbol: 'BTCUSDT',
        ts,
        bids: [
          ['42000.5', '1.25'],
          [41999, 3],
          ['42000.5', '2'], // the same price again: the last wins
        ],
        asks: [
          [42002, '0.5'],
          ['42001', '0.75'],
        ],
      }),
    ).toEqual({ symbol: 'BTCUSDT', ts, levels: 4 });
    const book = {
      symbol: 'BTCUSDT',
      ts,
      bids: [
        { price: 42000.5, qty: '2' },
        { price: 41999, qty: '3' },
      ],
      asks: [
        { price: 42001, qty: '0.75' },
        { price: 42002, qty: '0.5' },
      ],
    };
    expect(await orderbookAt(db.sql, { symbol: 'BTCUSDT', ts })).toEqual(book);
    // a later instant reads the latest snapshot before it; an earlier one has none
    expect(await db.client.market.orderbookAt({ symbol: 'BTCUSDT', ts: ts.getTime() + 5_000 })).toEqual(book);
    expect(await orderbookAt(db.sql, { symbol: 'BTCUSDT', ts: ts.getTime() - 1 })).toBeNull();
  });

  it('re-ingesting the same instant replaces the snapshot; a later one is read after it', async () => {
    expect(
      await db.client.market.ingestOrderbook({
        symbol: 'BTCUSDT',
        ts,
        bids: [[42000, 1]],
        asks: [[42003, '4']],
      }),
    ).toEqual({ symbol: 'BTCUSDT', ts, levels: 2 });
    expect(await orderbookAt(db.sql, { symbol: 'BTCUSDT', ts })).toEqual({
      symbol: 'BTCUSDT',
      ts,
      bids: [{ price: 42000, qty: '1' }],
      asks: [{ price: 42003, qty: '4' }],
    });
    const later = new Date(ts.getTime() + 1000);
    await ingestOrderbook(db.sql, { symbol: 'BTCUSDT', ts: later, bids: [], asks: [['42010', '1']] });
    expect(await orderbookAt(db.sql, { symbol: 'BTCUSDT', ts: later.getTime() + 1 })).toEqual({
      symbol: 'BTCUSDT',
      ts: later,
      bids: [],
      asks: [{ price: 42010, qty: '1' }],
    });
  });

  it('two writers of the same snapshot: the second replaces the first whole, never a blend', async () => {
    const at = new Date('2024-03-01T00:00:00Z');
    await upsertSymbol(db.sql, { symbol: 'BTCUSDT' });
    const first = postgres(db.url, { max: 1, onnotice: () => {} });
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    try {
      let written: () => void = () => {};
      const inside = new Promise<void>((r) => {
        written = r;
      });
      // A writes its snapshot and keeps its transaction open
      const a = first.begin(async (tx) => {
        await ingestOrderbook(tx, {
          symbol: 'BTCUSDT',
          ts: at,
          bids: [
            [100, 1],
            [99, 1],
          ],
          asks: [[101, 1]],
        });
        written();
        await held;
      });
      await Promise.race([inside, a]);
      // B writes the same instant on another connection: it must wait for A (or, wrongly, finish at once)
      const b = ingestOrderbook(db.sql, { symbol: 'BTCUSDT', ts: at, bids: [[98, 2]], asks: [[102, 2]] });
      let settled = false;
      const bSettled = b.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      const bWaits = (async () => {
        while (!settled) {
          const [w] = await db.sql`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory'`;
          if (w!.n > 0) return;
        }
      })();
      await Promise.race([bSettled, bWaits]);
      expect(settled).toBe(false); // B is waiting for A's snapshot to commit
      release();
      await a;
      expect(await b).toEqual({ symbol: 'BTCUSDT', ts: at, levels: 2 });
    } finally {
      release();
      await first.end();
    }
    expect(await orderbookAt(db.sql, { symbol: 'BTCUSDT', ts: at })).toEqual({
      symbol: 'BTCUSDT',
      ts: at,
      bids: [{ price: 98, qty: '2' }],
      asks: [{ price: 102, qty: '2' }],
    });
  });

  it('the table refuses a NaN or infinite quantity, whoever writes', async () => {
    const before = await db.sql`select * from market.orderbook_levels order by 1, 2, 3, 4`;
    for (const bad of ['NaN', 'Infinity']) {
      await expect(
        db.sql`insert into market.orderbook_levels (symbol, ts, side, price, qty)
               values ('BTCUSDT', now(), 'bid', 1, ${bad}::numeric)`,
      ).rejects.toMatchObject({ code: '23514', constraint_name: 'orderbook_levels_qty_finite' });
    }
    expect(await db.sql`select * from market.orderbook_levels order by 1, 2, 3, 4`).toEqual(before);
  });

  it('refuses a bad level or an unknown symbol, and writes nothing', async () => {
    const before = await db.sql`select * from market.orderbook_levels order by 1, 2, 3, 4`;
    const neg = (await refusal(
      ingestOrderbook(db.sql, { symbol: 'BTCUSDT', ts: 0, bids: [['-1', '1']], asks: [] }),
    )) as ValidationError;
    expect(neg).toBeInstanceOf(ValidationError);
    expect(neg.issues).toEqual([
      { path: ['bids', 0, 0], message: 'price must be a positive number or decimal string' },
    ]);
    const ghost = (await refusal(
      ingestOrderbook(db.sql, { symbol: 'DOGEUSDT', ts: 0, bids: [[1, 1]], asks: [] }),
    )) as ValidationError;
    expect(ghost).toMatchObject({ sqlstate: '23503', constraint: 'orderbook_levels_symbol_fkey' });
    await expect(
      db.sql`select market.sp_ingest_orderbook_levels('BTCUSDT', now(), '[["abc", "1"]]', '[]')`,
    ).rejects.toMatchObject({
      code: '22023',
      message: 'order-book level bids[0] is not a [price > 0, qty >= 0] pair',
    });
    expect(await db.sql`select * from market.orderbook_levels order by 1, 2, 3, 4`).toEqual(before);
  });
});

describe('pack invariants', () => {
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
});

// Re-applying every pack (this one included) is tested once for all packs in tests/ddl.test.ts.
