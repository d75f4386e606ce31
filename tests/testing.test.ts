import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import postgres from 'postgres';
import { expect, it } from 'vitest';
import { loadPacks } from '../src/migrate/index.js';
import { startEmbeddedServer, startTestDatabase, TEMPLATE_ENV } from '../src/testing/index.js';
import { tempDir } from './helpers/tmp.js';

const shipped = loadPacks().map((p) => p.name);
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
  const first = db.close();
  const second = db.close();
  await expect(first).rejects.toThrow(/cannot drop a template database/);
  await expect(second).rejects.toThrow(/cannot drop a template database/);
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
    await expect(startEmbeddedServer({ port })).rejects.toThrow(
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
