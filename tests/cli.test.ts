import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { catalog, tableHashes } from './helpers/catalog.js';
import { packageVersion, SHIPPED_PACKS, shippedSha256 } from './helpers/packs.js';
import { tempDir } from './helpers/tmp.js';

const root = join(import.meta.dirname, '..');
const shipped: string[] = [...SHIPPED_PACKS];
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

/**
 * The bin run without blocking this process (a server the test runs must keep answering); killed,
 * and the test failed, when it has not exited after `guardMs` (a hang guard, not a measurement).
 */
function cliAsync(args: string[], guardMs: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise<{ code: number | null; out: string; err: string; hung: boolean }>((resolve) => {
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: null, out, err, hung: true });
    }, guardMs);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, out, err, hung: false });
    });
  });
}

/** A local TCP server that is not PostgreSQL: it answers like an HTTP server, or says nothing at all. */
async function impostor(kind: 'http' | 'silent') {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (kind === 'http')
      socket.on('data', () =>
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
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
    // our own words, not Node's parseArgs text
    expect(cli(['status', '--bogus'])).toEqual({
      code: 2,
      out: '',
      err: 'cryptopi-db: unknown option --bogus\nrun cryptopi-db --help for usage\n',
    });
    expect(cli(['status', '-x']).err).toBe(
      'cryptopi-db: unknown option -x\nrun cryptopi-db --help for usage\n',
    );
    expect(cli(['status', '--url']).err).toContain('cryptopi-db: --url needs a value');
    expect(cli(['export-ddl', '--out', 'x', '--single-file=yes']).err).toContain(
      'cryptopi-db: --single-file takes no value',
    );
    expect(cli(['status', '--timeout', 'soon', '--url', 'postgres://h/d'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--timeout must be a number of seconds above 0'),
    });
  });

  it('a URL that is not postgres:// or postgresql:// is a usage error naming where it came from; nothing is dialled', () => {
    expect(cli(['status', '--url', 'http://user:secret@127.0.0.1:1/db'])).toEqual({
      code: 2,
      out: '',
      err: 'cryptopi-db: --url must be a postgres:// or postgresql:// URL, not http://\nrun cryptopi-db --help for usage\n',
    });
    const env = cli(['plan'], { DATABASE_URL: 'mysql://user:secret@127.0.0.1:1/db' });
    expect(env).toMatchObject({
      code: 2,
      err: expect.stringContaining(
        'cryptopi-db: DATABASE_URL must be a postgres:// or postgresql:// URL, not mysql://',
      ),
    });
    expect(env.err).not.toContain('secret');
    expect(cli(['verify', '--url', 'not a url'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('cryptopi-db: --url is not a URL'),
    });
    expect(cli(['status', '--url', 'postgresql://postgres@127.0.0.1:1/none']).err).toBe(
      'cryptopi-db: status: server unreachable (ECONNREFUSED)\n',
    );
  });

  it.each(['http', 'silent'] as const)(
    'status aimed at a TCP server that is not PostgreSQL (%s) gives up at --timeout: exit 1 and says so',
    async (kind) => {
      const server = await impostor(kind);
      try {
        const r = await cliAsync(
          ['status', '--url', `postgres://postgres@127.0.0.1:${server.port}/db`, '--timeout', '1'],
          20_000,
        );
        expect(r).toEqual({
          code: 1,
          out: '',
          err: 'cryptopi-db: status: timed out after 1 s (no answer from a PostgreSQL server; --timeout)\n',
          hung: false,
        });
      } finally {
        await server.close();
      }
    },
  );

  it('status --json and plan --json print one JSON array a script can read', async () => {
    const db = await empty();
    const pending = JSON.parse(cli(['plan', '--json', '--url', db.url]).out);
    expect(pending).toEqual(
      shipped.map((name) => ({
        name,
        kind: 'pack',
        state: 'pending',
        checksum: shippedSha256(name),
        appliedChecksum: null,
        appliedAt: null,
        sdkVersion: null,
      })),
    );
    expect(cli(['migrate', '--url', db.url, '--include', 'schemas']).code).toBe(0);
    const [at] = await db.sql`
      select to_char(applied_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as t
      from cryptopi_migrate.ledger where name = '00_schemas'`;
    const s = cli(['status', '--json', '--url', db.url]);
    expect(s.code).toBe(0);
    expect(s.out.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(s.out)).toEqual(
      shipped.map((name) =>
        name === '00_schemas'
          ? {
              name,
              kind: 'pack',
              state: 'applied',
              checksum: shippedSha256(name),
              appliedChecksum: shippedSha256(name),
              appliedAt: at?.t,
              sdkVersion: packageVersion(),
            }
          : {
              name,
              kind: 'pack',
              state: 'pending',
              checksum: shippedSha256(name),
              appliedChecksum: null,
              appliedAt: null,
              sdkVersion: null,
            },
      ),
    );
    expect(
      JSON.parse(cli(['plan', '--json', '--url', db.url]).out).map((p: { name: string }) => p.name),
    ).toEqual(shipped.slice(1));
    expect(cli(['verify', '--json', '--url', db.url])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--json applies to status, plan only'),
    });
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
    const down = cli(['migrate', '--url', 'postgres://postgres@127.0.0.1:1/none']);
    expect(down).toEqual({
      code: 1,
      out: '',
      err: 'cryptopi-db: migrate: server unreachable (ECONNREFUSED)\n',
    });
  });

  it('export-ddl writes the packs as files, or one file', () => {
    const out = tempDir('ddl');
    expect(cli(['export-ddl', '--out', out]).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(shipped.map((n) => `${n}.sql`));
    for (const n of shipped)
      expect(readFileSync(join(out, `${n}.sql`))).toEqual(readFileSync(join(root, 'ddl', `${n}.sql`)));
    const single = tempDir('ddl1');
    expect(cli(['export-ddl', '--out', single, '--single-file', '--exclude', 'extensions']).code).toBe(0);
    const text = readFileSync(join(single, 'cryptopi-db.sql'), 'utf8');
    expect(text).toContain(`-- ==== 00_schemas.sql (sha256 ${shippedSha256('00_schemas')}) ====`);
    expect(text).not.toContain('==== 01_extensions.sql');
    expect(text).not.toContain('cryptopi_migrate');
    expect(cli(['export-ddl', '--out', single, '--with-ledger'])).toMatchObject({
      code: 2,
      err: expect.stringContaining('--with-ledger needs --single-file'),
    });
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
    expect(typo.err).toBe(
      `cryptopi-db: --include names no pack: setings (packs: ${shipped.join(', ')})\nrun cryptopi-db --help for usage\n`,
    );
    const out = tempDir('ddl-typo');
    expect(cli(['export-ddl', '--out', out, '--exclude', 'nothing']).code).toBe(2);
    expect(readdirSync(out)).toEqual([]);
    const missing = cli(['plan', '--url', url, '--packs-dir', join(out, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain(`cryptopi-db: --packs-dir: no such folder: ${join(out, 'nope')}`);
  });

  // psql is required in CI (.ci/run installs it or fails): only a developer's machine may skip
  const hasPsql = spawnSync('psql', ['--version']).status === 0;
  const skipPsql = !hasPsql && !process.env.CI;
  const psql = (file: string, url: string) =>
    spawnSync('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-1', '-f', file, url], {
      encoding: 'utf8',
      env: { ...process.env, PGOPTIONS: undefined },
    });
  it.skipIf(skipPsql)(
    'export-ddl --single-file applied with psql gives the same database as migrate()',
    async () => {
      const viaMigrate = await startTestDatabase(); // the migrated template
      open.push(viaMigrate);
      const viaPsql = await empty();
      const out = tempDir('psql');
      expect(cli(['export-ddl', '--out', out, '--single-file']).code).toBe(0);
      const file = join(out, 'cryptopi-db.sql');
      // quiet: no NOTICE on stderr, the first time nor the second (the file is idempotent too)
      for (let i = 0; i < 2; i++) expect(psql(file, viaPsql.url)).toMatchObject({ status: 0, stderr: '' });
      expect(await catalog(viaPsql.sql, { oids: false })).toEqual(
        await catalog(viaMigrate.sql, { oids: false }),
      );
      const hashes = async (sql: TestDatabase['sql']) => tableHashes(sql, { ignoreTimes: true });
      expect(await hashes(viaPsql.sql)).toEqual(await hashes(viaMigrate.sql));
    },
  );

  it.skipIf(skipPsql)(
    'export-ddl --single-file --with-ledger builds a database verify accepts and migrate leaves alone',
    async () => {
      const db = await empty();
      const out = tempDir('psql-ledger');
      expect(cli(['export-ddl', '--out', out, '--single-file', '--with-ledger']).code).toBe(0);
      const file = join(out, 'cryptopi-db.sql');
      expect(psql(file, db.url)).toMatchObject({ status: 0, stderr: '' });
      const user = decodeURIComponent(new URL(db.url).username);
      const ledger = () => db.sql`
        select name, kind, checksum, sdk_version, duration_ms, applied_by, apply_count
        from cryptopi_migrate.ledger order by name`;
      const expected = shipped.map((name) => ({
        name,
        kind: 'pack',
        checksum: shippedSha256(name),
        sdk_version: packageVersion(),
        duration_ms: 0,
        applied_by: user,
        apply_count: 1,
      }));
      expect(await ledger()).toEqual(expected);
      expect(await db.sql`select name, reason from cryptopi_migrate.history order by id`).toEqual(
        shipped.map((name) => ({ name, reason: 'new' })),
      );
      expect(cli(['verify', '--url', db.url])).toEqual({
        code: 0,
        out: `verified: ${shipped.length} packs match the shipped DDL\n`,
        err: '',
      });
      expect(cli(['migrate', '--url', db.url]).out).toContain(`done: 0 applied, ${shipped.length} unchanged`);
      // applied again, the file changes neither the packs' objects nor their ledger rows
      expect(psql(file, db.url)).toMatchObject({ status: 0, stderr: '' });
      expect(await ledger()).toEqual(expected);
    },
  );

  it.skipIf(skipPsql)(
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
      expect(psql(file, db.url)).toMatchObject({ status: 0, stderr: '' });
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
