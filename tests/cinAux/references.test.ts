// References: set by hand or taken from the session's wallet account; the reconciliation view.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  addMark,
  fund,
  openSession,
  reconciliation,
  setReference,
  setReferencesFromWallet,
} from '../../src/cinAux/index.js';
import { ValidationError } from '../../src/core/errors.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';
import { seedAssets } from './helpers.js';

let db: TestDatabase;
let accountId: string;
const T0 = Date.UTC(2025, 0, 1);
const at = (ms: number) => new Date(T0 + ms);

async function newAccount(): Promise<string> {
  const rows = await db.sql<
    { id: string }[]
  >`select id from wallet.sp_create_account(${randomUUID()}, 'binance', 'spot')`;
  return rows[0]!.id;
}

beforeAll(async () => {
  db = await startTestDatabase();
  await seedAssets(db.sql);
  accountId = await newAccount();
  // snapshot at T0: 500 USDT, 0.01 BTC; then +0.005 BTC at T0+10s, −100 USDT at T0+20s
  await db.sql`insert into wallet.snapshots (account_id, asset, balance, taken_at, source)
               values (${accountId}, 'USDT', 500, ${at(0)}, 'exchange'), (${accountId}, 'BTC', 0.01, ${at(0)}, 'exchange')`;
  await db.sql`insert into wallet.moves (account_id, kind, asset, amount, occurred_at, external_id, idempotency_key)
               values (${accountId}, 'deposit', 'BTC', 0.005, ${at(10_000)}, 'd1', 'ext:d1'),
                      (${accountId}, 'withdrawal', 'USDT', 100, ${at(20_000)}, 'w1', 'ext:w1')`;
});
afterAll(() => db.close());

async function bound() {
  const s = await openSession(db.sql, { window: '1h', accountId });
  await addMark(db.sql, { sessionId: s.id, asset: 'BTC', priceUsdt: '40000', ts: T0 + 5_000 });
  await addMark(db.sql, { sessionId: s.id, asset: 'BTC', priceUsdt: '50000', ts: T0 + 30_000 });
  return s.id;
}

const refs = (rows: { asset: string; refUsdt: string; source: string; asOf: Date | null }[]) =>
  rows.map((r) => [r.asset, r.refUsdt, r.source, r.asOf?.getTime() ?? null]);

it('setReferencesFromWallet values the balances at `at` with the last mark at or before it', async () => {
  const sessionId = await bound();
  // at T0+15s: 500 USDT × 1; 0.015 BTC × 40 000 (the mark of T0+5s) = 600
  expect(refs(await setReferencesFromWallet(db.sql, { sessionId, at: T0 + 15_000 }))).toEqual([
    ['BTC', '600', 'wallet', T0 + 15_000],
    ['USDT', '500', 'wallet', T0 + 15_000],
  ]);
  // now: 400 USDT; 0.015 BTC × 50 000 = 750
  const now = await setReferencesFromWallet(db.sql, { sessionId });
  expect(refs(now).map((r) => r.slice(0, 3))).toEqual([
    ['BTC', '750', 'wallet'],
    ['USDT', '400', 'wallet'],
  ]);
  // a given price wins over the marks: 0.015 × 45 000 = 675
  expect(
    refs(await setReferencesFromWallet(db.sql, { sessionId, prices: { BTC: '45000' } })).map((r) =>
      r.slice(0, 2),
    ),
  ).toEqual([
    ['BTC', '675'],
    ['USDT', '400'],
  ]);
  await fund(db.sql, { sessionId, asset: 'USDT', usdt: '1000' });
  await setReferencesFromWallet(db.sql, { sessionId });
  // book 1000 against 400 + 750 = 1150: delta −150, ratio 1000 / 1150 = 0.869565217391304347|8… → …348
  expect(await reconciliation(db.sql, { sessionIds: [sessionId] })).toEqual([
    {
      sessionId,
      bookUsdt: '1000',
      referenceUsdt: '1150',
      deltaUsdt: '-150',
      ratio: '0.869565217391304348',
      referencesCount: 2,
    },
  ]);
});

it('an asset the wallet holds without a price is refused, nothing written', async () => {
  const id = await newAccount();
  await db.sql`insert into wallet.snapshots (account_id, asset, balance, taken_at, source) values (${id}, 'ETH', 1, ${at(0)}, 'exchange')`;
  const s = await openSession(db.sql, { window: '1h', accountId: id });
  const e = await refusal(setReferencesFromWallet(db.sql, { sessionId: s.id }));
  expect(e).toBeInstanceOf(ValidationError);
  expect((e as ValidationError).issues).toEqual([
    {
      path: ['prices'],
      message: 'the wallet holds ETH and it has no USDT price (give prices.ETH or add a mark)',
    },
  ]);
  expect(await db.sql`select * from cin_aux."references" where session_id = ${s.id}`).toEqual([]);
});

it('a session without a wallet account is refused', async () => {
  const s = await openSession(db.sql, { window: '1h' });
  const e = await refusal(setReferencesFromWallet(db.sql, { sessionId: s.id }));
  expect((e as ValidationError).issues).toEqual([
    { path: ['sessionId'], message: 'the session is not bound to a wallet account' },
  ]);
});

it('reconciliation: null ratio when the reference total is 0, or there are no references', async () => {
  const a = (await openSession(db.sql, { window: '1h' })).id;
  await fund(db.sql, { sessionId: a, asset: 'USDT', usdt: '10' });
  await setReference(db.sql, { sessionId: a, asset: 'USDT', refUsdt: '0' });
  const b = (await openSession(db.sql, { window: '1h' })).id;
  expect(await reconciliation(db.sql, { sessionIds: [a, b] })).toEqual([
    { sessionId: a, bookUsdt: '10', referenceUsdt: '0', deltaUsdt: '10', ratio: null, referencesCount: 1 },
    { sessionId: b, bookUsdt: '0', referenceUsdt: '0', deltaUsdt: '0', ratio: null, referencesCount: 0 },
  ]);
});
