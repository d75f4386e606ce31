/**
 * Errors of the credential functions, rebuilt without their cause: postgres.js attaches the query's
 * parameters (here: api key, secret, encryption key) to its error, so that error must not travel on.
 * Pure helpers: not re-exported by the module's index.
 */
import {
  AuthError,
  ConflictError,
  ConnectionError,
  CryptopiError,
  IntegrityError,
  NotFoundError,
  ValidationError,
} from '../core/errors.js';
import { isPgError, mapPgError, type NotFoundContext } from '../core/run.js';

/** The message `settings.sp_get_wallet_credentials` raises (42501) when the key does not open the credentials. */
const DECRYPTION_FAILED = 'decryption failed';

/**
 * Maps an error as `run` would, then drops every reference to the driver error (and its parameters).
 * A failed decryption becomes a ValidationError on `encryptionKey` that says so.
 */
export function withoutSecrets(operation: string, e: unknown, notFound?: NotFoundContext): Error {
  if (isPgError(e) && e.code === '42501' && e.message.startsWith(DECRYPTION_FAILED)) {
    return new ValidationError(
      operation,
      [
        {
          path: ['encryptionKey'],
          message: 'decryption failed: this key does not open the stored credentials',
        },
      ],
      { facts: { sqlstate: e.code } },
    );
  }
  const mapped = mapPgError(operation, e, notFound);
  if (mapped instanceof ValidationError) {
    return new ValidationError(operation, mapped.issues, {
      facts: { sqlstate: mapped.sqlstate, constraint: mapped.constraint },
    });
  }
  if (mapped instanceof NotFoundError) {
    return new NotFoundError(
      operation,
      mapped.entity,
      { ...mapped.key },
      { facts: { sqlstate: mapped.sqlstate } },
    );
  }
  if (mapped instanceof AuthError) return new AuthError(operation, mapped.reason);
  if (mapped instanceof ConflictError) {
    return new ConflictError(operation, {
      sqlstate: mapped.sqlstate,
      constraint: mapped.constraint,
      table: mapped.table,
      columns: mapped.columns,
    });
  }
  if (mapped instanceof ConnectionError) {
    return new ConnectionError(operation, mapped.reason, {
      driverCode: mapped.driverCode,
      afterCommit: mapped.afterCommit,
    });
  }
  if (mapped instanceof IntegrityError) {
    return new IntegrityError(mapped.source, mapped.issues, { facts: { sqlstate: mapped.sqlstate } });
  }
  if (mapped instanceof CryptopiError) {
    // the driver error (its cause) carries the query's parameters: never passed on
    return new CryptopiError(mapped.code, mapped.message, { retryable: mapped.retryable });
  }
  const sqlstate = isPgError(e) ? e.code : undefined;
  return new CryptopiError('database', `${operation}: failed${sqlstate ? ` (${sqlstate})` : ''}`);
}
