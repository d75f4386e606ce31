/**
 * The type policy, written once (docs/types.md explains it):
 * - `numeric` (money, quantities, balances) ⇄ exact decimal string, never a float;
 * - `double precision` (prices, analytics) ⇄ finite `number`;
 * - `timestamptz` ⇄ `Date` (inputs also accept epoch milliseconds and ISO-8601 strings with an offset);
 * - `bigint` ⇄ safe-integer `number` (beyond 2^53 is an error, never a rounding);
 * - `uuid` ⇄ string; `jsonb` objects ⇄ plain objects.
 * Row codecs accept what postgres.js (or a host's own type parsers) may hand back and normalize it.
 */
import { z } from 'zod';

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A `bigint` column as a safe-integer number (postgres.js returns int8 as a string). */
export const int8 = z.union([z.number(), z.string(), z.bigint()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n) || (typeof v === 'string' && !/^-?\d+$/.test(v))) {
    ctx.addIssue({ code: 'custom', message: `expected a safe integer, got ${String(v).slice(0, 40)}` });
    return z.NEVER;
  }
  return n;
});

/** A `numeric` column as an exact decimal string. */
export const decimal = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = typeof v === 'number' ? String(v) : v;
  if (!DECIMAL.test(s)) {
    ctx.addIssue({ code: 'custom', message: `expected a decimal, got ${s.slice(0, 40)}` });
    return z.NEVER;
  }
  return s;
});

/** Input for a `numeric` column: a decimal string ('12.50') or a finite number, sent as text. */
export const decimalInput = z.union([
  z.string().regex(DECIMAL, 'expected a decimal string such as "12.50"'),
  z.number().transform((n) => String(n)),
]);

/** A `double precision` column: a finite number. */
export const float8 = z.number();

/** A `timestamptz` column as a Date. */
export const timestamptz = z.union([z.date(), z.string()]).transform((v, ctx) => {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) {
    ctx.addIssue({ code: 'custom', message: 'expected a timestamp' });
    return z.NEVER;
  }
  return d;
});

/** A fraction of a second with a non-zero digit after the milliseconds (`.0005`, `.123456`). */
const SUB_MILLISECOND = /\.\d{3}\d*[1-9]/;

/**
 * Input instant: a Date, epoch milliseconds, or an ISO-8601 string with an offset; becomes a Date once.
 * A string with a non-zero digit below the millisecond is refused: a Date would cut it off silently,
 * and two instants could become one.
 */
export const instant = z
  .union([
    z.date(),
    z.number().int(),
    z.iso
      .datetime({ offset: true })
      .refine((s) => !SUB_MILLISECOND.test(s), { error: 'expected an instant in whole milliseconds' }),
  ])
  .transform((v, ctx) => {
    const d = v instanceof Date ? v : new Date(v);
    if (Number.isNaN(d.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'expected a valid instant' });
      return z.NEVER;
    }
    return d;
  });

/** A uuid column (any RFC-4122-shaped id). */
export const uuid = z.guid();

/** A `jsonb` object column. */
export const jsonObject = z.record(z.string(), z.unknown());

/** Upper-case exchange symbol such as `BTCUSDT`. */
export const symbol = z.string().regex(/^[A-Z0-9]{2,30}$/, 'expected an upper-case symbol such as BTCUSDT');

/** Upper-case asset code such as `BTC`. */
export const assetCode = z
  .string()
  .regex(/^[A-Z0-9]{1,20}$/, 'expected an upper-case asset code such as BTC');
