// Issue 9, defect 2: db.transaction types every error (connection loss as ConnectionError) and,
// with { retries }, runs again after a loss before COMMIT, a serialization failure or a deadlock,
// never after COMMIT was sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, createClient } from '../../src/client.js';
import { ConflictError, ConnectionError, isCryptopiError, ValidationError } from '../../src/core/errors.js';
import { retryDelay } from '../../src/core/transaction.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';
import { figures, terminate, waitFor } from './helpers.js';

const record = figures('transaction');

let db: TestDatabase;
let client: Client;
beforeAll(async () => {
  db = await startTestDatabase();
  client = createClient(
    { url: db.url },
    { postgres: { max: 4, connection: { application_name: 'rel-tx' } } },
  );
  await db.sql`create table rel_tx (id text primary key, attempt int not null)`;
  await db.sql`create table rel_counter (k int primary key, v int not null)`;
  await db.sql`create table rel_commit_probe (id text primary key)`;
  // a deferred constraint trigger runs inside COMMIT: sleeping there holds the backend in COMMIT
  await db.sql`
    create function rel_slow_commit() returns trigger language plpgsql as $$
    begin perform pg_sleep(30); return null; end $$`;
  await db.sql`
    create constraint trigger rel_slow_commit after insert on rel_commit_probe
    deferrable initially deferred for each row execute function rel_slow_commit()`;
});
afterAll(async () => {
  await client.close();
  await db.close();
});

/** A promise and the function that resolves it (a barrier two transactions wait on). */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => {
    arrived++;
    if (arrived >= parties) open();
    return opened;
  };
}

describe('connection loss', () => {
  it('before COMMIT: retried, and the row is written once, by the second attempt', async () => {
    const attempts: number[] = [];
    const retried: unknown[] = [];
    const result = await client.transaction(
      async (tx) => {
        const attempt = attempts.length + 1;
        attempts.push(attempt);
        await tx.sql`insert into rel_tx (id, attempt) values ('loss-retried', ${attempt})`;
        if (attempt === 1) {
          const [row] = await tx.sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
          await terminate(db.sql, row!.pid);
          await tx.sql`select 1`;
        }
        return 'done';
      },
      { retries: 2, onRetry: (_n, e) => retried.push(e) },
    );
    expect(result).toBe('done');
    expect(attempts).toEqual([1, 2]);
    expect(retried.map((e) => [e instanceof ConnectionError, (e as ConnectionError).afterCommit])).toEqual([
      [true, false],
    ]);
    expect(await db.sql`select id, attempt from rel_tx where id = 'loss-retried'`).toEqual([
      { id: 'loss-retried', attempt: 2 },
    ]);
    record({
      id: 'tx.1-loss-retried',
      area: 'transaction',
      tried: 'backend terminated inside `db.transaction(fn, { retries: 2 })` before COMMIT',
      times: 1,
      held: 'fn ran again once; the row was written once, by the second attempt',
    });
  });

  it('before COMMIT without retries: a ConnectionError (lost, retryable, not afterCommit), nothing written', async () => {
    const e = await refusal(
      client.transaction(async (tx) => {
        await tx.sql`insert into rel_tx (id, attempt) values ('loss-plain', 1)`;
        const [row] = await tx.sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
        await terminate(db.sql, row!.pid);
        await tx.sql`select 1`;
      }),
    );
    expect(e).toBeInstanceOf(ConnectionError);
    expect(e).toMatchObject({
      operation: 'transaction',
      reason: 'lost',
      retryable: true,
      afterCommit: false,
    });
    expect(await db.sql`select id from rel_tx where id = 'loss-plain'`).toEqual([]);
    // the client reconnects by itself
    expect(await client.sql`select 3 as n`).toEqual([{ n: 3 }]);
  });

  it('during COMMIT: a ConnectionError with afterCommit, never retried', async () => {
    let attempts = 0;
    const outcome = refusal(
      client.transaction(
        async (tx) => {
          attempts++;
          await tx.sql`insert into rel_commit_probe (id) values ('in-commit')`;
        },
        { retries: 3 },
      ),
    );
    const pid = await waitFor('a backend of rel-tx running COMMIT', async () => {
      const [r] = await db.sql<{ pid: number }[]>`
        select pid from pg_stat_activity
        where application_name = 'rel-tx' and state = 'active' and query ilike 'commit%'`;
      return r?.pid;
    });
    await terminate(db.sql, pid);
    const e = await outcome;
    expect(e).toBeInstanceOf(ConnectionError);
    expect(e).toMatchObject({ operation: 'transaction', reason: 'lost', afterCommit: true });
    expect(attempts).toBe(1);
    // the server rolled it back (the kill came before COMMIT finished): nothing visible
    expect(await db.sql`select id from rel_commit_probe`).toEqual([]);
    record({
      id: 'tx.2-loss-in-commit',
      area: 'transaction',
      tried: 'backend terminated while COMMIT runs (a deferred trigger holds it), `{ retries: 3 }`',
      times: 1,
      held: 'ConnectionError with afterCommit: true; fn ran once (no retry after COMMIT was sent)',
    });
  });
});

