/**
 * What every cin_aux function shares: the amount input (exact decimal strings; a JS number only when
 * it is exactly what was written), the error mapping that names the field a procedure refused, and
 * the deadlock retry of single-statement calls on a pool.
 */
import { z } from 'zod';
import { decimalInput, text, uuid } from '../core/codecs.js';
import { ConflictError, ValidationError } from '../core/errors.js';
import type { Queryable } from '../core/queryable.js';
import { type NotFoundContext, run } from '../core/run.js';

/** Integer and fractional digits an amount may have: what numeric(38,18) holds (refused, never rounded). */
export const AMOUNT_LIMITS = { integerDigits: 20, fractionDigits: 18 } as const;

/** Significant digits a JS number may carry to be taken as an amount: every such decimal survives a double. */
export const EXACT_NUMBER_DIGITS = 15;

/** The digits of a decimal string's integer and fractional parts (exponent applied, zeros trimmed). */
function digitsOf(s: string): { integer: number; fraction: number; significant: number } {
  const m = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m) return { integer: Number.POSITIVE_INFINITY, fraction: Number.POSITIVE_INFINITY, significant: 0 };
  const intPart = m[1] ?? '';
  const fracPart = m[2] ?? '';
  const exp = Number(m[3] ?? '0');
  let digits = intPart + fracPart;
  let point = intPart.length + exp; // position of the decimal point in `digits`
  const lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead);
  point -= lead;
  digits = digits.replace(/0+$/, '');
  if (digits.length === 0) return { integer: 0, fraction: 0, significant: 0 };
  return {
    integer: Math.max(point, 0),
    fraction: Math.max(digits.length - point, 0),
    significant: digits.length,
  };
}

type Sign = 'any' | 'positive' | 'nonnegative';

/** A ledger amount input of the given sign (see `amount`): one issue per bad value, the first rule it breaks. */
function amountOf(sign: Sign) {
  return z
    .union([z.string(), z.number()], {
      error: 'expected a decimal string such as "12.50", or a finite number',
    })
    .transform((v, ctx) => {
      const fail = (message: string) => {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      };
      if (
        typeof v === 'number' &&
        Number.isFinite(v) &&
        digitsOf(String(v)).significant > EXACT_NUMBER_DIGITS
      )
        return fail(
          `a JS number with more than ${EXACT_NUMBER_DIGITS} significant digits may have lost digits: send a decimal string`,
        );
      const parsed = decimalInput.safeParse(v);
      if (!parsed.success) return fail(parsed.error.issues[0]?.message ?? 'expected a decimal string');
      const s = parsed.data;
      const d = digitsOf(s);
      if (d.integer > AMOUNT_LIMITS.integerDigits) return fail('must be below 10^20 in magnitude');
      if (d.fraction > AMOUNT_LIMITS.fractionDigits) return fail('must have at most 18 decimal places');
      if (sign === 'positive' && signOf(s) !== 1) return fail('must be positive');
      if (sign === 'nonnegative' && signOf(s) < 0) return fail('must not be negative');
      return s;
    });
}

/**
 * A ledger amount input: a decimal string (`'0.015'`, `'1e-8'`), or a JS number whose shortest form
 * has at most 15 significant digits (`1000`, `0.4`: every decimal of 15 digits or fewer survives a
 * double exactly, so the number is the one written). A number with more digits (`0.1 + 0.2`) may
 * already have lost some: it is refused, send a string. At most 20 integer and 18 fractional digits,
 * finite; sent to PostgreSQL as text (through the core `decimalInput`).
 */
export const amount = amountOf('any');

/** The sign of a decimal string: -1, 0 or 1 ('-0.00' is 0). */
export function signOf(value: string): -1 | 0 | 1 {
  const mantissa = value.split(/[eE]/)[0] ?? '';
  if (!/[1-9]/.test(mantissa)) return 0;
  return mantissa.startsWith('-') ? -1 : 1;
}

/** An amount that must be above zero. */
export const positiveAmount = amountOf('positive');
/** An amount that must not be below zero. */
export const nonNegativeAmount = amountOf('nonnegative');

/** A `settings.windows` label ('1h', 'two-hours'). */
export const windowLabel = text().regex(
  /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/,
  'expected a window label such as 15m (a letter or digit, then up to 31 letters, digits, _ or -)',
);

/** A session id. */
export const sessionId = uuid;
/** Free text keys (idempotency keys, trade ids). */
export const key = (max: number) => text({ min: 1, max });

/** The source named when an import's rows do not parse. */
export const MOVE_ROW_SOURCE = 'cin_aux.sp_import_moves_from_trades';

/** What a NotFoundError of this module is about. */
export const SESSION = 'cin_aux.session';

/** `trades[3].price` → ['trades', 3, 'price']. */
function pathOf(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of field.split('.')) {
    const m = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
    if (!m) return [field];
    out.push(m[1] as string);
    for (const i of (m[2] ?? '').matchAll(/\[(\d+)\]/g)) out.push(Number(i[1]));
  }
  return out;
}

/**
 * A ValidationError raised by one of our procedures as `<field>: <rule>` (SQLSTATE 22023) with the
 * field as the issue's path; any other error unchanged.
 */
function withField(op: string, e: unknown): unknown {
  if (!(e instanceof ValidationError) || e.sqlstate !== '22023') return e;
  const m = /^([A-Za-z][\w.[\]]*): (.+)$/s.exec(e.issues[0]?.message ?? '');
  if (!m) return e;
  return new ValidationError(op, [{ path: pathOf(m[1] as string), message: m[2] as string }], {
    cause: e.cause,
    facts: { sqlstate: e.sqlstate, detail: e.detail, constraint: e.constraint },
  });
}

/** True for a pool (not a transaction): a failed single-statement call on it rolled back whole. */
function isPool(sql: Queryable): boolean {
  return typeof (sql as { begin?: unknown }).begin === 'function';
}

/** How often a single-statement call on a pool is retried after a deadlock or serialization failure. */
export const DEADLOCK_RETRIES = 5;

/**
 * Runs a single-statement call, mapping errors (`run`) and naming the refused field. On a pool, a
 * deadlock or serialization failure (40P01, 40001) is retried up to `DEADLOCK_RETRIES` times: the
 * statement rolled back whole, so running it again is safe. Inside a transaction it is thrown
 * (`retryable`): the caller's transaction must be run again.
 */
export async function ledgerRun<T>(
  op: string,
  sql: Queryable,
  query: () => PromiseLike<T>,
  notFound?: NotFoundContext,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run(op, query(), notFound);
    } catch (e) {
      if (
        e instanceof ConflictError &&
        (e.sqlstate === '40P01' || e.sqlstate === '40001') &&
        isPool(sql) &&
        attempt < DEADLOCK_RETRIES
      ) {
        await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 8 * (attempt + 1)));
        continue;
      }
      throw withField(op, e);
    }
  }
}
