import type postgres from 'postgres';

/**
 * Anything a module function can run SQL on: a postgres.js `Sql` pool, a `TransactionSql` inside
 * `sql.begin` / `db.transaction`, or a reserved connection. (`TransactionSql` is not assignable to
 * `Sql` in postgres.js 3.4, so we name their shared part.)
 */
export type Queryable = postgres.ISql;

/** A postgres.js pool or reserved connection: what LISTEN and `begin` need. */
export type Sql = postgres.Sql;

/** Where the SDK sends what it has to say (PostgreSQL notices, migration progress). Never the console by default. */
export interface Logger {
  debug?(message: string, meta?: Record<string, unknown>): void;
  info?(message: string, meta?: Record<string, unknown>): void;
  warn?(message: string, meta?: Record<string, unknown>): void;
}

/** Runs `fn` atomically: in a new transaction on a pool, in a savepoint inside an open transaction. */
export async function inTransaction<T>(sql: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const s = sql as Partial<postgres.Sql & postgres.TransactionSql>;
  if (typeof s.begin === 'function') return (await s.begin((tx) => fn(tx))) as T;
  if (typeof s.savepoint === 'function') return (await s.savepoint((tx) => fn(tx))) as T;
  return fn(sql);
}

/** True when `sql` can LISTEN (a pool, not a transaction). */
export function canListen(sql: Queryable): sql is Sql {
  return typeof (sql as Partial<postgres.Sql>).listen === 'function';
}

/** A postgres.js `onnotice` that sends warnings to `logger.warn` and other notices to `logger.debug`. */
export function noticesTo(
  logger: Logger | undefined,
): (notice: { severity?: string; message?: string; code?: string }) => void {
  return (n) => {
    if (n.severity === 'WARNING') logger?.warn?.(`postgres warning: ${n.message}`, { code: n.code });
    else logger?.debug?.(`postgres notice: ${n.message}`, { code: n.code });
  };
}
