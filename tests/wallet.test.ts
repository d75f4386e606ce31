import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../src/core/errors.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';
import {
  type AccountRow,
  balances,
  createAccount,
  getAccount,
  listAccounts,
  listMoves,
  type MoveInput,
  recordMoves,
  takeSnapshot,
  updateAccount,
} from '../src/wallet/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const t0 = Date.UTC(2025, 0, 1);
const at = (hours: number) => new Date(t0 + hours * 3_600_000);
let accounts = 0;
const newAccount = (extra: { allowNegative?: boolean } = {}) =>
  createAccount(db.sql, { ownerId: randomUUID(), venue: 'binance', label: `spot ${++accounts}`, ...extra });
/** Every row of the account's moves and snapshots, to show that a call wrote nothing. */
const stored = async (accountId: string) => ({
  moves: await db.sql`select * from wallet.moves where account_id = ${accountId} order by id`,
  snapshots: await db.sql`select * from wallet.snapshots where account_id = ${accountId} order by id`,
});
const balanceOf = async (accountId: string) =>
  (await balances(db.sql, { accountIds: [accountId] })).map((b) => ({ asset: b.asset, balance: b.balance }));
const deposit = (amount: string, hours: number, externalId?: string): MoveInput => ({
  kind: 'deposit',
  asset: 'BTC',
  amount,
  occurredAt: at(hours),
  ...(externalId ? { externalId } : {}),
});
/**
 * Waits until backend `pid` waits for a lock held by backend `holder` (polling every 20 ms);
 * fails after 10 s naming both backends.
 */
