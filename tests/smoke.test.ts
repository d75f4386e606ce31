import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

it('clones a migrated template', async () => {
  const rows = await db.sql`select name from cryptopi_migrate.ledger order by name`;
  expect(rows.map((r) => r.name)).toEqual(['00_schemas', '01_extensions']);
});
