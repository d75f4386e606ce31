/**
 * `db.transaction(fn, { retries })`: one transaction, its errors typed, and the retries that are safe.
 *
 * A retry runs `fn` again from the start on a new transaction. It is safe only when nothing of the
 * failed attempt committed: connection loss before COMMIT was sent (the server rolled back), a
 * serialization failure (40001) or a deadlock (40P01). A loss once COMMIT was sent is never
 * retried: the transaction may have committed (`ConnectionError.afterCommit`).
 */
import type postgres from 'postgres';
import { ConflictError, ConnectionError, ValidationError } from './errors.js';
import type { Queryable } from './queryable.js';
import { mapPgError } from './run.js';

/** Isolation levels `db.transaction` can start with. */
export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

/** Options of `db.transaction`. */
export interface TransactionOptions {
  /**
   * How many more times `fn` may run after a failure that a new attempt can cure (connection lost
   * before COMMIT, 40001, 40P01): 0 to 10, default 0. `fn` must then be safe to run again (no side
   * effects outside the database, or idempotent ones).
   */
  retries?: number | undefined;
  /** The isolation level of each attempt (default: the server's, usually read committed). */
  isolation?: IsolationLevel | undefined;
  /** Called before each retry with the attempt about to start (1 for the first retry) and the error that caused it. */
  onRetry?: ((attempt: number, error: ConflictError | ConnectionError) => void) | undefined;
}

/** Most retries a caller may ask for. */
export const MAX_RETRIES = 10;
const BASE_DELAY_MS = 5;
const MAX_DELAY_MS = 250;

/**
 * The pause before retry `attempt` (1, 2, …): exponential from 5 ms, capped at 250 ms, with full
 * jitter in its upper half so racing writers do not retry in step.
 * @example
 * ```ts
 * retryDelay(1); // between 5 and 10 ms
 * ```
 */
export function retryDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * True for an error after which running the whole transaction again can succeed and cannot
 * duplicate a commit.
 * @example
 * ```ts
 * if (retryableInTransaction(e)) await db.transaction(fn);
 * ```
 */
export function retryableInTransaction(e: unknown): e is ConflictError | ConnectionError {
  if (e instanceof ConnectionError) return !e.afterCommit;
  if (e instanceof ConflictError) return e.sqlstate === '40001' || e.sqlstate === '40P01';
  return false;
}

const OPERATION = 'transaction';

const OPTION_KEYS = new Set(['retries', 'isolation', 'onRetry']);

function checkOptions(fn: unknown, given: unknown): { retries: number; mode: string } {
  const issues: { path: (string | number)[]; message: string }[] = [];
  if (typeof fn !== 'function') issues.push({ path: ['fn'], message: 'must be a function' });
  const proto = given === null || typeof given !== 'object' ? undefined : Object.getPrototypeOf(given);
  if (given !== undefined && proto !== Object.prototype && proto !== null) {
    issues.push({ path: ['options'], message: 'must be a plain object' });
    throw new ValidationError(OPERATION, issues);
  }
  const options = (given ?? {}) as TransactionOptions;
  for (const key of Reflect.ownKeys(options)) {
    if (typeof key !== 'string' || !OPTION_KEYS.has(key))
      issues.push({ path: [String(key)], message: 'unknown option' });
  }
  const retries = options.retries ?? 0;
  if (!Number.isInteger(retries) || retries < 0 || retries > MAX_RETRIES)
    issues.push({ path: ['retries'], message: `must be a whole number from 0 to ${MAX_RETRIES}` });
  const isolation = options.isolation;
  if (
    isolation !== undefined &&
    isolation !== 'read committed' &&
    isolation !== 'repeatable read' &&
    isolation !== 'serializable'
  )
    issues.push({ path: ['isolation'], message: 'must be read committed, repeatable read or serializable' });
  if (options.onRetry !== undefined && typeof options.onRetry !== 'function')
    issues.push({ path: ['onRetry'], message: 'must be a function' });
  if (issues.length > 0) throw new ValidationError(OPERATION, issues);
  return { retries, mode: isolation ? `isolation level ${isolation}` : '' };
}

/** The error of a failed attempt, typed; a connection loss once `fn` had resolved is marked `afterCommit`. */
function attemptError(e: unknown, committing: boolean): unknown {
  const mapped = mapPgError(OPERATION, e);
  if (committing && mapped instanceof ConnectionError && !mapped.afterCommit) {
    return new ConnectionError(OPERATION, mapped.reason, {
      cause: mapped.cause ?? e,
      driverCode: mapped.driverCode,
      afterCommit: true,
    });
  }
  return mapped;
}

/**
 * Runs `fn` in a transaction on `sql` (a savepoint when `sql` is already a transaction, never
 * retried there: the enclosing transaction is what would have to run again). Commits when `fn`
 * resolves, rolls back when it throws; PostgreSQL and connection errors come out as the SDK's
 * classes, `fn`'s own errors unchanged.
 * @example
 * ```ts
 * await runTransaction(sql, async (tx) => tx`update t set v = v + 1`, { retries: 3, isolation: 'serializable' });
 * ```
 * @throws ValidationError when `fn` is not a function or the options are malformed (nothing is sent)
 * @throws ConflictError (retryable) after the last attempt failed on 40001 / 40P01
 * @throws ConnectionError when the connection was lost (`afterCommit` once COMMIT was sent)
 */
export async function runTransaction<T>(
  sql: Queryable,
  fn: (tx: Queryable) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const { retries, mode } = checkOptions(fn, options);
  const s = sql as Partial<postgres.Sql & postgres.TransactionSql>;
  if (typeof s.begin !== 'function') {
    try {
      return typeof s.savepoint === 'function' ? ((await s.savepoint((tx) => fn(tx))) as T) : await fn(sql);
    } catch (e) {
      throw mapPgError(OPERATION, e);
    }
  }
  const begin = s.begin.bind(s) as (mode: string, cb: (tx: Queryable) => Promise<T>) => Promise<T>;
  for (let attempt = 0; ; attempt++) {
    let committing = false;
    try {
      return await begin(mode, async (tx) => {
        const result = await fn(tx);
        committing = true; // postgres.js sends COMMIT next: a loss from here on may follow a commit
        return result;
      });
    } catch (e) {
      const error = attemptError(e, committing);
      if (attempt >= retries || !retryableInTransaction(error)) throw error;
      options.onRetry?.(attempt + 1, error);
      await new Promise((resolve) => setTimeout(resolve, retryDelay(attempt + 1)));
    }
  }
}