async function blockedBy(pid: number, holder: number): Promise<void> {
  for (let poll = 0; poll < 500; poll++) {
    const [row] = await db.sql<{ blockers: number[] }[]>`select pg_blocking_pids(${pid}) as blockers`;
    if (row?.blockers.includes(holder)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`backend ${pid} did not wait for a lock of backend ${holder} within 10 s`);
}
const withdrawal = (amount: string, hours: number, externalId?: string): MoveInput => ({
  ...deposit(amount, hours, externalId),
  kind: 'withdrawal',
});

it('createAccount stores an account with its defaults; getAccount and listAccounts read it back', async () => {
  const ownerId = randomUUID();
  const acc = await db.client.wallet.createAccount({ ownerId, venue: 'binance', label: 'spot' });
  const expected: AccountRow = {
    id: expect.any(String),
    ownerId,
    venue: 'binance',
    label: 'spot',
    baseCurrency: 'USDT',
    status: 'active',
    allowNegative: false,
    ledgerVersion: 0,
    createdAt: expect.any(Date),
    updatedAt: expect.any(Date),
  };
  expect(acc).toEqual(expected);
  const eur = await createAccount(db.sql, {
    ownerId,
    venue: 'kraken',
    label: 'margin',
    baseCurrency: 'EUR',
    allowNegative: true,
  });
  expect(await getAccount(db.sql, acc.id)).toEqual(acc);
  expect(await getAccount(db.sql, randomUUID())).toBeNull();
  expect(await listAccounts(db.sql, { ownerIds: [ownerId] })).toEqual([acc, eur]);
  expect(await db.client.wallet.listAccounts({ ownerIds: [ownerId], venue: 'kraken' })).toEqual([eur]);

  const dup = await createAccount(db.sql, { ownerId, venue: 'binance', label: 'spot' }).catch(
    (e: unknown) => e,
  );
  expect(dup).toBeInstanceOf(ConflictError);
  expect((dup as ConflictError).columns).toEqual(['owner_id', 'venue', 'label']);
  expect(await listAccounts(db.sql, { ownerIds: [ownerId] })).toEqual([acc, eur]);
});

it('createAccount refuses a malformed input, and the database refuses it too', async () => {
  const error = await createAccount(db.sql, {
    ownerId: 'nope',
    venue: ' binance',
    label: '',
    baseCurrency: 'usdt',
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).issues.map((i) => i.path)).toEqual([
    ['ownerId'],
    ['venue'],
    ['label'],
    ['baseCurrency'],
  ]);
  await expect(
    db.sql`select wallet.sp_create_account(${randomUUID()}, 'binance', 'x', 'usdt')`,
  ).rejects.toMatchObject({ code: '23514' });
});

it('recordMoves is idempotent: a replay inserts nothing twice and reports the skipped external ids', async () => {
  const acc = await newAccount();
  const batch: MoveInput[] = [
    deposit('1.50', 1, 'dep-1'),
    {
      kind: 'trade_in',
      asset: 'ETH',
      amount: 2,
      price: '3000.5',
      occurredAt: at(2).toISOString(),
      externalId: 't-1',
    },
    { kind: 'fee', asset: 'BTC', amount: '0.0001', occurredAt: t0 + 2 * 3_600_000 },
  ];
  expect(await recordMoves(db.sql, { accountId: acc.id, moves: batch })).toEqual({
    inserted: 3,
    skipped: 0,
    skippedExternalIds: [],
  });
  const before = await stored(acc.id);

  expect(await db.client.wallet.recordMoves({ accountId: acc.id, moves: batch })).toEqual({
    inserted: 0,
    skipped: 3,
    skippedExternalIds: ['dep-1', 't-1'],
  });
  expect(await stored(acc.id)).toEqual(before);

  // a replay mixed with new moves inserts only the new ones; a repeat inside one batch collapses
  expect(
    await recordMoves(db.sql, {
      accountId: acc.id,
      moves: [
        deposit('1.50', 1, 'dep-1'),
        deposit('0.25', 3, 'dep-2'),
        deposit('0.25', 3, 'dep-2'),
        { kind: 'fee', asset: 'BTC', amount: '0.00010', occurredAt: at(2) }, // same content as before
      ],
    }),
  ).toEqual({ inserted: 1, skipped: 3, skippedExternalIds: ['dep-1'] });

  expect(await listMoves(db.sql, { accountIds: [acc.id] })).toEqual([
    {
      id: expect.any(Number),
      accountId: acc.id,
      kind: 'deposit',
      asset: 'BTC',
      amount: '1.50',
      delta: '1.50',
      price: null,
      occurredAt: at(1),
      externalId: 'dep-1',
      idempotencyKey: 'ext:dep-1',
      createdAt: expect.any(Date),
    },
    {
      id: expect.any(Number),
      accountId: acc.id,
      kind: 'trade_in',
      asset: 'ETH',
      amount: '2',
      delta: '2',
      price: '3000.5',
      occurredAt: at(2),
      externalId: 't-1',
      idempotencyKey: 'ext:t-1',
      createdAt: expect.any(Date),
    },
    {
      id: expect.any(Number),
      accountId: acc.id,
      kind: 'fee',
      asset: 'BTC',
      amount: '0.0001',
      delta: '-0.0001',
      price: null,
      occurredAt: at(2),
      externalId: null,
      idempotencyKey: expect.stringMatching(/^content:[0-9a-f]{64}$/),
      createdAt: expect.any(Date),
    },
    {
      id: expect.any(Number),
      accountId: acc.id,
      kind: 'deposit',
      asset: 'BTC',
      amount: '0.25',
      delta: '0.25',
      price: null,
      occurredAt: at(3),
      externalId: 'dep-2',
      idempotencyKey: 'ext:dep-2',
      createdAt: expect.any(Date),
    },
  ]);
  expect(
    (await listMoves(db.sql, { accountIds: [acc.id], asset: 'BTC', from: at(2), to: at(3) })).map(
      (m) => m.kind,
    ),
  ).toEqual(['fee']);
  expect(await balanceOf(acc.id)).toEqual([
    { asset: 'BTC', balance: '1.7499' },
    { asset: 'ETH', balance: '2' },
  ]);
});

it('balances equal the last snapshot plus the moves after it, exactly', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [
      deposit('10', 1),
      withdrawal('0.1', 2),
      { kind: 'deposit', asset: 'USDT', amount: '100.10', occurredAt: at(2) },
    ],
  });
  expect(await balances(db.sql, { accountIds: [acc.id] })).toEqual([
    {
      accountId: acc.id,
      asset: 'BTC',
      balance: '9.9',
      snapshotBalance: null,
      snapshotAt: null,
      movesAfter: 2,
      lastMoveAt: at(2),
    },
    {
      accountId: acc.id,
      asset: 'USDT',
      balance: '100.10',
      snapshotBalance: null,
      snapshotAt: null,
      movesAfter: 1,
      lastMoveAt: at(2),
    },
  ]);

  // the exchange reports 9.85 BTC at hour 5 (a fee we never saw); later moves count from there
  expect(
    await db.client.wallet.takeSnapshot({
      accountId: acc.id,
      takenAt: at(5),
      balances: [{ asset: 'BTC', balance: '9.85' }],
    }),
  ).toEqual([
    {
      id: expect.any(Number),
      accountId: acc.id,
      asset: 'BTC',
      balance: '9.85',
      takenAt: at(5),
      source: 'exchange',
      createdAt: expect.any(Date),
    },
  ]);
  await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [
      withdrawal('0.35', 4), // before the snapshot: the snapshot already holds it
      { kind: 'trade_out', asset: 'BTC', amount: '0.000000001', occurredAt: at(5) }, // at the snapshot: included in it
      { kind: 'trade_in', asset: 'BTC', amount: '0.15', occurredAt: at(6) },
      { kind: 'adjustment', asset: 'BTC', amount: '-0.0000000001', occurredAt: at(7) },
    ],
  });
  expect(await balances(db.sql, { accountIds: [acc.id] })).toEqual([
    {
      accountId: acc.id,
      asset: 'BTC',
      balance: '9.9999999999',
      snapshotBalance: '9.85',
      snapshotAt: at(5),
      movesAfter: 2,
      lastMoveAt: at(7),
    },
    {
      accountId: acc.id,
      asset: 'USDT',
      balance: '100.10',
      snapshotBalance: null,
      snapshotAt: null,
      movesAfter: 1,
      lastMoveAt: at(2),
    },
  ]);

  // a computed snapshot materializes the balances as of its instant
  expect(
    (await takeSnapshot(db.sql, { accountId: acc.id, takenAt: at(6) })).map((s) => [
      s.asset,
      s.balance,
      s.source,
    ]),
  ).toEqual([
    ['BTC', '10.00', 'computed'],
    ['USDT', '100.10', 'computed'],
  ]);
  expect(await balanceOf(acc.id)).toEqual([
    { asset: 'BTC', balance: '9.9999999999' },
    { asset: 'USDT', balance: '100.10' },
  ]);
});

