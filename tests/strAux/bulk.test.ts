// upsertSamples5s: one statement rolls each touched cycle once; duplicates collapse (last wins);
// arrays and async iterables stream; a bad row anywhere writes nothing; the database refuses what zod refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  cyclesBetween,
  type Sample5sInput,
  samplesBetween,
  upsertSample5s,
  upsertSamples5s,
} from '../../src/strAux/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';
import { addSymbols, counts, S, T0 } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

/** A deterministic value in [-1, 1) from two integers. */
const noise = (a: number, b: number) => (((a * 7919 + b * 104_729) % 2000) - 1000) / 1000;

describe('bulk upsert', () => {
  it('100 000 samples (100 symbols x 1 000) in one call roll every touched cycle exactly once', {
    timeout: 180_000,
  }, async () => {
    const symbols = Array.from({ length: 100 }, (_, i) => `BK${String(i).padStart(3, '0')}USDT`);
    await addSymbols(db.sql, symbols);
    const t1 = T0 + 10 * 86_400_000;
    // count every write of a cycle row of these symbols
    await db.sql.unsafe(`
      create table public.cycle_writes (symbol text, cycle_start timestamptz, n integer not null default 1,
                                        primary key (symbol, cycle_start));
      create function public.count_cycle_write() returns trigger language plpgsql as $$
      begin
        insert into public.cycle_writes (symbol, cycle_start) values (new.symbol, new.cycle_start)
        on conflict (symbol, cycle_start) do update set n = public.cycle_writes.n + 1;
        return null;
      end $$;
      create trigger count_cycle_write after insert or update on str_aux.cycles_40s
        for each row when (new.symbol like 'BK%') execute function public.count_cycle_write();
    `);
    try {
      async function* rows(): AsyncIterable<Sample5sInput> {
        for (let i = 0; i < 1000; i++) {
          for (let s = 0; s < 100; s++) {
            yield { symbol: symbols[s]!, ts: t1 + i * 5 * S, vInner: noise(s, i), spreadAvg: (i % 7) / 8 };
          }
        }
      }
      const r = await upsertSamples5s(db.sql, rows());
      expect(r).toEqual({
        received: 100_000,
        distinct: 100_000,
        inserted: 100_000,
        updated: 0,
        unchanged: 0,
      });
      const [w] = await db.sql<{ cycles: number; once: number }[]>`
        select count(*)::int as cycles, count(*) filter (where n = 1)::int as once from public.cycle_writes
      `;
      expect(w).toEqual({ cycles: 100 * 125, once: 100 * 125 });
      // a sample of the cycles against the samples they hold (8 each, vInner noise(s, i))
      for (const [s, c] of [
        [0, 0],
        [17, 33],
        [42, 124],
        [99, 77],
      ] as const) {
        const [cycle] = await cyclesBetween(db.sql, {
          symbols: [symbols[s]!],
          from: t1 + c * 40 * S,
          to: t1 + c * 40 * S + 1,
        });
        const values = Array.from({ length: 8 }, (_, k) => noise(s, c * 8 + k));
        expect({
          n: cycle!.samplesCount,
          min: cycle!.vInnerMin,
          max: cycle!.vInnerMax,
          close: cycle!.vInnerClose,
        }).toEqual({ n: 8, min: Math.min(...values), max: Math.max(...values), close: values[7] });
        expect(cycle!.vInnerAvg).toBeCloseTo(values.reduce((a, b) => a + b, 0) / 8, 12);
      }
    } finally {
      await db.sql.unsafe(`
        drop trigger count_cycle_write on str_aux.cycles_40s;
        drop function public.count_cycle_write();
        drop table public.cycle_writes;
      `);
    }
  });

  it('a key given twice keeps its last row; a replay rewrites nothing; -0 is stored as 0', async () => {
    await addSymbols(db.sql, ['BLAUSDT']);
    const rows: Sample5sInput[] = [
      { symbol: 'BLAUSDT', ts: T0, vInner: 1, modeGeneral: 'tab\there', qualityFlags: ['a'] },
      { symbol: 'BLAUSDT', ts: T0 + 5 * S, vInner: 2 },
      { symbol: 'BLAUSDT', ts: new Date(T0), vInner: -0, attrs: JSON.parse('{"__proto__":1,"k":"v\\\\n"}') },
    ];
    expect(await upsertSamples5s(db.sql, rows)).toEqual({
      received: 3,
      distinct: 2,
      inserted: 2,
      updated: 0,
      unchanged: 0,
    });
    const stored = await samplesBetween(db.sql, { symbols: ['BLAUSDT'], from: T0, to: T0 + 60 * S });
    expect(stored.map((s) => [s.ts.getTime() - T0, s.vInner, s.modeGeneral, s.attrs])).toEqual([
      [0, 0, null, JSON.parse('{"__proto__":1,"k":"v\\\\n"}')],
      [5000, 2, null, {}],
    ]);
    expect(Object.is(stored[0]!.vInner, 0)).toBe(true);
    expect(Object.hasOwn(stored[0]!.attrs, '__proto__')).toBe(true);
    expect(await upsertSamples5s(db.sql, rows.slice(1))).toEqual({
      received: 2,
      distinct: 2,
      inserted: 0,
      updated: 0,
      unchanged: 2,
    });
    expect(await upsertSamples5s(db.sql, rows.slice(0, 2))).toEqual({
      received: 2,
      distinct: 2,
      inserted: 0,
      updated: 1,
      unchanged: 1,
    });
    // text and JSON with tabs, backslashes and newlines travel exactly through COPY
    await upsertSamples5s(db.sql, [
      { symbol: 'BLAUSDT', ts: T0 + 10 * S, modeB: 'a\\b\nc\r\td', qualityFlags: { x: 'tab\tnl\n\\' } },
    ]);
    const [t] = await samplesBetween(db.sql, { symbols: ['BLAUSDT'], from: T0 + 10 * S, to: T0 + 11 * S });
    expect([t!.modeB, t!.qualityFlags]).toEqual(['a\\b\nc\r\td', { x: 'tab\tnl\n\\' }]);
  });

  it('bad input is a ValidationError with nothing written for the whole batch', async () => {
    await addSymbols(db.sql, ['BLBUSDT']);
    const ok = (i: number): Sample5sInput => ({ symbol: 'BLBUSDT', ts: T0 + i * 5 * S, vInner: i });
    const cases: [unknown, (string | number)[], string][] = [
      [{ vInner: Number.NaN }, ['vInner'], 'expected a finite number'],
      [{ vOuter: Number.POSITIVE_INFINITY }, ['vOuter'], 'expected a finite number'],
      [{ liquidityImbalance: 1.5 }, ['liquidityImbalance'], 'must be between -1 and 1'],
      [{ liquidityImbalance: -1.0001 }, ['liquidityImbalance'], 'must be between -1 and 1'],
      [{ spreadAvg: -0.1 }, ['spreadAvg'], 'must not be negative'],
      [{ spreadMin: -1 }, ['spreadMin'], 'must not be negative'],
      [{ bucketCount: -1 }, ['bucketCount'], 'must not be negative'],
      [{ bucketCount: 1.5 }, ['bucketCount'], 'expected an integer'],
      [{ ts: Date.UTC(10000, 0, 1) }, ['ts'], 'must be between years 1 and 9999'],
      [{ ts: '2025-01-01T00:00:00.0001Z' }, ['ts'], 'expected an instant in whole milliseconds'],
      [{ ts: 1.5 }, ['ts'], 'expected an instant in whole milliseconds'],
      [{ symbol: 'btcusdt' }, ['symbol'], 'expected an upper-case symbol such as BTCUSDT'],
      [{ typo: 1 }, [], 'Unrecognized key: "typo"'],
    ];
    const before = await counts(db.sql);
    for (const [patch, path, message] of cases) {
      const rows = [ok(0), ok(1), { ...ok(2), ...(patch as object) }, ok(3)];
      const e = await refusal(upsertSamples5s(db.sql, rows as Sample5sInput[]));
      expect(e, JSON.stringify(path)).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues).toEqual([{ path: [2, ...path], message }]);
      const one = await refusal(upsertSample5s(db.sql, rows[2] as Sample5sInput));
      expect(one).toBeInstanceOf(ValidationError);
      expect((one as ValidationError).issues).toEqual([{ path, message }]);
    }
    // a symbol market.symbols does not hold is named
    const e = await refusal(upsertSamples5s(db.sql, [ok(0), { ...ok(1), symbol: 'NOSUCHUSDT' }]));
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues).toEqual([
      { path: ['symbol'], message: 'NOSUCHUSDT is not in market.symbols' },
    ]);
    const one = await refusal(upsertSample5s(db.sql, { ...ok(1), symbol: 'NOSUCHUSDT' }));
    expect((one as ValidationError).issues).toEqual([
      { path: [], message: "symbol 'NOSUCHUSDT' is not in market.symbols" },
    ]);
    // a bad row far into a stream, after chunks were sent: still nothing written
    async function* stream(): AsyncIterable<Sample5sInput> {
      for (let i = 0; i < 30_000; i++) yield i === 29_000 ? { ...ok(i), vInner: Number.NaN } : ok(i);
    }
    const s = await refusal(upsertSamples5s(db.sql, stream()));
    expect((s as ValidationError).issues).toEqual([
      { path: [29_000, 'vInner'], message: 'expected a finite number' },
    ]);
    expect(await counts(db.sql)).toEqual(before);
  });

  it('the database refuses what zod refuses, for other writers', async () => {
    await addSymbols(db.sql, ['BLCUSDT']);
    const before = await counts(db.sql);
    const bad = [
      ['v_inner', "'NaN'", 'samples_5s_signals_finite'],
      ['inertia', "'-Infinity'", 'samples_5s_signals_finite'],
      ['liquidity_imbalance', '1.01', 'samples_5s_liquidity_imbalance_range'],
      ['spread_avg', '-0.5', 'samples_5s_book_nonnegative'],
      ['tick_ms_avg', "'NaN'", 'samples_5s_book_nonnegative'],
      ['bucket_count', '-2', 'samples_5s_bucket_count_nonnegative'],
      ['mid_max', "'Infinity'", 'samples_5s_mid_finite'],
    ];
    for (const [column, value, constraint] of bad) {
      const e = await refusal(
        db.sql.unsafe(
          `insert into str_aux.samples_5s (symbol, ts, ${column}) values ('BLCUSDT', '2025-01-01Z', ${value})`,
        ),
      );
      expect((e as { constraint_name?: string }).constraint_name).toBe(constraint);
    }
    const ts = await refusal(
      db.sql`insert into str_aux.samples_5s (symbol, ts) values ('BLCUSDT', '2025-01-01 00:00:00.0005Z')`,
    );
    expect((ts as { constraint_name?: string }).constraint_name).toBe('samples_5s_ts_ms');
    const fk = await refusal(
      db.sql`insert into str_aux.samples_5s (symbol, ts) values ('NOSUCHUSDT', '2025-01-01Z')`,
    );
    expect((fk as { code?: string }).code).toBe('23503');
    expect(await counts(db.sql)).toEqual(before);
  });
});
