// Cycles: 5 s samples roll into 40 s cycles by floor, at once (statement-level triggers), with the
// rollups a hand computation gives; an update or a late sample re-rolls its cycle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  type CycleRow,
  cyclesBetween,
  rollCycle40s,
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

/** The 8 samples of the cycle [T0, T0 + 40 s), with nulls here and there. */
function eightSamples(symbol: string) {
  const vInner = [1, 2, 3, null, 5, 6, 7, 8];
  const vOuter = [0.5, -0.5, 1.5, 2.5, null, 0, 1, null];
  const vSwap = [1, 1, 1, 1, 2, 2, 2, 2];
  const vTendency = [-1, null, null, null, null, null, null, null];
  const amp = [1, 2, 3, 4, 5, 6, 7, 8];
  const inertia = [2, 4, null, null, null, null, null, null];
  const spreadAvg = [0.5, 0.25, 0.75, 1, 0.5, 0.25, 0.75, 1];
  const modeGeneral = ['up', 'up', 'flat', 'flat', 'up', 'up', 'down', 'down'];
  const modeB = ['a', 'a', 'a', 'a', 'b', 'c', null, null];
  return vInner.map((v, i) => ({
    symbol,
    ts: T0 + i * 5 * S,
    vInner: v,
    vOuter: vOuter[i],
    vSwap: vSwap[i],
    vTendency: vTendency[i],
    disruption: 0.25,
    amp: amp[i],
    volt: null,
    inertia: inertia[i],
    spreadAvg: spreadAvg[i],
    midMin: 100 + i,
    midMax: 101 + i,
    modeGeneral: modeGeneral[i],
    modeB: modeB[i],
  }));
}

/** The cycle of `eightSamples`, computed by hand. */
function expectedCycle(symbol: string): Omit<CycleRow, 'updatedAt'> {
  return {
    symbol,
    spec: 'default',
    cycleStart: new Date(T0),
    samplesCount: 8,
    vInnerMin: 1,
    vInnerMax: 8,
    vInnerAvg: 32 / 7, // 1+2+3+5+6+7+8 over the 7 non-null values
    vInnerClose: 8,
    vInnerN: 7,
    vOuterMin: -0.5,
    vOuterMax: 2.5,
    vOuterAvg: 5 / 6, // 0.5-0.5+1.5+2.5+0+1 over 6
    vOuterClose: 1, // the last non-null value (the 7th sample)
    vOuterN: 6,
    vSwapAvg: 1.5,
    vSwapClose: 2,
    vSwapN: 8,
    vTendencyAvg: -1,
    vTendencyClose: -1,
    vTendencyN: 1,
    disruptionAvg: 0.25,
    disruptionN: 8,
    ampAvg: 4.5,
    ampN: 8,
    voltAvg: null,
    voltN: 0,
    inertiaAvg: 3,
    inertiaN: 2,
    spreadAvg: 0.625, // 5 / 8
    spreadN: 8,
    midClose: 107.5, // (107 + 108) / 2 of the last sample
    modeGeneralClose: 'down',
    modeBClose: 'c',
  };
}

async function cyclesOf(symbol: string, from = T0 - 3600 * S, to = T0 + 3600 * S) {
  return cyclesBetween(db.sql, { symbols: [symbol], from, to });
}

