// Windows: rolled from cycles (averages weighted by non-null counts, min of mins, max of maxes,
// closes from the last cycle holding one), labels from settings.windows; stats and vectors by tickAll.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  cyclesBetween,
  rollAllCyclesBetween,
  rollWindowFromCycles,
  tryRollAllWindowsNow,
  tickAll,
  upsertSamples5s,
  windowStats,
  windowsBetween,
  windowVectors,
} from '../../src/strAux/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';
import { addSymbols, counts, S, T0 } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

/**
 * Four cycles in the 5 minutes from T0 and one after:
 * - T0+0 s: 8 samples, vInner 1..8 (sum 36)
 * - T0+40 s: 3 samples, vInner 10, null, 20 (sum 30, 2 values)
 * - T0+80 s: 1 sample, vInner null, vOuter 3
 * - T0+280 s: 1 sample, vInner 100, vOuter null (the window's last cycle)
 * - T0+320 s: 1 sample, vInner 1000 (the cycle after: it starts in the next window; a sample at
 *   T0+300 s would belong to the cycle of T0+280 s, which starts in this window)
 */
function fiveMinutes(symbol: string) {
  const rows: {
    symbol: string;
    ts: number;
    vInner: number | null;
    vOuter?: number | null;
    vSwap?: number;
  }[] = [];
  for (let i = 0; i < 8; i++) rows.push({ symbol, ts: T0 + i * 5 * S, vInner: i + 1, vSwap: 1 });
  rows.push({ symbol, ts: T0 + 40 * S, vInner: 10 }, { symbol, ts: T0 + 45 * S, vInner: null });
  rows.push({ symbol, ts: T0 + 50 * S, vInner: 20 });
  rows.push({ symbol, ts: T0 + 80 * S, vInner: null, vOuter: 3 });
  rows.push({ symbol, ts: T0 + 280 * S, vInner: 100, vOuter: null, vSwap: 5 });
  rows.push({ symbol, ts: T0 + 320 * S, vInner: 1000 });
  return rows;
}

const nulls = {
  vTendencyAvg: null,
  vTendencyClose: null,
  disruptionAvg: null,
  ampAvg: null,
  voltAvg: null,
  inertiaAvg: null,
  spreadAvg: null,
  midClose: null,
  modeGeneralClose: null,
  modeBClose: null,
};

describe('rollWindowFromCycles', () => {
  it("'5m': averages weighted by non-null counts, min of mins, max of maxes, closes from the last cycle, counts", async () => {
    await addSymbols(db.sql, ['WAAUSDT']);
    await upsertSamples5s(db.sql, fiveMinutes('WAAUSDT'));
    const w = await rollWindowFromCycles(db.sql, { symbol: 'WAAUSDT', window: '5m', windowStart: T0 });
    expect(w).toEqual({
      symbol: 'WAAUSDT',
      window: '5m',
      windowStart: new Date(T0),
      windowEnd: new Date(T0 + 300 * S),
      spec: 'default',
      cyclesCount: 4,
      samplesCount: 13,
      vInnerMin: 1,
      vInnerMax: 100,
      vInnerAvg: 166 / 11, // (36 + 30 + 100) over 11 values; the mean of cycle means would be 39.8
      vInnerClose: 100,
      vOuterMin: 3,
      vOuterMax: 3,
      vOuterAvg: 3,
      vOuterClose: 3, // the last cycle has no vOuter: the close is that of the last cycle holding one
      vSwapAvg: 13 / 9, // 8 x 1 and one 5
      vSwapClose: 5,
      ...nulls,
      updatedAt: expect.any(Date),
    });
    // the same span twice: identical rows (nothing rewritten, updatedAt included)
    expect(await rollWindowFromCycles(db.sql, { symbol: 'WAAUSDT', window: '5m', windowStart: T0 })).toEqual(
      w,
    );
    // a window without cycles has no row
    expect(
      await rollWindowFromCycles(db.sql, { symbol: 'WAAUSDT', window: '5m', windowStart: T0 + 3600 * S }),
    ).toBeNull();
  });

  it("a '2m' window added to settings.windows at run time rolls with no code change", async () => {
    await addSymbols(db.sql, ['WABUSDT']);
    await upsertSamples5s(db.sql, fiveMinutes('WABUSDT'));
    await db.sql`select settings.sp_upsert_window('2m')`;
    const w = await rollWindowFromCycles(db.sql, { symbol: 'WABUSDT', window: '2m', windowStart: T0 });
    expect({
      window: w!.window,
      end: w!.windowEnd.getTime() - T0,
      cycles: w!.cyclesCount,
      samples: w!.samplesCount,
      avg: w!.vInnerAvg,
      close: w!.vInnerClose,
    }).toEqual({ window: '2m', end: 120_000, cycles: 3, samples: 12, avg: 66 / 10, close: 20 });
  });

  it('an unknown label or an unaligned start is a ValidationError and writes nothing', async () => {
    await addSymbols(db.sql, ['WACUSDT']);
    await upsertSamples5s(db.sql, fiveMinutes('WACUSDT'));
    const before = await counts(db.sql);
    const e = await refusal(
      rollWindowFromCycles(db.sql, { symbol: 'WACUSDT', window: '7m', windowStart: T0 }),
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues).toEqual([
      { path: [], message: "window '7m' is not in settings.windows" },
    ]);
    const f = await refusal(
      rollWindowFromCycles(db.sql, { symbol: 'WACUSDT', window: '5m', windowStart: T0 + S }),
    );
    expect(f).toBeInstanceOf(ValidationError);
    expect((f as ValidationError).issues).toEqual([
      { path: [], message: 'window_start must be an epoch multiple of the window (300000 ms)' },
    ]);
    const g = await refusal(
      rollWindowFromCycles(db.sql, { symbol: 'WACUSDT', window: 'bad label', windowStart: T0 }),
    );
    expect(g).toBeInstanceOf(ValidationError);
    expect((g as ValidationError).issues.map((i) => i.path)).toEqual([['window']]);
    const h = await refusal(
      rollWindowFromCycles(db.sql, { symbol: 'NOPEUSDT', window: '5m', windowStart: T0 }),
    );
    expect(h).toBeInstanceOf(ValidationError);
    expect((h as ValidationError).issues).toEqual([
      { path: [], message: "symbol 'NOPEUSDT' is not in market.symbols" },
    ]);
    expect(await counts(db.sql)).toEqual(before);
  });
});

