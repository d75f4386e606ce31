// Every pack re-runs cleanly: applying all packs a second time changes nothing in the catalog
// (relations, columns, functions, triggers, constraints, indexes, views, policies) nor in seeded rows.
import { copyFileSync, readdirSync } from 'node:fs';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultPacksDir, loadPacks, migrate } from '../src/migrate/index.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { catalog, OURS, tableHashes } from './helpers/catalog.js';
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
  expect(report.applied).toEqual(loadPacks().map((p) => p.name));
  const after = await catalog(db.sql);
  for (const key of Object.keys(before) as (keyof typeof before)[])
    expect({ [key]: after[key] }).toEqual({ [key]: before[key] });
  expect(await tableHashes(db.sql)).toEqual(data);
});

// The rules of spec/README.md that hold in every pack, checked once for all of them.
it('every function of ours pins search_path; every table with updated_at has the touch trigger', async () => {
  const functions = await db.sql<{ name: string; pinned: boolean }[]>`
    select n.nspname || '.' || p.proname as name,
           exists (select 1 from unnest(p.proconfig) c where c like 'search_path=pg_catalog%') as pinned
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where ${db.sql.unsafe(OURS)}
      -- functions of extensions (pgcrypto, uuid-ossp) are not ours
      and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                        and d.deptype = 'e')
    order by 1`;
  expect(functions.length).toBeGreaterThan(50);
  expect(functions.filter((f) => !f.pinned).map((f) => f.name)).toEqual([]);
  const tables = await db.sql<{ table: string; touched: boolean }[]>`
    select n.nspname || '.' || c.relname as table,
           exists (select 1 from pg_trigger t where t.tgrelid = c.oid and not t.tgisinternal
                     and t.tgfoid = 'util.touch_updated_at'::regproc) as touched
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'updated_at' and not a.attisdropped
    where ${db.sql.unsafe(OURS)} and c.relkind in ('r', 'p')
    order by 1`;
  expect(tables.length).toBeGreaterThan(5);
  expect(tables.filter((t) => !t.touched).map((t) => t.table)).toEqual([]);
});
