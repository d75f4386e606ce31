/**
 * The wallet module: schema `wallet` (pack `05_wallet.sql`): per-user accounts at venues, the moves
 * of assets on them (idempotent imports, no overdraw unless allowed), balance snapshots, and the
 * current balances (last snapshot + the moves after it). Quantities are exact decimal strings.
 */
import { pgArray } from '../core/arrays.js';
import { uuid } from '../core/codecs.js';
import { NotFoundError } from '../core/errors.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseMaybe, parseOne, parseRows, run } from '../core/run.js';
import {
  AccountRow,
  BalanceRow,
  BalancesInput,
  CreateAccountInput,
  ListAccountsOptions,
  ListMovesInput,
  MoveRow,
  RecordMovesInput,
  RecordMovesResult,
  SnapshotRow,
  TakeSnapshotInput,
  UpdateAccountInput,
} from './schemas.js';

export * from './schemas.js';

/** What a NotFoundError of this module is about. */
const ACCOUNT = 'wallet.account';

const ACCOUNT_COLUMNS = (sql: Queryable) => sql`
  id, owner_id as "ownerId", venue, label, base_currency as "baseCurrency", status,
  allow_negative as "allowNegative", ledger_version as "ledgerVersion",
  util.epoch_ms(created_at) as "createdAt", util.epoch_ms(updated_at) as "updatedAt"
`;
const SNAPSHOT_COLUMNS = (sql: Queryable) => sql`
  id, account_id as "accountId", asset, balance::text as balance, util.epoch_ms(taken_at) as "takenAt",
  source, util.epoch_ms(created_at) as "createdAt"
`;

/** The given uuids once each (lower-case, as PostgreSQL gives them back), in their first order. */
function distinct(ids: readonly string[]): string[] {
  return [...new Set(ids.map((id) => id.toLowerCase()))];
}

/**
 * Throws a NotFoundError naming the first of `ids` (in order) that is not an account. Only asked
 * for the ids a read found no rows for (an account without moves exists all the same).
 */
async function assertAccounts(op: string, sql: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const rows = await run(
    op,
    sql<{ id: string }[]>`select id from wallet.accounts where id = any(${pgArray(ids)}::uuid[])`,
  );
  const found = new Set(rows.map((r) => r.id));
  const missing = ids.find((id) => !found.has(id));
  if (missing !== undefined) throw new NotFoundError(op, ACCOUNT, { id: missing });
}

/**
 * Opens an account for an owner at a venue and returns it as stored.
 *
 * Wraps `wallet.sp_create_account`; `(ownerId, venue, label)` is unique.
 * @example
 * ```ts
 * const acc = await db.wallet.createAccount({ ownerId, venue: 'binance', label: 'spot' });
 * // acc.baseCurrency === 'USDT', acc.status === 'active', acc.allowNegative === false
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 * @throws ConflictError when the owner already has an account with that venue and label
 */
export async function createAccount(sql: Queryable, input: CreateAccountInput): Promise<AccountRow> {
  const op = 'wallet.createAccount';
  const {
    ownerId,
    venue,
    label,
    baseCurrency = null,
    allowNegative = null,
  } = parseInput(op, CreateAccountInput, input);
  const rows = await run(
    op,
    sql`
      select ${ACCOUNT_COLUMNS(sql)}
      from wallet.sp_create_account(${ownerId}, ${venue}, ${label}, ${baseCurrency}, ${allowNegative})
    `,
  );
  return parseOne('wallet.sp_create_account', AccountRow, rows);
}

/**
 * One account by id, or null when there is none (many at once: `listAccounts({ ids })`).
 *
 * Reads `wallet.accounts`.
 * @example
 * ```ts
 * const acc = await db.wallet.getAccount(accountId);
 * ```
 * @throws ValidationError when `id` is not a uuid (nothing is sent)
 */
export async function getAccount(sql: Queryable, id: string): Promise<AccountRow | null> {
  const op = 'wallet.getAccount';
  const accountId = parseInput(op, uuid, id);
  const rows = await run(
    op,
    sql`select ${ACCOUNT_COLUMNS(sql)} from wallet.accounts where id = ${accountId}`,
  );
  return parseMaybe('wallet.accounts', AccountRow, rows);
}

/**
 * Accounts matching every given filter (all of them without), by owner, venue and label.
 *
 * Reads `wallet.accounts`.
 * @example
 * ```ts
 * const mine = await db.wallet.listAccounts({ ownerIds: [ownerId], status: 'active' });
 * const some = await db.wallet.listAccounts({ ids: [a.id, b.id] });
 * ```
 * @throws ValidationError when a filter is malformed (nothing is sent)
 */
export async function listAccounts(sql: Queryable, options: ListAccountsOptions = {}): Promise<AccountRow[]> {
  const op = 'wallet.listAccounts';
  const f = parseInput(op, ListAccountsOptions, options);
  const none = sql``;
  const rows = await run(
    op,
    sql`
      select ${ACCOUNT_COLUMNS(sql)} from wallet.accounts
      where true
        ${f.ids ? sql`and id = any(${pgArray(f.ids)}::uuid[])` : none}
        ${f.ownerIds ? sql`and owner_id = any(${pgArray(f.ownerIds)}::uuid[])` : none}
        ${f.venue !== undefined ? sql`and venue = ${f.venue}` : none}
        ${f.status !== undefined ? sql`and status = ${f.status}` : none}
      order by owner_id, venue, label
    `,
  );
  return parseRows('wallet.accounts', AccountRow, rows);
}

