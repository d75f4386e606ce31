/**
 * createClient(): one connection (a postgres.js pool) with every module's functions bound to it.
 * The top floor of the import graph: the only file that knows every module.
 */
import postgres from 'postgres';
import { ValidationError } from './core/errors.js';
import { type Logger, noticesTo, type Queryable, type Sql } from './core/queryable.js';
import { mapPgError } from './core/run.js';
import { runTransaction, type TransactionOptions } from './core/transaction.js';
import * as cinAux from './cinAux/index.js';
import * as documents from './documents/index.js';
import * as ingest from './ingest/index.js';
import * as market from './market/index.js';
import * as matrices from './matrices/index.js';
import * as mea from './mea/index.js';
import {
  type MigrateOptions,
  type MigrationReport,
  migrate,
  type PackStatus,
  plan,
  status,
  verify,
} from './migrate/index.js';
import * as settings from './settings/index.js';
import * as strAux from './strAux/index.js';
import * as wallet from './wallet/index.js';

/** A module's functions with their first argument (the `Queryable`) bound. */
export type Bound<M> = {
  [K in keyof M as M[K] extends (sql: Queryable, ...args: infer _A) => unknown ? K : never]: M[K] extends (
    sql: Queryable,
    ...args: infer A
  ) => infer R
    ? (...args: A) => R
    : never;
};

/** Binds every exported function of a module (lower-camel names; schemas and classes are PascalCase). */
function bindModule<M extends object>(mod: M, sql: Queryable): Bound<M> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(mod)) {
    if (typeof value === 'function' && /^[a-z]/.test(name)) {
      out[name] = (...args: unknown[]) =>
        (value as (sql: Queryable, ...a: unknown[]) => unknown)(sql, ...args);
    }
  }
  return out as Bound<M>;
}

export interface ClientOptions {
  /**
   * The key that encrypts and decrypts wallet credentials (`settings.putWalletCredentials` /
   * `getWalletCredentials`), at least 16 characters. Kept in memory only: never stored, sent only as
   * a bound parameter, never logged, never part of an error.
   */
  encryptionKey?: string | undefined;
  /** Receives PostgreSQL notices and migration progress; nothing goes to the console by default. */
  logger?: Logger | undefined;
  /** Default options for `migrate`, `status`, `plan` and `verify` (packs folder, include/exclude). */
  migrations?: Omit<MigrateOptions, 'onProgress' | 'logger'> | undefined;
  /** Options passed to postgres.js when the client opens its own pool (`{ url }`). */
  postgres?: postgres.Options<Record<string, postgres.PostgresType>> | undefined;
}

/** The settings functions bound to a connection (before the credential defaults). */
export type SettingsFns = Bound<typeof settings>;
type EncryptionOptions = settings.EncryptionOptions;

/** The settings functions, with the credentials' `{ encryptionKey }` defaulting to the client option. */
export type SettingsNamespace = Omit<SettingsFns, 'putWalletCredentials' | 'getWalletCredentials'> & {
  putWalletCredentials(
    input: settings.PutWalletCredentialsInput,
    options?: EncryptionOptions,
  ): ReturnType<SettingsFns['putWalletCredentials']>;
  getWalletCredentials(
    input: settings.GetWalletCredentialsInput,
    options?: EncryptionOptions,
  ): ReturnType<SettingsFns['getWalletCredentials']>;
};

function settingsNamespace(sql: Queryable, clientKey: string | undefined): SettingsNamespace {
  const key = (op: string, options: EncryptionOptions | undefined): EncryptionOptions => {
    if (options) return options;
    if (clientKey === undefined) {
      throw new ValidationError(op, [
        {
          path: ['encryptionKey'],
          message: 'no encryption key: pass { encryptionKey } or set the client option',
        },
      ]);
    }
    return { encryptionKey: clientKey };
  };
  return {
    ...bindModule(settings, sql),
    putWalletCredentials: async (input, options) =>
      settings.putWalletCredentials(sql, input, key('settings.putWalletCredentials', options)),
    getWalletCredentials: async (input, options) =>
      settings.getWalletCredentials(sql, input, key('settings.getWalletCredentials', options)),
  };
}

/** The ingest functions; `runLoad` keeps its type parameter (a mapped type cannot carry generics). */
export type IngestNamespace = Omit<Bound<typeof ingest>, 'runLoad'> & {
  runLoad<T>(input: ingest.StartLoadInput, fn: (ctx: ingest.LoadContext) => Promise<T>): Promise<T>;
};

/** The mea functions bound to a connection, and its pure rules as they are. */
export type MeaNamespace = Omit<Bound<typeof mea>, 'tierFor' | 'moodCoefficient' | 'allocationWeight'> &
  Pick<typeof mea, 'tierFor' | 'moodCoefficient' | 'allocationWeight'>;

