import { afterAll, beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { getParams, updateParams } from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const SEEDED = {
  primary_interval_ms: '30000',
  secondary_enabled: false,
  secondary_cycles: 3,
  str_cycles: { '30m': 45, '1h': 90, '3h': 270 },
  sampling_seconds: 5,
  cycle_seconds: 40,
};
/** Puts the singleton back to its seeded values (each test starts from them). */
const reset = () => db.sql`
  update settings.params set primary_interval_ms = 30000, secondary_enabled = false, secondary_cycles = 3,
    str_cycles = '{"30m": 45, "1h": 90, "3h": 270}', sampling_seconds = 5, cycle_seconds = 40`;
const stored = async () =>
  (
    await db.sql`select primary_interval_ms, secondary_enabled, secondary_cycles, str_cycles, sampling_seconds,
                 cycle_seconds from settings.params`
  )[0];

it('getParams returns the seeded knobs', async () => {
  await reset();
  expect(await getParams(db.sql)).toEqual({
    primaryIntervalMs: 30_000,
    secondaryEnabled: false,
    secondaryCycles: 3,
    strCycles: { '30m': 45, '1h': 90, '3h': 270 },
    samplingSeconds: 5,
    cycleSeconds: 40,
    updatedAt: expect.any(Date),
  });
});

it('updateParams changes only what it is given', async () => {
  await reset();
  const p = await db.client.settings.updateParams({ primaryIntervalMs: 60_000, strCycles: { '1h': 120 } });
  expect(p).toEqual({
    primaryIntervalMs: 60_000,
    secondaryEnabled: false,
    secondaryCycles: 3,
    strCycles: { '1h': 120 },
    samplingSeconds: 5,
    cycleSeconds: 40,
    updatedAt: expect.any(Date),
  });
  expect(await getParams(db.sql)).toEqual(p);
  expect(await db.sql`select count(*)::int as n from settings.params`).toEqual([{ n: 1 }]);
});

it('updatedAt is read exactly (an old instant set by another writer, touch trigger off)', async () => {
  await reset();
  await db.sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`; // no trigger: the instant stays as written
    await tx`update settings.params set updated_at = '1900-01-01T00:00:00.001Z'`;
  });
  expect((await getParams(db.sql)).updatedAt.toISOString()).toBe('1900-01-01T00:00:00.001Z');
});

it('updateParams refuses an unknown window and a cycle that is not a multiple of sampling', async () => {
  await reset();
  const unknown = (await refusal(updateParams(db.sql, { strCycles: { '9h': 3 } }))) as ValidationError;
  expect(unknown).toBeInstanceOf(ValidationError);
  expect(unknown.issues).toEqual([
    { path: [], message: 'every str_cycles key must be a window label settings.windows holds' },
  ]);
  expect(unknown.detail).toBe("unknown window '9h'");
  const multiple = (await refusal(
    updateParams(db.sql, { samplingSeconds: 7, cycleSeconds: 40 }),
  )) as ValidationError;
  expect(multiple.issues).toEqual([
    { path: ['cycleSeconds'], message: 'cycleSeconds must be a multiple of samplingSeconds' },
  ]);
  // only one side given: zod cannot tell, the table check can
  const check = (await refusal(updateParams(db.sql, { samplingSeconds: 7 }))) as ValidationError;
  expect(check).toBeInstanceOf(ValidationError);
  expect(check.constraint).toBe('params_cycle_multiple_of_sampling');
  expect(await stored()).toEqual(SEEDED);
});

it('updateParams refuses out-of-range knobs and malformed strCycles, naming the rule and the path', async () => {
  await reset();
  const e = (await refusal(
    updateParams(db.sql, {
      primaryIntervalMs: 999,
      secondaryCycles: 1.5,
      strCycles: { '1h': 0, 'bad key': 2 },
    }),
  )) as ValidationError;
  expect(e).toBeInstanceOf(ValidationError);
  expect(e.issues).toEqual([
    { path: ['primaryIntervalMs'], message: 'must be at least 1000' },
    { path: ['secondaryCycles'], message: 'expected an integer' },
    { path: ['strCycles', '1h'], message: 'expected whole cycles, 1 to 100000' },
    { path: ['strCycles', 'bad key'], message: 'a key must be a window label such as 15m' },
  ]);
  expect(await stored()).toEqual(SEEDED);
});

it('the table holds one row whatever the writer', async () => {
  await expect(db.sql`insert into settings.params (singleton) values (false)`).rejects.toMatchObject({
    code: '23514',
  });
  await expect(db.sql`insert into settings.params (singleton) values (true)`).rejects.toMatchObject({
    code: '23505',
    constraint_name: 'params_pkey',
  });
  expect(await db.sql`select count(*)::int as n from settings.params`).toEqual([{ n: 1 }]);
});
