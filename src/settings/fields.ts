/**
 * Input fields several settings concepts share, written once. Internal: not re-exported by the
 * module's index (the client binds every lower-camel function the index exports).
 */
import { z } from 'zod';
import { text } from '../core/codecs.js';

/** A settings.windows label: a letter or digit, then up to 31 letters, digits, `_` or `-` ('15m', 'two-hours'). */
export const windowLabel = text().regex(
  /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/,
  'expected a window label such as 15m (a letter or digit, then up to 31 letters, digits, _ or -)',
);

/** A provider or exchange name: lower-case, 2–32 characters ('binance'). */
export const provider = text().regex(
  /^[a-z][a-z0-9_]{1,31}$/,
  'expected a lower-case name such as binance (2 to 32 letters, digits or _)',
);

/** An email address (one @, no spaces), at most 254 characters; compared case-insensitively. */
export const email = text({ max: 254 }).regex(/^[^@\s]+@[^@\s]+$/, 'expected an email address');

/** A sha256 fingerprint in lower-case hex. */
export const fingerprint = text().regex(
  /^[0-9a-f]{64}$/,
  'expected a sha256 fingerprint (64 lower-case hex digits)',
);

/** A PostgreSQL `integer` that must be at least `min`. */
export const intAtLeast = (min: number, max = 2_147_483_647) =>
  z
    .int({ error: 'expected an integer' })
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

/**
 * An input object: a plain object with only these keys. Its messages name the rule: 'expected an
 * object' (not zod's "Invalid input"), and 'unknown key: x' for a key the input does not have.
 */
export function inputObject<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        const keys = (issue as { keys?: string[] }).keys ?? [];
        return `unknown key${keys.length === 1 ? '' : 's'}: ${keys.join(', ')}`;
      }
      if (issue.code === 'invalid_type') return 'expected an object';
      return undefined;
    },
  });
}
