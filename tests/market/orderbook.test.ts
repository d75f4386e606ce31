import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { ingestOrderbook, orderbookAt, upsertSymbol } from '../../src/market/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';
import { waitUntil } from './wait.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const ts = new Date('2024-02-01T12:00:00Z');
const levels = () => db.sql`select * from market.orderbook_levels order by 1, 2, 3, 4`;

it('ingestOrderbook stores a snapshot and orderbookAt reads it back, best levels first', async () => {
  await upsertSymbol(db.sql, { symbol: 'BTCUSDT' });
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
  await upsertSymbol(db.sql, { symbol: 'ETHUSDT' });
  await ingestOrderbook(db.sql, { symbol: 'ETHUSDT', ts, bids: [[1999, 5]], asks: [[2001, 5]] });
  expect(
    await db.client.market.ingestOrderbook({ symbol: 'ETHUSDT', ts, bids: [[2000, 1]], asks: [[2003, '4']] }),
  ).toEqual({ symbol: 'ETHUSDT', ts, levels: 2 });
  expect(await orderbookAt(db.sql, { symbol: 'ETHUSDT', ts })).toEqual({
    symbol: 'ETHUSDT',
    ts,
    bids: [{ price: 2000, qty: '1' }],
    asks: [{ price: 2003, qty: '4' }],
  });
  const later = new Date(ts.getTime() + 1000);
  await ingestOrderbook(db.sql, { symbol: 'ETHUSDT', ts: later, bids: [], asks: [['2010', '1']] });
  expect(await orderbookAt(db.sql, { symbol: 'ETHUSDT', ts: later.getTime() + 1 })).toEqual({
    symbol: 'ETHUSDT',
    ts: later,
    bids: [],
    asks: [{ price: 2010, qty: '1' }],
  });
});

it('reads the snapshot time exactly whatever the session TimeZone, at year 0050 too', async () => {
  await upsertSymbol(db.sql, { symbol: 'OLDBTC' });
  const at = new Date('0050-06-01T00:00:00Z');
  await ingestOrderbook(db.sql, { symbol: 'OLDBTC', ts: at, bids: [[1, 1]], asks: [] });
  for (const zone of ['Europe/Amsterdam', 'Asia/Kolkata', 'America/New_York']) {
    const local = postgres(db.url, { max: 1, onnotice: () => {}, connection: { TimeZone: zone } });
    try {
      const book = await orderbookAt(local, { symbol: 'OLDBTC', ts: '0050-06-01T00:00:00.001Z' });
      expect([zone, book?.ts.toISOString()]).toEqual([zone, '0050-06-01T00:00:00.000Z']);
    } finally {
      await local.end();
    }
  }
});

it('two writers of the same snapshot: the second replaces the first whole, never a blend', async () => {
  const at = new Date('2024-03-01T00:00:00Z');
  await upsertSymbol(db.sql, { symbol: 'BLENDUSDT' });
  const first = postgres(db.url, { max: 1, onnotice: () => {} });
  const second = postgres(db.url, { max: 1, onnotice: () => {} });
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  try {
    const [b] = await second<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const pid = b!.pid;
    let written: () => void = () => {};
    const inside = new Promise<void>((r) => {
      written = r;
    });
    // A writes its snapshot and keeps its transaction open
    const a = first.begin(async (tx) => {
      await ingestOrderbook(tx, {
        symbol: 'BLENDUSDT',
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
    // B writes the same instant on its own backend: it must wait for A (or, wrongly, finish at once)
    let settled = false;
    const bDone = ingestOrderbook(second, { symbol: 'BLENDUSDT', ts: at, bids: [[98, 2]], asks: [[102, 2]] });
    const bSettled = bDone.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await Promise.race([
      bSettled,
      waitUntil(`backend ${pid} (writer B) waits for the snapshot's advisory lock`, async () => {
        const [w] = await db.sql<{ waiting: boolean }[]>`
          select wait_event_type = 'Lock' and wait_event = 'advisory' as waiting
          from pg_stat_activity where pid = ${pid}`;
        return w?.waiting === true;
      }),
    ]);
    expect(settled).toBe(false); // B is waiting for A's snapshot to commit
    release();
    await a;
    expect(await bDone).toEqual({ symbol: 'BLENDUSDT', ts: at, levels: 2 });
  } finally {
    release();
    await first.end();
    await second.end();
  }
  expect(await orderbookAt(db.sql, { symbol: 'BLENDUSDT', ts: at })).toEqual({
    symbol: 'BLENDUSDT',
    ts: at,
    bids: [{ price: 98, qty: '2' }],
    asks: [{ price: 102, qty: '2' }],
  });
});

it('the table refuses a NaN or infinite quantity, whoever writes', async () => {
  await upsertSymbol(db.sql, { symbol: 'BTCUSDT' });
  const before = await levels();
  for (const bad of ['NaN', 'Infinity']) {
    await expect(
      db.sql`insert into market.orderbook_levels (symbol, ts, side, price, qty)
             values ('BTCUSDT', now(), 'bid', 1, ${bad}::numeric)`,
    ).rejects.toMatchObject({ code: '23514', constraint_name: 'orderbook_levels_qty_finite' });
  }
  expect(await levels()).toEqual(before);
});

it('refuses a bad level (huge, out of range, malformed) or an unknown symbol, without quoting values; writes nothing', async () => {
  await upsertSymbol(db.sql, { symbol: 'BTCUSDT' });
  const before = await levels();
  const neg = (await refusal(
    ingestOrderbook(db.sql, { symbol: 'BTCUSDT', ts: 0, bids: [['-1', '1']], asks: [] }),
  )) as ValidationError;
  expect(neg).toBeInstanceOf(ValidationError);
  expect(neg.issues).toEqual([
    { path: ['bids', 0, 0], message: 'price must be a positive number or decimal string' },
  ]);
  const huge = `1${'0'.repeat(400)}`;
  for (const price of [huge, '1e999', '1e-320', 5e-324]) {
    const e = (await refusal(
      ingestOrderbook(db.sql, { symbol: 'BTCUSDT', ts: 0, bids: [[price, '1']], asks: [] }),
    )) as ValidationError;
    expect([price, e.issues]).toEqual([
      price,
      [{ path: ['bids', 0, 0], message: 'price must be a positive number or decimal string' }],
    ]);
  }
  const ghost = (await refusal(
    ingestOrderbook(db.sql, { symbol: 'DOGEUSDT', ts: 0, bids: [[1, 1]], asks: [] }),
  )) as ValidationError;
  expect(ghost).toMatchObject({ sqlstate: '23503', constraint: 'orderbook_levels_symbol_fkey' });
  for (const pair of ['["abc", "1"]', `["${huge}", "1"]`, '["1e999", "1"]', '[1, 2, 3]', '"x"']) {
    await expect(
      db.sql`select market.sp_ingest_orderbook_levels('BTCUSDT', now(), ${`[${pair}]`}::text::jsonb, '[]')`,
    ).rejects.toMatchObject({
      code: '22023',
      message: 'order-book level bids[0] is not a [price > 0, qty >= 0] pair',
    });
  }
  expect(await levels()).toEqual(before);
});
