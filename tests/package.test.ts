// The npm tarball as a user gets it: publint and are-the-types-wrong pass, and a fresh project that
// installs it can import (ESM) and require (CJS) it, create a client and migrate the test database.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadPacks } from '../src/migrate/index.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';

const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'cryptopi-pack-'));
const shipped = loadPacks().map((p) => p.name);
let tarball: string;
let db: TestDatabase;

const run = (cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) =>
  execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });

beforeAll(async () => {
  db = await startTestDatabase({ migrate: false });
  run('npm', ['pack', '--pack-destination', work, '--silent'], root); // prepack builds dist/
  const file = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!file) throw new Error('npm pack wrote no tarball');
  tarball = join(work, file);
}, 300_000);

afterAll(async () => {
  await db?.close();
  rmSync(work, { recursive: true, force: true });
});

it('passes publint', () => {
  expect(
    run(process.execPath, [join(root, 'node_modules/publint/src/cli.js'), 'run', tarball], root),
  ).toContain('All good!');
});

it('passes are-the-types-wrong for node16 (ESM and CJS) and bundlers', () => {
  // node10 resolution predates `exports` and cannot see subpaths; engines says node >= 20
  const out = run(
    process.execPath,
    [
      join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'),
      tarball,
      '--profile',
      'node16',
      '--format',
      'json',
    ],
    root,
  );
  const report = JSON.parse(out) as { analysis: { problems: { kind: string; resolutionKind?: string }[] } };
  expect(report.analysis.problems.filter((p) => p.resolutionKind !== 'node10')).toEqual([]);
});

it('installs into a fresh project and works from import and require', async () => {
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--silent', tarball], app);

  writeFileSync(
    join(app, 'esm.mjs'),
    `import { createClient, MigrationError, ValidationError } from 'cryptopi-db';
import * as settings from 'cryptopi-db/settings';
import { startTestDatabase } from 'cryptopi-db/testing';
const db = createClient({ url: process.env.URL });
const report = await db.migrate();
console.log(JSON.stringify({ applied: report.applied, classes: [typeof MigrationError, typeof ValidationError], settings: typeof settings, testing: typeof startTestDatabase }));
await db.close();
`,
  );
  writeFileSync(
    join(app, 'cjs.cjs'),
    `const { createClient, ValidationError } = require('cryptopi-db');
const { upsertWindow } = require('cryptopi-db/settings');
(async () => {
  const db = createClient({ url: process.env.URL });
  const status = await db.status();
  console.log(JSON.stringify({ states: status.map((s) => s.name + ':' + s.state), validation: typeof ValidationError }));
  await db.close();
})().catch((e) => { console.error(e); process.exit(1); });
`,
  );
  const esm = JSON.parse(run(process.execPath, ['esm.mjs'], app, { URL: db.url }));
  expect(esm).toEqual({
    applied: shipped,
    classes: ['function', 'function'],
    settings: 'object',
    testing: 'function',
  });
  const cjs = JSON.parse(run(process.execPath, ['cjs.cjs'], app, { URL: db.url }));
  expect(cjs).toEqual({ states: shipped.map((n) => `${n}:applied`), validation: 'function' });
  const version = run(join(app, 'node_modules/.bin/cryptopi-db'), ['--version'], app);
  expect(version.trim()).toMatch(/^\d+\.\d+\.\d+/);
  const [ddl] = readdirSync(join(app, 'node_modules/cryptopi-db/ddl')).sort();
  expect(ddl).toBe('00_schemas.sql');
}, 300_000);

it('required (CJS) from a symlinked, renamed install (pnpm / npm link layout), it finds its packs and migrates', async () => {
  const app = join(work, 'app-linked');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app2', version: '1.0.0', private: true }));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--silent', tarball], app);
  const store = join(app, 'node_modules/.store/cryptopi-db@0.1.0/node_modules');
  mkdirSync(store, { recursive: true });
  renameSync(join(app, 'node_modules/cryptopi-db'), join(store, 'sdk-under-another-name'));
  symlinkSync(join(store, 'sdk-under-another-name'), join(app, 'node_modules/cryptopi-db'), 'dir');
  const own = await startTestDatabase({ migrate: false });
  try {
    writeFileSync(
      join(app, 'cjs.cjs'),
      `const { createClient } = require('cryptopi-db');
(async () => {
  const db = createClient({ url: process.env.URL });
  const report = await db.migrate();
  const status = await db.verify();
  console.log(JSON.stringify({ applied: report.applied, verified: status.length }));
  await db.close();
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    for (const flags of [[], ['--preserve-symlinks']]) {
      const out = JSON.parse(run(process.execPath, [...flags, 'cjs.cjs'], app, { URL: own.url }));
      expect(out).toEqual(
        flags.length === 0
          ? { applied: shipped, verified: shipped.length }
          : { applied: [], verified: shipped.length },
      );
    }
  } finally {
    await own.close();
  }
}, 300_000);
