import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { SHIPPED_PACKS } from './helpers/packs.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

it('each test file gets a clone of the migrated template', async () => {
  const rows = await db.sql`select name from cryptopi_migrate.ledger order by name`;
  expect(rows.map((r) => r.name)).toEqual([...SHIPPED_PACKS]);
});
