// The mea_dynamics store: cycles, coins, snapshots, the latest-views, and the database's tier check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/core/errors.js';
import {
  coolCycle,
  dynamicsLatest,
  latestCooledCycle,
  listMoods,
  meaLatestPerSymbol,
  putMeaSymbols,
  startCycle,
  tierFor,
  upsertDynamicsSnapshot,
  upsertMood,
} from '../../src/mea/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';
import { TIER_CASES } from './cases.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const T0 = Date.UTC(2025, 0, 1);

describe('cycles', () => {
  it('startCycle twice returns the same id; another engine cycle or window is another cycle', async () => {
    const a = await startCycle(db.sql, {
      window: '5m',
      engineCycle: 1,
      startedAt: T0,
      coins: ['BTC', 'ETH'],
    });
    expect(a).toEqual({
      id: a.id,
      window: '5m',
      engineCycle: 1,
      sessionId: null,
      startedAt: new Date(T0),
      cooled: false,
      cooledAt: null,
      base: null,
      quote: null,
      coins: ['BTC', 'ETH'],
    });
    expect(await startCycle(db.sql, { window: '5m', engineCycle: 1 })).toEqual(a);
    const b = await startCycle(db.sql, { window: '5m', engineCycle: 2, startedAt: T0 });
    const c = await startCycle(db.sql, { window: '15m', engineCycle: 1, startedAt: T0 });
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
  });

  it('coolCycle keeps its first cooling time; an unknown cycle is a NotFoundError', async () => {
    await startCycle(db.sql, { window: '30m', engineCycle: 7, startedAt: T0 });
    const first = await coolCycle(db.sql, { window: '30m', engineCycle: 7 });
    expect(first.cooled).toBe(true);
    expect(first.cooledAt).toBeInstanceOf(Date);
    expect(await coolCycle(db.sql, { window: '30m', engineCycle: 7 })).toEqual(first);
    const e = await refusal(coolCycle(db.sql, { window: '30m', engineCycle: 8 }));
    expect(e).toBeInstanceOf(NotFoundError);
    expect({ entity: (e as NotFoundError).entity, key: (e as NotFoundError).key }).toEqual({
      entity: 'mea_dynamics.cycle',
      key: { window: '30m', engineCycle: 8 },
    });
  });

  it('startCycle on an unknown window is a ValidationError naming window, nothing written', async () => {
    const before = await db.sql`select count(*)::int as n from mea_dynamics.cycles`;
    const e = await refusal(startCycle(db.sql, { window: 'nope', engineCycle: 1 }));
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues).toEqual([
      { path: [], message: 'window: unknown window (not a settings.windows label)' },
    ]);
    expect(await db.sql`select count(*)::int as n from mea_dynamics.cycles`).toEqual(before);
  });
});