it('an overdrawing withdrawal, fee, trade_out or transfer_out is refused and writes nothing of its batch', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('1', 1, 'd1')] });
  const before = await stored(acc.id);
  for (const kind of ['withdrawal', 'fee', 'trade_out', 'transfer_out'] as const) {
    const error = await recordMoves(db.sql, {
      accountId: acc.id,
      moves: [
        deposit('0.5', 2, `d-${kind}`),
        { kind, asset: 'BTC', amount: '1.5000001', occurredAt: at(3), externalId: `out-${kind}` },
      ],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ sqlstate: '22023', constraint: 'moves_no_overdraw' });
    expect((error as ValidationError).issues).toEqual([
      { path: [], message: `overdraw refused: the BTC balance of account ${acc.id} would go below zero` },
    ]);
  }
  expect(await stored(acc.id)).toEqual(before);
  // exactly the whole balance is fine
  expect(await recordMoves(db.sql, { accountId: acc.id, moves: [withdrawal('1.0', 4)] })).toMatchObject({
    inserted: 1,
  });
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '0.0' }]);
  // a batch whose net effect raises the balance is accepted, whatever its order
  expect(
    await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('2', 5), withdrawal('1', 6)] }),
  ).toMatchObject({
    inserted: 2,
  });
});

it('an account that allows negative balances accepts an overdraw', async () => {
  const acc = await newAccount({ allowNegative: true });
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('1', 1), withdrawal('3.5', 2)] });
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '-2.5' }]);
  expect(
    await takeSnapshot(db.sql, {
      accountId: acc.id,
      source: 'manual',
      balances: [{ asset: 'ETH', balance: '-1' }],
    }),
  ).toEqual([expect.objectContaining({ asset: 'ETH', balance: '-1', source: 'manual' })]);
  // once the account no longer allows it, a further outflow is refused (a deposit is not)
  await updateAccount(db.sql, { id: acc.id, allowNegative: false });
  await expect(
    recordMoves(db.sql, { accountId: acc.id, moves: [withdrawal('0.1', 3)] }),
  ).rejects.toBeInstanceOf(ValidationError);
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('0.5', 3)] });
  expect(await balanceOf(acc.id)).toEqual([
    { asset: 'BTC', balance: '-2.0' },
    { asset: 'ETH', balance: '-1' },
  ]);
});

it('concurrent withdrawals that each fit alone but not together: exactly one succeeds', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('10', 1)] });
  const results = await Promise.allSettled([
    recordMoves(db.sql, { accountId: acc.id, moves: [withdrawal('6', 2, 'w-a')] }),
    recordMoves(db.sql, { accountId: acc.id, moves: [withdrawal('6', 2, 'w-b')] }),
  ]);
  expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  const rejected = results.find((r) => r.status === 'rejected');
  expect(rejected?.reason).toBeInstanceOf(ValidationError);
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '4' }]);

  // four at once on the pool's four connections, 3 each on a balance of 4 + 6: three pass
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('6', 3)] });
  const four = await Promise.allSettled(
    [1, 2, 3, 4].map((i) =>
      recordMoves(db.sql, { accountId: acc.id, moves: [withdrawal('3', 4, `w-${i}`)] }),
    ),
  );
  expect(four.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '1' }]);
});

it('a writer waiting on the account lock sees the committed withdrawal and is refused', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('10', 1)] });
  const tx = await db.sql.reserve();
  const other = await db.sql.reserve();
  try {
    const [holder] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const [waiter] = await other<{ pid: number }[]>`select pg_backend_pid() as pid`;
    await tx`begin`;
    expect(await recordMoves(tx, { accountId: acc.id, moves: [withdrawal('6', 2, 'first')] })).toMatchObject({
      inserted: 1,
    });
    // a second writer on its own connection: it must wait for the first transaction's lock
    const second = recordMoves(other, { accountId: acc.id, moves: [withdrawal('6', 2, 'second')] }).catch(
      (e: unknown) => e,
    );
    await blockedBy(waiter!.pid, holder!.pid);
    await tx`commit`;
    expect(await second).toBeInstanceOf(ValidationError);
  } finally {
    tx.release();
    other.release();
  }
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '4' }]);
});

it('in repeatable read, a writer that started before a committed withdrawal gets a ConflictError', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('10', 1)] });
  const first = await db.sql.reserve();
  const late = await db.sql.reserve();
  try {
    await first`begin isolation level repeatable read`;
    await late`begin isolation level repeatable read`;
    await late`select 1`; // its snapshot is taken now, before the first withdrawal commits
    await recordMoves(first, { accountId: acc.id, moves: [withdrawal('6', 2, 'first')] });
    await first`commit`;
    const error = await recordMoves(late, { accountId: acc.id, moves: [withdrawal('6', 2, 'late')] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).sqlstate).toBe('40001');
    await late`rollback`;
  } finally {
    first.release();
    late.release();
  }
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '4' }]);
  expect((await getAccount(db.sql, acc.id))?.ledgerVersion).toBe(2);
});

it('the overdraw rule holds for a writer that bypasses the SDK', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('1', 1)] });
  await expect(db.sql`
    insert into wallet.moves (account_id, kind, asset, amount, occurred_at, idempotency_key, external_id)
    values (${acc.id}, 'withdrawal', 'BTC', 2, now(), 'ext:x', 'x')
  `).rejects.toMatchObject({ code: '22023', constraint_name: 'moves_no_overdraw' });
  await expect(db.sql`
    insert into wallet.moves (account_id, kind, asset, amount, occurred_at, idempotency_key)
    values (${acc.id}, 'deposit', 'BTC', -2, now(), 'anything')
  `).rejects.toMatchObject({ code: '23514' });
  await expect(
    db.sql`select * from wallet.sp_record_moves(${acc.id}, '{deposit}', '{BTC}', '{1}', '{}', '{}', '{}')`,
  ).rejects.toMatchObject({ code: '22023' });
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '1' }]);
});