/**
 * Changes an account's label, status or `allowNegative` (the fields given) and returns it.
 *
 * Wraps `wallet.sp_update_account`. Closing an account keeps its moves and snapshots and refuses new ones.
 * @example
 * ```ts
 * await db.wallet.updateAccount({ id: accountId, status: 'closed' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 * @throws NotFoundError when there is no such account (`entity` `'wallet.account'`, `key` `{ id }`)
 * @throws ConflictError when the new label is taken for that owner and venue
 */
export async function updateAccount(sql: Queryable, input: UpdateAccountInput): Promise<AccountRow> {
  const op = 'wallet.updateAccount';
  const { id, label = null, status = null, allowNegative = null } = parseInput(op, UpdateAccountInput, input);
  const rows = await run(
    op,
    sql`
      select ${ACCOUNT_COLUMNS(sql)}
      from wallet.sp_update_account(${id}, ${label}, ${status}, ${allowNegative})
    `,
    { entity: ACCOUNT, key: { id } },
  );
  return parseOne('wallet.sp_update_account', AccountRow, rows);
}

/**
 * Records a batch of moves on an account in one set-based statement, idempotently: a move whose
 * external id is already recorded is skipped (and listed in `skippedExternalIds`), and so is a move
 * without one whose content is (the n-th identical move of a batch counts as its own move, so
 * identical moves are all kept and a replayed batch adds none). An external id names one move: the
 * same id with other content, in the batch or already stored, is refused rather than dropped.
 *
 * The account row is locked for the write, and a batch that would take a balance below zero is
 * refused whole unless the account allows negative balances. The balance is checked in time order
 * (`occurredAt`), not batch order: an outflow dated before the funds arrived is an overdraw even if
 * the batch also brings them later. Concurrent writers of one account queue, so two withdrawals that
 * each fit alone but not together cannot both pass.
 *
 * Wraps `wallet.sp_record_moves` (the overdraw rule is the trigger `wallet.trg_moves_no_overdraw`,
 * so it holds for every writer).
 * @example
 * ```ts
 * const r = await db.wallet.recordMoves({
 *   accountId,
 *   moves: [
 *     { kind: 'deposit', asset: 'BTC', amount: '0.5', occurredAt: Date.now(), externalId: 'dep-1' },
 *     { kind: 'fee', asset: 'BTC', amount: '0.0001', occurredAt: Date.now(), externalId: 'fee-1' },
 *   ],
 * });
 * // r: { inserted: 2, skipped: 0, skippedExternalIds: [] }; the same call again: inserted 0, skipped 2
 * ```
 * @throws ValidationError when a move is malformed (nothing is sent), when the batch would overdraw
 *   a balance (SQLSTATE 22023, constraint `moves_no_overdraw`; nothing of the batch is written), when
 *   an external id appears twice in the batch with different content, or when the account is closed
 * @throws ConflictError when an external id is already recorded with other content (23505,
 *   `moves_idempotency_key`; nothing of the batch is written), or 40001 in a repeatable read
 *   transaction that started before a concurrent write of the account (retry)
 * @throws NotFoundError when there is no such account (`entity` `'wallet.account'`, `key` `{ id }`)
 */
export async function recordMoves(sql: Queryable, input: RecordMovesInput): Promise<RecordMovesResult> {
  const op = 'wallet.recordMoves';
  const { accountId, moves: m } = parseInput(op, RecordMovesInput, input);
  // arrays go as literals and come back as jsonb: the same on a pool with `fetch_types: false`
  const rows = await run(
    op,
    sql`
      select inserted_count as inserted, skipped_count as skipped,
             to_jsonb(skipped_external_ids) as "skippedExternalIds"
      from wallet.sp_record_moves(
        ${accountId},
        ${pgArray(m.map((x) => x.kind))}::text[],
        ${pgArray(m.map((x) => x.asset))}::text[],
        ${pgArray(m.map((x) => x.amount))}::numeric[],
        ${pgArray(m.map((x) => x.price ?? null))}::numeric[],
        ${pgArray(m.map((x) => x.occurredAt))}::timestamptz[],
        ${pgArray(m.map((x) => x.externalId ?? null))}::text[]
      )
    `,
    { entity: ACCOUNT, key: { id: accountId } },
  );
  return parseOne('wallet.sp_record_moves', RecordMovesResult, rows);
}

/**
 * The moves of one or more accounts (`occurredAt` in `[from, to)` when given), oldest first (by `occurredAt`, then insertion); each row names
 * its account. One round trip for any number of accounts.
 *
 * Reads `wallet.moves`.
 * @example
 * ```ts
 * const btc = await db.wallet.listMoves({ accountIds: [accountId], asset: 'BTC', from: '2025-01-01T00:00:00Z' });
 * ```
 * @throws ValidationError when an id or a filter is malformed (nothing is sent)
 * @throws NotFoundError when an account does not exist (`key` `{ id }`: the first such id given)
 */
