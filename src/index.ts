/**
 * cryptopi-db: the CryptoPi database as a typed SDK.
 * @packageDocumentation
 */
export { type Bound, type Client, type ClientOptions, type ClientScope, createClient } from './client.js';
export * from './core/codecs.js';
export {
  AuthError,
  type AuthReason,
  ConflictError,
  CryptopiError,
  IntegrityError,
  type Issue,
  MigrationError,
  type MigrationFailure,
  NotFoundError,
  type PackOutcome,
  type PackResult,
  type PgFacts,
  ValidationError,
} from './core/errors.js';
export { inTransaction, type Logger, type Queryable, type Sql } from './core/queryable.js';
export { mapPgError, parseInput, parseMaybe, parseOne, parseRow, parseRows, run } from './core/run.js';
export {
  defaultPacksDir,
  LEDGER_SCHEMA,
  loadPacks,
  type MigrateOptions,
  type MigrationProgress,
  type MigrationReport,
  migrate,
  type Pack,
  type PackSelection,
  type PackStatus,
  plan,
  sdkVersion,
  type Step,
  status,
  verify,
} from './migrate/index.js';
