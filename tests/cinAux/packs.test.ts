import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

it('the cin_aux and mea packs build their tables', async () => {
  const rows = await db.sql<{ t: string }[]>`
    select table_schema || '.' || table_name as t from information_schema.tables
    where table_schema in ('cin_aux', 'mea_dynamics') and table_type = 'BASE TABLE' order by 1`;
  expect(rows.map((r) => r.t)).toEqual([
    'cin_aux.balances',
    'cin_aux.imprint_luggage',
    'cin_aux.lots',
    'cin_aux.marks',
    'cin_aux.move_lots',
    'cin_aux.moves',
    'cin_aux.references',
    'cin_aux.runtime_balances',
    'cin_aux.sessions',
    'mea_dynamics.cycles',
    'mea_dynamics.dynamics_snapshot',
    'mea_dynamics.mea_symbol',
    'mea_dynamics.mood_registry',
  ]);
});