it('moves are append-only: an edit or a delete is refused; deleting the account removes them', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('5', 1), withdrawal('4', 2)] });
  const before = await stored(acc.id);
  await expect(
    db.sql`update wallet.moves set amount = 1 where account_id = ${acc.id} and kind = 'withdrawal'`,
  ).rejects.toMatchObject({ code: '55000', message: 'wallet.moves is append-only: update refused' });
  await expect(
    db.sql`delete from wallet.moves where account_id = ${acc.id} and kind = 'deposit'`,
  ).rejects.toMatchObject({ code: '55000', message: 'wallet.moves is append-only: delete refused' });
  expect(await stored(acc.id)).toEqual(before);
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '1' }]);

  await db.sql`delete from wallet.accounts where id = ${acc.id}`;
  expect(await stored(acc.id)).toEqual({ moves: [], snapshots: [] });
});

it('recordMoves refuses malformed moves with every issue, and writes nothing', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('5', 1)] });
  const before = await stored(acc.id);
  const error = await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [
      { kind: 'deposit', asset: 'btc', amount: '1', occurredAt: at(2) },
      { kind: 'deposit', asset: 'BTC', amount: '1,5', occurredAt: at(2) },
      { kind: 'airdrop' as 'deposit', asset: 'BTC', amount: '1', occurredAt: at(2) },
      { kind: 'withdrawal', asset: 'BTC', amount: '-1', occurredAt: at(2) },
      { kind: 'adjustment', asset: 'BTC', amount: '-0.000', occurredAt: at(2) },
      { kind: 'deposit', asset: 'BTC', amount: '1', occurredAt: 'yesterday' },
      { kind: 'deposit', asset: 'BTC', amount: '1', price: '-2', occurredAt: at(2) },
    ],
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).issues).toEqual([
    { path: ['moves', 0, 'asset'], message: 'expected an upper-case asset code such as BTC' },
    { path: ['moves', 1, 'amount'], message: 'expected a decimal string such as "12.50"' },
    { path: ['moves', 2, 'kind'], message: expect.stringContaining('Invalid option') },
    { path: ['moves', 3, 'amount'], message: 'a withdrawal amount must be positive' },
    { path: ['moves', 4, 'amount'], message: 'an adjustment must not be zero' },
    {
      path: ['moves', 5, 'occurredAt'],
      message: 'expected an ISO-8601 instant with an offset, such as 2025-01-01T00:00:00Z',
    },
    { path: ['moves', 6, 'price'], message: 'a price must not be negative' },
  ]);
  const bad = await recordMoves(db.sql, { accountId: 'not-a-uuid', moves: [] }).catch((e: unknown) => e);
  expect((bad as ValidationError).issues).toEqual([{ path: ['accountId'], message: 'not a uuid' }]);
  expect(await stored(acc.id)).toEqual(before);
});

it('an unknown or closed account is refused', async () => {
  const missing = randomUUID();
  for (const call of [
    () => recordMoves(db.sql, { accountId: missing, moves: [deposit('1', 1)] }),
    () => balances(db.sql, { accountIds: [missing] }),
    () => listMoves(db.sql, { accountIds: [missing] }),
    () => takeSnapshot(db.sql, { accountId: missing }),
    () => updateAccount(db.sql, { id: missing, status: 'closed' }),
  ]) {
    const error = await call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ entity: 'wallet.account', key: { id: missing } });
    expect((error as NotFoundError).message).toMatch(/^wallet\.\w+: wallet\.account not found \(by id\)$/);
  }
  const update = await updateAccount(db.sql, { id: missing, status: 'closed' }).catch((e: unknown) => e);
  expect((update as NotFoundError).message).toBe('wallet.updateAccount: wallet.account not found (by id)');
  // many accounts, one unknown: the error names it
  const known = await newAccount();
  const some = await balances(db.sql, { accountIds: [known.id, missing] }).catch((e: unknown) => e);
  expect(some).toMatchObject({ entity: 'wallet.account', key: { id: missing } });
  const acc = await newAccount();
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('1', 1)] });
  const closed = await db.client.wallet.updateAccount({ id: acc.id, status: 'closed' });
  expect(closed).toEqual({ ...acc, status: 'closed', ledgerVersion: 1, updatedAt: expect.any(Date) });
  expect(closed.updatedAt.getTime()).toBeGreaterThanOrEqual(acc.updatedAt.getTime());
  const before = await stored(acc.id);
  const error = await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('1', 2)] }).catch(
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).issues).toEqual([{ path: [], message: `account ${acc.id} is closed` }]);
  await expect(takeSnapshot(db.sql, { accountId: acc.id })).rejects.toBeInstanceOf(ValidationError);
  expect(await stored(acc.id)).toEqual(before);
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '1' }]);
});

