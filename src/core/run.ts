/**
 * The helpers every module function uses: validate input (`parseInput`), run SQL with PostgreSQL
 * errors mapped to the SDK's classes (`run`), and parse rows on the way out (`parseOne`, `parseRows`).
 */
import type { z } from 'zod';
import {
  AuthError,
  ConflictError,
  ConnectionError,
  CryptopiError,
  type Issue,
  IntegrityError,
  NotFoundError,
  type PgFacts,
  ValidationError,
} from './errors.js';

/** The fields of a postgres.js `PostgresError` that we read. */
interface PgErrorLike {
  name: string;
  code: string;
  message: string;
  detail?: string;
  constraint_name?: string;
  table_name?: string;
  column_name?: string;
  schema_name?: string;
  routine?: string;
}

/** True for an error PostgreSQL raised (postgres.js `PostgresError`). */
export function isPgError(e: unknown): e is PgErrorLike {
  return (
    e instanceof Error && e.name === 'PostgresError' && typeof (e as { code?: unknown }).code === 'string'
  );
}

function toIssues(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({
    path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
    message: i.message,
  }));
}

/**
 * Validates an input with its zod schema before any SQL is built.
 * @throws ValidationError listing every issue; nothing is sent
 */
export function parseInput<S extends z.ZodType>(operation: string, schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw new ValidationError(operation, toIssues(r.error));
  // zod reads any object's own keys: a Date or a Map passed where an input object belongs would
  // parse as {} (every field optional) and change nothing or write defaults. Refuse it.
  const odd = misreadObject(input, r.data);
  if (odd) throw new ValidationError(operation, [odd]);
  if (Array.isArray(input) && Array.isArray(r.data)) {
    for (let i = 0; i < input.length; i++) {
      const e = misreadObject(input[i], r.data[i]);
      if (e) throw new ValidationError(operation, [{ path: [i, ...e.path], message: e.message }]);
    }
  }
  return r.data;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** An issue when a class instance (Date, Map…) was read by zod as a plain input object. */
function misreadObject(input: unknown, output: unknown): Issue | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input) || isPlainObject(input))
    return undefined;
  if (output === null || typeof output !== 'object' || Array.isArray(output) || output === input)
    return undefined;
  if (!isPlainObject(output)) return undefined;
  return { path: [], message: 'expected a plain object' };
}

/** Column names from a PostgreSQL detail such as `Key (series_id, ts)=(…) already exists.` (values dropped). */
function keyColumns(detail: string | undefined): string[] {
  const m = detail && /^Key \(([^)]*)\)=/.exec(detail);
  return m?.[1] ? m[1].split(',').map((c) => c.trim().replace(/^"|"$/g, '')) : [];
}

function facts(e: PgErrorLike): PgFacts {
  return {
    sqlstate: e.code,
    detail: e.detail,
    constraint: e.constraint_name,
    table: e.table_name,
    column: e.column_name,
    schema: e.schema_name,
  };
}

/**
 * A data exception's message without the value PostgreSQL quotes (`invalid input syntax for type
 * uuid: "…"`, `value "…" is out of range`): it is the caller's data (a token, a secret), not a fact.
 * A message our own functions raise (RAISE … USING errcode) is written to be shown and is kept.
 */
function withoutValue(e: PgErrorLike): string {
  if (e.routine === 'exec_stmt_raise') return e.message;
  return e.message.replace(/^value ".*" is out of range/s, 'value is out of range').replace(/: ".*"$/s, '');
}

/** postgres.js / Node socket codes that mean the server could not be reached. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOENT',
]);
/** Codes that mean an open connection was lost. */
const LOST = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
]);
/** Codes that mean a deadline passed. */
const TIMEOUT = new Set(['CONNECT_TIMEOUT', 'ETIMEDOUT']);

/**
 * A driver or socket error (not one PostgreSQL raised) as a `ConnectionError`, or undefined when it
 * is not about the connection. Also PostgreSQL's own: class 08 (connection exception), 57P01–57P03
 * (the backend was terminated, the server is shutting down or starting).
 */
export function connectionErrorOf(operation: string, e: unknown): ConnectionError | undefined {
  if (e instanceof ConnectionError) return e;
  if (!(e instanceof Error)) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (isPgError(e)) {
    if (code === '57P01' || code === '57P02' || code.startsWith('08'))
      return new ConnectionError(operation, 'lost', { cause: e, driverCode: code });
    if (code === '57P03')
      return new ConnectionError(operation, 'unreachable', { cause: e, driverCode: code });
    return undefined;
  }
  if (UNREACHABLE.has(code))
    return new ConnectionError(operation, 'unreachable', { cause: e, driverCode: code });
  if (LOST.has(code)) return new ConnectionError(operation, 'lost', { cause: e, driverCode: code });
  if (TIMEOUT.has(code)) return new ConnectionError(operation, 'timeout', { cause: e, driverCode: code });
  return undefined;
}

/** What a `NotFoundError` raised by PostgreSQL (P0002) is about, when the caller knows better than the server. */
export interface NotFoundContext {
  entity: string;
  key: Record<string, unknown>;
}

/** SQLSTATEs that say the database holds another schema than the SDK expects (a pack missing or changed). */
const DRIFT = new Set(['42P01', '42703', '42883', '3F000', '42704']);

/**
 * Maps an error to the SDK's classes: PostgreSQL errors by SQLSTATE (one table for the whole SDK:
 * callers branch on the class, the SQLSTATE stays on the error), connection loss to
 * `ConnectionError`. Any other PostgreSQL error becomes a plain `CryptopiError` (code `database`)
 * with the driver error as `cause`; an SDK error is returned as it is; anything else (a bug) too.
 */
