// Property: random samples for a few symbols over a few hours, written in random order and batch
// sizes (with ticks in between) → every cycle, window and window stats row equals a plain
// TypeScript reference implementation (floats to 1e-9 relative).
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  cyclesBetween,
  type Sample5sInput,
  tickAll,
  upsertSample5s,
  upsertSamples5s,
  windowStats,
  windowsBetween,
} from '../../src/strAux/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { addSymbols, T0 } from './helpers.js';

let db: TestDatabase;
let labels: { label: string; ms: number }[];
beforeAll(async () => {
  db = await startTestDatabase();
  labels = await db.sql<
    { label: string; ms: number }[]
  >`select label, duration_ms::float8 as ms from settings.windows`;
});
afterAll(() => db.close());

const SIGNALS = ['vInner', 'vOuter', 'vSwap', 'vTendency', 'disruption', 'amp', 'volt', 'inertia'] as const;
type Signal = (typeof SIGNALS)[number];
interface Sample {
  ts: number;
  values: Record<Signal, number | null>;
  spreadAvg: number | null;
  midMin: number | null;
  midMax: number | null;
  modeGeneral: string | null;
  modeB: string | null;
}

const CYCLE = 40_000;
const floor = (ms: number, step: number) => ms - (((ms % step) + step) % step);
const ceil = (ms: number, step: number) => (floor(ms, step) === ms ? ms : floor(ms, step) + step);
const nonNull = <T>(xs: (T | null)[]) => xs.filter((x): x is T => x !== null);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const last = <T>(xs: (T | null)[]) => {
  for (let i = xs.length - 1; i >= 0; i--) if (xs[i] !== null) return xs[i]!;
  return null;
};
const min = (xs: number[]) => (xs.length ? Math.min(...xs) : null);
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : null);

/** The rollups of a group of samples (in ts order), as the guide defines them. */
function rollups(ss: Sample[]) {
  const col = (k: Signal) => ss.map((s) => s.values[k]);
  const r: Record<string, number | string | null> = { samplesCount: ss.length };
  for (const k of ['vInner', 'vOuter'] as const) {
    const v = nonNull(col(k));
    r[`${k}Min`] = min(v);
    r[`${k}Max`] = max(v);
  }
  for (const k of ['vInner', 'vOuter', 'vSwap', 'vTendency'] as const) r[`${k}Close`] = last(col(k));
  for (const k of SIGNALS) r[`${k}Avg`] = mean(nonNull(col(k)));
  r.spreadAvg = mean(nonNull(ss.map((s) => s.spreadAvg)));
  r.midClose = last(
    ss.map((s) => (s.midMin !== null && s.midMax !== null ? (s.midMin + s.midMax) / 2 : null)),
  );
  r.modeGeneralClose = last(ss.map((s) => s.modeGeneral));
  r.modeBClose = last(ss.map((s) => s.modeB));
  return r;
}

/** Population moments: mean, variance (divided by n) and skewness m3 / m2^1.5 (null when m2 = 0 or no value). */
function moments(xs: number[]) {
  const m = mean(xs);
  if (m === null) return { mean: null, variance: null, skew: null };
  // a deviation below 1e-100 counts as 0 (the guide's rule: PostgreSQL raises underflows)
  const d = (x: number) => (Math.abs(x - m) < 1e-100 ? 0 : x - m);
  const m2 = xs.reduce((a, x) => a + d(x) ** 2, 0) / xs.length;
  const m3 = xs.reduce((a, x) => a + d(x) ** 3, 0) / xs.length;
  return { mean: m, variance: m2, skew: m2 > 0 ? m3 / m2 ** 1.5 : null };
}

