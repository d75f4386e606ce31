import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/core/errors.js';
import type { JsonObject } from '../src/core/codecs.js';
import type { Queryable } from '../src/core/queryable.js';
import {
  ensureSeries,
  getGrid,
  getSeries,
  listSeries,
  latestPoints,
  type PointInput,
  pointsBetween,
  putGrid,
  putPoint,
  putPointsBulk,
} from '../src/matrices/index.js';
import { copyIn } from '../src/core/copy.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const T0 = Date.parse('2025-01-01T00:00:00Z');
const minute = (m: number) => new Date(T0 + m * 60_000);

/** Counts and value sum of the points whose series key starts with `prefix` (and of such series). */
async function totals(prefix: string) {
  const [row] = await db.sql<{ series: number; points: number; sum: number | null }[]>`
    select (select count(*)::int from matrices.series where key like ${`${prefix}%`}) as series,
           count(p.*)::int as points, sum(p.value) as sum
    from matrices.points p join matrices.series s on s.id = p.series_id
    where s.key like ${`${prefix}%`}
  `;
  return row!;
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('ensureSeries', () => {
  it('creates a series, keeps stored fields when given nulls, and merges target', async () => {
    const first = await ensureSeries(db.sql, {
      key: 'es:one',
      name: 'One',
      scope: 'test',
      unit: '%',
      target: { symbol: 'BTCUSDT', frozen: false },
    });
    expect(first).toEqual({
      id: expect.any(Number),
      key: 'es:one',
      name: 'One',
      scope: 'test',
      unit: '%',
      target: { symbol: 'BTCUSDT', frozen: false },
      symbol: 'BTCUSDT',
      base: null,
      quote: null,
      matrixType: null,
      createdAt: expect.any(Date),
    });
    const second = await db.client.matrices.ensureSeries({
      key: 'es:one',
      name: null,
      unit: null,
      target: { frozen: true, base: 'BTC' },
    });
    expect(second).toEqual({
      ...first,
      target: { symbol: 'BTCUSDT', frozen: true, base: 'BTC' },
      base: 'BTC',
    });
    expect(await getSeries(db.sql, 'es:one')).toEqual(second);
    expect(await getSeries(db.sql, 'es:none')).toBeNull();
  });

  it('refuses a malformed key or target, and writes nothing', async () => {
    const before = await totals('');
    const error = await caught(ensureSeries(db.sql, { key: ' padded', target: [] as never }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: ['key'], message: 'must not start or end with whitespace' },
      { path: ['target'], message: 'expected a JSON object' },
    ]);
    expect(await totals('')).toEqual(before);
  });

  it('sp_ensure_series refuses too when the SDK is bypassed', async () => {
    await expect(db.sql`select matrices.sp_ensure_series(null)`).rejects.toMatchObject({ code: '22023' });
    await expect(db.sql`select matrices.sp_ensure_series('es:x', p_target => '[1]')`).rejects.toMatchObject({
      code: '22023',
    });
    await expect(db.sql`select matrices.sp_ensure_series(' es:x')`).rejects.toMatchObject({ code: '23514' });
  });
});