it('takeSnapshot refuses a negative balance unless allowed, and a computed snapshot with balances', async () => {
  const acc = await newAccount();
  const before = await stored(acc.id);
  const negative = await takeSnapshot(db.sql, {
    accountId: acc.id,
    balances: [{ asset: 'BTC', balance: '-0.1' }],
  }).catch((e: unknown) => e);
  expect(negative).toBeInstanceOf(ValidationError);
  expect(negative).toMatchObject({ sqlstate: '22023', constraint: 'snapshots_no_negative' });
  const mixed = await takeSnapshot(db.sql, {
    accountId: acc.id,
    source: 'computed',
    balances: [{ asset: 'BTC', balance: '1' }],
  }).catch((e: unknown) => e);
  expect((mixed as ValidationError).issues).toEqual([
    {
      path: ['balances'],
      message: 'a computed snapshot takes no balances; an exchange or manual one needs them',
    },
  ]);
  expect(await stored(acc.id)).toEqual(before);
  // the same asset twice in one snapshot: the last one wins; the same instant again replaces it
  const rows = await takeSnapshot(db.sql, {
    accountId: acc.id,
    takenAt: at(1),
    balances: [
      { asset: 'BTC', balance: '1' },
      { asset: 'BTC', balance: '2' },
    ],
  });
  expect(rows.map((r) => r.balance)).toEqual(['2']);
  await takeSnapshot(db.sql, {
    accountId: acc.id,
    takenAt: at(1),
    balances: [{ asset: 'BTC', balance: '3' }],
  });
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '3' }]);
});

it('an outflow dated before the funds arrive is refused: the balance is checked in time order', async () => {
  const acc = await newAccount();
  const before = await stored(acc.id);
  // one batch that overdraws midway: 6 out at hour 2, 10 in at hour 3 (net +4, but -6 at hour 2)
  const midway = await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [deposit('10', 3, 'late-in'), withdrawal('6', 2, 'early-out')],
  }).catch((e: unknown) => e);
  expect(midway).toBeInstanceOf(ValidationError);
  expect(midway).toMatchObject({ sqlstate: '22023', constraint: 'moves_no_overdraw' });
  expect(await stored(acc.id)).toEqual(before);

  // the deposit is recorded; an outflow back-dated before it is refused, one after it passes
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('10', 3, 'in')] });
  const backdated = await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [withdrawal('6', 2, 'back')],
  }).catch((e: unknown) => e);
  expect(backdated).toBeInstanceOf(ValidationError);
  expect(backdated).toMatchObject({ constraint: 'moves_no_overdraw' });
  // an outflow that fits now but empties a later, already recorded withdrawal's funds is refused too
  await recordMoves(db.sql, { accountId: acc.id, moves: [withdrawal('8', 5, 'w5')] });
  await expect(
    recordMoves(db.sql, { accountId: acc.id, moves: [withdrawal('3', 4, 'w4')] }),
  ).rejects.toMatchObject({
    constraint: 'moves_no_overdraw',
  });
  // moves at one instant count together, whatever their order in the batch
  expect(
    await recordMoves(db.sql, {
      accountId: acc.id,
      moves: [withdrawal('2.5', 6, 'w6'), deposit('0.5', 6, 'd6')],
    }),
  ).toMatchObject({ inserted: 2 });
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '0.0' }]);
});

it('an external id names one move: the same id with other content is refused, never dropped', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('5', 1, 'dep-1')] });
  const before = await stored(acc.id);

  // twice in one batch with different content: a ValidationError, nothing written
  const twice = await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [deposit('1', 2, 'dup'), deposit('2', 2, 'dup')],
  }).catch((e: unknown) => e);
  expect(twice).toBeInstanceOf(ValidationError);
  expect((twice as ValidationError).issues).toEqual([
    { path: [], message: 'external id dup appears twice in the batch with different content' },
  ]);
  // already recorded with other content (the two legs of a trade under one id): a ConflictError
  const legs = await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [
      deposit('1', 3, 'new'),
      { kind: 'withdrawal', asset: 'BTC', amount: '5', occurredAt: at(1), externalId: 'dep-1' },
    ],
  }).catch((e: unknown) => e);
  expect(legs).toBeInstanceOf(ConflictError);
  expect(legs).toMatchObject({
    sqlstate: '23505',
    constraint: 'moves_idempotency_key',
    table: 'wallet.moves',
    columns: ['account_id', 'external_id'],
  });
  expect(await stored(acc.id)).toEqual(before);

  // the same content written differently ('5.000', epoch ms) is the same move: skipped
  expect(
    await recordMoves(db.sql, {
      accountId: acc.id,
      moves: [
        { kind: 'deposit', asset: 'BTC', amount: '5.000', occurredAt: t0 + 3_600_000, externalId: 'dep-1' },
      ],
    }),
  ).toEqual({ inserted: 0, skipped: 1, skippedExternalIds: ['dep-1'] });
});

it('idempotency keys are per account: the same external id on two accounts is two moves', async () => {
  const a = await newAccount();
  const b = await newAccount();
  expect(await recordMoves(db.sql, { accountId: a.id, moves: [deposit('1', 1, 'shared')] })).toEqual({
    inserted: 1,
    skipped: 0,
    skippedExternalIds: [],
  });
  expect(await recordMoves(db.sql, { accountId: b.id, moves: [deposit('2', 1, 'shared')] })).toEqual({
    inserted: 1,
    skipped: 0,
    skippedExternalIds: [],
  });
  expect(await balanceOf(a.id)).toEqual([{ asset: 'BTC', balance: '1' }]);
  expect(await balanceOf(b.id)).toEqual([{ asset: 'BTC', balance: '2' }]);
});