/** percentile_cont(0.95): linear interpolation between the closest ranks. */
function p95(xs: number[]) {
  if (!xs.length) return null;
  const a = [...xs].sort((x, y) => x - y);
  const pos = 0.95 * (a.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return a[lo]! + (pos - lo) * (a[hi]! - a[lo]!);
}

function reference(samples: Sample[]) {
  const sorted = [...samples].sort((a, b) => a.ts - b.ts);
  const byCycle = new Map<number, Sample[]>();
  for (const s of sorted) {
    const c = floor(s.ts, CYCLE);
    byCycle.set(c, [...(byCycle.get(c) ?? []), s]);
  }
  const cycles = [...byCycle.entries()].sort((a, b) => a[0] - b[0]);
  const windows: Record<string, unknown>[] = [];
  const stats: Record<string, unknown>[] = [];
  for (const { label, ms } of labels) {
    const byWindow = new Map<number, number[]>();
    for (const [c] of cycles) byWindow.set(floor(c, ms), [...(byWindow.get(floor(c, ms)) ?? []), c]);
    for (const [start, cs] of byWindow) {
      // the window's samples: those of its cycles, i.e. ts in [ceil(start), ceil(start + duration))
      const ss = sorted.filter((s) => s.ts >= ceil(start, CYCLE) && s.ts < ceil(start + ms, CYCLE));
      expect(ss.length).toBe(cs.reduce((n, c) => n + byCycle.get(c)!.length, 0));
      windows.push({ window: label, windowStart: start, cyclesCount: cs.length, ...rollups(ss) });
      const inner = moments(nonNull(ss.map((s) => s.values.vInner)));
      const outer = moments(nonNull(ss.map((s) => s.values.vOuter)));
      const spreads = nonNull(ss.map((s) => s.spreadAvg));
      stats.push({
        window: label,
        windowStart: start,
        samplesCount: ss.length,
        vInnerMean: inner.mean,
        vInnerVariance: inner.variance,
        vInnerSkew: inner.skew,
        vOuterMean: outer.mean,
        vOuterVariance: outer.variance,
        vOuterSkew: outer.skew,
        spreadAvg: mean(spreads),
        spreadP95: p95(spreads),
      });
    }
  }
  const key = (r: Record<string, unknown>) => `${r.window}|${String(r.windowStart).padStart(20, '0')}`;
  windows.sort((a, b) => (key(a) < key(b) ? -1 : 1));
  stats.sort((a, b) => (key(a) < key(b) ? -1 : 1));
  return {
    cycles: cycles.map(([c, ss]) => ({
      cycleStart: c,
      ...rollups(ss),
      ...Object.fromEntries(SIGNALS.map((k) => [`${k}N`, nonNull(ss.map((s) => s.values[k])).length])),
      spreadN: nonNull(ss.map((s) => s.spreadAvg)).length,
    })),
    windows,
    stats,
  };
}

/** Equal, floats to 1e-9 relative (relative to 1 at least: a sum of inputs up to 1000 that cancels to near zero carries their rounding). */
function near(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const ok = actual === expected || Math.abs(actual - expected) <= 1e-9 * Math.max(Math.abs(expected), 1);
    if (!ok) expect.fail(`${path}: ${actual} is not ${expected}`);
    return;
  }
  if (actual !== expected) expect.fail(`${path}: ${String(actual)} is not ${String(expected)}`);
}

function compare(actual: Record<string, unknown>[], expected: Record<string, unknown>[], what: string) {
  expect(actual.length, `${what}: rows`).toBe(expected.length);
  expected.forEach((e, i) => {
    const a = actual[i]!;
    for (const [k, v] of Object.entries(e)) {
      const got = a[k] instanceof Date ? (a[k] as Date).getTime() : a[k];
      near(got, v, `${what}[${i}].${k}`);
    }
  });
}

const value = fc.option(fc.double({ min: -1000, max: 1000, noNaN: true }), { nil: null, freq: 4 });
const sampleArb = fc.record({
  symbol: fc.integer({ min: 0, max: 2 }),
  slot: fc.integer({ min: 0, max: 2000 }), // ts = t + slot x 5.4 s: a few hours, some keys given twice
  vInner: value,
  vOuter: value,
  vSwap: value,
  vTendency: value,
  disruption: value,
  amp: value,
  volt: value,
  inertia: value,
  spreadAvg: fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: null, freq: 4 }),
  midMin: value,
  midMax: value,
  modeGeneral: fc.option(fc.constantFrom('up', 'down', 'flat'), { nil: null }),
  modeB: fc.option(fc.constantFrom('a', 'b'), { nil: null }),
});
const runArb = fc.record({
  samples: fc.array(sampleArb, { minLength: 1, maxLength: 150 }),
  batches: fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 10 }),
  ticks: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
});

