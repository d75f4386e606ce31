import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../src/core/errors.js';
import {
  captureKlines,
  captureTrades,
  cursor,
  finishLoad,
  listCursors,
  listKlinesRaw,
  listTradesRaw,
  loadLogs,
  promoteKlines,
  type RestKline,
  type RestTrade,
  runLoad,
  startLoad,
  type WsKlineEvent,
} from '../src/ingest/index.js';
import { latestKlines } from '../src/market/index.js';
import { syncCoinUniverse } from '../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const T0 = Date.parse('2025-01-01T00:00:00Z');
const MIN = 60_000;

/** A REST kline of minute m (prices with Binance's 8 decimals). */
const rest = (m: number, close = '101.50000000'): RestKline => [
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

/** A websocket kline event of minute m. */
const event = (m: number, closed: boolean, close = '101.00000000', symbol = 'ETHUSDT'): WsKlineEvent => ({
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

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

const rawCount = async () => {
  const [r] = await db.sql<{ k: number; t: number; c: number }[]>`
    select (select count(*)::int from ingest.klines_raw) as k, (select count(*)::int from ingest.trades_raw) as t,
           (select count(*)::int from ingest.cursors) as c`;
  return r!;
};

describe('captureKlines', () => {
  it('stores Binance REST klines exactly as received, once, however often they are captured', async () => {
    const batch = [rest(0), rest(1), rest(2)];
    expect(await captureKlines(db.sql, 'binance', 'BTCUSDT', '1m', batch)).toEqual({
      seen: 3,
      inserted: 3,
      updated: 0,
      lastTime: new Date(T0 + 2 * MIN),
    });
    expect(await db.client.ingest.captureKlines('binance', 'BTCUSDT', '1m', batch)).toEqual({
      seen: 3,
      inserted: 0,
      updated: 0,
      lastTime: new Date(T0 + 2 * MIN),
    });
    const raw = await listKlinesRaw(db.sql, { source: 'binance', symbol: 'BTCUSDT', interval: '1m' });
    expect(raw.map((r) => [r.openTime, r.payload, r.closed])).toEqual([
      [new Date(T0), rest(0), true],
      [new Date(T0 + MIN), rest(1), true],
      [new Date(T0 + 2 * MIN), rest(2), true],
    ]);
  });

  it('stores websocket events as received; a final kline replaces an open one, never the reverse', async () => {
    const open = event(0, false, '100.50000000');
    expect(await captureKlines(db.sql, 'binance', 'ETHUSDT', '1m', [open, open])).toMatchObject({
      seen: 2,
      inserted: 1,
      updated: 0,
    });
    const final = event(0, true, '101.00000000');
    expect(await captureKlines(db.sql, 'binance', 'ETHUSDT', '1m', [final])).toMatchObject({
      inserted: 0,
      updated: 1,
    });
    expect(await captureKlines(db.sql, 'binance', 'ETHUSDT', '1m', [open])).toMatchObject({
      inserted: 0,
      updated: 0,
    });
    const raw = await listKlinesRaw(db.sql, { source: 'binance', symbol: 'ETHUSDT', interval: '1m' });
    expect(raw).toEqual([
      {
        source: 'binance',
        symbol: 'ETHUSDT',
        interval: '1m',
        openTime: new Date(T0),
        payload: final, // every field as sent, `f` and `L` included
        closed: true,
        receivedAt: expect.any(Date),
      },
    ]);
  });

  it('a REST kline captured open and again, unchanged, after its close becomes final: a late open event cannot replace it', async () => {
    const k = rest(30);
    await captureKlines(db.sql, 'binance', 'XTZUSDT', '1m', [k]);
    // as stored when it was captured before its close time
    await db.sql`update ingest.klines_raw set closed = false where symbol = 'XTZUSDT' and open_time = ${new Date(k[0])}`;
    await captureKlines(db.sql, 'binance', 'XTZUSDT', '1m', [k]); // the same payload, now after its close
    const late = event(30, false, '100.50000000', 'XTZUSDT');
    expect(await captureKlines(db.sql, 'binance', 'XTZUSDT', '1m', [late])).toMatchObject({
      inserted: 0,
      updated: 0,
    });
    const raw = await listKlinesRaw(db.sql, { source: 'binance', symbol: 'XTZUSDT', interval: '1m' });
    expect(raw.map((r) => [r.payload, r.closed])).toEqual([[k, true]]);
  });

  it('the cursor only moves forward: an older batch is stored but does not move it back', async () => {
    await captureKlines(db.sql, 'binance', 'SOLUSDT', '1m', [rest(10), rest(11)]);
    const before = await cursor(db.sql, 'binance', 'klines', 'SOLUSDT', '1m');
    expect(before).toEqual({
      source: 'binance',
      stream: 'klines',
      symbol: 'SOLUSDT',
      interval: '1m',
      lastTime: new Date(T0 + 11 * MIN),
      lastId: null,
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    expect(await captureKlines(db.sql, 'binance', 'SOLUSDT', '1m', [rest(3), rest(4)])).toEqual({
      seen: 2,
      inserted: 2,
      updated: 0,
      lastTime: new Date(T0 + 11 * MIN),
    });
    expect(await cursor(db.sql, 'binance', 'klines', 'SOLUSDT', '1m')).toEqual(before);
    // another writer cannot move it back either
    await db.sql`update ingest.cursors set last_time = ${new Date(T0)} where symbol = 'SOLUSDT'`;
    expect((await cursor(db.sql, 'binance', 'klines', 'SOLUSDT', '1m'))?.lastTime).toEqual(
      new Date(T0 + 11 * MIN),
    );
    expect(await captureKlines(db.sql, 'binance', 'SOLUSDT', '1m', [rest(12)])).toMatchObject({
      lastTime: new Date(T0 + 12 * MIN),
    });
  });

  it('a batch that fails validation leaves neither rows nor a moved cursor', async () => {
    await captureKlines(db.sql, 'binance', 'ADAUSDT', '1m', [rest(0)]);
    const counts = await rawCount();
    const cursorBefore = await cursor(db.sql, 'binance', 'klines', 'ADAUSDT', '1m');
    const badOhlc = rest(3);
    badOhlc[3] = '103.00000000'; // low above high
    const error = await caught(
      captureKlines(db.sql, 'binance', 'ADAUSDT', '1m', [
        rest(1),
        badOhlc,
        [T0, 'x'] as unknown as RestKline,
        event(4, true, '101.00000000', 'BTCUSDT'),
        { ...event(5, true, '101.00000000', 'ADAUSDT'), k: { ...event(5, true).k, s: 'ADAUSDT', i: '5m' } },
      ]),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: ['payloads', 1], message: 'expected high ≥ max(open, close) ≥ min(open, close) ≥ low' },
      { path: ['payloads', 2], message: 'Too small: expected array to have >=12 items' },
      { path: ['payloads', 3], message: 'expected an event of ADAUSDT' },
      { path: ['payloads', 4], message: 'expected an event of interval 1m' },
    ]);
    expect(await rawCount()).toEqual(counts);
    expect(await cursor(db.sql, 'binance', 'klines', 'ADAUSDT', '1m')).toEqual(cursorBefore);
  });

  it('an extra field that is no JSON value (BigInt, NaN) is a ValidationError, and nothing is written', async () => {
    const counts = await rawCount();
    const withBigInt = { ...event(6, true, '101.00000000', 'ADAUSDT'), X: 1n } as unknown as WsKlineEvent;
    const withNaN = event(7, true, '101.00000000', 'ADAUSDT');
    (withNaN.k as Record<string, unknown>).z = Number.NaN;
    const error = await caught(captureKlines(db.sql, 'binance', 'ADAUSDT', '1m', [withBigInt, withNaN]));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toEqual([
      ['payloads', 0, 'X'],
      ['payloads', 1, 'k', 'z'],
    ]);
    const bigTrade = { id: 300, price: '1.0', qty: '1.0', time: T0, isBuyerMaker: true, extra: 2n };
    const trade = await caught(
      captureTrades(db.sql, 'binance', 'BTCUSDT', [bigTrade as unknown as RestTrade]),
    );
    expect(trade).toBeInstanceOf(ValidationError);
    expect((trade as ValidationError).issues.map((i) => i.path)).toEqual([['payloads', 0, 'extra']]);
    expect(await rawCount()).toEqual(counts);
  });

  it('sp_capture_klines refuses a bad batch too when the SDK is bypassed, and writes nothing', async () => {
    const counts = await rawCount();
    const bad = rest(9);
    bad[2] = '1.00000000'; // high below open
    await expect(
      db.sql`select * from ingest.sp_capture_klines('binance', 'ADAUSDT', '1m', ${JSON.stringify([rest(8), bad])}::text::jsonb)`,
    ).rejects.toMatchObject({
      code: '22023',
      message: 'kline payload 1 of the batch is not a valid ADAUSDT 1m kline',
    });
    await expect(
      db.sql`select * from ingest.sp_capture_klines('binance', 'ADAUSDT', '1m', '[{"e": "trade"}]')`,
    ).rejects.toMatchObject({ code: '22023' });
    expect(await rawCount()).toEqual(counts);
  });

  it('sp_capture_klines refuses volumes and counts market.klines would refuse (NaN, Infinity, negative)', async () => {
    // stored, such a kline would make every later promotion of its stream fail
    const counts = await rawCount();
    const cases: [number, string | number][] = [
      [5, 'NaN'],
      [5, 'Infinity'],
      [7, '-1.5'],
      [7, 'NaN'],
      [8, -3],
      [9, '-Infinity'],
      [10, 'Infinity'],
    ];
    for (const [field, value] of cases) {
      const bad: unknown[] = [...rest(20)];
      bad[field] = value;
      await expect(
        db.sql`select * from ingest.sp_capture_klines('binance', 'FILUSDT', '1m', ${JSON.stringify([bad])}::text::jsonb)`,
      ).rejects.toMatchObject({
        code: '22023',
        message: 'kline payload 0 of the batch is not a valid FILUSDT 1m kline',
      });
    }
    expect(await rawCount()).toEqual(counts);
  });

  it('rows and cursor are one write: when the cursor cannot be written, no row is stored either', async () => {
    // a constraint the function does not know refuses this symbol's cursor, after its rows were inserted
    await db.sql`alter table ingest.cursors add constraint test_no_fail check (symbol <> 'FAILUSDT')`;
    try {
      const counts = await rawCount();
      const error = await caught(captureKlines(db.sql, 'binance', 'FAILUSDT', '1m', [rest(0), rest(1)]));
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ sqlstate: '23514', constraint: 'test_no_fail' });
      const trades = await caught(
        captureTrades(db.sql, 'binance', 'FAILUSDT', [
          { id: 1, price: '1.5', qty: '2', time: T0, isBuyerMaker: true },
        ]),
      );
      expect(trades).toMatchObject({ sqlstate: '23514', constraint: 'test_no_fail' });
      expect(await rawCount()).toEqual(counts);
    } finally {
      await db.sql`alter table ingest.cursors drop constraint test_no_fail`;
    }
  });

  it('an empty batch (nothing new from the exchange) stores nothing and leaves the cursor as it is', async () => {
    await captureKlines(db.sql, 'binance', 'BNBUSDT', '1m', [rest(0), rest(1)]);
    const before = await cursor(db.sql, 'binance', 'klines', 'BNBUSDT', '1m');
    const counts = await rawCount();
    expect(await captureKlines(db.sql, 'binance', 'BNBUSDT', '1m', [])).toEqual({
      seen: 0,
      inserted: 0,
      updated: 0,
      lastTime: new Date(T0 + MIN),
    });
    expect(await captureKlines(db.sql, 'binance', 'BNBUSDT', '5m', [])).toEqual({
      seen: 0,
      inserted: 0,
      updated: 0,
      lastTime: null,
    });
    expect(await captureTrades(db.sql, 'binance', 'BNBUSDT', [])).toEqual({
      seen: 0,
      inserted: 0,
      lastId: null,
      lastTime: null,
    });
    expect(await cursor(db.sql, 'binance', 'klines', 'BNBUSDT', '1m')).toEqual(before);
    expect(await rawCount()).toEqual(counts);
  });

  it('concurrent overlapping captures store every kline once and leave the cursor at the latest', async () => {
    const batches = [0, 1, 2, 3].map((w) => Array.from({ length: 60 }, (_, m) => rest(w * 30 + m)));
    const results = await Promise.all(
      batches.map((b) => captureKlines(db.sql, 'binance', 'XRPUSDT', '1m', b)),
    );
    expect(results.reduce((a, r) => a + r.inserted, 0)).toBe(150);
    const raw = await listKlinesRaw(db.sql, { source: 'binance', symbol: 'XRPUSDT', interval: '1m' });
    expect(raw.map((r) => r.openTime.getTime())).toEqual(Array.from({ length: 150 }, (_, m) => T0 + m * MIN));
    expect((await cursor(db.sql, 'binance', 'klines', 'XRPUSDT', '1m'))?.lastTime).toEqual(
      new Date(T0 + 149 * MIN),
    );
  });
});

describe('captureTrades', () => {
  const restTrade = (id: number) => ({
    id,
    price: '16500.01000000',
    qty: '0.00500000',
    quoteQty: '82.50005000',
    time: T0 + id,
    isBuyerMaker: id % 2 === 0,
    isBestMatch: true,
  });
  const wsTrade = (id: number) => ({
    e: 'trade',
    E: T0 + id + 1,
    s: 'BTCUSDT',
    t: id,
    p: '16500.02000000',
    q: '0.10000000',
    T: T0 + id,
    m: false,
    M: true,
  });

  it('stores trades once, exactly as received; the cursor keeps the greatest id and time', async () => {
    const batch = [restTrade(100), wsTrade(101), restTrade(102)];
    expect(await captureTrades(db.sql, 'binance', 'BTCUSDT', batch)).toEqual({
      seen: 3,
      inserted: 3,
      lastId: 102,
      lastTime: new Date(T0 + 102),
    });
    expect(await db.client.ingest.captureTrades('binance', 'BTCUSDT', [...batch, restTrade(50)])).toEqual({
      seen: 4,
      inserted: 1,
      lastId: 102,
      lastTime: new Date(T0 + 102),
    });
    const raw = await listTradesRaw(db.sql, { source: 'binance', symbol: 'BTCUSDT' });
    expect(raw.map((r) => [r.tradeId, r.tradeTime, r.payload])).toEqual([
      [50, new Date(T0 + 50), restTrade(50)],
      [100, new Date(T0 + 100), restTrade(100)],
      [101, new Date(T0 + 101), wsTrade(101)],
      [102, new Date(T0 + 102), restTrade(102)],
    ]);
    expect(await cursor(db.sql, 'binance', 'trades', 'BTCUSDT')).toMatchObject({
      interval: null,
      lastId: 102,
      lastTime: new Date(T0 + 102),
    });
  });

  it('refuses a malformed trade or one of another symbol, and writes nothing', async () => {
    const counts = await rawCount();
    const error = await caught(
      captureTrades(db.sql, 'binance', 'BTCUSDT', [
        restTrade(200),
        { ...wsTrade(201), s: 'ETHUSDT' },
        { id: -1 },
      ]),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toEqual([
      ['payloads', 1],
      ['payloads', 2, 'id'],
      ['payloads', 2, 'price'],
      ['payloads', 2, 'qty'],
      ['payloads', 2, 'time'],
      ['payloads', 2, 'isBuyerMaker'],
    ]);
    expect(await rawCount()).toEqual(counts);
  });
});

describe('load logs', () => {
  it('runLoad records ok with the counts its callback added', async () => {
    const out = await db.client.ingest.runLoad(
      { source: 'binance', stream: 'klines', symbol: 'DOTUSDT' },
      async (ctx) => {
        ctx.add(await captureKlines(db.sql, 'binance', 'DOTUSDT', '1m', [rest(0), rest(1)]));
        ctx.add(await captureKlines(db.sql, 'binance', 'DOTUSDT', '1m', [rest(1), rest(2)]));
        return 'done' as const;
      },
    );
    const typed: 'done' = out; // the client keeps runLoad's type parameter
    expect(typed).toBe('done');
    const [log] = await loadLogs(db.sql, { symbol: 'DOTUSDT' });
    expect(log).toEqual({
      id: expect.any(Number),
      source: 'binance',
      stream: 'klines',
      symbol: 'DOTUSDT',
      startedAt: expect.any(Date),
      finishedAt: expect.any(Date),
      rowsSeen: 4,
      rowsInserted: 3,
      status: 'ok',
      error: null,
    });
    expect(log!.finishedAt!.getTime()).toBeGreaterThanOrEqual(log!.startedAt.getTime());
  });

  it('runLoad records failed with the error text and rethrows the error', async () => {
    const boom = new Error('exchange timed out after 3 retries');
    const error = await caught(
      runLoad(db.sql, { source: 'binance', stream: 'trades', symbol: 'DOTUSDT' }, async (ctx) => {
        ctx.add({ seen: 7 });
        throw boom;
      }),
    );
    expect(error).toBe(boom);
    expect(await loadLogs(db.sql, { symbol: 'DOTUSDT', stream: 'trades' })).toEqual([
      {
        id: expect.any(Number),
        source: 'binance',
        stream: 'trades',
        symbol: 'DOTUSDT',
        startedAt: expect.any(Date),
        finishedAt: expect.any(Date),
        rowsSeen: 7,
        rowsInserted: 0,
        status: 'failed',
        error: 'Error: exchange timed out after 3 retries',
      },
    ]);
    expect((await loadLogs(db.sql, { status: 'failed' })).map((l) => l.symbol)).toEqual(['DOTUSDT']);
  });

  it('runLoad loses neither error when the failed log cannot be written (an aborted transaction)', async () => {
    const before = await loadLogs(db.sql, { symbol: 'UNIUSDT' });
    const error = await caught(
      db.sql.begin((tx) =>
        runLoad(tx, { source: 'binance', stream: 'klines', symbol: 'UNIUSDT' }, async () => {
          await tx`select 1 / 0`;
        }),
      ),
    );
    expect(error).toBeInstanceOf(AggregateError);
    const [first, second] = (error as AggregateError).errors;
    expect(first).toMatchObject({ code: '22012' }); // the callback's division by zero
    expect(second).toMatchObject({ code: '25P02' }); // the log, in the aborted transaction
    expect(await loadLogs(db.sql, { symbol: 'UNIUSDT' })).toEqual(before); // rolled back with it
  });

  it('a load finishes once; an unknown load is not found', async () => {
    const load = await startLoad(db.sql, { source: 'binance', stream: 'klines' });
    expect(load).toMatchObject({ status: 'running', finishedAt: null, symbol: null, rowsSeen: 0 });
    expect(
      await finishLoad(db.sql, { id: load.id, status: 'ok', rowsSeen: 1, rowsInserted: 1 }),
    ).toMatchObject({
      status: 'ok',
      rowsSeen: 1,
    });
    const again = await caught(finishLoad(db.sql, { id: load.id, status: 'failed', error: 'late' }));
    expect(again).toBeInstanceOf(ValidationError);
    expect((again as ValidationError).issues).toEqual([
      { path: [], message: `load ${load.id} is already finished` },
    ]);
    expect(await caught(finishLoad(db.sql, { id: 987654, status: 'ok' }))).toBeInstanceOf(NotFoundError);
    const bad = await caught(finishLoad(db.sql, { id: load.id, status: 'ok', error: 'no' }));
    expect((bad as ValidationError).issues).toEqual([
      { path: ['error'], message: 'only a failed load has an error' },
    ]);
  });
});

describe('promoteKlines', () => {
  it('fills market.klines with the same values, normalized, and rewrites nothing on a second run', async () => {
    const batch = [
      rest(0, '101.50000000'),
      rest(1, '100.12345678'),
      event(2, true, '102.00000000', 'LINKUSDT'),
    ];
    await captureKlines(db.sql, 'binance', 'LINKUSDT', '1m', batch);
    expect(
      await db.client.ingest.promoteKlines({ source: 'binance', symbol: 'LINKUSDT', interval: '1m' }),
    ).toEqual({
      promoted: 3,
    });
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
    expect(await promoteKlines(db.sql, { source: 'binance', symbol: 'LINKUSDT', interval: '1m' })).toEqual({
      promoted: 0,
    });
    // a corrected candle is captured and promoted again; a range limits the promotion
    await captureKlines(db.sql, 'binance', 'LINKUSDT', '1m', [rest(1, '100.20000000')]);
    expect(
      await promoteKlines(db.sql, {
        source: 'binance',
        symbol: 'LINKUSDT',
        interval: '1m',
        from: T0 + MIN,
        to: T0 + MIN,
      }),
    ).toEqual({ promoted: 1 });
    expect((await latestKlines(db.sql, { symbol: 'LINKUSDT', window: '1m' })).map((k) => k.close)).toEqual([
      102, 100.2, 101.5,
    ]);
  });

  it('creates a missing window, and refuses an interval settings.windows cannot hold', async () => {
    await captureKlines(db.sql, 'binance', 'LINKUSDT', '2h', [
      [T0, '1.0', '2.0', '0.5', '1.5', '10', T0 + 7_200_000 - 1, '15', 3, '5', '7.5', '0'],
    ]);
    expect(await promoteKlines(db.sql, { source: 'binance', symbol: 'LINKUSDT', interval: '2h' })).toEqual({
      promoted: 1,
    });
    await captureKlines(db.sql, 'binance', 'LINKUSDT', '1w', [
      [T0, '1.0', '2.0', '0.5', '1.5', '10', T0 + 7 * 86_400_000 - 1, '15', 3, '5', '7.5', '0'],
    ]);
    const error = await caught(
      promoteKlines(db.sql, { source: 'binance', symbol: 'LINKUSDT', interval: '1w' }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(await latestKlines(db.sql, { symbol: 'LINKUSDT', window: '2h' })).toHaveLength(1);
  });
});

describe('promoteKlines, edges', () => {
  it('an interval whose span another window label holds is a ValidationError that says so, not a conflict', async () => {
    await db.sql`insert into settings.windows (label, amount, unit) values ('six_hours', 6, 'hour')`;
    await captureKlines(db.sql, 'binance', 'LINKUSDT', '6h', [
      [T0, '1.0', '2.0', '0.5', '1.5', '10', T0 + 21_600_000 - 1, '15', 3, '5', '7.5', '0'],
    ]);
    const error = await caught(
      promoteKlines(db.sql, { source: 'binance', symbol: 'LINKUSDT', interval: '6h' }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain('six_hours');
    expect(await latestKlines(db.sql, { symbol: 'LINKUSDT', window: 'six_hours' })).toEqual([]);
  });
});

describe('cursor seeding', () => {
  it('enabling universe symbols seeds their cursors (binance klines 1m and trades), once', async () => {
    await syncCoinUniverse(db.sql, { symbols: ['AVAXUSDT', 'ATOMUSDT'], autoDisable: false });
    const seeded = await listCursors(db.sql, { symbol: 'AVAXUSDT' });
    expect(seeded.map((c) => [c.source, c.stream, c.symbol, c.interval, c.lastTime, c.lastId])).toEqual([
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

    await captureKlines(db.sql, 'binance', 'AVAXUSDT', '1m', [rest(5)]);
    await db.sql`update settings.coin_universe set enabled = false where symbol = 'AVAXUSDT'`;
    await db.sql`update settings.coin_universe set enabled = true where symbol = 'AVAXUSDT'`;
    expect((await cursor(db.sql, 'binance', 'klines', 'AVAXUSDT', '1m'))?.lastTime).toEqual(
      new Date(T0 + 5 * MIN),
    );
  });
});

// Re-applying every pack (this one included) is tested once for all packs in tests/ddl.test.ts.
