import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPacks } from '../src/migrate/index.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { catalog, tableHashes } from './helpers/catalog.js';
import { tempDir } from './helpers/tmp.js';

const root = join(import.meta.dirname, '..');
const shipped = loadPacks().map((p) => p.name);
const open: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

async function empty(): Promise<TestDatabase> {
  const db = await startTestDatabase({ migrate: false });
  open.push(db);
  return db;
}

/** Runs the real bin (from source, through tsx) and returns its exit code and output. */
function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: undefined, ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('cryptopi-db CLI', () => {
  it('prints its version and usage; a bad command or missing URL exits 2', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(cli(['--version'])).toMatchObject({ code: 0, out: `${pkg.version}\n` });
    expect(cli(['--help']).out).toContain('export-ddl --out DIR');
    expect(cli(['frobnicate'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('unknown command: frobnicate'),
    });
    expect(cli(['status'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('status needs --url or DATABASE_URL'),
    });
    expect(cli(['export-ddl'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('export-ddl needs --out DIR'),
    });
    expect(cli(['status', '--bogus'])).toMatchObject({ code: 2 });
  });

  it('migrate prints progress, then status / plan / verify agree, with DATABASE_URL or --url', async () => {
    const db = await empty();
    expect(cli(['verify', '--url', db.url])).toMatchObject({
      code: 1,
      err: expect.stringContaining('(pending)'),
    });
    expect(cli(['plan', '--url', db.url]).out.trim().split('\n')).toEqual(
      shipped.map((n) => `would apply ${n} (new)`),
    );
    const m = cli(['migrate'], { DATABASE_URL: db.url });
    expect(m.code).toBe(0);
    const lines = m.out.trim().split('\n');
    expect(lines.slice(0, -1).map((l) => l.replace(/ in \d+ ms$/, ''))).toEqual(
      shipped.flatMap((n) => [`applying ${n} (new) ...`, `applied  ${n}`]),
    );
    expect(lines.at(-1)).toMatch(new RegExp(`^done: ${shipped.length} applied, 0 unchanged in \\d+ ms$`));
    const s = cli(['status', '--url', db.url]);
    expect(s.code).toBe(0);
    expect(
      s.out
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/).slice(0, 3)),
    ).toEqual(shipped.map((n) => [n, 'pack', 'applied']));
    expect(cli(['plan', '--url', db.url]).out.trim()).toBe('nothing to apply: the database is up to date');
    expect(cli(['verify', '--url', db.url])).toMatchObject({
      code: 0,
      out: `verified: ${shipped.length} packs match the shipped DDL\n`,
    });
    expect(cli(['migrate', '--url', db.url]).out).toContain(`done: 0 applied, ${shipped.length} unchanged`);
  });

  it('a failing pack exits 1 naming the pack and line; an unreachable server exits 1', async () => {
    const db = await empty();
    const dir = tempDir('cli');
    writeFileSync(join(dir, '00_ok.sql'), 'create table public.cli_ok (id int);\n');
    writeFileSync(join(dir, '01_bad.sql'), '\n\nselect * from public.nowhere;\n');
    const r = cli(['migrate', '--url', db.url, '--packs-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      '01_bad.sql statement 1, line 3 column 15: 42P01 relation "public.nowhere" does not exist',
    );
    expect(r.out).toContain('applied  00_ok');
    const down = cli(['status', '--url', 'postgres://postgres@127.0.0.1:1/none']);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/^cryptopi-db: /);
  });

  it('export-ddl writes the packs as files, or one file', () => {
    const out = tempDir('ddl');
    expect(cli(['export-ddl', '--out', out]).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(loadPacks().map((p) => `${p.name}.sql`));
    for (const p of loadPacks()) expect(readFileSync(join(out, `${p.name}.sql`), 'utf8')).toBe(p.text);
    const single = tempDir('ddl1');
    expect(cli(['export-ddl', '--out', single, '--single-file', '--exclude', 'extensions']).code).toBe(0);
    const text = readFileSync(join(single, 'cryptopi-db.sql'), 'utf8');
    expect(text).toContain('-- ==== 00_schemas.sql (sha256 ');
    expect(text).not.toContain('==== 01_extensions.sql');
  });

  it('an option that does not apply to the command is a usage error, not silently ignored', () => {
    const url = 'postgres://postgres@127.0.0.1:1/none'; // never reached
    expect(cli(['migrate', '--url', url, '--port', '5433'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--port applies to dev only'),
    });
    expect(cli(['status', '--url', url, '--out', 'x'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--out applies to export-ddl only'),
    });
    const out = tempDir('ddl-url');
    expect(cli(['export-ddl', '--out', out, '--url', url])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--url applies to migrate, status, plan, verify only'),
    });
    expect(readdirSync(out)).toEqual([]);
  });

  it('a selection naming no pack, or a packs folder that does not exist, is a usage error (exit 2)', () => {
    const url = 'postgres://postgres@127.0.0.1:1/none'; // never reached
    const typo = cli(['migrate', '--url', url, '--include', 'setings']);
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/^cryptopi-db: include names no pack: setings \(packs: 00_schemas, /);
    const out = tempDir('ddl-typo');
    expect(cli(['export-ddl', '--out', out, '--exclude', 'nothing']).code).toBe(2);
    expect(readdirSync(out)).toEqual([]);
    const missing = cli(['plan', '--url', url, '--packs-dir', join(out, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--packs-dir');
  });

  const hasPsql = spawnSync('psql', ['--version']).status === 0;
  it.skipIf(!hasPsql)(
    'export-ddl --single-file applied with psql gives the same database as migrate()',
    async () => {
      const viaMigrate = await startTestDatabase(); // the migrated template
      open.push(viaMigrate);
      const viaPsql = await empty();
      const out = tempDir('psql');
      expect(cli(['export-ddl', '--out', out, '--single-file']).code).toBe(0);
      const file = join(out, 'cryptopi-db.sql');
      execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-1', '-f', file, viaPsql.url], {
        stdio: 'pipe',
        env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning' },
      });
      // and once more: the file is idempotent too
      execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-1', '-f', file, viaPsql.url], {
        stdio: 'pipe',
        env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning' },
      });
      expect(await catalog(viaPsql.sql, { oids: false })).toEqual(
        await catalog(viaMigrate.sql, { oids: false }),
      );
      const hashes = async (sql: TestDatabase['sql']) => tableHashes(sql, { ignoreTimes: true });
      expect(await hashes(viaPsql.sql)).toEqual(await hashes(viaMigrate.sql));
    },
  );

  it.skipIf(!hasPsql)(
    'export-ddl --single-file keeps packs apart: a pack without a final semicolon, or with a BOM, is not merged with the next',
    async () => {
      const db = await empty();
      const dir = tempDir('cli-own');
      writeFileSync(
        join(dir, '00_a.sql'),
        '\uFEFFcreate table if not exists public.exp_a (id int)\n-- no semicolon',
      );
      writeFileSync(join(dir, '01_b.sql'), 'create table if not exists public.exp_b (id int);\n');
      const out = tempDir('cli-own-out');
      expect(cli(['export-ddl', '--out', out, '--single-file', '--packs-dir', dir]).code).toBe(0);
      const file = join(out, 'cryptopi-db.sql');
      expect(readFileSync(file, 'utf8')).not.toContain('\uFEFF');
      execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-1', '-f', file, db.url], {
        stdio: 'pipe',
      });
      const [t] = await db.sql`
        select to_regclass('public.exp_a') is not null as a, to_regclass('public.exp_b') is not null as b`;
      expect(t).toEqual({ a: true, b: true });
    },
  );

  it('dev starts an embedded PostgreSQL, migrates it, prints its URL, and Ctrl-C stops it', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'dev'],
      {
        cwd: root,
        env: { ...process.env, DATABASE_URL: undefined },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /DATABASE_URL=(\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`dev exited early with ${code}: ${out}`)));
    });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql`select name from cryptopi_migrate.ledger order by name`;
      expect(rows.map((r) => r.name)).toEqual(shipped);
    } finally {
      await sql.end();
    }
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGINT');
    });
    expect(code).toBe(130); // the conventional exit code of a process ended by SIGINT
    const after = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 2 });
    await expect(after`select 1`).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await after.end();
  });
});
