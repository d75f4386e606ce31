/**
 * The one error hierarchy of cryptopi-db. A class per thing the caller does next (fix the input,
 * retry, look elsewhere, upgrade), not per SQLSTATE. Errors carry facts (operation, constraint,
 * columns, SQLSTATE), never row values, parameters or secrets; the driver error stays as `cause`.
 */

/** One problem found in an input or a row: where (`path`) and what (`message`). */
export interface Issue {
  path: (string | number)[];
  message: string;
}

/** Facts kept from a PostgreSQL error (postgres.js `PostgresError`). */
export interface PgFacts {
  sqlstate?: string | undefined;
  detail?: string | undefined;
  constraint?: string | undefined;
  table?: string | undefined;
  column?: string | undefined;
  schema?: string | undefined;
}

/** The brand every SDK error carries: the kinds (class names) it is, shared by the ESM and CJS builds. */
const KINDS: unique symbol = Symbol.for('cryptopi-db.error.kinds');

function kindsOf(v: unknown): readonly string[] | undefined {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return undefined;
  const k = (v as { [KINDS]?: unknown })[KINDS];
  return Array.isArray(k) ? (k as string[]) : undefined;
}

/**
 * Base class of every error the SDK throws. `code` is stable and machine-readable; `retryable` says
 * whether the same call can succeed when tried again (connection loss, serialization failure,
 * deadlock). `instanceof` holds across copies of the SDK (an ESM and a CJS build loaded in one
 * process): each class matches by a registered brand, not by identity.
 */
export class CryptopiError extends Error {
  /** The class name this error is matched by (`instanceof`), stable across builds and bundlers. */
  static readonly kind: string = 'CryptopiError';
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const kinds: string[] = [];
    for (let c: unknown = new.target; c && c !== Error; c = Object.getPrototypeOf(c)) {
      const kind = (c as { kind?: unknown }).kind;
      if (typeof kind === 'string' && Object.hasOwn(c as object, 'kind')) kinds.push(kind);
    }
    Object.defineProperty(this, KINDS, { value: Object.freeze(kinds), enumerable: false });
    this.name = kinds[0] ?? 'CryptopiError';
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }

  /** `e instanceof ValidationError` holds for a ValidationError of any copy of the SDK. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass `instanceof` was asked about
    return kindsOf(value)?.includes(this.kind) ?? false;
  }
}

/** True for any error the SDK threw (of any copy of it: ESM, CJS, bundled). */
export function isCryptopiError(e: unknown): e is CryptopiError {
  return kindsOf(e)?.includes('CryptopiError') ?? false;
}

/** Bad input: refused by zod before anything was sent, or by a database check. */
export class ValidationError extends CryptopiError {
  static override readonly kind: string = 'ValidationError';
  readonly operation: string;
  readonly issues: Issue[];
  readonly sqlstate: string | undefined;
  readonly constraint: string | undefined;
  /** PostgreSQL's detail, when the database refused (it may name key values: not part of the message). */
  readonly detail: string | undefined;
  constructor(operation: string, issues: Issue[], options?: { cause?: unknown; facts?: PgFacts }) {
    const first = issues[0];
    const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
    const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : '';
    super(
      'validation',
      `${operation}: invalid input: ${where}${first?.message ?? 'refused'}${more}`,
      options,
    );
    this.operation = operation;
    this.issues = issues;
    this.sqlstate = options?.facts?.sqlstate;
    this.constraint = options?.facts?.constraint;
    this.detail = options?.facts?.detail;
  }
}

/** What was looked for does not exist: `entity` names the kind of row, `key` the values it was looked up by. */
export class NotFoundError extends CryptopiError {
  static override readonly kind: string = 'NotFoundError';
  readonly operation: string;
  /** The kind of row, as `schema.table` singular (`'wallet.account'`, `'settings.window'`). */
  readonly entity: string;
  /** What it was looked up by (`{ id }`, `{ label }`): data, never part of the message. */
  readonly key: Readonly<Record<string, unknown>>;
  /** Set when PostgreSQL raised it (P0002). */
  readonly sqlstate: string | undefined;
  readonly detail: string | undefined;
  readonly constraint: string | undefined;
  constructor(
    operation: string,
    entity: string,
    key: Record<string, unknown> = {},
    options?: { cause?: unknown; facts?: PgFacts; message?: string },
  ) {
    const by = Object.keys(key);
    const what = options?.message ?? `${entity} not found${by.length > 0 ? ` (by ${by.join(', ')})` : ''}`;
    super('not_found', `${operation}: ${what}`, options);
    this.operation = operation;
    this.entity = entity;
    this.key = Object.freeze({ ...key });
    this.sqlstate = options?.facts?.sqlstate;
    this.detail = options?.facts?.detail;
    this.constraint = options?.facts?.constraint;
  }
}

/** SQLSTATEs after which the same transaction, run again, can succeed. */
const RETRYABLE_CONFLICTS = new Set(['40001', '40P01', '55P03']);

/**
 * A unique key is taken (pick another key), or a serialization failure, deadlock or lock timeout
 * (`retryable`: run the transaction again).
 */