it('identical moves without external ids in one batch are all kept, and a replay of the batch adds none', async () => {
  const acc = await newAccount();
  const fee: MoveInput = { kind: 'deposit', asset: 'USDT', amount: '0.1', occurredAt: at(1) };
  expect(await recordMoves(db.sql, { accountId: acc.id, moves: [fee, fee, fee] })).toEqual({
    inserted: 3,
    skipped: 0,
    skippedExternalIds: [],
  });
  expect(await recordMoves(db.sql, { accountId: acc.id, moves: [fee, fee, fee] })).toEqual({
    inserted: 0,
    skipped: 3,
    skippedExternalIds: [],
  });
  // a later page that overlaps the first (the same three, then a fourth identical one) adds one
  expect(await recordMoves(db.sql, { accountId: acc.id, moves: [fee, fee, fee, fee] })).toEqual({
    inserted: 1,
    skipped: 3,
    skippedExternalIds: [],
  });
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'USDT', balance: '0.4' }]);
  expect(
    (await listMoves(db.sql, { accountIds: [acc.id] })).map((m) =>
      m.idempotencyKey.replace(/[0-9a-f]{64}/, 'H'),
    ),
  ).toEqual(['content:H', 'content:H:2', 'content:H:3', 'content:H:4']);
});

it('amounts keep every digit: numeric sums are exact far beyond a double', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [
      { kind: 'deposit', asset: 'ETH', amount: '12345678901234567890.123456789012345678', occurredAt: at(1) },
      { kind: 'deposit', asset: 'ETH', amount: '0.000000000000000000000000000001', occurredAt: at(2) },
      { kind: 'fee', asset: 'ETH', amount: '1e-18', occurredAt: at(3) },
      { kind: 'deposit', asset: 'ETH', amount: 0.1, occurredAt: at(4) },
      { kind: 'deposit', asset: 'ETH', amount: 0.2, occurredAt: at(4) },
    ],
  });
  expect(await balanceOf(acc.id)).toEqual([
    { asset: 'ETH', balance: '12345678901234567890.423456789012345677000000000001' },
  ]);
  expect((await takeSnapshot(db.sql, { accountId: acc.id, takenAt: at(5) })).map((s) => s.balance)).toEqual([
    '12345678901234567890.423456789012345677000000000001',
  ]);
});

it('a snapshot at an instant includes the moves at that instant, and not those after it', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [deposit('3', 1), deposit('2', 2), deposit('1', 3)],
  });
  await takeSnapshot(db.sql, {
    accountId: acc.id,
    takenAt: at(2),
    balances: [{ asset: 'BTC', balance: '5' }],
  });
  expect(await balances(db.sql, { accountIds: [acc.id] })).toEqual([
    {
      accountId: acc.id,
      asset: 'BTC',
      balance: '6',
      snapshotBalance: '5',
      snapshotAt: at(2),
      movesAfter: 1,
      lastMoveAt: at(3),
    },
  ]);
  // the overdraw check starts from the snapshot too: 6 may go, at the snapshot's instant or after it
  await expect(
    recordMoves(db.sql, { accountId: acc.id, moves: [withdrawal('6.01', 4)] }),
  ).rejects.toBeInstanceOf(ValidationError);
  expect(await recordMoves(db.sql, { accountId: acc.id, moves: [withdrawal('6', 4)] })).toMatchObject({
    inserted: 1,
  });
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '0' }]);
});

it('works on a host pool that does not fetch array types (fetch_types: false)', async () => {
  const raw = postgres(db.url, { fetch_types: false, max: 2, onnotice: () => {} });
  try {
    const acc = await newAccount();
    expect(
      await recordMoves(raw, {
        accountId: acc.id,
        moves: [{ ...deposit('1.5', 1, 'a,b "c"'), price: '100.25' }, withdrawal('0.5', 2)],
      }),
    ).toEqual({ inserted: 2, skipped: 0, skippedExternalIds: [] });
    expect(
      (
        await takeSnapshot(raw, {
          accountId: acc.id,
          takenAt: at(3),
          balances: [{ asset: 'BTC', balance: '1' }],
        })
      ).map((s) => s.balance),
    ).toEqual(['1']);
    expect((await listMoves(raw, { accountIds: [acc.id] })).map((m) => [m.externalId, m.price])).toEqual([
      ['a,b "c"', '100.25'],
      [null, null],
    ]);
  } finally {
    await raw.end();
  }
});

it('numeric columns come back exact even when the host pool parses numeric as a float', async () => {
  // a host whose postgres.js parses numeric (oid 1700) with parseFloat: the SDK reads text, not floats
  const lossy = postgres(db.url, {
    max: 2,
    onnotice: () => {},
    types: { numeric: { to: 1700, from: [1700], serialize: String, parse: Number.parseFloat } },
  });
  try {
    const acc = await newAccount();
    const big = '12345678901234567.123456789';
    await recordMoves(lossy, {
      accountId: acc.id,
      moves: [{ ...deposit(big, 1), price: '0.10000000000000000001' }],
    });
    expect(
      (await listMoves(lossy, { accountIds: [acc.id] })).map((m) => [m.amount, m.delta, m.price]),
    ).toEqual([[big, big, '0.10000000000000000001']]);
    expect(
      (
        await takeSnapshot(lossy, {
          accountId: acc.id,
          takenAt: at(2),
          balances: [{ asset: 'BTC', balance: big }],
        })
      ).map((s) => s.balance),
    ).toEqual([big]);
    await recordMoves(lossy, { accountId: acc.id, moves: [deposit('0.000000000000000001', 3)] });
    expect(
      (await balances(lossy, { accountIds: [acc.id] })).map((b) => [b.balance, b.snapshotBalance]),
    ).toEqual([['12345678901234567.123456789000000001', big]]);
  } finally {
    await lossy.end();
  }
});

