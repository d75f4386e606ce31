import { z } from 'zod';
import { assetCode, decimal, decimalInput, instant, int8, text, timestamptz, uuid } from '../core/codecs.js';

/** The sign of a decimal string: -1, 0 or 1 ('-0.00' is 0). */
function signOf(value: string): -1 | 0 | 1 {
  const mantissa = value.split(/[eE]/)[0] ?? '';
  if (!/[1-9]/.test(mantissa)) return 0;
  return mantissa.startsWith('-') ? -1 : 1;
}

/**
 * An enum value as an input type: one of the literals, or any string (checked when the call runs).
 * An object or array literal kept in a variable without `as const` widens its strings to `string`;
 * this type lets it compile anyway (editors still suggest the literals), and zod refuses an unknown
 * value with a `ValidationError` naming the field.
 */
export type EnumInput<T extends string> = T | (string & {});

/** What an account may be: a closed account keeps its history and refuses new moves and snapshots. */
export const AccountStatus = z.enum(['active', 'suspended', 'closed']);
export type AccountStatus = z.infer<typeof AccountStatus>;

/** A row of `wallet.accounts`, as the SDK returns it. */
export const AccountRow = z.object({
  id: uuid,
  /** The owner: an opaque id (an auth account once the auth pack links it). */
  ownerId: uuid,
  /** Where the account lives (`binance`, `ledger-nano`, `bank`). */
  venue: z.string(),
  label: z.string(),
  /** The currency prices are given in (`USDT`). */
  baseCurrency: z.string(),
  status: AccountStatus,
  /** Whether a balance may go below zero (margin, credit); false refuses overdraws. */
  allowNegative: z.boolean(),
  /**
   * Bumped by every statement that writes moves or snapshots of the account: a changed value means
   * its balances may have changed (`updatedAt` follows only the account's own fields).
   */
  ledgerVersion: int8,
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type AccountRow = z.infer<typeof AccountRow>;

/** No surrounding whitespace, as JavaScript's `trim()` sees it (the tables check the same). */
const trimmed = (s: string) => s === s.trim();
const TRIMMED = { error: 'must not start or end with spaces' };

/** A venue: 1 to 64 characters of text PostgreSQL stores exactly, no surrounding whitespace. */
const venue = text({ min: 1, max: 64 }).refine(trimmed, TRIMMED);
/** A label: 1 to 100 characters of text PostgreSQL stores exactly, no surrounding whitespace. */
const label = text({ min: 1, max: 100 }).refine(trimmed, TRIMMED);

/** Input of `createAccount`; `(ownerId, venue, label)` is unique. */
export const CreateAccountInput = z.strictObject({
  ownerId: uuid,
  venue,
  label,
  /** Default `USDT`. */
  baseCurrency: assetCode.optional(),
  /** Default false. */
  allowNegative: z.boolean().optional(),
});
export type CreateAccountInput = z.input<typeof CreateAccountInput>;

/** Input of `updateAccount`: the account and the fields to change (others keep their value). */
export const UpdateAccountInput = z.strictObject({
  id: uuid,
  label: label.optional(),
  status: AccountStatus.optional(),
  allowNegative: z.boolean().optional(),
});
export type UpdateAccountInput = Omit<z.input<typeof UpdateAccountInput>, 'status'> & {
  status?: EnumInput<AccountStatus> | undefined;
};

/** Up to this many keys (account ids, owners) in one read. */
export const MAX_KEYS = 10_000;

/** Filters of `listAccounts` (every given filter must match). */
export const ListAccountsOptions = z.strictObject({
  /** These accounts (by id). */
  ids: z.array(uuid).min(1).max(MAX_KEYS).readonly().optional(),
  /** The accounts of these owners. */
  ownerIds: z.array(uuid).min(1).max(MAX_KEYS).readonly().optional(),
  venue: venue.optional(),
  status: AccountStatus.optional(),
});
export type ListAccountsOptions = Omit<z.input<typeof ListAccountsOptions>, 'status'> & {
  status?: EnumInput<AccountStatus> | undefined;
};

/**
 * What a move does to a balance. Amounts are positive magnitudes: deposit, trade_in and transfer_in
 * add; withdrawal, trade_out, fee and transfer_out subtract; an adjustment is signed (never zero).
 */
export const MoveKind = z.enum([
  'deposit',
  'withdrawal',
  'trade_in',
  'trade_out',
  'fee',
  'transfer_in',
  'transfer_out',
  'adjustment',
]);
export type MoveKind = z.infer<typeof MoveKind>;

/** One move to record. */
export const MoveInput = z
  .strictObject({
    kind: MoveKind,
    asset: assetCode,
    /** A decimal string ('0.015') or number: positive, except an adjustment (signed, not zero). */
    amount: decimalInput,
    /** Unit price in the account's base currency, when known (>= 0). */
    price: decimalInput.nullable().optional(),
    /** Years 1 to 9999, whole milliseconds. */
    occurredAt: instant,
    /**
     * The source's id of this move: its idempotency key, unique per account. It names one move, so
     * the two legs of a trade need two ids (`<tradeId>:out`, `<tradeId>:in`). Without one, the key
     * is a digest of the move's content (kind, asset, amount, price, occurredAt).
     */
    externalId: text({ min: 1, max: 200 }).optional(),
  })
  .superRefine((m, ctx) => {
    const sign = signOf(m.amount);
    if (m.kind === 'adjustment' ? sign === 0 : sign !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['amount'],
        message:
          m.kind === 'adjustment' ? 'an adjustment must not be zero' : `a ${m.kind} amount must be positive`,
      });
    }
    if (m.price != null && signOf(m.price) < 0) {
      ctx.addIssue({ code: 'custom', path: ['price'], message: 'a price must not be negative' });
    }
  });
