/**
 * cryptopi-db: the CryptoPi database as a typed SDK.
 * @packageDocumentation
 */
export {
  type Bound,
  type Client,
  type ClientOptions,
  type ClientScope,
  createClient,
  type IngestNamespace,
  type IsolationLevel,
  type MeaNamespace,
  type SettingsFns,
  type SettingsNamespace,
  type TransactionOptions,
} from './client.js';
export { type JsonObject, type JsonValue, MAX_INSTANT_MS, MIN_INSTANT_MS } from './core/codecs.js';
export {
  AuthError,
  type AuthReason,
  ConflictError,
  ConnectionError,
  type ConnectionReason,
  CryptopiError,
  IntegrityError,
  type Issue,
  MigrationError,
  type MigrationFailure,
  NotFoundError,
  type PackOutcome,
  type PackResult,
  type PgFacts,
  isCryptopiError,
  ValidationError,
} from './core/errors.js';
export type { Logger, Queryable, Sql } from './core/queryable.js';
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
