// Health, flow gaps, coverage, and the universe: a disabled symbol leaves the targets and is no
// longer rolled by tickAll, its rows stay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  flowGaps,
  health,
  latestWindows,
  rollWindowFromCycles,
  setSymbolSpec,
  tickAll,
  upsertSamples5s,
  upsertSamplingSpec,
  windowsBetween,
} from '../../src/strAux/index.js';
import { ValidationError } from '../../src/core/errors.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';
import { addSymbols, counts, S } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

/** The database's now, floored to the hour, minus `hours`. */
async function hoursAgo(hours: number): Promise<number> {
  const [r] = await db.sql<{ ms: number }[]>`
    select util.epoch_ms(date_trunc('hour', now()) - ${hours} * interval '1 hour')::float8 as ms`;
  return r!.ms;
}

describe('health and flow gaps', () => {
  it('name a symbol whose samples stopped, with its last times and the gap spans', async () => {
    await addSymbols(db.sql, ['HLAUSDT', 'HLBUSDT']);
    const t = await hoursAgo(3);
    // HLA: 0, 5, 10 s, then nothing until 100 s, then 105 s, then it stops
    await upsertSamples5s(
      db.sql,
      [0, 5, 10, 100, 105].map((s) => ({ symbol: 'HLAUSDT', ts: t + s * S, vInner: s })),
    );
    // HLB: samples up to now (the last one within the last minute)
    const [now] = await db.sql<{ ms: number }[]>`select util.epoch_ms(now())::float8 as ms`;
    const recent = now!.ms - 2 * S;
    await upsertSamples5s(db.sql, [
      { symbol: 'HLBUSDT', ts: recent - 5 * S, vInner: 1 },
      { symbol: 'HLBUSDT', ts: recent, vInner: 2 },
    ]);
    await tickAll(db.sql);
    const rows = await health(db.sql, { symbols: ['HLAUSDT', 'HLBUSDT'] });
    const a = rows.find((r) => r.symbol === 'HLAUSDT')!;
    expect({ last: a.lastSampleAt, cycle: a.lastCycleStart, spec: a.spec }).toEqual({
      last: new Date(t + 105 * S),
      cycle: new Date(t + 80 * S), // 105 s falls in the cycle [80 s, 120 s)
      spec: 'default',
    });
    expect(a.lastWindows['5m']).toEqual(new Date(t));
    expect(a.lastWindows['1m']).toEqual(new Date(t + 60 * S));
    expect(a.lagSeconds).toBeGreaterThan(3 * 3600 - 105 - 1);
    const b = rows.find((r) => r.symbol === 'HLBUSDT')!;
    expect(b.lastSampleAt).toEqual(new Date(recent));
    expect(b.lagSeconds).toBeLessThan(a.lagSeconds! - 3600);

    const gaps = await flowGaps(db.sql, { minGapSeconds: 30, symbols: ['HLAUSDT'] });
    expect(gaps.map(({ gapSeconds, ...g }) => g)).toEqual([
      { symbol: 'HLAUSDT', gapStart: new Date(t + 10 * S), gapEnd: new Date(t + 100 * S), ongoing: false },
      { symbol: 'HLAUSDT', gapStart: new Date(t + 105 * S), gapEnd: null, ongoing: true },
    ]);
    expect(gaps[0]!.gapSeconds).toBe(90);
    expect(gaps[1]!.gapSeconds).toBeGreaterThan(3 * 3600 - 105 - 1);
    // a larger threshold keeps only the ongoing span; HLB has no gap above 30 s
    expect(
      (await flowGaps(db.sql, { minGapSeconds: 120, symbols: ['HLAUSDT'] })).map((g) => g.ongoing),
    ).toEqual([true]);
    expect(await flowGaps(db.sql, { minGapSeconds: 30, symbols: ['HLBUSDT'] })).toEqual([]);
    const e = await refusal(flowGaps(db.sql, { minGapSeconds: -1 }));
    expect((e as ValidationError).issues).toEqual([
      { path: ['minGapSeconds'], message: 'must not be negative' },
    ]);
  });

  it('the coverage views list windows missing stats or vectors until tickAll computes them', async () => {
    await addSymbols(db.sql, ['HLCUSDT']);
    const t = await hoursAgo(30);
    await upsertSamples5s(db.sql, [{ symbol: 'HLCUSDT', ts: t, vInner: 1 }]);
    await rollWindowFromCycles(db.sql, { symbol: 'HLCUSDT', window: '5m', windowStart: t });
    const missing = () =>
      db.sql`select window_label, has_stats, has_vector from str_aux.v_windows_missing_stats where symbol = 'HLCUSDT'`;
    expect(await missing()).toEqual([{ window_label: '5m', has_stats: false, has_vector: false }]);
    await tickAll(db.sql);
    expect(await missing()).toEqual([]);
    const [summary] = await db.sql`
      select windows, with_stats, with_vector from str_aux.v_coverage_summary where symbol = 'HLCUSDT' and window_label = '5m'`;
    expect(summary).toEqual({ windows: 1, with_stats: 1, with_vector: 1 });
    const [latest] = await db.sql`select window_label, v_inner_variance from strategy_aux.v_str_latest
      where symbol = 'HLCUSDT' and window_label = '5m'`;
    expect(latest).toEqual({ window_label: '5m', v_inner_variance: 0 });
  });
});

