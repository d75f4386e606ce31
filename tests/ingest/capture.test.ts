import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  type CaptureKlinesInput,
  captureKlines,
  captureTrades,
  cursor,
  listKlinesRaw,
  listTradesRaw,
  type RestKline,
  type RestTrade,
  type WsKlineEvent,
} from '../../src/ingest/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { BINANCE_DOC_ROW, caught, captured, event, MIN, rest, T0 } from './fixtures.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const binance = (symbol: string, window = '1m') => ({ source: 'binance', symbol, window });

/** JSON text with keys sorted, read straight off the value (nothing rebuilt, so a "__proto__" key counts). */
const canonical = (v: unknown): string => {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
};

describe('captureKlines', () => {
  it('stores Binance REST klines exactly as received, once, however often they are captured', async () => {
    const batch = [rest(0), rest(1), rest(2)];
    expect(await captureKlines(db.sql, { ...binance('BTCUSDT'), payloads: batch })).toEqual({
      seen: 3,
      inserted: 3,
      updated: 0,
      lastTime: new Date(T0 + 2 * MIN),
    });
    expect(await db.client.ingest.captureKlines({ ...binance('BTCUSDT'), payloads: batch })).toEqual({
      seen: 3,
      inserted: 0,
      updated: 0,
      lastTime: new Date(T0 + 2 * MIN),
    });
    const raw = await listKlinesRaw(db.sql, binance('BTCUSDT'));
    expect(raw.map((r) => [r.window, r.openTime, r.payload, r.closed])).toEqual([
      ['1m', new Date(T0), rest(0), true],
      ['1m', new Date(T0 + MIN), rest(1), true],
      ['1m', new Date(T0 + 2 * MIN), rest(2), true],
    ]);
  });

  it('stores websocket events as received; a final kline replaces an open one, never the reverse', async () => {
    const open = event(0, false, '100.50000000');
    expect(await captureKlines(db.sql, { ...binance('ETHUSDT'), payloads: [open, open] })).toMatchObject({
      seen: 2,
      inserted: 1,
      updated: 0,
    });
    const final = event(0, true, '101.00000000');
    expect(await captureKlines(db.sql, { ...binance('ETHUSDT'), payloads: [final] })).toMatchObject({
      inserted: 0,
      updated: 1,
    });
    expect(await captureKlines(db.sql, { ...binance('ETHUSDT'), payloads: [open] })).toMatchObject({
      inserted: 0,
      updated: 0,
    });
    expect(await listKlinesRaw(db.sql, binance('ETHUSDT'))).toEqual([
      {
        source: 'binance',
        symbol: 'ETHUSDT',
        window: '1m',
        openTime: new Date(T0),
        payload: final, // every field as sent, `f`, `L` and `B` included
        closed: true,
        receivedAt: expect.any(Date),
      },
    ]);
  });

  it('a REST kline captured open and again, unchanged, after its close becomes final: a late open event cannot replace it', async () => {
    const k = rest(30);
    await captureKlines(db.sql, { ...binance('XTZUSDT'), payloads: [k] });
    // as stored when it was captured before its close time
    await db.sql`update ingest.klines_raw set closed = false where symbol = 'XTZUSDT' and open_time = ${new Date(k[0])}`;
    await captureKlines(db.sql, { ...binance('XTZUSDT'), payloads: [k] }); // the same payload, now after its close
    const late = event(30, false, '100.50000000', 'XTZUSDT');
    expect(await captureKlines(db.sql, { ...binance('XTZUSDT'), payloads: [late] })).toMatchObject({
      inserted: 0,
      updated: 0,
    });
    const raw = await listKlinesRaw(db.sql, binance('XTZUSDT'));
    expect(raw.map((r) => [r.payload, r.closed])).toEqual([[k, true]]);
  });

  it('the cursor only moves forward: an older batch is stored but does not move it back', async () => {
    const key = { source: 'binance', stream: 'klines', symbol: 'SOLUSDT', window: '1m' };
    await captureKlines(db.sql, { ...binance('SOLUSDT'), payloads: [rest(10), rest(11)] });
    const before = await cursor(db.sql, key);
    expect(before).toEqual({
      source: 'binance',
      stream: 'klines',
      symbol: 'SOLUSDT',
      window: '1m',
      lastTime: new Date(T0 + 11 * MIN),
      lastId: null,
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    expect(await captureKlines(db.sql, { ...binance('SOLUSDT'), payloads: [rest(3), rest(4)] })).toEqual({
      seen: 2,
      inserted: 2,
      updated: 0,
      lastTime: new Date(T0 + 11 * MIN),
    });
    expect(await db.client.ingest.cursor(key)).toEqual(before);
    // another writer cannot move it back either
    await db.sql`update ingest.cursors set last_time = ${new Date(T0)} where symbol = 'SOLUSDT'`;
    expect((await cursor(db.sql, key))?.lastTime).toEqual(new Date(T0 + 11 * MIN));
    expect(await captureKlines(db.sql, { ...binance('SOLUSDT'), payloads: [rest(12)] })).toMatchObject({
      lastTime: new Date(T0 + 12 * MIN),
    });
  });

  it('a batch that fails validation leaves neither rows nor a moved cursor, and lists every issue', async () => {
    await captureKlines(db.sql, { ...binance('ADAUSDT'), payloads: [rest(0)] });
    const before = await captured(db.sql);
    const badOhlc = rest(3);
    badOhlc[3] = '103.00000000'; // low above high
    const otherWindow = event(5, true, '101.00000000', 'ADAUSDT');
    otherWindow.k.i = '5m';
    const error = await caught(
      captureKlines(db.sql, {
        ...binance('ADAUSDT'),
        payloads: [
          rest(1),
          badOhlc,
          [T0, 'x'] as unknown as RestKline,
          event(4, true, '101.00000000', 'BTCUSDT'),
          otherWindow,
        ],
      }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: ['payloads', 1], message: 'expected high ≥ max(open, close) ≥ min(open, close) ≥ low' },
      { path: ['payloads', 2], message: 'Too small: expected array to have >=12 items' },
      { path: ['payloads', 3], message: 'expected an event of the captured symbol' },
      { path: ['payloads', 4], message: 'expected an event of the captured window' },
    ]);
    expect(await captured(db.sql)).toEqual(before);
  });

  it('a payload that is no JSON value (BigInt, NaN, a cycle, 100 levels deep) is a ValidationError naming its path, and nothing is written', async () => {
    const before = await captured(db.sql);
    const withBigInt = { ...event(6, true, '101.00000000', 'ADAUSDT'), X: 1n } as unknown as WsKlineEvent;
    const withNaN = event(7, true, '101.00000000', 'ADAUSDT');
    (withNaN.k as unknown as Record<string, unknown>).z = Number.NaN;
    const cyclic = event(8, true, '101.00000000', 'ADAUSDT') as unknown as Record<string, unknown>;
    cyclic.self = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    const nested = { ...event(9, true, '101.00000000', 'ADAUSDT'), deep } as unknown as WsKlineEvent;
    const error = await caught(
      captureKlines(db.sql, {
        ...binance('ADAUSDT'),
        payloads: [withBigInt, withNaN, cyclic as unknown as WsKlineEvent, nested],
      }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => [i.path.slice(0, 4), i.message])).toEqual([
      [['payloads', 0, 'X'], 'must not be a BigInt (send it as a string)'],
      [['payloads', 1, 'k', 'z'], 'must be a finite number (JSON has no NaN or Infinity)'],
      [['payloads', 2, 'self'], 'is circular (contains itself)'],
      [['payloads', 3, 'deep', 0], 'nests deeper than 64 levels'],
    ]);
    const bigTrade = { id: 300, price: '1.0', qty: '1.0', time: T0, isBuyerMaker: true, extra: 2n };
    const trade = await caught(
      captureTrades(db.sql, {
        source: 'binance',
        symbol: 'BTCUSDT',
        payloads: [bigTrade as unknown as RestTrade],
      }),
    );
    expect(trade).toBeInstanceOf(ValidationError);
    expect((trade as ValidationError).issues.map((i) => i.path)).toEqual([['payloads', 0, 'extra']]);
    expect(await captured(db.sql)).toEqual(before);
  });

  it('a "__proto__" key in a payload is stored and read back exactly (payloads are never rebuilt)', async () => {
    const kline = JSON.parse(
      `${JSON.stringify(event(40, true, '101.00000000', 'PROTOUSDT')).slice(0, -1)},"__proto__":{"polluted":true}}`,
    ) as WsKlineEvent;
    expect(Object.hasOwn(kline, '__proto__')).toBe(true);
    await captureKlines(db.sql, { ...binance('PROTOUSDT'), payloads: [kline] });
    const [raw] = await listKlinesRaw(db.sql, binance('PROTOUSDT'));
    expect(Object.hasOwn(raw!.payload as object, '__proto__')).toBe(true);
    expect(canonical(raw!.payload)).toBe(canonical(kline));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const stored =
      await db.sql`select payload -> '__proto__' as p from ingest.klines_raw where symbol = 'PROTOUSDT'`;
    expect(stored).toEqual([{ p: { polluted: true } }]);

    const trade = JSON.parse(
      '{"id":7,"price":"1.5","qty":"2","time":1735689600000,"isBuyerMaker":true,"__proto__":{"x":1}}',
    ) as RestTrade;
    await captureTrades(db.sql, { source: 'binance', symbol: 'PROTOUSDT', payloads: [trade] });
    const [t] = await listTradesRaw(db.sql, { source: 'binance', symbol: 'PROTOUSDT' });
    expect(JSON.stringify(t!.payload)).toBe(
      '{"id":7,"qty":"2","time":1735689600000,"price":"1.5","__proto__":{"x":1},"isBuyerMaker":true}',
    ); // jsonb's own key order (by length, then bytes), every key kept
    expect(Object.hasOwn(t!.payload as object, '__proto__')).toBe(true);
  });

  it("refuses Binance's documentation example (a one-week candle) captured as 1m, in the SDK and in sp_capture_klines; as 1w it is stored", async () => {
    const before = await captured(db.sql);
    const sdk = await caught(captureKlines(db.sql, { ...binance('BNBBTC'), payloads: [BINANCE_DOC_ROW] }));
    expect(sdk).toBeInstanceOf(ValidationError);
    expect((sdk as ValidationError).issues).toEqual([
      { path: ['payloads', 0], message: 'does not close 1 ms before the next kline of the window opens' },
    ]);
    await expect(
      db.sql`select * from ingest.sp_capture_klines('binance', 'BNBBTC', '1m', ${JSON.stringify([BINANCE_DOC_ROW])}::text::jsonb)`,
    ).rejects.toMatchObject({
      code: '22023',
      message: 'kline payload 0 of the batch does not close 1 ms before the next kline of the window opens',
    });
    expect(await captured(db.sql)).toEqual(before);
    // 2017-07-03 was a Monday: the candle is a Binance week
    expect(await captureKlines(db.sql, { ...binance('BNBBTC', '1w'), payloads: [BINANCE_DOC_ROW] })).toEqual({
      seen: 1,
      inserted: 1,
      updated: 0,
      lastTime: new Date('2017-07-03T00:00:00Z'),
    });
  });

  it('refuses a kline that opens off its window (weeks on Monday, months on the 1st) or spans another time, in the SDK and in SQL', async () => {
    const k = (open: string, close: string): RestKline => {
      const r = [...BINANCE_DOC_ROW] as RestKline;
      r[0] = Date.parse(open);
      r[6] = Date.parse(close);
      return r;
    };
    const cases: [string, RestKline, string | null][] = [
      // February 2024 has 29 days; a month kline closes 1 ms before March 1st
      ['1M', k('2024-02-01T00:00:00Z', '2024-02-29T23:59:59.999Z'), null],
      [
        '1M',
        k('2024-02-01T00:00:00Z', '2024-03-01T23:59:59.999Z'),
        'does not close 1 ms before the next kline of the window opens',
      ],
      [
        '1M',
        k('2024-02-02T00:00:00Z', '2024-03-01T23:59:59.999Z'),
        'opens at a time where no kline of the window opens',
      ],
      ['3M', k('2024-01-01T00:00:00Z', '2024-03-31T23:59:59.999Z'), null],
      // 2024-01-01 was a Monday, 2024-01-02 a Tuesday
      ['1w', k('2024-01-01T00:00:00Z', '2024-01-07T23:59:59.999Z'), null],
      [
        '1w',
        k('2024-01-02T00:00:00Z', '2024-01-08T23:59:59.999Z'),
        'opens at a time where no kline of the window opens',
      ],
      ['1d', k('2024-01-02T00:00:00Z', '2024-01-02T23:59:59.999Z'), null],
      [
        '1d',
        k('2024-01-02T01:00:00Z', '2024-01-03T00:59:59.999Z'),
        'opens at a time where no kline of the window opens',
      ],
      ['4h', k('2024-01-02T04:00:00Z', '2024-01-02T07:59:59.999Z'), null],
      [
        '4h',
        k('2024-01-02T02:00:00Z', '2024-01-02T05:59:59.999Z'),
        'opens at a time where no kline of the window opens',
      ],
      ['15m', k('2024-01-02T00:45:00Z', '2024-01-02T00:59:59.999Z'), null],
      [
        '15m',
        k('2024-01-02T00:45:00Z', '2024-01-02T00:59:59.998Z'),
        'does not close 1 ms before the next kline of the window opens',
      ],
      ['1s', k('2024-01-02T00:45:01Z', '2024-01-02T00:45:01.999Z'), null],
    ];
    for (const [window, payload, problem] of cases) {
      const sdk = await caught(
        captureKlines(db.sql, { ...binance('SPANUSDT', window), payloads: [payload] }),
      );
      const sqlError = await caught(
        db.sql`select * from ingest.sp_capture_klines('binance', 'SPANUSDT', ${window}, ${JSON.stringify([payload])}::text::jsonb)`,
      );
      if (problem === null) {
        expect([window, sdk, sqlError]).toEqual([window, undefined, undefined]);
      } else {
        expect([window, (sdk as ValidationError).issues]).toEqual([
          window,
          [{ path: ['payloads', 0], message: problem }],
        ]);
        expect([window, (sqlError as Error).message]).toEqual([
          window,
          `kline payload 0 of the batch ${problem}`,
        ]);
      }
    }
    const stored = await db.sql`
      select window_label as w from ingest.klines_raw where symbol = 'SPANUSDT' order by window_label collate "C"`;
    expect(stored.map((r) => r.w)).toEqual(['15m', '1M', '1d', '1s', '1w', '3M', '4h']);
  });

  it('a 401-digit price is refused without the number in any message (SDK or SQL)', async () => {
    const before = await captured(db.sql);
    const huge = `1${'0'.repeat(400)}`;
    const k = rest(50);
    k[2] = huge; // high
    const sdk = await caught(captureKlines(db.sql, { ...binance('HUGEUSDT'), payloads: [k] }));
    expect(sdk).toBeInstanceOf(ValidationError);
    expect((sdk as ValidationError).issues).toEqual([
      {
        path: ['payloads', 0, 2],
        message:
          'expected a decimal string such as "0.01634790" (at most 40 digits before and after the point)',
      },
    ]);
    expect((sdk as Error).message).not.toContain('0000000000');
    const sqlError = await caught(
      db.sql`select * from ingest.sp_capture_klines('binance', 'HUGEUSDT', '1m', ${JSON.stringify([k])}::text::jsonb)`,
    );
    expect(sqlError).toMatchObject({
      code: '22023',
      message:
        'kline payload 0 of the batch has a price that is not a decimal string (at most 40 digits before and after the point)',
    });
    // a numeric field Binance sends as a number: a huge one is refused the same way
    const trades = [...rest(51)] as unknown[];
    trades[8] = Number(`1${'0'.repeat(300)}`);
    const sqlCount = await caught(
      db.sql`select * from ingest.sp_capture_klines('binance', 'HUGEUSDT', '1m', ${JSON.stringify([trades])}::text::jsonb)`,
    );
    expect((sqlCount as Error).message).toBe(
      'kline payload 0 of the batch has a trade count that is not an integer from 0 to 2147483647',
    );
    expect(await captured(db.sql)).toEqual(before);
  });

  it('sp_capture_klines refuses a bad batch when the SDK is bypassed, says why without quoting values, and writes nothing', async () => {
    const before = await captured(db.sql);
    const bad = rest(9);
    bad[2] = '1.00000000'; // high below open
    const cases: [string, string][] = [
      [
        JSON.stringify([rest(8), bad]),
        'kline payload 1 of the batch breaks high >= max(open, close) >= min(open, close) >= low',
      ],
      [
        '[{"e": "trade"}]',
        'kline payload 0 of the batch is neither a REST kline (an array of 12 fields) nor a websocket kline event',
      ],
      [
        JSON.stringify([event(1, true, '101.00000000', 'OTHERUSDT')]),
        'kline payload 0 of the batch is an event of another symbol',
      ],
      [
        JSON.stringify([{ ...event(1, true, '101.00000000', 'ADAUSDT'), s: 'XX' }]),
        'kline payload 0 of the batch names two symbols (s and k.s)',
      ],
      [
        JSON.stringify([
          {
            ...event(1, true, '101.00000000', 'ADAUSDT'),
            k: { ...event(1, true).k, s: 'ADAUSDT', x: 'yes' },
          },
        ]),
        'kline payload 0 of the batch is a websocket kline event without a valid E, s, k.s, k.i or k.x',
      ],
      [
        JSON.stringify([[...rest(1)].map((v, i) => (i === 0 ? 'soon' : v))]),
        'kline payload 0 of the batch has an open or close time that is not epoch milliseconds (years 1970 to 9999)',
      ],
    ];
    for (const [payloads, message] of cases) {
      await expect(
        db.sql`select * from ingest.sp_capture_klines('binance', 'ADAUSDT', '1m', ${payloads}::text::jsonb)`,
      ).rejects.toMatchObject({ code: '22023', message });
    }
    await expect(
      db.sql`select * from ingest.sp_capture_klines('Bad Source', 'ADAUSDT', '1m', '[]')`,
    ).rejects.toMatchObject({ code: '22023', message: 'source is not a lower-case name such as binance' });
    await expect(
      db.sql`select * from ingest.sp_capture_klines('binance', 'ADAUSDT', 'one minute', '[]')`,
    ).rejects.toMatchObject({ code: '22023', message: 'window is not a Binance interval such as 1m' });
    expect(await captured(db.sql)).toEqual(before);
  });

  it('sp_capture_klines refuses volumes and counts market.klines would refuse (NaN, Infinity, negative)', async () => {
    // stored, such a kline would make every later promotion of its stream fail
    const before = await captured(db.sql);
    const cases: [number, string | number, string][] = [
      [5, 'NaN', 'has a volume'],
      [5, 'Infinity', 'has a volume'],
      [7, '-1.5', 'has a volume'],
      [7, 'NaN', 'has a volume'],
      [8, -3, 'has a trade count'],
      [9, '-Infinity', 'has a volume'],
      [10, 'Infinity', 'has a volume'],
    ];
    for (const [field, value, problem] of cases) {
      const bad: unknown[] = [...rest(20)];
      bad[field] = value;
      const e = await caught(
        db.sql`select * from ingest.sp_capture_klines('binance', 'FILUSDT', '1m', ${JSON.stringify([bad])}::text::jsonb)`,
      );
      expect(e).toMatchObject({ code: '22023' });
      expect((e as Error).message.startsWith(`kline payload 0 of the batch ${problem}`)).toBe(true);
    }
    expect(await captured(db.sql)).toEqual(before);
  });

  it('rows and cursor are one write: when the cursor cannot be written, no row is stored either', async () => {
    // a constraint the function does not know refuses this symbol's cursor, after its rows were inserted
    await db.sql`alter table ingest.cursors add constraint test_no_fail check (symbol <> 'FAILUSDT')`;
    try {
      const before = await captured(db.sql);
      const error = await caught(
        captureKlines(db.sql, { ...binance('FAILUSDT'), payloads: [rest(0), rest(1)] }),
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ sqlstate: '23514', constraint: 'test_no_fail' });
      const trades = await caught(
        captureTrades(db.sql, {
          source: 'binance',
          symbol: 'FAILUSDT',
          payloads: [{ id: 1, price: '1.5', qty: '2', time: T0, isBuyerMaker: true }],
        }),
      );
      expect(trades).toMatchObject({ sqlstate: '23514', constraint: 'test_no_fail' });
      expect(await captured(db.sql)).toEqual(before);
    } finally {
      await db.sql`alter table ingest.cursors drop constraint test_no_fail`;
    }
  });

  it('an empty batch (nothing new from the exchange) stores nothing and leaves the cursor as it is', async () => {
    await captureKlines(db.sql, { ...binance('BNBUSDT'), payloads: [rest(0), rest(1)] });
    const key = { source: 'binance', stream: 'klines', symbol: 'BNBUSDT', window: '1m' };
    const cursorBefore = await cursor(db.sql, key);
    const before = await captured(db.sql);
    expect(await captureKlines(db.sql, { ...binance('BNBUSDT'), payloads: [] })).toEqual({
      seen: 0,
      inserted: 0,
      updated: 0,
      lastTime: new Date(T0 + MIN),
    });
    expect(await captureKlines(db.sql, { ...binance('BNBUSDT', '5m'), payloads: [] })).toEqual({
      seen: 0,
      inserted: 0,
      updated: 0,
      lastTime: null,
    });
    expect(await captureTrades(db.sql, { source: 'binance', symbol: 'BNBUSDT', payloads: [] })).toEqual({
      seen: 0,
      inserted: 0,
      lastId: null,
      lastTime: null,
    });
    expect(await cursor(db.sql, key)).toEqual(cursorBefore);
    expect(await captured(db.sql)).toEqual(before);
  });

  it('concurrent overlapping captures store every kline once and leave the cursor at the latest', async () => {
    const batches = [0, 1, 2, 3].map((w) => Array.from({ length: 60 }, (_, m) => rest(w * 30 + m)));
    const results = await Promise.all(
      batches.map((payloads) => captureKlines(db.sql, { ...binance('XRPUSDT'), payloads })),
    );
    expect(results.reduce((a, r) => a + r.inserted, 0)).toBe(150);
    const raw = await listKlinesRaw(db.sql, binance('XRPUSDT'));
    expect(raw.map((r) => r.openTime.getTime())).toEqual(Array.from({ length: 150 }, (_, m) => T0 + m * MIN));
    expect(
      (await cursor(db.sql, { source: 'binance', stream: 'klines', symbol: 'XRPUSDT', window: '1m' }))
        ?.lastTime,
    ).toEqual(new Date(T0 + 149 * MIN));
  });

  it('reads back exact instants whatever the session TimeZone (Europe/Amsterdam, Asia/Kolkata, America/New_York)', async () => {
    await captureKlines(db.sql, { ...binance('TZUSDT'), payloads: [rest(0)] });
    // 2017-07-03 is the week of Binance's documentation example; 9999-12-31T23:59 the last minute accepted
    const last: RestKline = [...rest(0)];
    last[0] = Date.parse('9999-12-31T23:59:00Z');
    last[6] = Date.parse('9999-12-31T23:59:59.999Z');
    await captureKlines(db.sql, { ...binance('TZUSDT'), payloads: [last] });
    for (const zone of ['Europe/Amsterdam', 'Asia/Kolkata', 'America/New_York']) {
      const local = postgres(db.url, { max: 1, onnotice: () => {}, connection: { TimeZone: zone } });
      try {
        expect((await local`show timezone`)[0]).toEqual({ TimeZone: zone });
        const raw = await listKlinesRaw(local, binance('TZUSDT'));
        expect([zone, raw.map((r) => r.openTime.toISOString())]).toEqual([
          zone,
          ['2025-01-01T00:00:00.000Z', '9999-12-31T23:59:00.000Z'],
        ]);
        expect(
          (await captureKlines(local, { ...binance('TZUSDT', '1w'), payloads: [BINANCE_DOC_ROW] })).lastTime,
        ).toEqual(new Date('2017-07-03T00:00:00Z'));
        const c = await cursor(local, {
          source: 'binance',
          stream: 'klines',
          symbol: 'TZUSDT',
          window: '1m',
        });
        expect(c?.lastTime).toEqual(new Date('9999-12-31T23:59:00Z'));
      } finally {
        await local.end();
      }
    }
  });
});

