/**
 * Errors of the credential functions, rebuilt without their cause: postgres.js attaches the query's
 * parameters (here: api key, secret, encryption key) to its error, so that error must not travel on.
 * Pure helpers: not re-exported by the module's index.
 */
import { AuthError, ConflictError, CryptopiError, NotFoundError, ValidationError } from '../core/errors.js';
import { isPgError, mapPgError } from '../core/run.js';

/** Maps an error as `run` would, then drops every reference to the driver error (and its parameters). */
export function withoutSecrets(operation: string, e: unknown): Error {
  const mapped = mapPgError(operation, e);
  if (mapped instanceof ValidationError) {
    return new ValidationError(operation, mapped.issues, {
      facts: { sqlstate: mapped.sqlstate, constraint: mapped.constraint },
    });
  }
  if (mapped instanceof NotFoundError) return new NotFoundError(operation, mapped.entity, { ...mapped.key });
  if (mapped instanceof AuthError) return new AuthError(operation, mapped.reason);
  if (mapped instanceof ConflictError) {
    return new ConflictError(operation, {
      sqlstate: mapped.sqlstate,
      constraint: mapped.constraint,
      table: mapped.table,
      columns: mapped.columns,
    });
  }
  if (mapped instanceof CryptopiError) return mapped;
  const sqlstate = isPgError(e) ? e.code : undefined;
  return new CryptopiError('database', `${operation}: failed${sqlstate ? ` (${sqlstate})` : ''}`);
}