describe('rolling samples into cycles', () => {
  it('8 samples of one cycle give one cycle row matching a hand computation', async () => {
    await addSymbols(db.sql, ['CYAUSDT']);
    for (const s of eightSamples('CYAUSDT')) await upsertSample5s(db.sql, s);
    const cycles = await cyclesOf('CYAUSDT');
    expect(cycles).toEqual([{ ...expectedCycle('CYAUSDT'), updatedAt: expect.any(Date) }]);
    expect(cycles[0]!.cycleStart.getTime() % 40_000).toBe(0);
  });

  it('the same 8 samples in one bulk call give the same cycle', async () => {
    await addSymbols(db.sql, ['CYBUSDT']);
    const r = await upsertSamples5s(db.sql, eightSamples('CYBUSDT'));
    expect(r).toEqual({ received: 8, distinct: 8, inserted: 8, updated: 0, unchanged: 0 });
    expect(await cyclesOf('CYBUSDT')).toEqual([{ ...expectedCycle('CYBUSDT'), updatedAt: expect.any(Date) }]);
  });

  it('a cycle of samples without signals has null rollups and zero counts', async () => {
    await addSymbols(db.sql, ['CYCUSDT']);
    await upsertSamples5s(db.sql, [
      { symbol: 'CYCUSDT', ts: T0 + 40 * S, bucketCount: 3 },
      { symbol: 'CYCUSDT', ts: T0 + 45 * S },
    ]);
    const [c] = await cyclesOf('CYCUSDT');
    expect(c).toEqual({
      symbol: 'CYCUSDT',
      spec: 'default',
      cycleStart: new Date(T0 + 40 * S),
      samplesCount: 2,
      ...Object.fromEntries(
        [
          'vInnerMin',
          'vInnerMax',
          'vInnerAvg',
          'vInnerClose',
          'vOuterMin',
          'vOuterMax',
          'vOuterAvg',
          'vOuterClose',
          'vSwapAvg',
          'vSwapClose',
          'vTendencyAvg',
          'vTendencyClose',
          'disruptionAvg',
          'ampAvg',
          'voltAvg',
          'inertiaAvg',
          'spreadAvg',
          'midClose',
          'modeGeneralClose',
          'modeBClose',
        ].map((k) => [k, null]),
      ),
      ...Object.fromEntries(
        [
          'vInnerN',
          'vOuterN',
          'vSwapN',
          'vTendencyN',
          'disruptionN',
          'ampN',
          'voltN',
          'inertiaN',
          'spreadN',
        ].map((k) => [k, 0]),
      ),
      updatedAt: expect.any(Date),
    });
  });

  it('membership is by floor: 39.5 s after a boundary is the same cycle, 0.5 s before it the previous one', async () => {
    await addSymbols(db.sql, ['CYDUSDT']);
    await upsertSamples5s(db.sql, [
      { symbol: 'CYDUSDT', ts: T0 + 39_500, vInner: 1 },
      { symbol: 'CYDUSDT', ts: T0 - 500, vInner: 2 },
      { symbol: 'CYDUSDT', ts: T0, vInner: 3 },
    ]);
    const cycles = await cyclesOf('CYDUSDT');
    expect(cycles.map((c) => [c.cycleStart.getTime() - T0, c.samplesCount, c.vInnerClose])).toEqual([
      [-40_000, 1, 2],
      [0, 2, 1],
    ]);
  });

  it('floors before 1970 too, and reads instants exactly under any TimeZone, years 0050 to 9999', async () => {
    await addSymbols(db.sql, ['CYEUSDT']);
    const t0050 = new Date('2000-01-01T00:00:00Z');
    t0050.setUTCFullYear(50, 2, 1);
    t0050.setUTCHours(0, 0, 3, 0);
    const instants = [
      t0050.getTime(),
      Date.parse('1850-06-01T12:00:07.123Z'),
      Date.parse('1900-01-01T00:00:39.999Z'),
      Date.parse('1970-01-01T00:00:00.000Z'),
      Date.parse('2038-01-19T03:14:08.001Z'),
      Date.parse('9999-12-31T23:59:59.998Z'), // `to` is exclusive and at most …59.999
    ];
    await upsertSamples5s(
      db.sql,
      instants.map((ts, i) => ({ symbol: 'CYEUSDT', ts, vInner: i })),
    );
    const floor40 = (ms: number) => ms - (((ms % 40_000) + 40_000) % 40_000);
    const span = { symbols: ['CYEUSDT'], from: instants[0]! - 86_400_000, to: instants[5]! + 1 };
    for (const tz of ['Europe/Amsterdam', 'Asia/Kolkata', 'America/New_York']) {
      const [cycles, samples] = await db.sql.begin(async (tx) => {
        await tx.unsafe(`set local timezone = '${tz}'`);
        return [await cyclesBetween(tx, span), await samplesBetween(tx, span)] as const;
      });
      expect(cycles.map((c) => [c.cycleStart.getTime(), c.vInnerClose])).toEqual(
        instants.map((ms, i) => [floor40(ms), i]),
      );
      expect(samples.map((s) => s.ts.getTime())).toEqual(instants);
    }
  });

  it('upserting a sample with a new value re-rolls its cycle at once', async () => {
    await addSymbols(db.sql, ['CYFUSDT']);
    await upsertSamples5s(db.sql, eightSamples('CYFUSDT'));
    await upsertSample5s(db.sql, { ...eightSamples('CYFUSDT')[7]!, vInner: 50 });
    const [c] = await cyclesOf('CYFUSDT');
    expect({ max: c!.vInnerMax, avg: c!.vInnerAvg, close: c!.vInnerClose, n: c!.samplesCount }).toEqual({
      max: 50,
      avg: (1 + 2 + 3 + 5 + 6 + 7 + 50) / 7,
      close: 50,
      n: 8,
    });
    // an UPDATE by another writer re-rolls it too (the update trigger)
    await db.sql`update str_aux.samples_5s set v_inner = 1 where symbol = 'CYFUSDT' and ts = ${new Date(T0 + 35 * S)}`;
    const [d] = await cyclesOf('CYFUSDT');
    expect([d!.vInnerMax, d!.vInnerClose]).toEqual([7, 1]);
    // a DELETE too: the cycle without samples goes
    await db.sql`delete from str_aux.samples_5s where symbol = 'CYFUSDT'`;
    expect(await cyclesOf('CYFUSDT')).toEqual([]);
  });

  it('a late sample re-rolls its already rolled cycle', async () => {
    await addSymbols(db.sql, ['CYGUSDT']);
    const all = eightSamples('CYGUSDT');
    await upsertSamples5s(db.sql, all.slice(0, 4));
    expect((await cyclesOf('CYGUSDT'))[0]!.samplesCount).toBe(4);
    await upsertSamples5s(db.sql, all.slice(4));
    expect(await cyclesOf('CYGUSDT')).toEqual([{ ...expectedCycle('CYGUSDT'), updatedAt: expect.any(Date) }]);
  });

  it('rollCycle40s twice gives identical rows; an unaligned start or unknown spec is a ValidationError', async () => {
    await addSymbols(db.sql, ['CYHUSDT']);
    await upsertSamples5s(db.sql, eightSamples('CYHUSDT'));
    const a = await rollCycle40s(db.sql, { symbol: 'CYHUSDT', cycleStart: T0 });
    const b = await rollCycle40s(db.sql, { symbol: 'CYHUSDT', cycleStart: new Date(T0) });
    expect(b).toEqual(a);
    expect(a).toEqual({ ...expectedCycle('CYHUSDT'), updatedAt: expect.any(Date) });
    expect(await rollCycle40s(db.sql, { symbol: 'CYHUSDT', cycleStart: T0 + 400 * S })).toBeNull();
    const before = await counts(db.sql);
    const e = await refusal(rollCycle40s(db.sql, { symbol: 'CYHUSDT', cycleStart: T0 + 5 * S }));
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues).toEqual([
      { path: [], message: 'cycle_start must be an epoch multiple of 40 seconds' },
    ]);
    const f = await refusal(rollCycle40s(db.sql, { symbol: 'CYHUSDT', cycleStart: T0, spec: 'nope' }));
    expect(f).toBeInstanceOf(ValidationError);
    expect((f as ValidationError).issues).toEqual([
      { path: [], message: "sampling spec 'nope' does not exist" },
    ]);
    expect(await counts(db.sql)).toEqual(before);
  });
});
