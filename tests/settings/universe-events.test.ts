import { afterAll, beforeAll, expect, it } from 'vitest';
import { IntegrityError, ValidationError } from '../../src/core/errors.js';
import { onUniverseChanged, syncCoinUniverse, type UniverseChangedEvent } from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

/** How long a test waits for an event before it fails saying what it got. */
const WAIT_MS = 10_000;

/** Waits until `done()` holds (checked on every event), or fails after WAIT_MS naming what it waited for. */
function waiter() {
  const waiters: { done: () => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const w of waiters.filter((x) => x.done())) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const wait = (done: () => boolean, what: () => string) =>
    new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      const timer = setTimeout(
        () => reject(new Error(`gave up after ${WAIT_MS} ms waiting for ${what()}`)),
        WAIT_MS,
      );
      waiters.push({
        done,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  return { check, wait };
}

/** Collects events; `next(n)` resolves once n events have arrived, `until(p)` once one matches p. */
function collector() {
  const events: UniverseChangedEvent[] = [];
  const { check, wait } = waiter();
  const push = (e: UniverseChangedEvent) => {
    events.push(e);
    check();
  };
  const seen = () => JSON.stringify(events);
  const next = (n: number) =>
    wait(
      () => events.length >= n,
      () => `${n} events, got ${seen()}`,
    );
  const until = (p: (e: UniverseChangedEvent) => boolean) =>
    wait(
      () => events.some(p),
      () => `a matching event, got ${seen()}`,
    );
  return { events, push, next, until };
}

/** A promise resolved by `signal()`, that fails after WAIT_MS naming `what`. */
function signalled(what: string) {
  let signal: () => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`gave up after ${WAIT_MS} ms waiting for ${what}`)),
      WAIT_MS,
    );
    signal = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, signal: () => signal() };
}

it('delivers one parsed event per changing statement, and nothing after unsubscribing', async () => {
  await syncCoinUniverse(db.sql, []); // a known state, before listening
  await db.sql`delete from settings.coin_universe where symbol in ('XLMUSDT', 'ATOMUSDT')`;
  const a = collector();
  const stopA = await onUniverseChanged(db.sql, a.push);

  await syncCoinUniverse(db.sql, ['XLMUSDT', 'ATOMUSDT']); // inserts two, updates none
  await a.next(1);
  await syncCoinUniverse(db.sql, ['XLMUSDT']); // updates one
  await a.next(2);
  expect(a.events).toEqual([
    { op: 'insert', symbols: ['ATOMUSDT', 'XLMUSDT'], count: 2, truncated: false, seq: 1 },
    { op: 'update', symbols: ['ATOMUSDT'], count: 1, truncated: false, seq: 1 },
  ]);

  await stopA();
  await syncCoinUniverse(db.sql, ['XLMUSDT', 'ATOMUSDT']); // A must not see this
  const b = collector();
  const stopB = await db.client.settings.onUniverseChanged(b.push);
  await db.sql`delete from settings.coin_universe where symbol = 'ATOMUSDT'`;
  await b.next(1);
  expect(b.events).toEqual([{ op: 'delete', symbols: ['ATOMUSDT'], count: 1, truncated: false, seq: 1 }]);
  expect(a.events).toHaveLength(2);
  await stopB();
});

it('a statement that changes nothing sends nothing; a malformed payload goes to onError', async () => {
  await syncCoinUniverse(db.sql, ['XLMUSDT']); // a known state, before listening
  const c = collector();
  const errors: unknown[] = [];
  const failed = signalled('onError');
  const stop = await onUniverseChanged(db.sql, c.push, {
    onError: (e) => {
      errors.push(e);
      failed.signal();
    },
  });
  await syncCoinUniverse(db.sql, ['XLMUSDT']); // already exactly this: no change
  await db.sql`select pg_notify('settings_universe_changed', '{"op": "truncate", "symbols": []}')`;
  await failed.done;
  await db.sql`update settings.coin_universe set enabled = not enabled where symbol = 'XLMUSDT'`;
  await c.next(1);
  expect(c.events).toEqual([{ op: 'update', symbols: ['XLMUSDT'], count: 1, truncated: false, seq: 1 }]);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toBeInstanceOf(IntegrityError);
  await stop();
});

