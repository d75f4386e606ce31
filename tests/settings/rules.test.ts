import { afterAll, beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { listRules, upsertRule } from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

/** No rules at all, so that each test lists only what it wrote. */
const clear = () => db.sql`delete from settings.scr_rules; delete from settings.ccr_rules`.simple();
const rules = () => db.sql`select * from settings.v_cache_rules order by kind, rule_id`;

it('upsertRule creates and updates scr and ccr rules; a missing field keeps its value', async () => {
  await clear();
  const scr = await upsertRule(db.sql, {
    kind: 'scr',
    ruleId: 'api.markets',
    description: 'markets list',
    precedence: 10,
    ruleJson: { ttlMs: 5000 },
  });
  expect(scr).toEqual({
    kind: 'scr',
    ruleId: 'api.markets',
    description: 'markets list',
    enabled: true,
    precedence: 10,
    ruleJson: { ttlMs: 5000 },
    createdAt: expect.any(Date),
    updatedAt: expect.any(Date),
  });
  const ccr = await db.client.settings.upsertRule({
    kind: 'ccr',
    ruleId: 'ui.matrix',
    ruleJson: { stale: true },
  });
  expect(ccr).toEqual({
    kind: 'ccr',
    ruleId: 'ui.matrix',
    description: null,
    enabled: true,
    precedence: 100,
    ruleJson: { stale: true },
    createdAt: expect.any(Date),
    updatedAt: expect.any(Date),
  });
  const updated = await upsertRule(db.sql, { kind: 'scr', ruleId: 'api.markets', enabled: false });
  expect(updated).toEqual({ ...scr, enabled: false, updatedAt: expect.any(Date) });
  expect(await db.sql`select count(*)::int as n from settings.scr_rules`).toEqual([{ n: 1 }]);
});

it('listRules lists in the order rules apply, by one kind, several kinds (no `as const`) or enabled', async () => {
  await clear();
  await upsertRule(db.sql, { kind: 'scr', ruleId: 'api.markets', precedence: 10, enabled: false });
  await upsertRule(db.sql, { kind: 'scr', ruleId: 'api.slow', precedence: 5, enabled: false });
  const ccr = await upsertRule(db.sql, { kind: 'ccr', ruleId: 'ui.matrix' });
  expect((await listRules(db.sql)).map((r) => [r.kind, r.ruleId, r.precedence, r.enabled])).toEqual([
    ['ccr', 'ui.matrix', 100, true],
    ['scr', 'api.slow', 5, false],
    ['scr', 'api.markets', 10, false],
  ]);
  expect(await db.client.settings.listRules({ kind: 'ccr' })).toEqual([ccr]);
  expect((await listRules(db.sql, { kind: ['scr', 'ccr'] })).map((r) => r.ruleId)).toEqual([
    'ui.matrix',
    'api.slow',
    'api.markets',
  ]);
  expect((await listRules(db.sql, { kind: ['scr'] })).map((r) => r.ruleId)).toEqual([
    'api.slow',
    'api.markets',
  ]);
  expect(await listRules(db.sql, { kind: 'scr', enabled: true })).toEqual([]);
  expect(await listRules(db.sql, { kind: [] })).toEqual([]);
});

it('refuses an unknown kind, a bad rule id and bad text before sending; the procedure refuses too', async () => {
  await clear();
  await upsertRule(db.sql, { kind: 'scr', ruleId: 'kept' });
  const before = await rules();
  const bad = (await refusal(
    upsertRule(db.sql, { kind: 'xyz' as 'scr', ruleId: 'r r', description: 'd\uD800' }),
  )) as ValidationError;
  expect(bad).toBeInstanceOf(ValidationError);
  expect(bad.issues).toEqual([
    { path: ['kind'], message: 'expected scr or ccr' },
    {
      path: ['ruleId'],
      message:
        'expected a rule id such as api.markets (a letter or digit, then up to 127 of letters, digits, _ . : / -)',
    },
    { path: ['description'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
  ]);
  const list = (await refusal(listRules(db.sql, { kind: ['scr', 'nope' as 'scr'] }))) as ValidationError;
  expect(list.issues.map((i) => i.path)).toEqual([['kind']]);
  await expect(db.sql`select settings.sp_upsert_rule('xyz', 'r')`).rejects.toMatchObject({
    code: '22023',
    message: 'a rule kind is scr or ccr',
    detail: "kind 'xyz'",
  });
  expect(await rules()).toEqual(before);
});

it('ruleJson keeps a "__proto__" key through a write and a read', async () => {
  await clear();
  const ruleJson = JSON.parse('{"__proto__": {"ttlMs": 1}, "ttlMs": 2}') as Record<string, never>;
  const r = await upsertRule(db.sql, { kind: 'ccr', ruleId: 'proto', ruleJson });
  expect(JSON.stringify(r.ruleJson)).toBe('{"ttlMs":2,"__proto__":{"ttlMs":1}}');
  const [listed] = await listRules(db.sql, { kind: 'ccr' });
  expect(Object.hasOwn(listed?.ruleJson ?? {}, '__proto__')).toBe(true);
  expect(JSON.stringify(listed?.ruleJson)).toBe('{"ttlMs":2,"__proto__":{"ttlMs":1}}');
});
