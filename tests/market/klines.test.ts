import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  ingestKlineRow,
  ingestKlines,
  type KlineInput,
  latestKlines,
  upsertSymbol,
} from '../../src/market/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const T0 = Date.UTC(2024, 0, 1); // 2024-01-01T00:00:00Z
const MINUTE = 60_000;

/** A valid 1m candle `i` minutes after T0. */
function candle(i: number, symbol = 'BTCUSDT'): KlineInput {
  const open = 100 + (i % 50);
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

/** The candles of one symbol, as stored. */
const stored = (symbol: string) =>
  db.sql`select window_label, open_time, close_time, open, high, low, close, volume, source
         from market.klines where symbol = ${symbol} order by 1, 2`;

describe('ingestKlineRow', () => {
  it('upserts one candle and returns it as stored; an unchanged candle is not rewritten', async () => {
    await upsertSymbol(db.sql, { symbol: 'ETHUSDT' });
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
    // candle(0): open 100, close 100 + (0 % 7 - 3) * 0.25 = 99.25
    const moved = await ingestKlineRow(db.sql, {
      ...candle(0, 'ETHUSDT'),
      window: '1h',
      closeTime: T0 + 3_600_000 - 1,
    });
    expect(moved.close).toBe(99.25);
  });

  it('refuses a broken candle (zod first, and the database when bypassed); nothing is written', async () => {
    await upsertSymbol(db.sql, { symbol: 'BTCUSDT' });
    const before = await stored('BTCUSDT');
    const high = (await refusal(ingestKlineRow(db.sql, { ...candle(1), high: 90 }))) as ValidationError;
    expect(high).toBeInstanceOf(ValidationError);
    expect(high.issues).toEqual([{ path: ['high'], message: 'high must be at least max(open, close)' }]);
    const time = (await refusal(
      ingestKlineRow(db.sql, { ...candle(1), closeTime: T0 + MINUTE }),
    )) as ValidationError;
    expect(time.issues).toEqual([{ path: ['closeTime'], message: 'closeTime must be after openTime' }]);
    await expect(
      db.sql`select market.sp_ingest_kline_row('BTCUSDT', '1m', now(), now() + interval '1 minute', 10, 8, 9, 11)`,
    ).rejects.toMatchObject({
      code: '22023',
      message: 'kline: expected high >= max(open, close) >= min(open, close) >= low >= 0',
    });
    await expect(
      db.sql`insert into market.klines (symbol, window_label, open_time, close_time, open, high, low, close)
             values ('BTCUSDT', '1m', now(), now(), 10, 12, 9, 11)`,
    ).rejects.toMatchObject({ code: '23514', constraint_name: 'klines_close_after_open_check' });
    const window = (await refusal(ingestKlineRow(db.sql, { ...candle(1), window: '2w' }))) as ValidationError;
    expect(window.sqlstate).toBe('23503');
    expect(await stored('BTCUSDT')).toEqual(before);
  });

  it('an instant without an offset, or out of range, is a ValidationError naming the field (never a TypeError); nothing is sent', async () => {
    await upsertSymbol(db.sql, { symbol: 'BTCUSDT' });
    const before = await stored('BTCUSDT');
    const local = (await refusal(
      ingestKlineRow(db.sql, { ...candle(2), openTime: '2024-01-01T00:02:00' }),
    )) as ValidationError;
    expect(local).toBeInstanceOf(ValidationError);
    expect(local.issues).toEqual([
      {
        path: ['openTime'],
        message:
          'needs an offset (Z or ±hh:mm): a time without one means different instants on different servers',
      },
    ]);
    const cases: [Partial<KlineInput>, (string | number)[]][] = [
      [{ closeTime: '2024-01-01 00:02:59' }, ['closeTime']],
      [{ openTime: 'soon' }, ['openTime']],
      [{ openTime: Number.NaN }, ['openTime']],
      [{ openTime: new Date(Number.NaN) }, ['openTime']],
      [{ closeTime: '10000-01-01T00:00:00Z' }, ['closeTime']],
      [{ open: '100' as unknown as number }, ['open']],
      [{ high: Number.POSITIVE_INFINITY }, ['high']],
      [{ low: -1 }, ['low']],
    ];
    for (const [change, path] of cases) {
      const e = await refusal(ingestKlineRow(db.sql, { ...candle(2), ...change }));
      expect([
        change,
        e instanceof ValidationError,
        (e as ValidationError).issues.map((i) => i.path),
      ]).toEqual([change, true, [path]]);
      const bulk = await refusal(ingestKlines(db.sql, [candle(3), { ...candle(2), ...change }]));
      expect([change, (bulk as ValidationError).issues.map((i) => i.path)]).toEqual([change, [[1, ...path]]]);
    }
    expect(await stored('BTCUSDT')).toEqual(before);
  });

  it('stores -0 as 0 on every path (one row and the bulk writer)', async () => {
    await upsertSymbol(db.sql, { symbol: 'ZEROUSDT' });
    const zero = { ...candle(0, 'ZEROUSDT'), open: -0, low: -0, close: 0, high: 1 };
    const row = await ingestKlineRow(db.sql, zero);
    expect([Object.is(row.open, 0), Object.is(row.low, 0)]).toEqual([true, true]);
    await ingestKlines(db.sql, [{ ...zero, openTime: T0 + MINUTE, closeTime: T0 + 2 * MINUTE - 1 }]);
    const rows = await db.sql`
      select open::text as open, low::text as low from market.klines where symbol = 'ZEROUSDT' order by open_time`;
    expect(rows).toEqual([
      { open: '0', low: '0' },
      { open: '0', low: '0' },
    ]);
  });

  it('refuses NUL and lone surrogates in the source text', async () => {
    await upsertSymbol(db.sql, { symbol: 'BTCUSDT' });
    const before = await stored('BTCUSDT');
    const nul = (await refusal(
      ingestKlineRow(db.sql, { ...candle(5), source: 'a\u0000b' }),
    )) as ValidationError;
    expect(nul.issues).toEqual([{ path: ['source'], message: 'must not contain NUL (U+0000)' }]);
    const lone = (await refusal(
      ingestKlines(db.sql, [{ ...candle(5), source: '\uDC00x' }]),
    )) as ValidationError;
    expect(lone.issues).toEqual([
      { path: [0, 'source'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
    ]);
    expect(await stored('BTCUSDT')).toEqual(before);
  });
});

describe('ingestKlines', () => {
  it('writes 10 000 candles in one call, and a re-ingest changes only updated values', async () => {
    await upsertSymbol(db.sql, { symbol: 'BULKUSDT' });
    const candles = Array.from({ length: 10_000 }, (_, i) => candle(i, 'BULKUSDT'));
    expect(await ingestKlines(db.sql, candles)).toEqual({
      received: 10_000,
      distinct: 10_000,
      inserted: 10_000,
      updated: 0,
      unchanged: 0,
    });
    const count = async () =>
      (await db.sql`select count(*)::int as n from market.klines where symbol = 'BULKUSDT'`)[0]!.n as number;
    expect(await count()).toBe(10_000);
    const stamp = async () =>
      (
        await db.sql`select max(ingested_at) as at, sum(close)::float8 as closes from market.klines where symbol = 'BULKUSDT'`
      )[0]!;
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
      await db.sql`select count(*)::int as n from market.klines where symbol = 'BULKUSDT' and volume = 999 and close = open`,
    ).toEqual([{ n: 10 }]);
  });

  it('keeps the last of a repeated key and reads back through latestKlines', async () => {
    await upsertSymbol(db.sql, { symbol: 'LASTUSDT' });
    const a = candle(20_000, 'LASTUSDT');
    const b = { ...a, close: a.open, volume: '7' };
    const next = candle(20_001, 'LASTUSDT');
    expect(await ingestKlines(db.sql, [a, next, b])).toEqual({
      received: 3,
      distinct: 2,
      inserted: 2,
      updated: 0,
      unchanged: 0,
    });
    const latest = await latestKlines(db.sql, { symbol: 'LASTUSDT', window: '1m', limit: 2 });
    // candle(20 001): open 100 + 20 001 % 50 = 101, close 101 + (20 001 % 7 - 3) * 0.25 = 100.75,
    // volume (20 001 % 13 + 1).5 = 8.5; candle(20 000): open 100, close 99.5, high 100.5, low 99,
    // quote volume (20 000 % 13 + 1) * 100 = 700, trades 0; its repeat b closes at 100 with volume 7
    expect(latest.map((k) => [k.openTime.getTime(), k.close, k.volume])).toEqual([
      [T0 + 20_001 * MINUTE, 100.75, '8.5'],
      [T0 + 20_000 * MINUTE, 100, '7'],
    ]);
    expect(latest[1]).toEqual({
      symbol: 'LASTUSDT',
      window: '1m',
      openTime: new Date(T0 + 20_000 * MINUTE),
      closeTime: new Date(T0 + 20_001 * MINUTE - 1),
      open: 100,
      high: 100.5,
      low: 99,
      close: 100,
      volume: '7',
      quoteVolume: '700',
      trades: 0,
      takerBuyBase: null,
      takerBuyQuote: null,
      source: 'test',
      ingestedAt: expect.any(Date),
    });
    expect(await latestKlines(db.sql, { symbol: 'LASTUSDT', window: '4h' })).toEqual([]);
  });

  it('a broken candle in a batch is a ValidationError and nothing of the batch is written', async () => {
    await upsertSymbol(db.sql, { symbol: 'BTCUSDT' });
    const before = await stored('BTCUSDT');
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
    expect(await stored('BTCUSDT')).toEqual(before);
  });

  it('the table checks hold a set-based writer that bypasses the SDK', async () => {
    await upsertSymbol(db.sql, { symbol: 'BTCUSDT' });
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
    await upsertSymbol(db.sql, { symbol: 'BTCUSDT' });
    const before = await stored('BTCUSDT');
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
    expect(await stored('BTCUSDT')).toEqual(before);
  });

  it('works on a fresh host pool that does not fetch array types', async () => {
    await upsertSymbol(db.sql, { symbol: 'RAWUSDT' });
    const raw = postgres(db.url, { fetch_types: false, max: 4, onnotice: () => {} });
    try {
      const batch = Array.from({ length: 40 }, (_, i) => ({
        ...candle(40_000 + i, 'RAWUSDT'),
        source: i % 2 ? 'a"b\\c' : undefined,
      }));
      const parts = [batch.slice(0, 10), batch.slice(10, 20), batch.slice(20, 30), batch.slice(30)];
      const results = await Promise.all(parts.map((p) => ingestKlines(raw, p)));
      expect(results.map((r) => r.inserted)).toEqual([10, 10, 10, 10]);
      const rows = await db.sql`
        select source, count(*)::int as n from market.klines where symbol = 'RAWUSDT'
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

describe('latestKlines', () => {
  it('reads the newest candles of many symbols in one call, per symbol', async () => {
    for (const s of ['MANYAUSDT', 'MANYBUSDT', 'MANYCUSDT']) await upsertSymbol(db.sql, { symbol: s });
    await ingestKlines(db.sql, [
      ...[0, 1, 2].map((i) => candle(i, 'MANYAUSDT')),
      ...[5, 6].map((i) => candle(i, 'MANYBUSDT')),
      candle(9, 'MANYCUSDT'),
    ]);
    const got = await db.client.market.latestKlines({
      symbols: ['MANYBUSDT', 'MANYAUSDT', 'NOSUCHUSDT'],
      window: '1m',
      limit: 2,
    });
    expect(got.map((k) => [k.symbol, (k.openTime.getTime() - T0) / MINUTE])).toEqual([
      ['MANYAUSDT', 2],
      ['MANYAUSDT', 1],
      ['MANYBUSDT', 6],
      ['MANYBUSDT', 5],
    ]);
    const both = (await refusal(
      latestKlines(db.sql, { symbol: 'MANYAUSDT', symbols: ['MANYBUSDT'], window: '1m' }),
    )) as ValidationError;
    expect(both.issues).toEqual([{ path: ['symbols'], message: 'give symbol or symbols (one of the two)' }]);
  });

  it('reads instants exactly at years 0050, 1850, 1900, 1970, 2038 and 9999 whatever the session TimeZone', async () => {
    await upsertSymbol(db.sql, { symbol: 'OLDUSDT' });
    const opens = [
      '0050-06-01T00:00:00.000Z',
      '1850-03-01T12:00:00.000Z',
      '1900-01-01T00:00:00.000Z',
      '1970-01-01T00:00:00.000Z',
      '2038-01-19T03:14:00.000Z',
      '9999-12-31T23:58:00.000Z',
    ];
    await ingestKlines(
      db.sql,
      opens.map((o) => ({ ...candle(0, 'OLDUSDT'), openTime: o, closeTime: Date.parse(o) + MINUTE - 1 })),
    );
    await ingestKlineRow(db.sql, {
      ...candle(0, 'OLDUSDT'),
      openTime: '0050-06-01T00:01:00Z',
      closeTime: '0050-06-01T00:01:59.999Z',
    });
    const expected = [...opens, '0050-06-01T00:01:00.000Z'].sort().reverse();
    for (const zone of ['UTC', 'Europe/Amsterdam', 'Asia/Kolkata', 'America/New_York']) {
      const local = postgres(db.url, { max: 1, onnotice: () => {}, connection: { TimeZone: zone } });
      try {
        const rows = await latestKlines(local, { symbol: 'OLDUSDT', window: '1m' });
        expect([zone, rows.map((k) => k.openTime.toISOString())]).toEqual([zone, expected]);
        expect([zone, rows.map((k) => k.closeTime.getTime() - k.openTime.getTime())]).toEqual([
          zone,
          expected.map(() => MINUTE - 1),
        ]);
        const row = await ingestKlineRow(local, {
          ...candle(0, 'OLDUSDT'),
          openTime: '1850-03-01T12:00:00Z',
          closeTime: '1850-03-01T12:00:59.999Z',
        });
        expect([zone, row.openTime.toISOString(), row.closeTime.toISOString()]).toEqual([
          zone,
          '1850-03-01T12:00:00.000Z',
          '1850-03-01T12:00:59.999Z',
        ]);
      } finally {
        await local.end();
      }
    }
    // as PostgreSQL stores them (its own text, in UTC): the year-50 candle is not 1950
    expect(
      await db.sql`select to_char(open_time at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as t from market.klines
                   where symbol = 'OLDUSDT' order by open_time limit 2`,
    ).toEqual([{ t: '0050-06-01 00:00' }, { t: '0050-06-01 00:01' }]);
  });
});