/** One move to record; `kind` also compiles as a plain `string` (a literal widened in a variable). */
export type MoveInput = Omit<z.input<typeof MoveInput>, 'kind'> & { kind: EnumInput<MoveKind> };

/** Input of `recordMoves`: the account and its batch of moves. */
export const RecordMovesInput = z.strictObject({
  accountId: uuid,
  moves: z.array(MoveInput).readonly(),
});
export type RecordMovesInput = { accountId: string; moves: readonly MoveInput[] };

/** What `recordMoves` did. */
export const RecordMovesResult = z.object({
  inserted: z.int().nonnegative(),
  /** Moves of the batch not inserted: already recorded, or an external id repeated inside the batch. */
  skipped: z.int().nonnegative(),
  /** External ids of the batch already recorded (with the same content) before this call, in batch order. */
  skippedExternalIds: z.array(z.string()),
});
export type RecordMovesResult = z.infer<typeof RecordMovesResult>;

/** A row of `wallet.moves`, as the SDK returns it. */
export const MoveRow = z.object({
  id: int8,
  accountId: uuid,
  kind: MoveKind,
  asset: z.string(),
  /** The magnitude as recorded (signed for an adjustment). */
  amount: decimal,
  /** The signed effect on the balance (`-amount` for withdrawal, trade_out, fee, transfer_out). */
  delta: decimal,
  price: decimal.nullable(),
  occurredAt: timestamptz,
  externalId: z.string().nullable(),
  idempotencyKey: z.string(),
  createdAt: timestamptz,
});
export type MoveRow = z.infer<typeof MoveRow>;

/** Input of `listMoves`: the accounts, and filters (`occurredAt` in `[from, to)`; an absent end is open). */
export const ListMovesInput = z.strictObject({
  accountIds: z.array(uuid).min(1).max(MAX_KEYS).readonly(),
  asset: assetCode.optional(),
  /** Inclusive. */
  from: instant.optional(),
  /** Exclusive. */
  to: instant.optional(),
  /** At most this many moves, the oldest first (default all). */
  limit: z.int().min(1).max(100_000).optional(),
});
export type ListMovesInput = z.input<typeof ListMovesInput>;

/** Where a snapshot's balances come from. */
export const SnapshotSource = z.enum(['exchange', 'computed', 'manual']);
export type SnapshotSource = z.infer<typeof SnapshotSource>;

/**
 * Input of `takeSnapshot`: balances reported by a source (`exchange` by default, or `manual`), or
 * none with source `computed` (the default without balances): computed from the account's moves.
 */
export const TakeSnapshotInput = z
  .strictObject({
    accountId: uuid,
    /** The instant the balances hold at (default now); it covers every move up to it. */
    takenAt: instant.optional(),
    source: SnapshotSource.optional(),
    balances: z
      .array(z.strictObject({ asset: assetCode, balance: decimalInput }))
      .min(1)
      .readonly()
      .optional(),
  })
  .refine((s) => s.source === undefined || (s.source === 'computed') === (s.balances === undefined), {
    path: ['balances'],
    error: 'a computed snapshot takes no balances; an exchange or manual one needs them',
  });
export type TakeSnapshotInput = Omit<z.input<typeof TakeSnapshotInput>, 'source'> & {
  source?: EnumInput<SnapshotSource> | undefined;
};

/** A row of `wallet.snapshots`, as the SDK returns it. */
export const SnapshotRow = z.object({
  id: int8,
  accountId: uuid,
  asset: z.string(),
  balance: decimal,
  takenAt: timestamptz,
  source: SnapshotSource,
  createdAt: timestamptz,
});
export type SnapshotRow = z.infer<typeof SnapshotRow>;

/** Input of `balances`: the accounts whose balances to read. */
export const BalancesInput = z.strictObject({
  accountIds: z.array(uuid).min(1).max(MAX_KEYS).readonly(),
});
export type BalancesInput = z.input<typeof BalancesInput>;

/** A row of `wallet.v_balances`: the last snapshot plus the moves after it. */
export const BalanceRow = z.object({
  accountId: uuid,
  asset: z.string(),
  /** Exact: snapshot balance + the deltas of the moves after it. */
  balance: decimal,
  snapshotBalance: decimal.nullable(),
  snapshotAt: timestamptz.nullable(),
  /** How many moves came after the snapshot (all of them when there is none). */
  movesAfter: z.int().nonnegative(),
  lastMoveAt: timestamptz.nullable(),
});
export type BalanceRow = z.infer<typeof BalanceRow>;