describe('coins', () => {
  it('putMeaSymbols stores 40 coins in one call, each with tierFor(its value)', async () => {
    const cycle = await startCycle(db.sql, { window: '1h', engineCycle: 100, startedAt: T0 });
    const coins = Array.from({ length: 40 }, (_, i) => ({
      symbol: `C${String(i).padStart(2, '0')}`,
      meaValue: i * 0.00004, // 0, 0.00004, … 0.00156: every tier
      walletValue: 10 * i,
    }));
    expect(await putMeaSymbols(db.sql, coins, { cycleId: cycle.id })).toEqual({ written: 40 });
    const rows = await db.sql<{ symbol: string; tier: string; mea_value: number }[]>`
      select symbol, tier::text as tier, mea_value from mea_dynamics.mea_symbol where cycle_id = ${cycle.id} order by symbol`;
    expect(rows).toHaveLength(40);
    for (const r of rows) expect(r.tier).toBe(tierFor(r.mea_value));
    expect(rows[4]).toEqual({ symbol: 'C04', tier: 'alpha', mea_value: 4 * 0.00004 }); // 0.00016
  });

  it('the stored tier is tierFor of the stored value at every boundary, and the database refuses another', async () => {
    const cycle = await startCycle(db.sql, { window: '1h', engineCycle: 101, startedAt: T0 });
    const rows = TIER_CASES.map(([v], i) => ({ symbol: `B${i}`, meaValue: v }));
    await putMeaSymbols(db.sql, rows, { cycleId: cycle.id });
    const stored = await db.sql<{ symbol: string; tier: string }[]>`
      select symbol, tier::text as tier from mea_dynamics.mea_symbol where cycle_id = ${cycle.id}`;
    const bySymbol = Object.fromEntries(stored.map((r) => [r.symbol, r.tier]));
    expect(TIER_CASES.map(([, t], i) => bySymbol[`B${i}`] === t)).toEqual(TIER_CASES.map(() => true));
    const sqlTiers = await db.sql<{ t: string }[]>`
      select mea_dynamics.tier_for(v)::text as t from unnest(${TIER_CASES.map(([v]) => v)}::float8[]) with ordinality u(v, o) order by o`;
    expect(sqlTiers.map((r) => r.t)).toEqual(TIER_CASES.map(([, t]) => t));
    // another writer: a tier that is not the value's is refused by the check
    await expect(
      db.sql`insert into mea_dynamics.mea_symbol (cycle_id, symbol, mea_value, tier) values (${cycle.id}, 'X', 0.00016, 'none')`,
    ).rejects.toMatchObject({ code: '23514', constraint_name: 'mea_symbol_tier_matches' });
    await expect(
      db.sql`update mea_dynamics.mea_symbol set mea_value = 0.5 where cycle_id = ${cycle.id} and symbol = 'B0'`,
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('a given tier that is not tierFor(meaValue) is a ValidationError naming it, nothing written', async () => {
    const cycle = await startCycle(db.sql, { window: '1h', engineCycle: 102, startedAt: T0 });
    const e = await refusal(
      putMeaSymbols(
        db.sql,
        [
          { symbol: 'BTC', meaValue: 0.0002 },
          { symbol: 'ETH', meaValue: 0.0002, tier: 'beta' },
        ],
        {
          cycleId: cycle.id,
        },
      ),
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues).toEqual([
      { path: [1, 'tier'], message: 'must be tierFor(meaValue)' },
    ]);
    expect(await db.sql`select * from mea_dynamics.mea_symbol where cycle_id = ${cycle.id}`).toEqual([]);
  });

  it('bad values are ValidationErrors naming the field, nothing written', async () => {
    const cycle = await startCycle(db.sql, { window: '1h', engineCycle: 103, startedAt: T0 });
    for (const [row, path] of [
      [{ symbol: 'BTC', meaValue: Number.NaN }, [0, 'meaValue']],
      [{ symbol: 'BTC', meaValue: '0.1' }, [0, 'meaValue']],
      [{ symbol: 'btc', meaValue: 0.1 }, [0, 'symbol']],
      [{ symbol: 'BTC', meaValue: 0.1, walletValue: Number.POSITIVE_INFINITY }, [0, 'walletValue']],
    ] as const) {
      const e = await refusal(putMeaSymbols(db.sql, [row as never], { cycleId: cycle.id }));
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues.map((i) => i.path)).toEqual([path]);
    }
    expect(await db.sql`select * from mea_dynamics.mea_symbol where cycle_id = ${cycle.id}`).toEqual([]);
    const missing = await refusal(
      putMeaSymbols(db.sql, [{ symbol: 'BTC', meaValue: 0.1 }], {
        cycleId: '00000000-0000-4000-8000-000000000000',
      }),
    );
    expect(missing).toBeInstanceOf(NotFoundError);
  });
});

describe('snapshots and latest views', () => {
  it('upsertDynamicsSnapshot on a cycle that is not cooled is refused, nothing written', async () => {
    const cycle = await startCycle(db.sql, { window: '3m', engineCycle: 1, startedAt: T0 });
    const e = await refusal(upsertDynamicsSnapshot(db.sql, { cycleId: cycle.id, meaValue: 0.0005 }));
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues).toEqual([
      { path: ['cycleId'], message: 'the cycle is not cooled (coolCycle first)' },
    ]);
    expect(await db.sql`select * from mea_dynamics.dynamics_snapshot where cycle_id = ${cycle.id}`).toEqual(
      [],
    );
  });

  it('the three latest-views pick the right rows over several windows and cycles', async () => {
    // window 4h: cycles 1 (cooled), 2 (cooled), 3 (not cooled); window 1d: cycle 5 (cooled)
    const c1 = await startCycle(db.sql, { window: '4h', engineCycle: 1, startedAt: T0 });
    const c2 = await startCycle(db.sql, { window: '4h', engineCycle: 2, startedAt: T0 + 1 });
    const c3 = await startCycle(db.sql, { window: '4h', engineCycle: 3, startedAt: T0 + 2 });
    const d5 = await startCycle(db.sql, { window: '1d', engineCycle: 5, startedAt: T0 });
    for (const [w, n] of [
      ['4h', 1],
      ['4h', 2],
      ['1d', 5],
    ] as const)
      await coolCycle(db.sql, { window: w, engineCycle: n });
    await putMeaSymbols(
      db.sql,
      [
        { symbol: 'BTC', meaValue: 0.0001 },
        { symbol: 'ETH', meaValue: 0.0002 },
      ],
      { cycleId: c1.id },
    );
    await putMeaSymbols(db.sql, [{ symbol: 'BTC', meaValue: 0.0004 }], { cycleId: c2.id });
    await putMeaSymbols(db.sql, [{ symbol: 'SOL', meaValue: 0.002 }], { cycleId: c3.id });
    await putMeaSymbols(db.sql, [{ symbol: 'BTC', meaValue: 0.0009, mood: 'calm' }], { cycleId: d5.id });
    await upsertDynamicsSnapshot(db.sql, { cycleId: c1.id, base: 'BTC', quote: 'USDT', meaValue: 0.0001 });
    const s2 = await upsertDynamicsSnapshot(db.sql, {
      cycleId: c2.id,
      base: 'ETH',
      quote: 'USDT',
      coins: ['BTC', 'ETH'],
      candidates: [{ symbol: 'ETHUSDT' }],
      assetIdentity: JSON.parse('{"__proto__":"kept"}'),
      strMeasures: { gfm: 1.1 },
      meaValue: 0.0005,
      mood: 'bold',
    });
    expect(s2).toEqual({
      cycleId: c2.id,
      window: '4h',
      engineCycle: 2,
      base: 'ETH',
      quote: 'USDT',
      coins: ['BTC', 'ETH'],
      candidates: [{ symbol: 'ETHUSDT' }],
      assetIdentity: JSON.parse('{"__proto__":"kept"}'),
      arbitrageRows: [],
      strMeasures: { gfm: 1.1 },
      meaValue: 0.0005,
      meaTier: 'gamma',
      mood: 'bold',
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });

    const latest = await latestCooledCycle(db.sql, { windows: ['4h', '1d'] });
    expect(latest.map((c) => [c.window, c.engineCycle, c.id])).toEqual([
      ['1d', 5, d5.id],
      ['4h', 2, c2.id],
    ]);
    const coins = await meaLatestPerSymbol(db.sql, { windows: ['4h', '1d'] });
    expect(coins.map((r) => [r.window, r.symbol, r.engineCycle, r.meaValue, r.tier, r.mood])).toEqual([
      ['1d', 'BTC', 5, 0.0009, 'delta', 'calm'],
      ['4h', 'BTC', 2, 0.0004, 'beta', null],
      ['4h', 'ETH', 1, 0.0002, 'alpha', null],
      ['4h', 'SOL', 3, 0.002, 'epsilon', null],
    ]);
    expect(
      (await meaLatestPerSymbol(db.sql, { windows: ['4h'], symbols: ['ETH'] })).map((r) => r.cycleId),
    ).toEqual([c1.id]);
    const dyn = await dynamicsLatest(db.sql, { windows: ['4h', '1d'] });
    expect(dyn.map((d) => [d.window, d.engineCycle, d.base])).toEqual([['4h', 2, 'ETH']]);
  });

  it('the mea compatibility views read mea_dynamics and refuse writes', async () => {
    const c = await startCycle(db.sql, { window: '40s', engineCycle: 9, startedAt: T0 });
    expect(await db.sql`select id from mea.cycles where id = ${c.id}`).toEqual([{ id: c.id }]);
    await expect(db.sql`delete from mea.cycles where id = ${c.id}`).rejects.toMatchObject({ code: '55000' });
    expect(await db.sql`select id from mea_dynamics.cycles where id = ${c.id}`).toEqual([{ id: c.id }]);
  });
});

describe('moods', () => {
  it('upsertMood registers a mood once and replaces its version and buckets', async () => {
    const a = await upsertMood(db.sql, { mood: 'calm', formulaVersion: 'v1' });
    expect({ ...a, id: 0 }).toEqual({
      id: 0,
      mood: 'calm',
      formulaVersion: 'v1',
      buckets: [],
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    const b = await upsertMood(db.sql, { mood: 'calm', formulaVersion: 'v2', buckets: [0.2, 1, 2] });
    expect([b.id, b.formulaVersion, b.buckets]).toEqual([a.id, 'v2', [0.2, 1, 2]]);
    expect((await listMoods(db.sql)).filter((m) => m.mood === 'calm').map((m) => m.formulaVersion)).toEqual([
      'v2',
    ]);
  });
});
