// Every pack re-runs cleanly: applying all packs a second time changes nothing in the catalog
// (relations, columns, functions, triggers, constraints, indexes, views, policies) nor in seeded rows.
import { copyFileSync, readdirSync } from 'node:fs';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultPacksDir, migrate } from '../src/migrate/index.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { catalog, functionPins, tableHashes, updatedAtTouches } from './helpers/catalog.js';
import { SHIPPED_PACKS } from './helpers/packs.js';
import { tempDir } from './helpers/tmp.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

it('applying every pack a second time changes nothing in the catalog or the seeded rows', async () => {
  const before = await catalog(db.sql);
  const data = await tableHashes(db.sql);
  expect(before.functions.length).toBeGreaterThan(0);
  // the same packs with a changed checksum (a trailing comment), so migrate() re-applies every one
  const dir = tempDir('rerun');
  for (const f of readdirSync(defaultPacksDir())) {
    copyFileSync(join(defaultPacksDir(), f), join(dir, f));
    appendFileSync(join(dir, f), '\n-- re-run\n');
  }
  const report = await migrate(db.sql, { packsDir: dir });
  expect(report.applied).toEqual([...SHIPPED_PACKS]);
  const after = await catalog(db.sql);
  for (const key of Object.keys(before) as (keyof typeof before)[])
    expect({ [key]: after[key] }).toEqual({ [key]: before[key] });
  expect(await tableHashes(db.sql)).toEqual(data);
});

// The rules of spec/README.md that hold in every pack, checked once for all of them.
it('every function of ours pins search_path; every table with updated_at has the touch trigger', async () => {
  const functions = await functionPins(db.sql);
  expect(functions.length).toBeGreaterThan(50);
  expect(functions.filter((f) => !f.pinned).map((f) => `${f.schema}.${f.name}`)).toEqual([]);
  const tables = await updatedAtTouches(db.sql);
  expect(tables.length).toBeGreaterThan(5);
  expect(tables.filter((t) => !t.touched).map((t) => `${t.schema}.${t.table}`)).toEqual([]);
});