describe('serialization failures and deadlocks', () => {
  /** Two repeatable-read transactions that both read k, meet, then both increment it: one gets 40001. */
  async function racingIncrements(k: number, retries: number) {
    await db.sql`insert into rel_counter (k, v) values (${k}, 0)`;
    const meet = barrier(2);
    const attempts = { n: 0 };
    const one = () =>
      client.transaction(
        async (tx) => {
          attempts.n++;
          await tx.sql`select v from rel_counter where k = ${k}`; // takes the snapshot
          await meet();
          await tx.sql`update rel_counter set v = v + 1 where k = ${k}`;
        },
        { retries, isolation: 'repeatable read' },
      );
    const settled = await Promise.allSettled([one(), one()]);
    const [row] = await db.sql<{ v: number }[]>`select v from rel_counter where k = ${k}`;
    return { settled, attempts: attempts.n, v: row?.v };
  }

  it('40001 with retries: both increments land (v = 2), one transaction ran twice', async () => {
    const r = await racingIncrements(1, 3);
    expect(r.settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
    expect({ v: r.v, attempts: r.attempts }).toEqual({ v: 2, attempts: 3 });
    record({
      id: 'tx.3-serialization',
      area: 'transaction',
      tried: 'two repeatable-read transactions incrementing one row at once, `{ retries: 3 }`',
      times: 1,
      held: 'the loser (40001) ran again; the row ends at exactly 2',
    });
  });

  it('40001 without retries: a retryable ConflictError, and only the winner’s increment', async () => {
    const r = await racingIncrements(2, 0);
    const rejected = r.settled.filter((s) => s.status === 'rejected').map((s) => s.reason as unknown);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toBeInstanceOf(ConflictError);
    expect(rejected[0]).toMatchObject({ sqlstate: '40001', retryable: true });
    expect({ v: r.v, attempts: r.attempts }).toEqual({ v: 1, attempts: 2 });
  });

  it('40P01 with retries: both transactions complete after the deadlock', async () => {
    await db.sql`insert into rel_counter (k, v) values (10, 0), (11, 0)`;
    const meet = barrier(2);
    let attempts = 0;
    const crossing = (first: number, second: number) =>
      client.transaction(
        async (tx) => {
          attempts++;
          await tx.sql`update rel_counter set v = v + 1 where k = ${first}`;
          await meet();
          await tx.sql`update rel_counter set v = v + 1 where k = ${second}`;
        },
        { retries: 3 },
      );
    const settled = await Promise.allSettled([crossing(10, 11), crossing(11, 10)]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await db.sql`select k, v from rel_counter where k in (10, 11) order by k`).toEqual([
      { k: 10, v: 2 },
      { k: 11, v: 2 },
    ]);
    expect(attempts).toBe(3);
    record({
      id: 'tx.4-deadlock',
      area: 'transaction',
      tried: 'two transactions locking two rows in opposite orders (deadlock, 40P01), `{ retries: 3 }`',
      times: 1,
      held: 'the victim ran again; both rows end at exactly 2',
    });
  });
});

describe('what is not retried', () => {
  it("fn's own error comes out unchanged and fn runs once", async () => {
    let attempts = 0;
    const mine = new Error('mine');
    const e = await refusal(
      client.transaction(
        async (tx) => {
          attempts++;
          await tx.sql`insert into rel_tx (id, attempt) values ('own-error', 1)`;
          throw mine;
        },
        { retries: 3 },
      ),
    );
    expect(e).toBe(mine);
    expect(attempts).toBe(1);
    expect(await db.sql`select id from rel_tx where id = 'own-error'`).toEqual([]);
  });

  it('a PostgreSQL error of a raw query in fn comes out typed (22012 → ValidationError), not retried', async () => {
    let attempts = 0;
    const e = await refusal(
      client.transaction(
        async (tx) => {
          attempts++;
          await tx.sql`select 1 / 0`;
        },
        { retries: 3 },
      ),
    );
    expect(isCryptopiError(e)).toBe(true);
    expect(e).toBeInstanceOf(ValidationError);
    expect(attempts).toBe(1);
  });

  it('malformed options are a ValidationError naming them, and fn never runs', async () => {
    let ran = 0;
    for (const options of [{ retries: -1 }, { retries: 11 }, { retries: 1.5 }, { isolation: 'chaos' }]) {
      const e = await refusal(
        client.transaction(async () => {
          ran++;
        }, options as never),
      );
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues.map((i) => i.path)).toEqual([[Object.keys(options)[0]]]);
    }
    expect(ran).toBe(0);
  });

  it('the pause before a retry is small, jittered and bounded', () => {
    expect([retryDelay(1, () => 0), retryDelay(1, () => 1)]).toEqual([5, 10]);
    expect([retryDelay(3, () => 0), retryDelay(3, () => 1)]).toEqual([20, 40]);
    expect([retryDelay(10, () => 0), retryDelay(10, () => 1)]).toEqual([125, 250]);
  });
});

describe('an unreachable server', () => {
  it('db.transaction, a module call and a raw query all reject with ConnectionError (unreachable), nothing uncaught', async () => {
    // a port nothing listens on: the connection is refused at once
    const down = createClient(
      { url: 'postgres://postgres:postgres@127.0.0.1:1/none' },
      { postgres: { max: 1 } },
    );
    try {
      const tx = await refusal(down.transaction(async (t) => t.sql`select 1`, { retries: 1 }));
      expect(tx).toBeInstanceOf(ConnectionError);
      expect(tx).toMatchObject({
        operation: 'transaction',
        reason: 'unreachable',
        driverCode: 'ECONNREFUSED',
      });
      const call = await refusal(down.settings.listWindows());
      expect(call).toBeInstanceOf(ConnectionError);
      expect(call).toMatchObject({ reason: 'unreachable', retryable: true });
    } finally {
      await down.close();
    }
  });

  it('createClient refuses what is not a connection with a ValidationError', () => {
    for (const bad of [null, 42, {}, { url: 'http://localhost/x' }, { url: 5 }, { sql: 'nope' }]) {
      expect(() => createClient(bad as never)).toThrow(ValidationError);
    }
  });
});
