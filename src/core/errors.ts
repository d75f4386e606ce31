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

/** Base class of every error the SDK throws. `code` is stable and machine-readable. */
export class CryptopiError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad input: refused by zod before anything was sent, or by a database check. */
export class ValidationError extends CryptopiError {
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

/** What was looked for does not exist. */
export class NotFoundError extends CryptopiError {
  readonly operation: string;
  readonly key: string;
  /** Set when PostgreSQL raised it (P0002). */
  readonly sqlstate: string | undefined;
  readonly detail: string | undefined;
  readonly constraint: string | undefined;
  constructor(operation: string, key: string, options?: { cause?: unknown; facts?: PgFacts }) {
    super('not_found', `${operation}: not found: ${key}`, options);
    this.operation = operation;
    this.key = key;
    this.sqlstate = options?.facts?.sqlstate;
    this.detail = options?.facts?.detail;
    this.constraint = options?.facts?.constraint;
  }
}

/** A unique key is taken, or a serialization failure / deadlock: retry or pick another key. */
export class ConflictError extends CryptopiError {
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
    super('conflict', `${operation}: conflict (${facts.sqlstate}${on}${cols})`, options);
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
export type AuthReason = 'unknown' | 'expired' | 'revoked' | 'forbidden';

/** Authentication or authorization refused. */
export class AuthError extends CryptopiError {
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
    options?: { cause?: unknown },
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