describe('putPoint', () => {
  it('writes the same (series, ts) twice as one row holding the last value', async () => {
    const first = await putPoint(db.sql, { seriesKey: 'pp:a', ts: minute(1), value: 1.5, attrs: { run: 1 } });
    expect(first).toEqual({
      seriesId: expect.any(Number),
      seriesKey: 'pp:a',
      ts: minute(1),
      value: 1.5,
      attrs: { run: 1 },
    });
    const second = await db.client.matrices.putPoint({ seriesKey: 'pp:a', ts: T0 + 60_000, value: -2.25 });
    expect(second).toEqual({
      seriesId: first.seriesId,
      seriesKey: 'pp:a',
      ts: minute(1),
      value: -2.25,
      attrs: null,
    });
    expect(await pointsBetween(db.sql, { seriesKeys: ['pp:a'], from: minute(0), to: minute(11) })).toEqual([
      { seriesKey: 'pp:a', ts: minute(1), value: -2.25, attrs: null },
    ]);
  });

  it('refuses a non-finite value with a ValidationError, and writes nothing', async () => {
    const before = await totals('pp:');
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const error = await caught(putPoint(db.sql, { seriesKey: 'pp:b', ts: minute(1), value }));
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([
        {
          path: ['value'],
          message: 'expected a finite number',
        },
      ]);
    }
    expect(await totals('pp:')).toEqual(before);
  });

  it('the table refuses NaN and infinity when the SDK is bypassed', async () => {
    for (const v of ['NaN', 'Infinity', '-Infinity']) {
      await expect(
        db.sql`select matrices.sp_put_point('pp:c', ${minute(0)}, ${v}::float8)`,
      ).rejects.toMatchObject({
        code: '23514',
        constraint_name: 'points_value_finite',
      });
    }
  });

  it('concurrent first writes to one new key create one series', async () => {
    const writes = Array.from({ length: 8 }, (_, i) =>
      putPoint(db.sql, { seriesKey: 'pp:race', ts: minute(i), value: i }),
    );
    const rows = await Promise.all(writes);
    expect(new Set(rows.map((r) => r.seriesId)).size).toBe(1);
    expect(
      (await pointsBetween(db.sql, { seriesKeys: ['pp:race'], from: minute(0), to: minute(8) })).map(
        (p) => p.value,
      ),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('putPointsBulk', () => {
  const SERIES = 1000;
  const PER = 200;
  /** 200 000 points over 1 000 series; halves and small integers, so the float sum is exact. */
  const big = (prefix: string, value: (s: number, m: number) => number): PointInput[] => {
    const out: PointInput[] = [];
    for (let m = 0; m < PER; m++) {
      for (let s = 0; s < SERIES; s++)
        out.push({ seriesKey: `${prefix}:${s}`, ts: minute(m), value: value(s, m) });
    }
    return out;
  };
  const half = (s: number, m: number) => ((s * 7 + m) % 41) / 2 - 10;
  const sumOf = (points: PointInput[]) => points.reduce((a, p) => a + p.value, 0);

  it('writes 200 000 points over 1 000 new series, and a replay changes nothing', async () => {
    const points = big('bulk', half);
    expect(await putPointsBulk(db.sql, points)).toBe(200_000);
    const expected = { series: 1000, points: 200_000, sum: sumOf(points) };
    expect(await totals('bulk:')).toEqual(expected);
    // read back through the API in one call: every series, every point, by series in the order given
    const keys = Array.from({ length: SERIES }, (_, s) => `bulk:${SERIES - 1 - s}`);
    const rows = await pointsBetween(db.sql, { seriesKeys: keys, from: minute(0), to: minute(PER) });
    const n = rows.length;
    const sum = rows.reduce((a, r) => a + r.value, 0);
    let ordered = true;
    for (let i = 0; i < n && ordered; i++) {
      const r = rows[i]!;
      ordered = r.seriesKey === keys[Math.floor(i / PER)] && r.ts.getTime() === minute(i % PER).getTime();
    }
    expect(ordered).toBe(true);
    expect({ n, sum }).toEqual({ n: 200_000, sum: expected.sum });
    expect(await pointsBetween(db.sql, { seriesKeys: ['bulk:3'], from: minute(0), to: minute(3) })).toEqual([
      { seriesKey: 'bulk:3', ts: minute(0), value: half(3, 0), attrs: null },
      { seriesKey: 'bulk:3', ts: minute(1), value: half(3, 1), attrs: null },
      { seriesKey: 'bulk:3', ts: minute(2), value: half(3, 2), attrs: null },
    ]);

    const [{ xmin } = { xmin: '' }] = await db.sql<{ xmin: string }[]>`
      select max(p.xmin::text::bigint)::text as xmin from matrices.points p`;
    expect(await db.client.matrices.putPointsBulk(points)).toBe(200_000);
    expect(await totals('bulk:')).toEqual(expected);
    const [rewritten] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from matrices.points where xmin::text::bigint > ${xmin}::bigint`;
    expect(rewritten!.n).toBe(0); // identical rows were not rewritten
  });

  it('overwrites stored points and creates new series in one batch (the upsert path)', async () => {
    // 1 000 stored series of 11 points each (its own, so the test runs alone)
    const base: PointInput[] = [];
    for (let m = 0; m <= 10; m++) {
      for (let s = 0; s < SERIES; s++) base.push({ seriesKey: `ups:${s}`, ts: minute(m), value: half(s, m) });
    }
    expect(await putPointsBulk(db.sql, base)).toBe(11_000);
    // 500 existing series get new values; 100 new series join; duplicates: the last occurrence wins
    const points: PointInput[] = [];
    for (let s = 0; s < 500; s++) {
      for (let m = 0; m < 10; m++) points.push({ seriesKey: `ups:${s * 2}`, ts: minute(m), value: s + m });
    }
    for (let s = 0; s < 100; s++)
      points.push({ seriesKey: `upsx:${s}`, ts: minute(0), value: 0.5, attrs: { s } });
    points.push(
      { seriesKey: 'ups:0', ts: minute(0), value: 99 },
      { seriesKey: 'upsx:1', ts: minute(0), value: 7 },
    );
    expect(await putPointsBulk(db.sql, points)).toBe(5100);
    expect(await pointsBetween(db.sql, { seriesKeys: ['ups:0'], from: minute(0), to: minute(2) })).toEqual([
      { seriesKey: 'ups:0', ts: minute(0), value: 99, attrs: null },
      { seriesKey: 'ups:0', ts: minute(1), value: 1, attrs: null },
    ]);
    expect(await pointsBetween(db.sql, { seriesKeys: ['ups:998'], from: minute(9), to: minute(11) })).toEqual(
      [
        { seriesKey: 'ups:998', ts: minute(9), value: 508, attrs: null },
        { seriesKey: 'ups:998', ts: minute(10), value: half(998, 10), attrs: null },
      ],
    );
    expect(await pointsBetween(db.sql, { seriesKeys: ['upsx:1'], from: minute(0), to: minute(1) })).toEqual([
      { seriesKey: 'upsx:1', ts: minute(0), value: 7, attrs: null },
    ]);
    expect(await pointsBetween(db.sql, { seriesKeys: ['upsx:2'], from: minute(0), to: minute(1) })).toEqual([
      { seriesKey: 'upsx:2', ts: minute(0), value: 0.5, attrs: { s: 2 } },
    ]);
    expect(await totals('upsx:')).toEqual({ series: 100, points: 100, sum: 99 * 0.5 + 7 });
  });

  it('small batches (one statement) keep the same rules: last wins, attrs kept, ISO and epoch times', async () => {
    const n = await putPointsBulk(db.sql, [
      { seriesKey: 'small:a', ts: '2025-01-01T00:00:00Z', value: 1, attrs: { q: 'x' } },
      { seriesKey: 'small:a', ts: T0, value: 2, attrs: { q: 'y' } },
      { seriesKey: 'small:b', ts: minute(1), value: 3 },
    ]);
    expect(n).toBe(2);
    expect(await pointsBetween(db.sql, { seriesKeys: ['small:a'], from: minute(0), to: minute(2) })).toEqual([
      { seriesKey: 'small:a', ts: minute(0), value: 2, attrs: { q: 'y' } },
    ]);
    expect(await pointsBetween(db.sql, { seriesKeys: ['small:b'], from: minute(0), to: minute(2) })).toEqual([
      { seriesKey: 'small:b', ts: minute(1), value: 3, attrs: null },
    ]);
    expect(await putPointsBulk(db.sql, [])).toBe(0);
  });

  it('refuses a batch holding NaN, Infinity or an unknown shape before anything is written', async () => {
    const before = await totals('');
    const points: unknown[] = big('bad', half);
    points[5] = { seriesKey: 'bad:5', ts: minute(0), value: Number.NaN };
    points[70_000] = { seriesKey: 'bad:7', ts: minute(70), value: Number.NEGATIVE_INFINITY };
    points[123_456] = { seriesKey: 'bad:8', ts: minute(123), value: 1, extra: true };
    points[150_000] = 42;
    points[199_999] = { seriesKey: 'bad:9', time: minute(1), value: 1 };
    const error = await caught(putPointsBulk(db.sql, points as PointInput[]));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: [5, 'value'], message: 'expected a finite number' },
      { path: [70_000, 'value'], message: 'expected a finite number' },
      { path: [123_456], message: 'Unrecognized key: "extra"' },
      { path: [150_000], message: 'Invalid input: expected object, received number' },
      {
        path: [199_999, 'ts'],
        message: 'expected a Date, epoch milliseconds or an ISO-8601 string with an offset',
      },
      { path: [199_999], message: 'Unrecognized key: "time"' },
    ]);
    expect(await totals('')).toEqual(before);
    const notArray = await caught(putPointsBulk(db.sql, { seriesKey: 'x' } as never));
    expect((notArray as ValidationError).issues).toEqual([
      { path: [], message: 'Invalid input: expected array, received object' },
    ]);
  });

  it('is all or nothing when the database refuses a row in the middle of a batch', async () => {
    // a constraint the SDK does not know: the database refuses value 12345 in the middle of a batch
    await db.sql`alter table matrices.points add constraint test_no_12345 check (value <> 12345)`;
    try {
      const before = await totals('');
      for (const at of [2_500, 59_999]) {
        const points = big('atomic', () => 1).slice(0, 60_000);
        points[at] = { ...points[at]!, value: 12345 };
        const error = await caught(putPointsBulk(db.sql, points));
        expect(error).toBeInstanceOf(ValidationError);
        expect(error).toMatchObject({
          sqlstate: '23514',
          constraint: 'test_no_12345',
          issues: [{ path: [], message: 'violates check test_no_12345' }],
        });
        expect(await totals('')).toEqual(before);
      }
      // the pool is healthy afterwards (no connection left in an aborted transaction)
      const rows = await Promise.all(Array.from({ length: 8 }, () => db.sql`select 1 as one`));
      expect(rows.map((r) => r[0]?.one)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    } finally {
      await db.sql`alter table matrices.points drop constraint test_no_12345`;
    }
  });

  it('a COPY the server refuses throws instead of hanging, and leaves the connection usable', async () => {
    // postgres.js 3.4 never settles a COPY stream that fails after its end (porsager/postgres#1173)
    for (const chunks of [[Buffer.from('not a binary copy')], [Buffer.alloc(3 << 20, 7)]]) {
      const error = await caught(
        db.sql.begin(async (tx) => {
          await tx`create temporary table copy_target (x int) on commit drop`;
          await copyIn(tx, tx`copy copy_target from stdin with (format binary)`, chunks, 'test.copy');
        }),
      );
      expect(error).toBeInstanceOf(Error);
    }
    const rows = await Promise.all(Array.from({ length: 8 }, () => db.sql`select 1 as one`));
    expect(rows.map((r) => r[0]?.one)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('rolls back with the transaction it runs in', async () => {
    const before = await totals('');
    const error = await caught(
      db.client.transaction(async (tx) => {
        await tx.matrices.putPointsBulk(big('tx', half).slice(0, 5000));
        throw new Error('changed my mind');
      }),
    );
    expect((error as Error).message).toBe('changed my mind');
    expect(await totals('')).toEqual(before);
  });

  it('concurrent batches over the same new series all land, without deadlock', async () => {
    // four writers on four connections, each 30 000 points over the same 300 series, overlapping
    // half of each other's instants with the same values (replays of one another)
    const batch = (w: number) => {
      const out: PointInput[] = [];
      for (let m = w * 50; m < w * 50 + 100; m++) {
        for (let s = 0; s < 300; s++) out.push({ seriesKey: `conc:${s}`, ts: minute(m), value: (s + m) % 3 });
      }
      return out.reverse(); // out of order on purpose
    };
    const counts = await Promise.all([0, 1, 2, 3].map((w) => putPointsBulk(db.sql, batch(w))));
    expect(counts).toEqual([30_000, 30_000, 30_000, 30_000]);
    let sum = 0;
    for (let m = 0; m < 250; m++) for (let s = 0; s < 300; s++) sum += (s + m) % 3;
    expect(await totals('conc:')).toEqual({ series: 300, points: 250 * 300, sum });
  });
});

describe('latestPoints', () => {
  it('returns one row per series, the latest, also after out-of-order writes', async () => {
    await putPointsBulk(db.sql, [
      { seriesKey: 'lp:a', ts: minute(5), value: 5 },
      { seriesKey: 'lp:a', ts: minute(1), value: 1 },
      { seriesKey: 'lp:b', ts: minute(2), value: 2 },
    ]);
    await putPoint(db.sql, { seriesKey: 'lp:a', ts: minute(3), value: 3 }); // older than the latest
    await putPoint(db.sql, { seriesKey: 'lp:b', ts: minute(9), value: 9, attrs: { late: true } });
    await ensureSeries(db.sql, { key: 'lp:empty' }); // no point: no row
    const rows = await db.client.matrices.latestPoints({ keyPrefix: 'lp:' });
    expect(rows.map((r) => [r.key, r.ts, r.value, r.attrs])).toEqual([
      ['lp:a', minute(5), 5, null],
      ['lp:b', minute(9), 9, { late: true }],
    ]);
    expect(await latestPoints(db.sql, { keys: ['lp:b', 'lp:none'] })).toEqual([
      {
        seriesId: expect.any(Number),
        key: 'lp:b',
        name: null,
        scope: null,
        unit: null,
        target: {},
        symbol: null,
        base: null,
        quote: null,
        matrixType: null,
        ts: minute(9),
        value: 9,
        attrs: { late: true },
      },
    ]);
    // a prefix is matched literally: `_` and `%` are not wildcards
    expect(await latestPoints(db.sql, { keyPrefix: 'lp_' })).toEqual([]);
    // no filter: one row per series that has points, each its latest
    const all = await latestPoints(db.sql);
    const [expected] = await db.sql<{ series: number; latest: string }[]>`
      select count(*)::int as series, string_agg(s.key || '@' || to_char(l.ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS'), ',' order by s.key) as latest
      from matrices.series s
      join (select series_id, max(ts) as ts from matrices.points group by series_id) l on l.series_id = s.id`;
    expect(all).toHaveLength(expected!.series);
    expect(all.map((r) => `${r.key}@${r.ts.toISOString().slice(0, -1)}`).join(',')).toBe(expected!.latest);
    expect(all.filter((r) => r.key.startsWith('lp:'))).toEqual(
      await latestPoints(db.sql, { keyPrefix: 'lp:' }),
    );
  });
});

describe('grids', () => {
  const COINS = Array.from({ length: 40 }, (_, i) => `C${String(i).padStart(2, '0')}`);
  /** value of cell (i, j): small halves; a few cells are not finite, the diagonal holds junk */
  const cell = (i: number, j: number): number | null => {
    if (i === j) return 1e9;
    if ((i * 40 + j) % 97 === 0) return Number.NaN;
    if ((i * 40 + j) % 89 === 0) return null;
    if ((i * 40 + j) % 83 === 0) return Number.POSITIVE_INFINITY;
    return ((i - j) % 13) / 2;
  };
  const values = COINS.map((_, i) => COINS.map((_, j) => cell(i, j)));
  // skipped cells read back as null; -0 (from (i - j) % 13 < 0 … = -0) is stored as 0
  const expected = values.map((row, i) =>
    row.map((v, j) => (i === j || v === null || !Number.isFinite(v) ? null : v === 0 ? 0 : v)),
  );
  const skipped = expected.flat().filter((v) => v === null).length - 40;

  it('putGrid writes a 40-coin grid as 40·39 cells (less the skipped ones) and getGrid returns it', async () => {
    expect(skipped).toBeGreaterThan(0);
    const result = await db.client.matrices.putGrid({
      matrixType: 'id_pct',
      ts: minute(0),
      coins: COINS,
      values,
    });
    expect(result).toEqual({ points: 40 * 39 - skipped });
    expect(await totals('id_pct:')).toEqual({
      series: 40 * 39 - skipped,
      points: 40 * 39 - skipped,
      sum: expected.flat().reduce((a: number, v) => a + (v ?? 0), 0),
    });
    expect(await getGrid(db.sql, { matrixType: 'id_pct' })).toEqual({
      ts: minute(0),
      coins: COINS,
      values: expected,
    });
    const cellSeries = await getSeries(db.sql, 'id_pct:C01/C02');
    expect(cellSeries?.target).toEqual({ matrixType: 'id_pct', base: 'C01', quote: 'C02', symbol: 'C01C02' });
    expect(
      await pointsBetween(db.sql, { seriesKeys: ['id_pct:C01/C02'], from: minute(0), to: minute(1) }),
    ).toEqual([{ seriesKey: 'id_pct:C01/C02', ts: minute(0), value: expected[1]![2], attrs: null }]);
  });

  it('every cell has 40·39 series once all are finite; getGrid reads the latest or a given instant', async () => {
    await putGrid(db.sql, { matrixType: 'id_pct', ts: minute(0), coins: COINS, values });
    const full = COINS.map((_, i) => COINS.map((_, j) => (i === j ? null : (i + j) / 2)));
    expect(
      await putGrid(db.sql, { matrixType: 'id_pct', ts: minute(1), coins: COINS, values: full }),
    ).toEqual({
      points: 40 * 39,
    });
    const [n] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from matrices.series where key ~ '^id_pct:C[0-9]{2}/C[0-9]{2}$'`;
    expect(n!.n).toBe(40 * 39);
    expect(await getGrid(db.sql, { matrixType: 'id_pct' })).toEqual({
      ts: minute(1),
      coins: COINS,
      values: full,
    });
    expect(await getGrid(db.sql, { matrixType: 'id_pct', ts: minute(0) })).toEqual({
      ts: minute(0),
      coins: COINS,
      values: expected,
    });
    expect(await getGrid(db.sql, { matrixType: 'id_pct', ts: minute(7) })).toBeNull();
    expect(await getGrid(db.sql, { matrixType: 'pct24h' })).toBeNull();
    const latest = await latestPoints(db.sql, { matrixType: 'id_pct', symbol: 'C03C04' });
    expect(latest.map((r) => [r.key, r.ts, r.value])).toEqual([['id_pct:C03/C04', minute(1), 3.5]]);
  });

  it('rewriting a grid at the same instant replaces it, skipped cells included', async () => {
    const coins = ['BTC', 'ETH', 'USDT'];
    await putGrid(db.sql, {
      matrixType: 'benchmark',
      ts: minute(0),
      coins,
      values: [
        [null, 20, 60000],
        [0.05, null, 3000],
        [0.00001, 0.0003, null],
      ],
    });
    const again = await putGrid(db.sql, {
      matrixType: 'benchmark',
      ts: minute(0),
      coins,
      values: [
        [null, 21, Number.NaN],
        [0.05, null, 3100],
        [null, 0.0003, null],
      ],
    });
    expect(again).toEqual({ points: 4 });
    expect(await getGrid(db.sql, { matrixType: 'benchmark', ts: minute(0) })).toEqual({
      ts: minute(0),
      coins,
      values: [
        [null, 21, null],
        [0.05, null, 3100],
        [null, 0.0003, null],
      ],
    });
    expect(
      (await listSeries(db.sql, { symbols: ['BTCUSDT', 'ETHUSDT'], matrixType: 'benchmark' })).map((s) => [
        s.key,
        s.matrixType,
        s.base,
        s.quote,
      ]),
    ).toEqual([
      ['benchmark:BTC/USDT', 'benchmark', 'BTC', 'USDT'],
      ['benchmark:ETH/USDT', 'benchmark', 'ETH', 'USDT'],
    ]);
  });

  it("rewriting a grid at the same instant without a coin removes that coin's cells at that instant", async () => {
    const coins = ['SOL', 'BNB', 'XRP'];
    const at = (m: number) => ({ matrixType: 'shrink', ts: minute(m) });
    await putGrid(db.sql, {
      ...at(0),
      coins,
      values: [
        [null, 1, 2],
        [3, null, 4],
        [5, 6, null],
      ],
    });
    await putGrid(db.sql, {
      ...at(1),
      coins,
      values: [
        [null, 7, 8],
        [9, null, 10],
        [11, 12, null],
      ],
    });
    // the grid at minute 1 is written again without XRP (dropped from the universe)
    await putGrid(db.sql, {
      ...at(1),
      coins: ['BNB', 'SOL'],
      values: [
        [null, 13],
        [14, null],
      ],
    });
    expect(await getGrid(db.sql, { matrixType: 'shrink' })).toEqual({
      ts: minute(1),
      coins: ['BNB', 'SOL'],
      values: [
        [null, 13],
        [14, null],
      ],
    });
    const latest = await latestPoints(db.sql, { matrixType: 'shrink' });
    expect(latest.map((p) => [p.key, p.ts, p.value])).toEqual([
      ['shrink:BNB/SOL', minute(1), 13],
      ['shrink:BNB/XRP', minute(0), 4],
      ['shrink:SOL/BNB', minute(1), 14],
      ['shrink:SOL/XRP', minute(0), 2],
      ['shrink:XRP/BNB', minute(0), 6],
      ['shrink:XRP/SOL', minute(0), 5],
    ]);
  });

  it('refuses a grid that is not N x N, and writes nothing', async () => {
    const before = await totals('');
    const error = await caught(
      putGrid(db.sql, {
        matrixType: 'id_pct',
        ts: minute(2),
        coins: ['BTC', 'ETH'],
        values: [[null, 1], [2]],
      }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: ['values', 1], message: 'expected 2 cells, one per coin' },
    ]);
    const bad = await caught(
      putGrid(db.sql, {
        matrixType: 'ID',
        ts: minute(2),
        coins: ['BTC', 'BTC'],
        values: [
          [null, 1],
          [2, null],
        ],
      }),
    );
    expect((bad as ValidationError).issues).toEqual([
      { path: ['matrixType'], message: 'expected a lower-case matrix type such as id_pct' },
      { path: ['coins'], message: 'coins must be distinct' },
    ]);
    expect(await totals('')).toEqual(before);
    expect(await getGrid(db.sql, { matrixType: 'id_pct', ts: minute(2) })).toBeNull();
  });
});

describe('instants are whole milliseconds', () => {
  it('refuses an instant with microseconds (a Date would drop them silently), and writes nothing', async () => {
    const before = await totals('');
    const error = await caught(
      putPoint(db.sql, { seriesKey: 'us:a', ts: '2025-01-01T00:00:00.000500Z', value: 1 }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: ['ts'], message: 'expected an instant in whole milliseconds' },
    ]);
    const points: PointInput[] = Array.from({ length: 1500 }, (_, i) => ({
      seriesKey: `us:${i % 3}`,
      ts: minute(i),
      value: i,
    }));
    points[7] = { seriesKey: 'us:1', ts: '2025-01-01T00:07:00.123456+00:00', value: 7 };
    const bulk = await caught(putPointsBulk(db.sql, points));
    expect((bulk as ValidationError).issues).toEqual([
      { path: [7, 'ts'], message: 'expected an instant in whole milliseconds' },
    ]);
    expect(await totals('')).toEqual(before);
    // trailing zeros are still whole milliseconds
    expect(
      await putPoint(db.sql, { seriesKey: 'us:a', ts: '2025-01-01T00:00:00.123000Z', value: 1 }),
    ).toMatchObject({
      ts: new Date(T0 + 123),
    });
  });

  it('the tables refuse a sub-millisecond instant when the SDK is bypassed', async () => {
    await expect(
      db.sql`select matrices.sp_put_point('us:b', '2025-01-01 00:00:00.0005+00', 1)`,
    ).rejects.toMatchObject({ code: '23514', constraint_name: 'points_ts_ms' });
    await expect(
      db.sql`insert into matrices.grids (matrix_type, ts, coins) values ('us', '2025-01-01 00:00:00.0005+00', '{A,B}')`,
    ).rejects.toMatchObject({ code: '23514', constraint_name: 'grids_ts_ms' });
    expect(await getSeries(db.sql, 'us:b')).toBeNull();
  });

  it('refuses a series key PostgreSQL would refuse or alter (NUL, lone surrogate)', async () => {
    for (const [key, message] of [
      ['nul:\u0000', 'must not contain NUL (U+0000)'],
      ['lone:\uD800', 'must not contain a lone surrogate (ill-formed UTF-16)'],
    ]) {
      const error = await caught(putPointsBulk(db.sql, [{ seriesKey: key!, ts: minute(0), value: 1 }]));
      expect((error as ValidationError).issues).toEqual([{ path: [0, 'seriesKey'], message }]);
    }
    expect(await totals('nul:')).toEqual({ series: 0, points: 0, sum: null });
    expect(await totals('lone:')).toEqual({ series: 0, points: 0, sum: null });
  });
});

describe('points belong to a series (checked per statement, in place of a foreign key)', () => {
  const orphans = async () => {
    const [r] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from matrices.points p
      where not exists (select 1 from matrices.series s where s.id = p.series_id)`;
    return r!.n;
  };
  /**
   * Waits until backend `pid` waits for a lock: held by backend `holder` when given, else by anyone
   * (a second waiter of one row waits behind the first). Polls every 20 ms; fails after 10 s naming
   * the backends.
   */
  const blockedBy = async (pid: number, holder?: number) => {
    for (let poll = 0; poll < 500; poll++) {
      const [r] = await db.sql<{ blockers: number[] }[]>`select pg_blocking_pids(${pid}) as blockers`;
      if (holder === undefined ? (r?.blockers.length ?? 0) > 0 : r?.blockers.includes(holder)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const by = holder === undefined ? 'any backend' : `backend ${holder}`;
    throw new Error(`backend ${pid} did not wait for a lock of ${by} within 10 s`);
  };
  const pidOf = async (sql: Queryable) => {
    const [r] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    return r!.pid;
  };
  const gate = () => {
    let open = () => {};
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { open, opened };
  };

  it('refuses points of an unknown series, the whole statement, when the SDK is bypassed', async () => {
    const s = await ensureSeries(db.sql, { key: 'ri:known' });
    const before = await totals('');
    await expect(
      db.sql`insert into matrices.points (series_id, ts, value)
             values (${s.id}, ${minute(0)}, 1), (${s.id + 1_000_000}, ${minute(0)}, 2)`,
    ).rejects.toMatchObject({
      code: '23503',
      constraint_name: 'points_series_id_fkey',
      detail: `Key (series_id)=(${s.id + 1_000_000}) is not present in table "series".`,
    });
    await putPoint(db.sql, { seriesKey: 'ri:known', ts: minute(0), value: 1 });
    await expect(
      db.sql`update matrices.points set series_id = ${s.id + 1_000_000} where series_id = ${s.id}`,
    ).rejects.toMatchObject({ code: '23503', constraint_name: 'points_series_id_fkey' });
    expect(await totals('')).toEqual({ ...before, points: before.points + 1, sum: (before.sum ?? 0) + 1 });
  });

  it('deleting a series deletes its points; truncating series truncates points', async () => {
    await putPointsBulk(db.sql, [
      { seriesKey: 'ri:del', ts: minute(0), value: 1 },
      { seriesKey: 'ri:del', ts: minute(1), value: 2 },
      { seriesKey: 'ri:keep', ts: minute(0), value: 3 },
    ]);
    await db.sql`delete from matrices.series where key = 'ri:del'`;
    expect(await totals('ri:del')).toEqual({ series: 0, points: 0, sum: null });
    expect(await pointsBetween(db.sql, { seriesKeys: ['ri:keep'], from: minute(0), to: minute(2) })).toEqual([
      { seriesKey: 'ri:keep', ts: minute(0), value: 3, attrs: null },
    ]);
    expect(await orphans()).toBe(0);
    const rolledBack = new Error('roll back');
    const inside = await caught(
      db.sql.begin(async (tx) => {
        await tx`truncate matrices.series`;
        const [n] = await tx<{ n: number }[]>`select count(*)::int as n from matrices.points`;
        expect(n!.n).toBe(0);
        await tx`truncate matrices.points, matrices.series restart identity`; // both at once: no 55006
        throw rolledBack;
      }),
    );
    expect(inside).toBe(rolledBack);
    expect(await totals('ri:keep')).toEqual({ series: 1, points: 1, sum: 3 });
  });

  it('refuses to delete series under repeatable read (it could leave concurrent points behind)', async () => {
    await putPoint(db.sql, { seriesKey: 'ri:rr', ts: minute(0), value: 3 });
    const error = await caught(
      db.sql.begin(
        'isolation level repeatable read',
        (tx) => tx`delete from matrices.series where key = 'ri:rr'`,
      ),
    );
    expect(error).toMatchObject({ code: '0A000' });
    expect(await totals('ri:rr')).toEqual({ series: 1, points: 1, sum: 3 });
  });

  it('a series deleted while a bulk write into it is open waits for it, then takes its points along', async () => {
    await ensureSeries(db.sql, { key: 'ri:race' });
    const points = Array.from({ length: 1500 }, (_, m) => ({
      seriesKey: 'ri:race',
      ts: minute(m),
      value: 1,
    }));
    const hold = gate();
    const wrote = gate();
    let writerPid = 0;
    const writer = db.sql.begin(async (tx) => {
      writerPid = await pidOf(tx);
      await putPointsBulk(tx, points);
      wrote.open();
      await hold.opened; // the series is key-share locked until this transaction ends
    });
    await wrote.opened;
    const other = await db.sql.reserve();
    try {
      const deleterPid = await pidOf(other);
      const deleter = other`delete from matrices.series where key = 'ri:race'`.execute();
      await blockedBy(deleterPid, writerPid);
      hold.open();
      await writer;
      expect((await deleter).count).toBe(1);
    } finally {
      other.release();
    }
    expect(await orphans()).toBe(0);
  });

  it('a bulk write into a series being deleted fails once the delete commits, and writes nothing', async () => {
    await ensureSeries(db.sql, { key: 'ri:gone' });
    const before = await totals('');
    const hold = gate();
    const deleted = gate();
    const deleter = db.sql.begin(async (tx) => {
      await tx`delete from matrices.series where key = 'ri:gone'`;
      deleted.open();
      await hold.opened;
    });
    await deleted.opened;
    // two writers (the COPY path and the one-statement path), each in its own transaction
    const started = [gate(), gate()];
    const pids = [0, 0];
    const writes = [1500, 10].map((n, i) =>
      caught(
        db.sql.begin(async (tx) => {
          pids[i] = await pidOf(tx);
          started[i]!.open();
          return putPointsBulk(
            tx,
            Array.from({ length: n }, (_, m) => ({ seriesKey: 'ri:gone', ts: minute(m), value: 1 })),
          );
        }),
      ),
    );
    await Promise.all(started.map((g) => g.opened));
    // each waits for the deleter's row lock, directly or behind the other writer
    for (const pid of pids) await blockedBy(pid);
    hold.open();
    await deleter;
    for (const error of await Promise.all(writes)) {
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ sqlstate: '23503', constraint: 'points_series_id_fkey' });
    }
    expect(await totals('')).toEqual({ ...before, series: before.series - 1 });
    expect(await orphans()).toBe(0);
  });
});

describe('a host pool without fetched array types', () => {
  it('every function works on a pool with fetch_types: false (array parameters are literals)', async () => {
    const host = postgres(db.url, { fetch_types: false, max: 2, onnotice: () => {} });
    try {
      const small = [
        { seriesKey: 'ft:a', ts: minute(0), value: 1.25, attrs: { note: 'say "hi" \\ there' } },
        { seriesKey: 'ft:b', ts: minute(0), value: 2 },
      ];
      const large = Array.from({ length: 3000 }, (_, i) => ({
        seriesKey: `ft:${i % 3}`,
        ts: minute(i),
        value: i,
      }));
      // first queries of a fresh pool, concurrently: no array type has been fetched
      expect(await Promise.all([putPointsBulk(host, small), putPointsBulk(host, large)])).toEqual([2, 3000]);
      expect(await pointsBetween(host, { seriesKeys: ['ft:a'], from: minute(0), to: minute(1) })).toEqual([
        { seriesKey: 'ft:a', ts: minute(0), value: 1.25, attrs: { note: 'say "hi" \\ there' } },
      ]);
      const grid = {
        ts: minute(0),
        coins: ['AAA', 'BBB'],
        values: [
          [null, 1],
          [2, null],
        ],
      };
      expect(await putGrid(host, { matrixType: 'ft', ...grid })).toEqual({ points: 2 });
      expect(await getGrid(host, { matrixType: 'ft' })).toEqual(grid);
      expect((await latestPoints(host, { keys: ['ft:a', 'ft:2'] })).map((r) => [r.key, r.value])).toEqual([
        ['ft:2', 2999],
        ['ft:a', 1.25],
      ]);
    } finally {
      await host.end({ timeout: 5 });
    }
  });
});

// Re-applying every pack (this one included) is tested once for all packs in tests/ddl.test.ts.

describe('the database keeps the rules of the SDK (other writers exist)', () => {
  it('sp_ensure_series_bulk merges a target as sp_ensure_series does (stored || given, nested values replaced)', async () => {
    const stored = { a: { x: 1, y: 2 }, quotes: ['USDT', 'BTC'], frozen: false };
    const given = { a: { x: 1 }, quotes: ['USDT'] };
    await ensureSeries(db.sql, { key: 'merge:one', target: stored });
    await ensureSeries(db.sql, { key: 'merge:one', target: given });
    await db.sql`select * from matrices.sp_ensure_series_bulk(array['merge:bulk'], array[${JSON.stringify(stored)}::text::jsonb])`;
    await db.sql`select * from matrices.sp_ensure_series_bulk(array['merge:bulk'], array[${JSON.stringify(given)}::text::jsonb])`;
    const merged = { a: { x: 1 }, quotes: ['USDT'], frozen: false };
    expect((await getSeries(db.sql, 'merge:one'))?.target).toEqual(merged);
    expect((await getSeries(db.sql, 'merge:bulk'))?.target).toEqual(merged);
  });

  it('every surrounding whitespace zod refuses in a series key, the table refuses too', async () => {
    for (const padded of ['k\v', '\fk', 'k\u00a0', '\u2003k', 'k\u2028', '\ufeffk']) {
      const error = await caught(putPoint(db.sql, { seriesKey: padded, ts: minute(0), value: 1 }));
      expect((error as ValidationError).issues.map((i) => i.path)).toEqual([['seriesKey']]);
      await expect(db.sql`select matrices.sp_ensure_series(${padded})`).rejects.toMatchObject({
        code: '23514',
        constraint_name: 'series_key_form',
      });
    }
    expect((await ensureSeries(db.sql, { key: 'ws:a\u00a0b' })).key).toBe('ws:a\u00a0b');
  });

  it('a name, scope or unit longer than ensureSeries accepts is refused by the table too', async () => {
    const long = { name: 'n'.repeat(201), scope: 's'.repeat(101), unit: 'u'.repeat(51) };
    const error = await caught(ensureSeries(db.sql, { key: 'len:x', ...long }));
    expect((error as ValidationError).issues.map((i) => i.path)).toEqual([['name'], ['scope'], ['unit']]);
    for (const [field, value] of Object.entries(long)) {
      const args = { name: null, scope: null, unit: null, [field]: value };
      await expect(
        db.sql`select matrices.sp_ensure_series('len:x', ${args.name}, ${args.scope}, ${args.unit})`,
      ).rejects.toMatchObject({ code: '23514', constraint_name: 'series_labels_length' });
    }
    expect(await getSeries(db.sql, 'len:x')).toBeNull();
    const fits = { name: 'n'.repeat(200), scope: 's'.repeat(100), unit: 'u'.repeat(50) };
    expect(await ensureSeries(db.sql, { key: 'len:x', ...fits })).toMatchObject(fits);
  });

  it('matrices.grids refuses coins that putGrid refuses (not asset codes, or twice)', async () => {
    for (const coins of [
      ['BTC', 'btc'],
      ['BTC', 'BTC'],
      ['BTC', ''],
    ]) {
      const error = await caught(
        putGrid(db.sql, {
          matrixType: 'gc',
          ts: minute(0),
          coins,
          values: [
            [null, 1],
            [1, null],
          ],
        }),
      );
      expect(error).toBeInstanceOf(ValidationError);
      await expect(
        db.sql`insert into matrices.grids (matrix_type, ts, coins) values ('gc', ${minute(0)}, ${coins}::text[])`,
      ).rejects.toMatchObject({ code: '23514', constraint_name: 'grids_coins_form' });
    }
    expect(await getGrid(db.sql, { matrixType: 'gc' })).toBeNull();
  });
});

describe('one rule for every path: -0 is stored as 0', () => {
  /** The stored value as PostgreSQL prints it ('-0' for a negative zero). */
  const storedText = async (key: string) =>
    (
      await db.sql<{ v: string }[]>`
        select p.value::text as v from matrices.points p join matrices.series s on s.id = p.series_id
        where s.key = ${key} order by p.ts`
    ).map((r) => r.v);

  it('putPoint', async () => {
    const row = await putPoint(db.sql, { seriesKey: 'nz:point', ts: minute(0), value: -0 });
    expect(Object.is(row.value, 0)).toBe(true);
    expect(await storedText('nz:point')).toEqual(['0']);
  });

  it('putPointsBulk, one statement (up to 1 000 points)', async () => {
    expect(await putPointsBulk(db.sql, [{ seriesKey: 'nz:small', ts: minute(0), value: -0 }])).toBe(1);
    expect(await storedText('nz:small')).toEqual(['0']);
  });

  it('putPointsBulk, binary COPY (more than 1 000 points), new and existing series', async () => {
    const points = Array.from({ length: 1001 }, (_, m) => ({
      seriesKey: 'nz:copy',
      ts: minute(m),
      value: -0,
    }));
    expect(await putPointsBulk(db.sql, points)).toBe(1001);
    expect(new Set(await storedText('nz:copy'))).toEqual(new Set(['0']));
    // the upsert path (the series exists now): a replay with 1 then -0 leaves 0, not -0
    await putPointsBulk(
      db.sql,
      points.map((p) => ({ ...p, value: 1 })),
    );
    expect(await putPointsBulk(db.sql, points)).toBe(1001);
    expect(new Set(await storedText('nz:copy'))).toEqual(new Set(['0']));
  });

  it('putGrid', async () => {
    await putGrid(db.sql, {
      matrixType: 'nz',
      ts: minute(0),
      coins: ['AAA', 'BBB'],
      values: [
        [null, -0],
        [0, null],
      ],
    });
    expect(await storedText('nz:AAA/BBB')).toEqual(['0']);
    expect(await storedText('nz:BBB/AAA')).toEqual(['0']);
  });
});

describe('JSON inputs (attrs, target) are JSON values only, checked before anything is sent', () => {
  const deep = (n: number) => {
    let v: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) v = { d: v };
    return v;
  };
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  const cases: [string, Record<string, unknown>, (string | number)[], string][] = [
    ['a BigInt', { n: 1n }, ['n'], 'must not be a BigInt (send it as a string)'],
    ['a cycle', circular, ['self'], 'is circular (contains itself)'],
    ['5 000 levels', deep(5000), Array.from({ length: 64 }, () => 'd'), 'nests deeper than 64 levels'],
    ['NaN', { x: [1, Number.NaN] }, ['x', 1], 'must be a finite number (JSON has no NaN or Infinity)'],
    [
      'Infinity',
      { x: Number.POSITIVE_INFINITY },
      ['x'],
      'must be a finite number (JSON has no NaN or Infinity)',
    ],
    ['undefined', { x: undefined }, ['x'], 'must not be undefined (JSON has no undefined)'],
    [
      'a Date',
      { at: new Date(0) },
      ['at'],
      'must be a plain object, array or primitive (send a Date as an ISO string)',
    ],
  ];
  for (const [what, value, path, message] of cases) {
    it(`refuses ${what} in attrs and target, naming the path, and writes nothing`, async () => {
      const before = await totals('');
      const point = await caught(
        putPoint(db.sql, { seriesKey: 'js:a', ts: minute(0), value: 1, attrs: value as never }),
      );
      expect(point).toBeInstanceOf(ValidationError);
      expect((point as ValidationError).issues).toEqual([{ path: ['attrs', ...path], message }]);
      const bulk = await caught(
        putPointsBulk(db.sql, [
          { seriesKey: 'js:a', ts: minute(0), value: 1 },
          { seriesKey: 'js:b', ts: minute(0), value: 1, attrs: value as never },
        ]),
      );
      expect((bulk as ValidationError).issues).toEqual([{ path: [1, 'attrs', ...path], message }]);
      const series = await caught(ensureSeries(db.sql, { key: 'js:c', target: value as never }));
      expect((series as ValidationError).issues).toEqual([{ path: ['target', ...path], message }]);
      expect(await totals('')).toEqual(before);
    });
  }

  it('a "__proto__" key survives the write and the read, in attrs (every path) and in targets', async () => {
    const attrs = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as JsonObject;
    const text = '{"a": 1, "__proto__": {"polluted": true}}'; // jsonb orders keys by length
    const own = (o: unknown) => Object.getOwnPropertyDescriptor(o, '__proto__')?.value;
    const stored = async (key: string) =>
      (
        await db.sql<{ t: string }[]>`
          select p.attrs::text as t from matrices.points p join matrices.series s on s.id = p.series_id
          where s.key = ${key} limit 1`
      )[0]?.t;
    const written = await putPoint(db.sql, { seriesKey: 'proto:point', ts: minute(0), value: 1, attrs });
    expect(own(written.attrs)).toEqual({ polluted: true });
    await putPointsBulk(db.sql, [{ seriesKey: 'proto:small', ts: minute(0), value: 1, attrs }]);
    await putPointsBulk(
      db.sql,
      Array.from({ length: 1001 }, (_, m) => ({ seriesKey: 'proto:copy', ts: minute(m), value: 1, attrs })),
    );
    for (const key of ['proto:point', 'proto:small', 'proto:copy']) {
      expect(await stored(key)).toBe(text);
      const [p] = await pointsBetween(db.sql, { seriesKeys: [key], from: minute(0), to: minute(1) });
      expect(own(p?.attrs)).toEqual({ polluted: true });
      expect(JSON.stringify(p?.attrs)).toBe('{"a":1,"__proto__":{"polluted":true}}');
    }
    const [latest] = await latestPoints(db.sql, { keys: ['proto:point'] });
    expect(own(latest?.attrs)).toEqual({ polluted: true });
    const s = await ensureSeries(db.sql, { key: 'proto:series', target: attrs });
    expect(own(s.target)).toEqual({ polluted: true });
    expect(own((await getSeries(db.sql, 'proto:series'))?.target)).toEqual({ polluted: true });
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe('pointsBetween and listSeries read many series in one call', () => {
  it('rows name their series, by series in the order given, each in time order', async () => {
    await putPointsBulk(db.sql, [
      { seriesKey: 'many:a', ts: minute(2), value: 2 },
      { seriesKey: 'many:a', ts: minute(1), value: 1 },
      { seriesKey: 'many:b', ts: minute(1), value: 10 },
      { seriesKey: 'many:b', ts: minute(9), value: 90 },
    ]);
    expect(
      await pointsBetween(db.sql, {
        seriesKeys: ['many:b', 'many:none', 'many:a', 'many:b'],
        from: minute(0),
        to: '2025-01-01T00:05:00Z',
      }),
    ).toEqual([
      { seriesKey: 'many:b', ts: minute(1), value: 10, attrs: null },
      { seriesKey: 'many:a', ts: minute(1), value: 1, attrs: null },
      { seriesKey: 'many:a', ts: minute(2), value: 2, attrs: null },
    ]);
    expect((await listSeries(db.sql, { keys: ['many:b', 'many:a', 'many:none'] })).map((s) => s.key)).toEqual(
      ['many:a', 'many:b'],
    );
    expect((await listSeries(db.sql, { keyPrefix: 'many:' })).map((s) => s.key)).toEqual([
      'many:a',
      'many:b',
    ]);
    const none = await caught(pointsBetween(db.sql, { seriesKeys: [], from: minute(0), to: minute(2) }));
    expect((none as ValidationError).issues.map((i) => i.path)).toEqual([['seriesKeys']]);
  });
});

describe('instants read back exactly whatever the session TimeZone', () => {
  const instants = [
    '0001-01-01T00:00:00.000Z',
    '0030-03-01T00:00:00.000Z',
    '0050-06-01T00:00:00.000Z',
    '0099-12-31T23:59:59.999Z',
    '1850-06-01T12:34:56.789Z',
    '1900-01-01T00:00:00.001Z',
    '1970-01-01T00:00:00.000Z',
    '2038-01-19T03:14:08.000Z',
    '9999-12-31T23:59:59.999Z',
  ];
  const dates = instants.map((iso) => new Date(iso));

  it('the binary COPY path writes years 1 to 99 exactly (and the others)', async () => {
    const points = Array.from({ length: 1001 }, (_, i) => ({
      seriesKey: `copyyears:${i % 3}`,
      ts: i < instants.length ? dates[i]! : new Date(Date.UTC(2000, 0, 1) + i),
      value: i,
    }));
    await putPointsBulk(db.sql, points);
    const [row] = await db.sql<{ t: string }[]>`
      select string_agg(to_char(p.ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), ',' order by p.value) as t
      from matrices.points p join matrices.series s on s.id = p.series_id
      where s.key like 'copyyears:%' and p.value < ${instants.length}`;
    expect(row?.t).toBe(instants.join(','));
  });

  for (const zone of ['Europe/Amsterdam', 'Asia/Kolkata', 'America/New_York']) {
    it(`putPoint, putPointsBulk, pointsBetween, latestPoints, putGrid and getGrid under TimeZone ${zone}`, async () => {
      const sql = postgres(db.url, { max: 1, onnotice: () => {}, connection: { TimeZone: zone } });
      try {
        const [tz] = await sql<{ tz: string }[]>`select current_setting('TimeZone') as tz`;
        expect(tz?.tz).toBe(zone);
        const key = `tz:${zone}`;
        for (const [i, ts] of dates.entries()) {
          const row = await putPoint(sql, { seriesKey: key, ts, value: i });
          expect(row.ts.toISOString()).toBe(instants[i]);
        }
        const read = await pointsBetween(sql, { seriesKeys: [key], from: dates[0]! });
        expect(read.map((p) => p.ts.toISOString())).toEqual(instants);
        const [latest] = await latestPoints(sql, { keys: [key] });
        expect(latest?.ts.toISOString()).toBe(instants.at(-1));
        await putPointsBulk(
          sql,
          dates.map((ts, i) => ({ seriesKey: `${key}:bulk`, ts, value: i })),
        );
        const bulk = await pointsBetween(sql, { seriesKeys: [`${key}:bulk`], from: dates[0]! });
        expect(bulk.map((p) => p.ts.toISOString())).toEqual(instants);
        expect((await getSeries(sql, key))?.createdAt).toEqual((await getSeries(db.sql, key))?.createdAt);
        const matrixType = `tz${['Europe/Amsterdam', 'Asia/Kolkata', 'America/New_York'].indexOf(zone)}`;
        for (const ts of dates) {
          await putGrid(sql, {
            matrixType,
            ts,
            coins: ['AAA', 'BBB'],
            values: [
              [null, 1],
              [2, null],
            ],
          });
          expect(await getGrid(sql, { matrixType, ts })).toEqual({
            ts,
            coins: ['AAA', 'BBB'],
            values: [
              [null, 1],
              [2, null],
            ],
          });
        }
        expect((await getGrid(sql, { matrixType }))?.ts.toISOString()).toBe(instants.at(-1));
      } finally {
        await sql.end();
      }
    });
  }
});

describe('putPointsBulk takes rows as an array or an (async) iterable', () => {
  it('an async generator and a Set write the same points as the array would', async () => {
    async function* gen() {
      for (let m = 0; m < 1500; m++) yield { seriesKey: 'iter:async', ts: minute(m), value: m };
    }
    expect(await putPointsBulk(db.sql, gen())).toBe(1500);
    expect(await totals('iter:async')).toEqual({ series: 1, points: 1500, sum: (1499 * 1500) / 2 });
    const set = new Set([{ seriesKey: 'iter:set', ts: minute(0), value: 2 }]);
    expect(await putPointsBulk(db.sql, set)).toBe(1);
    async function* bad() {
      yield { seriesKey: 'iter:bad', ts: minute(0), value: 1 };
      yield { seriesKey: 'iter:bad', ts: minute(1), value: Number.NaN };
    }
    const error = await caught(putPointsBulk(db.sql, bad()));
    expect((error as ValidationError).issues).toEqual([
      { path: [1, 'value'], message: 'expected a finite number' },
    ]);
    expect(await totals('iter:bad')).toEqual({ series: 0, points: 0, sum: null });
  });
});

describe('pointsBetween reads [from, to): from inclusive, to exclusive, either end open', () => {
  it('an end given bounds the range; an end absent leaves it open', async () => {
    await putPointsBulk(
      db.sql,
      [0, 1, 2, 3].map((m) => ({ seriesKey: 'range:a', ts: minute(m), value: m })),
    );
    const read = async (range: { from?: Date; to?: Date }) =>
      (await pointsBetween(db.sql, { seriesKeys: ['range:a'], ...range })).map((p) => p.value);
    expect(await read({ from: minute(1), to: minute(3) })).toEqual([1, 2]);
    expect(await read({ from: minute(1) })).toEqual([1, 2, 3]);
    expect(await read({ to: minute(1) })).toEqual([0]);
    expect(await read({})).toEqual([0, 1, 2, 3]);
    expect(await read({ from: minute(2), to: minute(2) })).toEqual([]);
  });
});