describe('captureTrades', () => {
  const restTrade = (id: number): RestTrade => ({
    id,
    price: '16500.01000000',
    qty: '0.00500000',
    quoteQty: '82.50005000',
    time: T0 + id,
    isBuyerMaker: id % 2 === 0,
    isBestMatch: true,
  });
  const wsTrade = (id: number) =>
    ({
      e: 'trade',
      E: T0 + id + 1,
      s: 'BTCUSDT',
      t: id,
      p: '16500.02000000',
      q: '0.10000000',
      T: T0 + id,
      m: false,
      M: true,
    }) as const;
  const btc = { source: 'binance', symbol: 'BTCUSDT' };

  it('stores trades once, exactly as received; the cursor keeps the greatest id and time', async () => {
    const batch = [restTrade(100), wsTrade(101), restTrade(102)];
    expect(await captureTrades(db.sql, { ...btc, payloads: batch })).toEqual({
      seen: 3,
      inserted: 3,
      lastId: 102,
      lastTime: new Date(T0 + 102),
    });
    expect(await db.client.ingest.captureTrades({ ...btc, payloads: [...batch, restTrade(50)] })).toEqual({
      seen: 4,
      inserted: 1,
      lastId: 102,
      lastTime: new Date(T0 + 102),
    });
    const raw = await listTradesRaw(db.sql, btc);
    expect(raw.map((r) => [r.tradeId, r.tradeTime, r.payload])).toEqual([
      [50, new Date(T0 + 50), restTrade(50)],
      [100, new Date(T0 + 100), restTrade(100)],
      [101, new Date(T0 + 101), wsTrade(101)],
      [102, new Date(T0 + 102), restTrade(102)],
    ]);
    expect(await cursor(db.sql, { source: 'binance', stream: 'trades', symbol: 'BTCUSDT' })).toMatchObject({
      window: null,
      lastId: 102,
      lastTime: new Date(T0 + 102),
    });
  });

  it('refuses a malformed trade or one of another symbol, in the SDK and in SQL, and writes nothing', async () => {
    const before = await captured(db.sql);
    const error = await caught(
      captureTrades(db.sql, {
        ...btc,
        payloads: [restTrade(200), { ...wsTrade(201), s: 'ETHUSDT' }, { id: -1 } as unknown as RestTrade],
      }),
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
    const cases: [unknown, string][] = [
      [{ ...wsTrade(201), s: 'ETHUSDT' }, 'trade payload 0 of the batch is an event of another symbol'],
      [{ ...restTrade(202), price: '0' }, 'trade payload 0 of the batch has a price that is not positive'],
      [
        { ...restTrade(203), price: `1${'0'.repeat(400)}` },
        'trade payload 0 of the batch has a price or quantity that is not a decimal string (at most 40 digits before and after the point)',
      ],
      [
        { ...restTrade(204), isBuyerMaker: 'yes' },
        'trade payload 0 of the batch has a flag (isBuyerMaker, isBestMatch, m, M) that is not a boolean',
      ],
      [[1, 2], 'trade payload 0 of the batch is neither a REST trade nor a websocket trade event'],
    ];
    for (const [payload, message] of cases) {
      await expect(
        db.sql`select * from ingest.sp_capture_trades('binance', 'BTCUSDT', ${JSON.stringify([payload])}::text::jsonb)`,
      ).rejects.toMatchObject({ code: '22023', message });
    }
    expect(await captured(db.sql)).toEqual(before);
  });
});

describe('types', () => {
  it('captureKlines takes Binance kline tuples and events, not any array of arrays', () => {
    // compiled by tsc (tests are in tsconfig), never run: the public type has no unknown[] escape hatch
    const typed = (
      sql: TestDatabase['sql'],
      loose: unknown[][],
      tuples: RestKline[],
      events: WsKlineEvent[],
    ) => {
      // @ts-expect-error an unknown[] is not a RestKline
      void captureKlines(sql, { source: 'binance', symbol: 'BTCUSDT', window: '1m', payloads: loose });
      // @ts-expect-error a tuple of the wrong types (the open price as a number)
      const wrong: RestKline = [1, 2, '3', '4', '5', '6', 7, '8', 9, '10', '11', '0'];
      const mixed: CaptureKlinesInput = {
        source: 'b',
        symbol: 'B',
        window: '1m',
        payloads: [...tuples, ...events],
      };
      return [wrong, mixed];
    };
    expect(typeof typed).toBe('function');
  });
});
