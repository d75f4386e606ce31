// Every pack re-runs cleanly: applying all packs a second time changes nothing in the catalog
// (relations, columns, functions, triggers, constraints, indexes, views, policies) nor in seeded rows.
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultPacksDir, loadPacks, migrate } from '../src/migrate/index.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { catalog, tableHashes } from './helpers/catalog.js';

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
  const dir = mkdtempSync(join(tmpdir(), 'cryptopi-rerun-'));
  for (const f of readdirSync(defaultPacksDir())) {
    copyFileSync(join(defaultPacksDir(), f), join(dir, f));
    appendFileSync(join(dir, f), '\n-- re-run\n');
  }
  const report = await migrate(db.sql, { packsDir: dir });
  expect(report.applied).toEqual(loadPacks().map((p) => p.name));
  const after = await catalog(db.sql);
  for (const key of Object.keys(before) as (keyof typeof before)[])
    expect({ [key]: after[key] }).toEqual({ [key]: before[key] });
  expect(await tableHashes(db.sql)).toEqual(data);
});
