// backfillBetween: counts of cycles and windows, progress, and the same rows as live rolling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BackfillProgress,
  backfillBetween,
  cyclesBetween,
  rollAllCyclesBetween,
  type Sample5sInput,
  tickAll,
  upsertSamples5s,
  windowStats,
  windowsBetween,
  windowVectors,
} from '../../src/strAux/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { addSymbols, S, T0 } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const floor = (ms: number, step: number) => ms - (((ms % step) + step) % step);

/** Two hours of samples with a gap and some nulls, the same values for any symbol. */
function samples(symbol: string, t: number): Sample5sInput[] {
  const out: Sample5sInput[] = [];
  for (let i = 0; i < 1440; i++) {
    if (i >= 300 && i < 420) continue; // ten minutes without samples
    out.push({
      symbol,
      ts: t + i * 5 * S + (i % 3) * 700, // not on the 5 s grid
      vInner: i % 11 === 0 ? null : Math.sin(i) * 3,
      vOuter: Math.cos(i / 7),
      vSwap: (i % 5) - 2,
      vTendency: i % 13 === 0 ? null : i / 100,
      disruption: 0.5,
      spreadAvg: (i % 9) / 4,
      midMin: 100 + (i % 4),
      midMax: 101 + (i % 4),
      modeGeneral: i % 2 ? 'up' : 'down',
    });
  }
  return out;
}

const strip = <T extends { symbol: string; updatedAt: Date }>(rows: T[]) =>
  rows.map(({ symbol: _s, updatedAt: _u, ...rest }) => rest);

describe('backfillBetween', () => {
  it('gives the same cycles, windows, stats and vectors as live rolling, with counts and progress', {
    timeout: 120_000,
  }, async () => {
    const t = T0 + 20 * 86_400_000;
    await addSymbols(db.sql, ['BFLUSDT', 'BFBUSDT']);
    // live: in batches, out of order, then a tick
    const live = samples('BFLUSDT', t);
    for (const k of [3, 0, 2, 1]) await upsertSamples5s(db.sql, live.slice(k * 400, (k + 1) * 400));
    await tickAll(db.sql);
    // backfilled: loaded with the sample triggers off (as a restore would), then backfilled
    const rows = samples('BFBUSDT', t);
    await db.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await upsertSamples5s(tx, rows);
    });
    const range = { symbols: ['BFBUSDT'], from: t - 86_400_000, to: t + 2 * 86_400_000 };
    expect(await cyclesBetween(db.sql, range)).toEqual([]);
    const progress: BackfillProgress[] = [];
    const r = await backfillBetween(db.sql, {
      from: t,
      to: t + 7200 * S,
      onProgress: (p) => progress.push(p),
    });

    // expected counts, from the sample instants: distinct cycles, and per label the distinct windows of those cycles
    const cycleStarts = [...new Set(rows.map((s) => floor(s.ts as number, 40 * S)))];
    const labels = await db.sql<{ label: string; ms: number }[]>`
      select label, duration_ms::float8 as ms from settings.windows`;
    const windowCount = labels.reduce((n, w) => n + new Set(cycleStarts.map((c) => floor(c, w.ms))).size, 0);
    const each = { cycles: cycleStarts.length, windows: windowCount };
    expect(r).toEqual({ cycles: 2 * each.cycles, windows: 2 * each.windows });
    expect(progress).toEqual([
      { done: 1, total: 2, symbol: 'BFBUSDT', ...each },
      { done: 2, total: 2, symbol: 'BFLUSDT', ...each },
    ]);

    const liveRange = { ...range, symbols: ['BFLUSDT'] };
    expect(strip(await cyclesBetween(db.sql, range))).toEqual(strip(await cyclesBetween(db.sql, liveRange)));
    expect(strip(await windowsBetween(db.sql, range))).toEqual(
      strip(await windowsBetween(db.sql, liveRange)),
    );
    expect(strip(await windowStats(db.sql, range))).toEqual(strip(await windowStats(db.sql, liveRange)));
    expect(strip(await windowVectors(db.sql, range))).toEqual(strip(await windowVectors(db.sql, liveRange)));
    expect((await windowsBetween(db.sql, range)).length).toBe(each.windows);

    // rolling again changes nothing (idempotent), whichever path
    const before = await windowsBetween(db.sql, range);
    expect(await rollAllCyclesBetween(db.sql, { from: t, to: t + 7200 * S, symbol: 'BFBUSDT' })).toEqual({
      cycles: each.cycles,
    });
    await backfillBetween(db.sql, { symbol: 'BFBUSDT', from: t, to: t + 7200 * S });
    expect(await windowsBetween(db.sql, range)).toEqual(before);
  });
});