export class ConflictError extends CryptopiError {
  static override readonly kind: string = 'ConflictError';
  readonly operation: string;
  readonly sqlstate: string;
  readonly constraint: string | undefined;
  readonly table: string | undefined;
  readonly columns: string[];
  readonly detail: string | undefined;
  constructor(
    operation: string,
    facts: {
      sqlstate: string;
      constraint?: string | undefined;
      table?: string | undefined;
      columns?: string[];
      detail?: string | undefined;
    },
    options?: { cause?: unknown },
  ) {
    const on = facts.constraint ? ` on ${facts.constraint}` : '';
    const cols = facts.columns && facts.columns.length > 0 ? ` (${facts.columns.join(', ')})` : '';
    super('conflict', `${operation}: conflict (${facts.sqlstate}${on}${cols})`, {
      ...options,
      retryable: RETRYABLE_CONFLICTS.has(facts.sqlstate),
    });
    this.operation = operation;
    this.sqlstate = facts.sqlstate;
    this.constraint = facts.constraint;
    this.table = facts.table;
    this.columns = facts.columns ?? [];
    this.detail = facts.detail;
  }
}

/** A row read from the database no longer matches its schema (the schema drifted), or a value cannot be represented. */
export class IntegrityError extends CryptopiError {
  static override readonly kind: string = 'IntegrityError';
  readonly source: string;
  readonly issues: Issue[];
  readonly sqlstate: string | undefined;
  readonly constraint: string | undefined;
  constructor(source: string, issues: Issue[], options?: { cause?: unknown; facts?: PgFacts }) {
    const first = issues[0];
    const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
    super(
      'integrity',
      `${source}: row does not match its schema: ${where}${first?.message ?? 'mismatch'}`,
      options,
    );
    this.source = source;
    this.issues = issues;
    this.sqlstate = options?.facts?.sqlstate;
    this.constraint = options?.facts?.constraint;
  }
}

/** Why an `AuthError` was raised. */
export type AuthReason = 'unknown' | 'expired' | 'revoked' | 'forbidden' | 'rate-limited';

/** Authentication or authorization refused. */
export class AuthError extends CryptopiError {
  static override readonly kind: string = 'AuthError';
  readonly operation: string;
  readonly reason: AuthReason;
  /** Set when PostgreSQL raised it (28000, 28P01, 42501). */
  readonly sqlstate: string | undefined;
  readonly detail: string | undefined;
  readonly constraint: string | undefined;
  constructor(operation: string, reason: AuthReason, options?: { cause?: unknown; facts?: PgFacts }) {
    super('auth', `${operation}: ${reason}`, options);
    this.operation = operation;
    this.reason = reason;
    this.sqlstate = options?.facts?.sqlstate;
    this.detail = options?.facts?.detail;
    this.constraint = options?.facts?.constraint;
  }
}

/** What happened to one pack (or one-off step) in a migration run. */
export type PackOutcome = 'applied' | 'unchanged' | 'failed' | 'not-run';

/** One line of a migration report. */
export interface PackResult {
  name: string;
  kind: 'pack' | 'step';
  outcome: PackOutcome;
  /** Set for an applied pack: `new` (first time) or `changed` (checksum differed, re-applied). */
  reason?: 'new' | 'changed';
  durationMs: number;
}

/** Where in a pack a migration failed. */
export interface MigrationFailure {
  pack: string;
  /** 1-based index of the failing statement in the pack. */
  statement: number | undefined;
  line: number | undefined;
  column: number | undefined;
  sqlstate: string | undefined;
  snippet: string | undefined;
}

/** A pack or step failed (or the database drifted from the shipped DDL). `results` has one entry per pack. */
export class MigrationError extends CryptopiError {
  static override readonly kind: string = 'MigrationError';
  readonly pack: string;
  readonly statement: number | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly sqlstate: string | undefined;
  readonly snippet: string | undefined;
  readonly results: PackResult[];
  constructor(
    message: string,
    failure: MigrationFailure,
    results: PackResult[],
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super('migration', message, options);
    this.pack = failure.pack;
    this.statement = failure.statement;
    this.line = failure.line;
    this.column = failure.column;
    this.sqlstate = failure.sqlstate;
    this.snippet = failure.snippet;
    this.results = results;
  }
}

/** Why a `ConnectionError` was raised. */
export type ConnectionReason = 'unreachable' | 'lost' | 'timeout';

/**
 * The server could not be reached, the connection was lost, or a connect / statement deadline
 * passed. Always `retryable`; whether anything was written depends on the phase: a batch the SDK
 * runs in one transaction was rolled back unless the error says `afterCommit`.
 */
export class ConnectionError extends CryptopiError {
  static override readonly kind: string = 'ConnectionError';
  readonly operation: string;
  readonly reason: ConnectionReason;
  /** The driver's code (`CONNECTION_CLOSED`, `ECONNREFUSED`, `CONNECT_TIMEOUT`…) or SQLSTATE (57P01…). */
  readonly driverCode: string | undefined;
  /** True when the loss came after COMMIT was sent: the transaction may or may not have committed. */
  readonly afterCommit: boolean;
  constructor(
    operation: string,
    reason: ConnectionReason,
    options?: { cause?: unknown; driverCode?: string | undefined; afterCommit?: boolean },
  ) {
    const words =
      reason === 'unreachable'
        ? 'server unreachable'
        : reason === 'timeout'
          ? 'timed out'
          : 'connection lost';
    const code = options?.driverCode ? ` (${options.driverCode})` : '';
    super('connection', `${operation}: ${words}${code}`, { cause: options?.cause, retryable: true });
    this.operation = operation;
    this.reason = reason;
    this.driverCode = options?.driverCode;
    this.afterCommit = options?.afterCommit ?? false;
  }
}