it('equal changes in one transaction are still one event each (syncs included)', async () => {
  await syncCoinUniverse(db.sql, ['XLMUSDT', 'ATOMUSDT']); // a known state, before listening
  const c = collector();
  const stop = await onUniverseChanged(db.sql, c.push);
  await db.client.transaction(async (tx) => {
    await tx.settings.syncCoinUniverse(['XLMUSDT']); // ATOM off
    await tx.settings.syncCoinUniverse(['XLMUSDT', 'ATOMUSDT']); // ATOM on
    await tx.settings.syncCoinUniverse(['XLMUSDT']); // ATOM off: the same payload as the first, but for seq
  });
  // a last, different event: once it is here, everything sent before it is here too
  await db.sql`update settings.coin_universe set enabled = false where symbol = 'XLMUSDT'`;
  await c.until((e) => e.symbols.includes('XLMUSDT'));
  expect(c.events).toEqual([
    { op: 'update', symbols: ['ATOMUSDT'], count: 1, truncated: false, seq: 1 },
    { op: 'update', symbols: ['ATOMUSDT'], count: 1, truncated: false, seq: 2 },
    { op: 'update', symbols: ['ATOMUSDT'], count: 1, truncated: false, seq: 3 },
    { op: 'update', symbols: ['XLMUSDT'], count: 1, truncated: false, seq: 1 },
  ]);
  await stop();
});

it('tells onReconnect when the listening connection was lost and is back, then delivers again', async () => {
  await syncCoinUniverse(db.sql, ['XLMUSDT']); // a known state, before listening
  const c = collector();
  const back = signalled('onReconnect');
  let reconnects = 0;
  const stop = await onUniverseChanged(db.sql, c.push, {
    onReconnect: () => {
      reconnects++;
      back.signal();
    },
  });
  expect(reconnects).toBe(0); // the first LISTEN is no reconnect
  const killed = await db.sql`
    select pg_terminate_backend(pid) as ok from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and query ilike 'listen%'`;
  expect(killed).toEqual([{ ok: true }]);
  await back.done;
  expect(reconnects).toBe(1);
  await db.sql`update settings.coin_universe set enabled = not enabled where symbol = 'XLMUSDT'`;
  await c.next(1);
  expect(c.events).toEqual([{ op: 'update', symbols: ['XLMUSDT'], count: 1, truncated: false, seq: 1 }]);
  await stop();
});

it('truncating the universe is a delete of every symbol: market turns them OFF and one event says so', async () => {
  await syncCoinUniverse(db.sql, ['XLMUSDT', 'ATOMUSDT']); // a known state, before listening
  await db.sql`delete from settings.coin_universe where symbol not in ('XLMUSDT', 'ATOMUSDT')`;
  const c = collector();
  const stop = await onUniverseChanged(db.sql, c.push);
  await db.sql`truncate settings.coin_universe`;
  const truncated = (e: UniverseChangedEvent) => e.op === 'delete' && e.symbols.includes('XLMUSDT');
  await c.until(truncated);
  // (the events of the set-up may still be in flight to the shared listening connection)
  expect(c.events.filter(truncated)).toEqual([
    { op: 'delete', symbols: ['ATOMUSDT', 'XLMUSDT'], count: 2, truncated: false, seq: 1 },
  ]);
  expect(
    await db.sql`select symbol, status from market.symbols where symbol in ('ATOMUSDT', 'XLMUSDT') order by symbol`,
  ).toEqual([
    { symbol: 'ATOMUSDT', status: 'OFF' },
    { symbol: 'XLMUSDT', status: 'OFF' },
  ]);
  expect(await db.sql`select count(*)::int as n from settings.coin_universe`).toEqual([{ n: 0 }]);
  await stop();
});

it('refuses a transaction (LISTEN needs a pool) and a callback that is not a function', async () => {
  const e = await db.client.transaction((tx) => refusal(tx.settings.onUniverseChanged(() => {})));
  expect(e).toBeInstanceOf(ValidationError);
  expect((e as ValidationError).issues).toEqual([
    { path: [], message: 'LISTEN needs a pool (db.sql), not a transaction' },
  ]);
  const notFn = (await refusal(onUniverseChanged(db.sql, 'nope' as never))) as ValidationError;
  expect(notFn.issues).toEqual([{ path: ['callback'], message: 'expected a function' }]);
});