it('every surrounding whitespace zod refuses in a venue or label, the database refuses too', async () => {
  for (const padded of ['x\t', '\nx', 'x\u00a0', '\u3000x', 'x\ufeff', 'x\v']) {
    const error = await createAccount(db.sql, { ownerId: randomUUID(), venue: padded, label: padded }).catch(
      (e: unknown) => e,
    );
    expect((error as ValidationError).issues.map((i) => i.path)).toEqual([['venue'], ['label']]);
    await expect(
      db.sql`select wallet.sp_create_account(${randomUUID()}, ${padded}, 'x')`,
    ).rejects.toMatchObject({ code: '23514', constraint_name: 'accounts_venue_form' });
    await expect(
      db.sql`select wallet.sp_create_account(${randomUUID()}, 'x', ${padded})`,
    ).rejects.toMatchObject({ code: '23514', constraint_name: 'accounts_label_form' });
  }
  // inner whitespace is kept
  const acc = await createAccount(db.sql, { ownerId: randomUUID(), venue: 'a\u00a0b', label: 'spot\tmain' });
  expect([acc.venue, acc.label]).toEqual(['a\u00a0b', 'spot\tmain']);
});

it('a snapshot taken now can be addressed by the instant it returns: taking it again there replaces it', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, { accountId: acc.id, moves: [deposit('1', 0)] });
  const [first] = await takeSnapshot(db.sql, { accountId: acc.id }); // computed, at the database's now()
  const again = await takeSnapshot(db.sql, {
    accountId: acc.id,
    takenAt: first!.takenAt,
    balances: [{ asset: 'BTC', balance: '2' }],
  });
  expect(again.map((s) => [s.id, s.takenAt, s.balance])).toEqual([[first!.id, first!.takenAt, '2']]);
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '2' }]);
  const snapshots = await db.sql`select taken_at from wallet.snapshots where account_id = ${acc.id}`;
  expect(snapshots.map((s) => (s.taken_at as Date).getTime())).toEqual([first!.takenAt.getTime()]);
  // a move at the snapshot's exact instant is in it; one a millisecond later is after it
  await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [
      { ...deposit('5', 0), occurredAt: first!.takenAt },
      { ...deposit('7', 0), occurredAt: first!.takenAt.getTime() + 1 },
    ],
  });
  expect(await balanceOf(acc.id)).toEqual([{ asset: 'BTC', balance: '9' }]);
});

it('sp_take_snapshot refuses an empty list of reported balances, as takeSnapshot does', async () => {
  const acc = await newAccount();
  const error = await takeSnapshot(db.sql, { accountId: acc.id, balances: [] }).catch((e: unknown) => e);
  expect((error as ValidationError).issues.map((i) => i.path)).toEqual([['balances']]);
  const before = await stored(acc.id);
  await expect(
    db.sql`select * from wallet.sp_take_snapshot(${acc.id}, '{}'::text[], '{}'::numeric[], now(), 'exchange')`,
  ).rejects.toMatchObject({ code: '22023' });
  expect(await stored(acc.id)).toEqual(before);
  expect((await getAccount(db.sql, acc.id))?.ledgerVersion).toBe(0);
});

it('an instant outside years 1 to 9999 is refused by zod, naming the move, and nothing is sent', async () => {
  const acc = await newAccount();
  const error = await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [
      deposit('1', 0),
      { ...deposit('1', 0), occurredAt: new Date(Date.UTC(10000, 0, 1)) },
      { ...deposit('1', 0), occurredAt: new Date('0000-06-01T00:00:00Z') },
    ],
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).cause).toBeUndefined();
  expect((error as ValidationError).issues).toEqual([
    { path: ['moves', 1, 'occurredAt'], message: 'must be between years 1 and 9999' },
    { path: ['moves', 2, 'occurredAt'], message: 'must be between years 1 and 9999' },
  ]);
  const far = await takeSnapshot(db.sql, {
    accountId: acc.id,
    takenAt: new Date(Date.UTC(10000, 0, 1)),
  }).catch((e: unknown) => e);
  expect((far as ValidationError).issues.map((i) => i.path)).toEqual([['takenAt']]);
  expect(await stored(acc.id)).toEqual({ moves: [], snapshots: [] });
});

it('text PostgreSQL would alter or refuse (a lone surrogate, NUL) is refused by name: two ids never become one', async () => {
  const acc = await newAccount();
  await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [{ ...deposit('1', 0), externalId: 'dep-\uD800' }],
  }).catch(() => undefined);
  const error = await recordMoves(db.sql, {
    accountId: acc.id,
    moves: [
      { ...deposit('1', 0), externalId: 'dep-\uD801' },
      { ...deposit('1', 0), externalId: 'dep-\u0000' },
    ],
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).issues).toEqual([
    { path: ['moves', 0, 'externalId'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
    { path: ['moves', 1, 'externalId'], message: 'must not contain NUL (U+0000)' },
  ]);
  expect(await stored(acc.id)).toEqual({ moves: [], snapshots: [] });
  const account = await createAccount(db.sql, {
    ownerId: randomUUID(),
    venue: 'v\uDC00',
    label: 'l\u0000',
  }).catch((e: unknown) => e);
  expect((account as ValidationError).issues.map((i) => i.path)).toEqual([['venue'], ['label']]);
});