export function mapPgError(operation: string, e: unknown, notFound?: NotFoundContext): unknown {
  const lost = connectionErrorOf(operation, e);
  if (lost) return lost;
  if (!isPgError(e)) return e;
  const f = facts(e);
  const code = e.code;
  const table = e.schema_name && e.table_name ? `${e.schema_name}.${e.table_name}` : e.table_name;
  switch (code) {
    case '23505':
    case '23P01':
      return new ConflictError(
        operation,
        {
          sqlstate: code,
          constraint: e.constraint_name,
          table,
          columns: keyColumns(e.detail),
          detail: e.detail,
        },
        { cause: e },
      );
    case '40001':
    case '40P01':
    case '55P03':
      return new ConflictError(operation, { sqlstate: code, table, detail: e.detail }, { cause: e });
    case '23503': {
      const cols = keyColumns(e.detail);
      const still = e.detail?.includes('still referenced');
      const message = still
        ? `is still referenced (${e.constraint_name ?? 'foreign key'})`
        : `refers to a row that does not exist (${e.constraint_name ?? 'foreign key'})`;
      return new ValidationError(operation, [{ path: cols, message }], { cause: e, facts: f });
    }
    case '23514':
      return new ValidationError(
        operation,
        [{ path: [], message: `violates check ${e.constraint_name ?? ''}`.trim() }],
        { cause: e, facts: f },
      );
    case '23502':
      return new ValidationError(
        operation,
        [{ path: e.column_name ? [e.column_name] : [], message: 'must not be null' }],
        { cause: e, facts: f },
      );
    case 'P0002': {
      // our functions raise P0002 naming the entity in the message; the key is the caller's
      const entity = notFound?.entity ?? (table ? singular(table) : 'row');
      return new NotFoundError(operation, entity, notFound?.key ?? {}, {
        cause: e,
        facts: f,
        ...(notFound ? {} : { message: e.message }),
      });
    }
    case '28000':
    case '28P01':
      return new AuthError(operation, 'unknown', { cause: e, facts: f });
    case '42501':
      return new AuthError(operation, 'forbidden', { cause: e, facts: f });
    case '57014':
      return new ConnectionError(operation, 'timeout', { cause: e, driverCode: code });
    default:
      // class 22 (data exception): a bad value reached the database (e.g. our functions' errcode 22023)
      if (code.startsWith('22')) {
        return new ValidationError(operation, [{ path: [], message: withoutValue(e) }], {
          cause: e,
          facts: f,
        });
      }
      if (DRIFT.has(code)) {
        return new IntegrityError(
          operation,
          [{ path: [], message: `the database does not hold what the SDK expects (${code}): run migrate()` }],
          { cause: e, facts: f },
        );
      }
      return new CryptopiError('database', `${operation}: database error ${code}`, {
        cause: e,
        retryable: code.startsWith('53'),
      });
  }
}

/** `wallet.accounts` → `wallet.account` (a NotFoundError names one row). */
function singular(table: string): string {
  return table.replace(/ies$/, 'y').replace(/(?<!s)s$/, '');
}

/**
 * Awaits a query, mapping errors to the SDK's classes (see `mapPgError`). `notFound` names what a
 * P0002 raised by the procedure is about (entity and the key the caller looked up).
 */
export async function run<T>(
  operation: string,
  query: PromiseLike<T>,
  notFound?: NotFoundContext,
): Promise<T> {
  try {
    return await query;
  } catch (e) {
    throw mapPgError(operation, e, notFound);
  }
}

function rowIssues(error: z.ZodError, row: unknown, index: number | undefined): Issue[] {
  return error.issues.map((i) => {
    const path = i.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const column = path[0];
    let value: unknown;
    if (row !== null && typeof row === 'object' && column !== undefined)
      value = (row as Record<string, unknown>)[column as string];
    let shown: string;
    try {
      shown = value instanceof Date ? value.toISOString() : (JSON.stringify(value) ?? String(value));
    } catch {
      shown = String(value);
    }
    const at = index === undefined ? '' : `row ${index}: `;
    return {
      path: index === undefined ? path : [index, ...path],
      message: `${at}${i.message} (value ${shown.slice(0, 60)})`,
    };
  });
}

/** Parses one row; a mismatch is an IntegrityError naming the column and the value. */
export function parseRow<S extends z.ZodType>(
  source: string,
  schema: S,
  row: unknown,
  index?: number,
): z.output<S> {
  const r = schema.safeParse(row);
  if (!r.success) throw new IntegrityError(source, rowIssues(r.error, row, index));
  return r.data;
}

/** Parses every row (schemas are defined once, at module scope). */
export function parseRows<S extends z.ZodType>(
  source: string,
  schema: S,
  rows: readonly unknown[],
): z.output<S>[] {
  const out = new Array<z.output<S>>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = parseRow(source, schema, rows[i], i);
  return out;
}

/** Parses the single row a procedure must return; none or several is an IntegrityError. */
export function parseOne<S extends z.ZodType>(
  source: string,
  schema: S,
  rows: readonly unknown[],
): z.output<S> {
  if (rows.length !== 1) {
    throw new IntegrityError(source, [{ path: [], message: `expected exactly one row, got ${rows.length}` }]);
  }
  return parseRow(source, schema, rows[0]);
}

/** Parses zero or one row: `null` when there is none. */
export function parseMaybe<S extends z.ZodType>(
  source: string,
  schema: S,
  rows: readonly unknown[],
): z.output<S> | null {
  if (rows.length === 0) return null;
  return parseOne(source, schema, rows);
}
