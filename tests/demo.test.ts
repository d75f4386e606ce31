// `npm run demo` (README's first command) works: against a fresh database it migrates every pack,
// prints the tour, and verifies.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadPacks } from '../src/migrate/index.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';

const root = join(import.meta.dirname, '..');
let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase({ migrate: false });
});
afterAll(() => db.close());

it('npm run demo migrates a fresh database, tours it, and verifies', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples/demo.ts')], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: db.url },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const packs = loadPacks().map((p) => p.name);
  for (const name of packs) expect(r.stdout).toMatch(new RegExp(`applied\\s+${name} \\(\\d+ ms\\)`));
  expect(r.stdout).toContain(`verify: ${packs.length} packs match the shipped DDL`);
  expect(r.stdout).toContain('universe synced: 4 enabled, 0 disabled');
  expect(r.stdout).toContain('klines: 60 inserted, 0 updated, 0 unchanged');
  expect(r.stdout).toContain('import: 3 inserted; the same import again: 0 inserted, 3 skipped');
  expect(r.stdout).toContain('balance USDT  749.50');
  expect(r.stdout).toContain('putGrid id_pct at 2025-01-01T00:00:40.000Z: 6 points');
  expect(r.stdout).toContain('latest mood:ETH at 2025-01-01T23:59:00.000Z = 1.9993');
});