let run = 0;
it('every cycle, window and window stats row equals the reference implementation (fast-check, 100 runs)', {
  timeout: 900_000,
}, async () => {
  await fc.assert(
    fc.asyncProperty(runArb, async ({ samples, batches, ticks }) => {
      const n = run++;
      const symbols = [0, 1, 2].map((k) => `PR${n}S${k}USDT`);
      await addSymbols(db.sql, symbols);
      const t = T0 + 7 * 86_400_000 + 3_700; // not on any boundary
      const inputs: Sample5sInput[] = samples.map((s) => ({
        symbol: symbols[s.symbol]!,
        ts: t + s.slot * 5400,
        vInner: s.vInner,
        vOuter: s.vOuter,
        vSwap: s.vSwap,
        vTendency: s.vTendency,
        disruption: s.disruption,
        amp: s.amp,
        volt: s.volt,
        inertia: s.inertia,
        spreadAvg: s.spreadAvg,
        midMin: s.midMin,
        midMax: s.midMax,
        modeGeneral: s.modeGeneral,
        modeB: s.modeB,
      }));
      // write in batches of the drawn sizes (a batch of 1 through upsertSample5s), ticking now and then
      let at = 0;
      for (let b = 0; at < inputs.length; b++) {
        const size = batches[b % batches.length]!;
        const batch = inputs.slice(at, at + size);
        at += size;
        if (batch.length === 1) await upsertSample5s(db.sql, batch[0]!);
        else await upsertSamples5s(db.sql, batch);
        if (ticks[b % ticks.length]) await tickAll(db.sql);
      }
      await tickAll(db.sql);
      // the reference: the last write of each key wins
      const stored = new Map<string, Sample>();
      for (const s of inputs) {
        const values = Object.fromEntries(
          SIGNALS.map((k) => [k, s[k] === 0 ? 0 : (s[k] as number | null)]),
        ) as Record<Signal, number | null>;
        stored.set(`${s.symbol}|${s.ts}`, {
          ts: s.ts as number,
          values,
          spreadAvg: s.spreadAvg === 0 ? 0 : (s.spreadAvg ?? null),
          midMin: s.midMin ?? null,
          midMax: s.midMax ?? null,
          modeGeneral: s.modeGeneral ?? null,
          modeB: s.modeB ?? null,
        });
      }
      const span = { from: t - 2 * 86_400_000, to: t + 2 * 86_400_000 };
      for (const symbol of symbols) {
        const mine = [...stored.entries()].filter(([k]) => k.startsWith(`${symbol}|`)).map(([, v]) => v);
        const ref = reference(mine);
        const cycles = await cyclesBetween(db.sql, { symbols: [symbol], ...span });
        compare(cycles as unknown as Record<string, unknown>[], ref.cycles, `${symbol} cycles`);
        const windows = (await windowsBetween(db.sql, { symbols: [symbol], ...span })).sort((a, b) =>
          `${a.window}|${String(a.windowStart.getTime()).padStart(20, '0')}` <
          `${b.window}|${String(b.windowStart.getTime()).padStart(20, '0')}`
            ? -1
            : 1,
        );
        compare(windows as unknown as Record<string, unknown>[], ref.windows, `${symbol} windows`);
        const stats = (await windowStats(db.sql, { symbols: [symbol], ...span })).sort((a, b) =>
          `${a.window}|${String(a.windowStart.getTime()).padStart(20, '0')}` <
          `${b.window}|${String(b.windowStart.getTime()).padStart(20, '0')}`
            ? -1
            : 1,
        );
        compare(stats as unknown as Record<string, unknown>[], ref.stats, `${symbol} stats`);
      }
    }),
    { numRuns: 100 },
  );
});