describe('the universe', () => {
  it('a disabled symbol leaves v_ingest_targets, tickAll stops rolling it, its rows stay', async () => {
    await addSymbols(db.sql, ['UNAUSDT']);
    const t = await hoursAgo(50);
    await upsertSamples5s(db.sql, [{ symbol: 'UNAUSDT', ts: t, vInner: 1 }]);
    await tickAll(db.sql);
    const targets = () => db.sql`select symbol from str_aux.v_ingest_targets where symbol = 'UNAUSDT'`;
    expect(await targets()).toEqual([{ symbol: 'UNAUSDT' }]);
    await db.sql`update settings.coin_universe set enabled = false where symbol = 'UNAUSDT'`;
    expect(await targets()).toEqual([]);
    expect(await health(db.sql, { symbols: ['UNAUSDT'] })).toEqual([]);
    const span = { symbols: ['UNAUSDT'], windows: ['5m'], from: t - 3600 * S, to: t + 3600 * S };
    const before = await windowsBetween(db.sql, span);
    expect(before.map((w) => [w.samplesCount, w.vInnerAvg])).toEqual([[1, 1]]);
    // a late sample: its cycle rolls (the trigger), but tickAll leaves the symbol's windows alone
    await upsertSamples5s(db.sql, [{ symbol: 'UNAUSDT', ts: t + 5 * S, vInner: 3 }]);
    await tickAll(db.sql);
    expect(await windowsBetween(db.sql, span)).toEqual(before);
    const [pending] =
      await db.sql`select count(*)::int as n from str_aux.pending_cycles where symbol = 'UNAUSDT'`;
    expect(pending).toEqual({ n: 1 });
    // enabled again: the queued cycle is rolled into its windows
    await db.sql`update settings.coin_universe set enabled = true where symbol = 'UNAUSDT'`;
    await tickAll(db.sql);
    expect((await windowsBetween(db.sql, span)).map((w) => [w.samplesCount, w.vInnerAvg])).toEqual([[2, 2]]);
  });

  it("a symbol's own windows and a spec's windows decide what is rolled; unknown labels are refused", async () => {
    await addSymbols(db.sql, ['UNBUSDT']);
    const t = await hoursAgo(60);
    await setSymbolSpec(db.sql, { symbol: 'UNBUSDT', windows: ['1m', '5m'] });
    await upsertSamples5s(db.sql, [{ symbol: 'UNBUSDT', ts: t, vInner: 1 }]);
    await tickAll(db.sql);
    expect((await latestWindows(db.sql, { symbols: ['UNBUSDT'] })).map((w) => w.window)).toEqual([
      '1m',
      '5m',
    ]);
    const [target] =
      await db.sql`select window_labels from str_aux.v_ingest_targets where symbol = 'UNBUSDT'`;
    expect(target).toEqual({ window_labels: ['1m', '5m'] });
    const before = await counts(db.sql);
    const e = await refusal(setSymbolSpec(db.sql, { symbol: 'UNBUSDT', windows: ['1m', '9z'] }));
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues).toEqual([
      { path: [], message: "window '9z' is not in settings.windows" },
    ]);
    const f = await refusal(
      upsertSamplingSpec(db.sql, { label: 'odd', baseStepSeconds: 5, cycleSeconds: 42 }),
    );
    expect((f as ValidationError).issues).toEqual([
      { path: ['cycleSeconds'], message: 'must be a multiple of baseStepSeconds' },
    ]);
    const g = await refusal(setSymbolSpec(db.sql, { symbol: 'UNBUSDT', spec: 'nope' }));
    expect(g).toBeInstanceOf(ValidationError);
    expect(await counts(db.sql)).toEqual(before);
    // a spec whose cycles exist keeps its cycle length
    const h = await refusal(upsertSamplingSpec(db.sql, { label: 'default', cycleSeconds: 60 }));
    expect((h as ValidationError).issues).toEqual([
      { path: [], message: "spec 'default' has cycles of 40 seconds: its cycle_seconds cannot change" },
    ]);
    const spec = await upsertSamplingSpec(db.sql, { label: 'fast', cycleSeconds: 20, windows: ['1m'] });
    expect({ ...spec, createdAt: 0, updatedAt: 0 }).toEqual({
      label: 'fast',
      baseStepSeconds: 5,
      cycleSeconds: 20,
      windows: ['1m'],
      createdAt: 0,
      updatedAt: 0,
    });
  });
});