describe('tickAll', () => {
  it('rolls the windows of changed cycles and computes their stats (hand computation) and vectors', async () => {
    await addSymbols(db.sql, ['WTAUSDT']);
    const t = T0 + 3 * 86_400_000; // a day of its own
    // one cycle: vInner 0, 0, 0, 4 (mean 1, m2 = 3, m3 = 6, skew 6 / 3^1.5 = 2 / sqrt 3);
    // vOuter 2, 2, null, 2 (variance 0: skew null); spreads 1, 2, 3, 4 (avg 2.5, p95 3.85)
    const vInner = [0, 0, 0, 4];
    const vOuter = [2, 2, null, 2];
    await upsertSamples5s(
      db.sql,
      vInner.map((v, i) => ({
        symbol: 'WTAUSDT',
        ts: t + i * 5 * S,
        vInner: v,
        vOuter: vOuter[i],
        vSwap: i,
        vTendency: -i,
        spreadAvg: i + 1,
      })),
    );
    const tick = await tickAll(db.sql);
    expect(tick.pendingCycles).toBeGreaterThanOrEqual(1);
    const span = { symbols: ['WTAUSDT'], from: t - 86_400_000, to: t + 86_400_000 };
    const windows = await windowsBetween(db.sql, span);
    // every label of settings.windows holds the cycle
    const labels = (await db.sql<{ label: string }[]>`select label from settings.windows order by label`).map(
      (r) => r.label,
    );
    expect(windows.map((w) => w.window).sort()).toEqual([...labels].sort());
    const stats = await windowStats(db.sql, { ...span, windows: ['5m'] });
    expect(stats).toEqual([
      {
        symbol: 'WTAUSDT',
        window: '5m',
        windowStart: new Date(t),
        samplesCount: 4,
        vInnerMean: 1,
        vInnerVariance: 3,
        vInnerSkew: expect.closeTo(2 / Math.sqrt(3), 12), // 6 / 3^1.5 (pow may differ by an ulp)
        vOuterMean: 2,
        vOuterVariance: 0,
        vOuterSkew: null,
        spreadAvg: 2.5,
        spreadP95: expect.closeTo(3.85, 12), // percentile_cont(0.95): rank 0.95 x 3 = 2.85, 3 + 0.85 x (4 - 3)
        updatedAt: expect.any(Date),
      },
    ]);
    const vectors = await windowVectors(db.sql, { ...span, windows: ['5m'] });
    expect(vectors).toEqual([
      {
        symbol: 'WTAUSDT',
        window: '5m',
        windowStart: new Date(t),
        vector: {
          inner: { avg: 1, close: 4 },
          outer: { avg: 2, close: 2 },
          swap: { avg: 1.5, close: 3 },
          tend: { avg: -1.5, close: -3 },
        },
        updatedAt: expect.any(Date),
      },
    ]);
    // a second tick changes nothing
    await tickAll(db.sql);
    expect(await windowsBetween(db.sql, span)).toEqual(windows);
    expect(await windowStats(db.sql, { ...span, windows: ['5m'] })).toEqual(stats);
  });

  it('rolls the last closed window of every label for every enabled symbol, also with nothing queued', async () => {
    await addSymbols(db.sql, ['WTCUSDT', 'WTDUSDT']);
    // the last closed hour, as the database sees it (tried again if an hour boundary passes meanwhile)
    for (let attempt = 0; attempt < 2; attempt++) {
      const [h] = await db.sql<{ ms: number }[]>`
        select util.epoch_ms(date_bin('1 hour', now(), timestamptz '1970-01-01Z') - interval '1 hour')::float8 as ms`;
      const t = h!.ms;
      await db.sql`delete from str_aux.samples_5s where symbol in ('WTCUSDT', 'WTDUSDT')`;
      await tickAll(db.sql);
      await db.sql.begin(async (tx) => {
        // written with the sample triggers off and nothing queued: only the last-closed rule rolls them
        await tx`set local session_replication_role = replica`;
        await upsertSamples5s(tx, [
          { symbol: 'WTCUSDT', ts: t + 100 * S, vInner: 2 },
          { symbol: 'WTCUSDT', ts: t + 3500 * S, vInner: 4 },
          { symbol: 'WTDUSDT', ts: t + 10 * S, vInner: -1 },
        ]);
      });
      await rollAllCyclesBetween(db.sql, { from: t, to: t + 3600 * S });
      await db.sql`delete from str_aux.pending_cycles where symbol in ('WTCUSDT', 'WTDUSDT')`;
      await tickAll(db.sql);
      const [after] = await db.sql<{ ms: number }[]>`
        select util.epoch_ms(date_bin('1 hour', now(), timestamptz '1970-01-01Z') - interval '1 hour')::float8 as ms`;
      if (after!.ms !== t) continue;
      const span = { symbols: ['WTCUSDT', 'WTDUSDT'], windows: ['1h'], from: t, to: t + 1 };
      expect(
        (await windowsBetween(db.sql, span)).map((w) => [
          w.symbol,
          w.samplesCount,
          w.vInnerAvg,
          w.vInnerClose,
        ]),
      ).toEqual([
        ['WTCUSDT', 2, 3, 4],
        ['WTDUSDT', 1, -1, -1],
      ]);
      const stats = await windowStats(db.sql, span);
      expect(stats.map((st) => [st.symbol, st.vInnerMean, st.vInnerVariance, st.vInnerSkew])).toEqual([
        ['WTCUSDT', 3, 1, 0],
        ['WTDUSDT', -1, 0, null],
      ]);
      expect((await windowVectors(db.sql, span)).map((v) => v.vector.inner)).toEqual([
        { avg: 3, close: 4 },
        { avg: -1, close: -1 },
      ]);
      // tryRollAllWindowsNow does the same on its own: nothing changes
      const before = await windowsBetween(db.sql, span);
      expect((await tryRollAllWindowsNow(db.sql)).windows).toBeGreaterThanOrEqual(2);
      expect(await windowsBetween(db.sql, span)).toEqual(before);
      return;
    }
    throw new Error('an hour boundary passed during both attempts');
  });

  it('a late sample re-rolls its cycle at once; the windows holding it are rolled again by the next tickAll', async () => {
    await addSymbols(db.sql, ['WTBUSDT']);
    const t = T0 + 5 * 86_400_000;
    await upsertSamples5s(db.sql, [
      { symbol: 'WTBUSDT', ts: t, vInner: 1 },
      { symbol: 'WTBUSDT', ts: t + 5 * S, vInner: 3 },
    ]);
    await tickAll(db.sql);
    const span = { symbols: ['WTBUSDT'], from: t, to: t + 60 * S };
    const [before] = await windowsBetween(db.sql, { ...span, windows: ['1m'] });
    expect([before!.vInnerAvg, before!.samplesCount]).toEqual([2, 2]);
    // late: ts inside the rolled cycle
    await upsertSamples5s(db.sql, [{ symbol: 'WTBUSDT', ts: t + 10 * S, vInner: 8 }]);
    const [cycle] = await cyclesBetween(db.sql, span);
    expect([cycle!.vInnerAvg, cycle!.samplesCount]).toEqual([4, 3]); // at once
    expect(await windowsBetween(db.sql, { ...span, windows: ['1m'] })).toEqual([before]); // not yet
    const stale = await db.sql`select 1 from str_aux.v_windows_missing_stats where symbol = 'WTBUSDT'`;
    expect(stale.length).toBe(0);
    await tickAll(db.sql);
    const [after] = await windowsBetween(db.sql, { ...span, windows: ['1m'] });
    expect([after!.vInnerAvg, after!.samplesCount, after!.vInnerMax]).toEqual([4, 3, 8]);
    const [st] = await windowStats(db.sql, { ...span, windows: ['1m'] });
    // 1, 3, 8: mean 4, population variance ((9 + 1 + 16) / 3)
    expect([st!.samplesCount, st!.vInnerMean, st!.vInnerVariance]).toEqual([3, 4, 26 / 3]);
  });
});
