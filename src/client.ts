/**
 * createClient(): one connection (a postgres.js pool) with every module's functions bound to it.
 * The top floor of the import graph: the only file that knows every module.
 */
import postgres from 'postgres';
import { ValidationError } from './core/errors.js';
import { inTransaction, type Logger, noticesTo, type Queryable, type Sql } from './core/queryable.js';
import * as documents from './documents/index.js';
import * as ingest from './ingest/index.js';
import * as market from './market/index.js';
import * as matrices from './matrices/index.js';
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

type SettingsFns = Bound<typeof settings>;
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

/** What both the root client and a transaction's client offer. */
export interface ClientScope {
  /** The connection this scope runs on (a pool, or the transaction). */
  readonly sql: Queryable;
  readonly settings: SettingsNamespace;
  readonly market: Bound<typeof market>;
  readonly documents: Bound<typeof documents>;
  readonly wallet: Bound<typeof wallet>;
  readonly matrices: Bound<typeof matrices>;
  readonly ingest: IngestNamespace;
  /** Applies new and changed packs (see `migrate` in `cryptopi-db`). */
  migrate(options?: MigrateOptions): Promise<MigrationReport>;
  status(options?: Omit<MigrateOptions, 'onProgress'>): Promise<PackStatus[]>;
  plan(options?: Omit<MigrateOptions, 'onProgress'>): Promise<PackStatus[]>;
  verify(options?: Omit<MigrateOptions, 'onProgress'>): Promise<PackStatus[]>;
  /**
   * Runs `fn` in one transaction (a savepoint when already inside one) with a client of the same
   * shape bound to it; commits when `fn` resolves, rolls back when it throws.
   */
  transaction<T>(fn: (tx: ClientScope) => Promise<T>): Promise<T>;
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
    matrices: bindModule(matrices, sql),
    ingest: { ...bindModule(ingest, sql), runLoad: (input, fn) => ingest.runLoad(sql, input, fn) },
    migrate: (o) => migrate(sql, { ...defaults, ...o }),
    status: (o) => status(sql, { ...defaults, ...o }),
    plan: (o) => plan(sql, { ...defaults, ...o }),
    verify: (o) => verify(sql, { ...defaults, ...o }),
    transaction: (fn) => inTransaction(sql, (tx) => fn(scope(tx, options))),
  };
}

/**
 * Creates a client on a new pool (`{ url }`) or on your postgres.js instance (`{ sql }`).
 * @example
 * ```ts
 * const db = createClient({ url: process.env.DATABASE_URL! });
 * await db.migrate();
 * await db.close();
 * ```
 */
export function createClient(
  connection: { url: string } | { sql: Sql },
  options: ClientOptions = {},
): Client {
  const owned = 'url' in connection;
  const logger = options.logger;
  const sql: Sql = owned
    ? postgres(connection.url, {
        onnotice: noticesTo(logger),
        ...options.postgres,
      })
    : connection.sql;
  return {
    ...scope(sql, options),
    sql,
    close: async () => {
      if (owned) await sql.end({ timeout: 5 });
    },
  };
}