it('listMoves, balances and listAccounts read many accounts in one call; each row names its account', async () => {
  const a = await newAccount();
  const b = await newAccount();
  const empty = await newAccount();
  await recordMoves(db.sql, { accountId: a.id, moves: [deposit('1', 2, 'a-1'), deposit('2', 4, 'a-2')] });
  await recordMoves(db.sql, { accountId: b.id, moves: [deposit('3', 3, 'b-1')] });
  const moves = await listMoves(db.sql, { accountIds: [b.id, a.id, empty.id, a.id] });
  expect(moves.map((m) => [m.accountId, m.externalId, m.occurredAt])).toEqual([
    [a.id, 'a-1', at(2)],
    [b.id, 'b-1', at(3)],
    [a.id, 'a-2', at(4)],
  ]);
  // by account in the order given (an account without moves has no balance row), then asset
  const rows = await balances(db.sql, { accountIds: [b.id, empty.id, a.id.toUpperCase()] });
  expect(rows.map((r) => [r.accountId, r.asset, r.balance])).toEqual([
    [b.id, 'BTC', '3'],
    [a.id, 'BTC', '3'],
  ]);
  expect((await listAccounts(db.sql, { ids: [b.id, a.id] })).map((r) => r.id).sort()).toEqual(
    [a.id, b.id].sort(),
  );
  const none = await listMoves(db.sql, { accountIds: [] }).catch((e: unknown) => e);
  expect((none as ValidationError).issues.map((i) => i.path)).toEqual([['accountIds']]);
});

it('enum inputs compile from a variable without `as const` (kinds, statuses, sources as plain strings)', async () => {
  const acc = await newAccount();
  // literals kept in variables widen to `string`: these must compile and run as written
  const moves = [
    { kind: 'deposit', asset: 'BTC', amount: '2', occurredAt: '2025-01-01T00:00:00Z', externalId: 'v-1' },
    { kind: 'fee', asset: 'BTC', amount: '0.5', occurredAt: '2025-01-01T00:00:00Z', externalId: 'v-2' },
  ];
  expect(await recordMoves(db.sql, { accountId: acc.id, moves })).toEqual({
    inserted: 2,
    skipped: 0,
    skippedExternalIds: [],
  });
  const snapshot = { accountId: acc.id, source: 'manual', balances: [{ asset: 'BTC', balance: '1.5' }] };
  expect((await takeSnapshot(db.sql, snapshot)).map((s) => [s.source, s.balance])).toEqual([
    ['manual', '1.5'],
  ]);
  const change = { id: acc.id, status: 'suspended' };
  expect((await updateAccount(db.sql, change)).status).toBe('suspended');
  const filter = { ids: [acc.id], status: 'suspended' };
  expect((await listAccounts(db.sql, filter)).map((r) => r.id)).toEqual([acc.id]);
  // an `as const` (readonly) array is accepted too
  const frozen = [{ kind: 'deposit', asset: 'ETH', amount: '1', occurredAt: at(1) }] as const;
  expect((await recordMoves(db.sql, { accountId: acc.id, moves: frozen })).inserted).toBe(1);
  // and an unknown value is refused when the call runs, naming the field
  const typo = [{ kind: 'deposits', asset: 'BTC', amount: '1', occurredAt: at(1) }];
  const error = await recordMoves(db.sql, { accountId: acc.id, moves: typo }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).issues.map((i) => i.path)).toEqual([['moves', 0, 'kind']]);
});

describe('instants read back exactly whatever the session TimeZone', () => {
  // local mean time offsets with seconds before 1900 (Amsterdam +00:19:32), +05:53:20 in Kolkata
  const instants = [
    '0001-01-01T00:00:00.000Z',
    '0050-06-01T00:00:00.000Z',
    '1850-06-01T12:34:56.789Z',
    '1900-01-01T00:00:00.001Z',
    '1970-01-01T00:00:00.000Z',
    '2038-01-19T03:14:08.000Z',
    '9999-12-31T23:59:59.999Z',
  ];
  for (const zone of ['Europe/Amsterdam', 'Asia/Kolkata', 'America/New_York']) {
    it(`moves, snapshots and balances under TimeZone ${zone}`, async () => {
      const sql = postgres(db.url, { max: 1, onnotice: () => {}, connection: { TimeZone: zone } });
      try {
        const [tz] = await sql<{ tz: string }[]>`select current_setting($$TimeZone$$) as tz`;
        expect(tz?.tz).toBe(zone);
        const acc = await createAccount(sql, { ownerId: randomUUID(), venue: 'tz', label: zone });
        const [utc] = await listAccounts(db.sql, { ids: [acc.id] });
        expect([acc.createdAt, acc.updatedAt]).toEqual([utc!.createdAt, utc!.updatedAt]);
        const moves = instants.map((iso, i) => ({
          kind: 'deposit',
          asset: 'BTC',
          amount: '1',
          occurredAt: iso,
          externalId: `tz-${i}`,
        }));
        expect((await recordMoves(sql, { accountId: acc.id, moves })).inserted).toBe(instants.length);
        expect(
          (await listMoves(sql, { accountIds: [acc.id] })).map((m) => m.occurredAt.toISOString()),
        ).toEqual(instants);
        const since = await listMoves(sql, { accountIds: [acc.id], from: instants[2], to: instants[3] });
        expect(since.map((m) => m.externalId)).toEqual(['tz-2']);
        const snaps = await takeSnapshot(sql, {
          accountId: acc.id,
          takenAt: instants[2],
          balances: [{ asset: 'BTC', balance: '3' }],
        });
        expect(snaps.map((s) => s.takenAt.toISOString())).toEqual([instants[2]]);
        const [b] = await balances(sql, { accountIds: [acc.id] });
        expect([b?.snapshotAt?.toISOString(), b?.lastMoveAt?.toISOString(), b?.balance]).toEqual([
          instants[2],
          instants[6],
          '7',
        ]);
      } finally {
        await sql.end();
      }
    });
  }
});