export async function listMoves(sql: Queryable, input: ListMovesInput): Promise<MoveRow[]> {
  const op = 'wallet.listMoves';
  const q = parseInput(op, ListMovesInput, input);
  const ids = distinct(q.accountIds);
  const none = sql``;
  const rows = await run(
    op,
    sql`
      select id, account_id as "accountId", kind, asset, amount::text as amount, delta::text as delta,
             price::text as price, util.epoch_ms(occurred_at) as "occurredAt",
             external_id as "externalId", idempotency_key as "idempotencyKey",
             util.epoch_ms(created_at) as "createdAt"
      from wallet.moves
      where account_id = any(${pgArray(ids)}::uuid[])
        ${q.asset !== undefined ? sql`and asset = ${q.asset}` : none}
        ${q.from !== undefined ? sql`and occurred_at >= ${q.from}::timestamptz` : none}
        ${q.to !== undefined ? sql`and occurred_at < ${q.to}::timestamptz` : none}
      order by occurred_at, id
      limit ${q.limit ?? null}::integer
    `,
  );
  const seen = new Set(rows.map((r) => r.accountId as string));
  await assertAccounts(
    op,
    sql,
    ids.filter((id) => !seen.has(id)),
  );
  return parseRows('wallet.moves', MoveRow, rows);
}

/**
 * Stores the balances of an account at an instant (default now, in whole milliseconds, so the
 * returned `takenAt` addresses it) and returns the stored rows. Given
 * balances come from the `exchange` (default) or are `manual`; without balances the snapshot is
 * `computed` from the last snapshot and the moves up to that instant. A snapshot of the same asset
 * at the same instant is replaced. Later balances start from the newest snapshot.
 *
 * Wraps `wallet.sp_take_snapshot` (it locks the account row like `recordMoves`).
 * @example
 * ```ts
 * await db.wallet.takeSnapshot({ accountId, balances: [{ asset: 'BTC', balance: '0.4999' }] });
 * await db.wallet.takeSnapshot({ accountId }); // computed from the moves
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent), when a reported balance is
 *   negative on an account that does not allow it, or when the account is closed
 * @throws NotFoundError when there is no such account (`entity` `'wallet.account'`, `key` `{ id }`)
 */
export async function takeSnapshot(sql: Queryable, input: TakeSnapshotInput): Promise<SnapshotRow[]> {
  const op = 'wallet.takeSnapshot';
  const { accountId, takenAt = null, balances, ...rest } = parseInput(op, TakeSnapshotInput, input);
  const source = rest.source ?? (balances ? 'exchange' : 'computed');
  const assets = balances ? pgArray(balances.map((b) => b.asset)) : null;
  const values = balances ? pgArray(balances.map((b) => b.balance)) : null;
  const rows = await run(
    op,
    sql`
      select ${SNAPSHOT_COLUMNS(sql)}
      from wallet.sp_take_snapshot(${accountId}, ${assets}::text[], ${values}::numeric[],
                                   ${takenAt}::timestamptz, ${source})
      order by asset
    `,
    { entity: ACCOUNT, key: { id: accountId } },
  );
  return parseRows('wallet.sp_take_snapshot', SnapshotRow, rows);
}

/**
 * The current balance of every asset of one or more accounts (by account in the order given, then
 * asset): the last snapshot plus the moves after it, summed exactly in SQL. One round trip.
 *
 * Reads `wallet.v_balances`.
 * @example
 * ```ts
 * const b = await db.wallet.balances({ accountIds: [accountId] });
 * // [{ accountId, asset: 'BTC', balance: '0.4999', snapshotBalance: null, snapshotAt: null, movesAfter: 2, lastMoveAt: Date }]
 * ```
 * @throws ValidationError when an id is not a uuid (nothing is sent)
 * @throws NotFoundError when an account does not exist (`key` `{ id }`: the first such id given)
 */
export async function balances(sql: Queryable, input: BalancesInput): Promise<BalanceRow[]> {
  const op = 'wallet.balances';
  const ids = distinct(parseInput(op, BalancesInput, input).accountIds);
  const list = pgArray(ids);
  const rows = await run(
    op,
    sql`
      select account_id as "accountId", asset, balance::text as balance,
             snapshot_balance::text as "snapshotBalance", util.epoch_ms(snapshot_at) as "snapshotAt",
             moves_after as "movesAfter", util.epoch_ms(last_move_at) as "lastMoveAt"
      from wallet.v_balances
      where account_id = any(${list}::uuid[])
      order by array_position(${list}::uuid[], account_id), asset collate "C"
    `,
  );
  const seen = new Set(rows.map((r) => r.accountId as string));
  await assertAccounts(
    op,
    sql,
    ids.filter((id) => !seen.has(id)),
  );
  return parseRows('wallet.v_balances', BalanceRow, rows);
}