/** What both the root client and a transaction's client offer. */
export interface ClientScope {
  /** The connection this scope runs on (a pool, or the transaction). */
  readonly sql: Queryable;
  readonly settings: SettingsNamespace;
  readonly market: Bound<typeof market>;
  readonly documents: Bound<typeof documents>;
  readonly wallet: Bound<typeof wallet>;
  readonly matrices: Bound<typeof matrices>;
  readonly strAux: Bound<typeof strAux>;
  readonly cinAux: Bound<typeof cinAux>;
  /** The mea functions; the pure rules (`tierFor`, `moodCoefficient`, `allocationWeight`) take no connection. */
  readonly mea: MeaNamespace;
  readonly ingest: IngestNamespace;
  /** Applies new and changed packs (see `migrate` in `cryptopi-db`). */
  migrate(options?: MigrateOptions): Promise<MigrationReport>;
  status(options?: Omit<MigrateOptions, 'onProgress'>): Promise<PackStatus[]>;
  plan(options?: Omit<MigrateOptions, 'onProgress'>): Promise<PackStatus[]>;
  verify(options?: Omit<MigrateOptions, 'onProgress'>): Promise<PackStatus[]>;
  /**
   * Runs `fn` in one transaction (a savepoint when already inside one) with a client of the same
   * shape bound to it; commits when `fn` resolves, rolls back when it throws. With `{ retries }`,
   * `fn` runs again (after a short jittered pause) when the connection was lost before COMMIT was
   * sent, or on a serialization failure (40001) or deadlock (40P01); never once COMMIT was sent.
   * @example
   * ```ts
   * await db.transaction(async (tx) => {
   *   await tx.wallet.recordMoves({ accountId, moves });
   * }, { retries: 3 });
   * ```
   * @throws ConnectionError when the connection is lost (`afterCommit: true` when COMMIT was sent:
   * it may have committed; not retried)
   * @throws ConflictError (retryable) when the last attempt hit a serialization failure or deadlock
   * @throws ValidationError when the options are malformed
   */
  transaction<T>(fn: (tx: ClientScope) => Promise<T>, options?: TransactionOptions): Promise<T>;
}

export interface Client extends ClientScope {
  /** The postgres.js pool (LISTEN, `begin`, your own queries). */
  readonly sql: Sql;
  /** Ends the pool when the client opened it; a pool passed in as `{ sql }` is left to its owner. */
  close(): Promise<void>;
}

function scope(sql: Queryable, options: ClientOptions): ClientScope {
  const defaults = { ...options.migrations, logger: options.logger };
  return {
    sql,
    settings: settingsNamespace(sql, options.encryptionKey),
    market: bindModule(market, sql),
    documents: bindModule(documents, sql),
    wallet: bindModule(wallet, sql),
    strAux: bindModule(strAux, sql),
    cinAux: bindModule(cinAux, sql),
    mea: {
      ...bindModule(mea, sql),
      tierFor: mea.tierFor,
      moodCoefficient: mea.moodCoefficient,
      allocationWeight: mea.allocationWeight,
    },
    matrices: bindModule(matrices, sql),
    ingest: { ...bindModule(ingest, sql), runLoad: (input, fn) => ingest.runLoad(sql, input, fn) },
    migrate: (o) => migrate(sql, { ...defaults, ...o }),
    status: (o) => status(sql, { ...defaults, ...o }),
    plan: (o) => plan(sql, { ...defaults, ...o }),
    verify: (o) => verify(sql, { ...defaults, ...o }),
    transaction: (fn, o) => runTransaction(sql, (tx) => fn(scope(tx, options)), o),
  };
}

export type { IsolationLevel, TransactionOptions } from './core/transaction.js';

/**
 * Creates a client on a new pool (`{ url }`) or on your postgres.js instance (`{ sql }`).
 *
 * The pool opened for `{ url }` runs on the postgres.js bundled in this package, which carries the
 * guard against a connection lost mid-transaction ending the process (docs/reliability.md); a
 * pool passed as `{ sql }` is your own postgres.js, and needs that guard too.
 * @example
 * ```ts
 * const db = createClient({ url: process.env.DATABASE_URL! });
 * await db.migrate();
 * await db.close();
 * ```
 * @throws ValidationError when `connection` is neither `{ url }` (a postgres:// or postgresql:// URL) nor `{ sql }`
 */
export function createClient(
  connection: { url: string } | { sql: Sql },
  options: ClientOptions = {},
): Client {
  const op = 'createClient';
  if (connection === null || typeof connection !== 'object')
    throw new ValidationError(op, [{ path: [], message: 'pass { url } or { sql }' }]);
  const owned = 'url' in connection;
  const logger = options.logger;
  let sql: Sql;
  if (owned) {
    const url = connection.url;
    if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url))
      throw new ValidationError(op, [
        { path: ['url'], message: 'must be a postgres:// or postgresql:// URL' },
      ]);
    try {
      sql = postgres(url, { onnotice: noticesTo(logger), ...options.postgres });
    } catch (e) {
      // the driver parses the URL and options synchronously: a malformed one is the caller's input
      throw new ValidationError(op, [{ path: ['url'], message: 'cannot be parsed as a connection URL' }], {
        cause: e,
      });
    }
  } else {
    if (typeof (connection as { sql?: unknown }).sql !== 'function')
      throw new ValidationError(op, [{ path: ['sql'], message: 'must be a postgres.js instance' }]);
    sql = connection.sql;
  }
  return {
    ...scope(sql, options),
    sql,
    close: async () => {
      if (!owned) return;
      try {
        await sql.end({ timeout: 5 });
      } catch (e) {
        throw mapPgError('close', e);
      }
    },
  };
}
