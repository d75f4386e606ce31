/**
 * The type policy, written once (docs/types.md explains it); every module uses these codecs and
 * never re-invents one:
 * - text ⇄ string without NUL or lone surrogates (`text()`);
 * - `numeric` (money, quantities, balances) ⇄ exact decimal string, never a float;
 * - `double precision` (prices, analytics) ⇄ finite `number`; -0 is sent as 0 on every path;
 * - `timestamptz` ⇄ `Date`: inputs are Dates, epoch milliseconds or ISO-8601 strings with an offset,
 *   in whole milliseconds, years 1–9999; rows carry epoch milliseconds (`util.epoch_ms(col)` in SQL),
 *   so what is read back is exact whatever the session TimeZone or the host's type parsers;
 * - `bigint` ⇄ safe-integer `number` (beyond 2^53 is an error, never a rounding);
 * - `uuid` ⇄ string; `jsonb` ⇄ JSON values only (`json`, `jsonObject`), bounded depth and size.
 * Row codecs accept what postgres.js (or a host's own type parsers) may hand back and normalize it.
 */
import { z } from 'zod';

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

// ---------------------------------------------------------------------------------------------- text

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored as PostgreSQL text, or undefined when it can. */
export function textProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain NUL (U+0000)';
  if (LONE_SURROGATE.test(s)) return 'must not contain a lone surrogate (ill-formed UTF-16)';
  return undefined;
}

/**
 * A text input: a string PostgreSQL stores exactly (no NUL, no lone surrogate: the server refuses
 * the one and the driver turns the other into U+FFFD, merging distinct keys), `min`–`max` characters.
 */
export function text(options: { min?: number; max?: number } = {}) {
  let s = z.string();
  if (options.min !== undefined)
    s = s.min(options.min, `must be at least ${options.min} character${options.min === 1 ? '' : 's'}`);
  if (options.max !== undefined) s = s.max(options.max, `must be at most ${options.max} characters`);
  return s.superRefine((v, ctx) => {
    const problem = textProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

// ------------------------------------------------------------------------------------------ numbers

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
  z
    .string()
    .max(1000, 'must be at most 1000 characters')
    .regex(DECIMAL, 'expected a decimal string such as "12.50"'),
  z
    .number()
    .refine(Number.isFinite, 'expected a finite number')
    .transform((n) => String(Object.is(n, -0) ? 0 : n)),
]);

/** A `double precision` column: a finite number. */
export const float8 = z.number();

/** Input for a `double precision` column: a finite number; -0 becomes 0 (one rule for every write path). */
export const float8Input = z
  .number({ error: 'expected a finite number' })
  .refine(Number.isFinite, 'expected a finite number')
  .transform((n) => (n === 0 ? 0 : n));

// ----------------------------------------------------------------------------------------- instants

/** The first instant every module accepts: 0001-01-01T00:00:00.000Z. */
export const MIN_INSTANT_MS = -62_135_596_800_000;
/** The last instant every module accepts: 9999-12-31T23:59:59.999Z. */
export const MAX_INSTANT_MS = 253_402_300_799_999;

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;
const ISO_NO_OFFSET = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/;

/**
 * Epoch milliseconds of an ISO-8601 instant with an offset, or a sentence saying what is wrong. Exact
 * for years 1–9999 (`new Date(text)` reads years below 100 as 19xx and accepts 30 February).
 */
export function parseIsoInstant(s: string): number | string {
  const m = ISO_INSTANT.exec(s);
  if (!m) {
    if (ISO_NO_OFFSET.test(s))
      return 'needs an offset (Z or ±hh:mm): a time without one means different instants on different servers';
    return 'expected an ISO-8601 instant with an offset, such as 2025-01-01T00:00:00Z';
  }
  const [, y, mo, d, h, mi, sec = '0', frac = '', z, sign, oh = '0', om = '0'] = m;
  if (frac.length > 3 && /[1-9]/.test(frac.slice(3))) return 'expected an instant in whole milliseconds';
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(sec);
  const offH = Number(oh);
  const offM = Number(om);
  const days = new Date(Date.UTC(2000, month, 0)).getUTCDate(); // days in `month` (leap year checked below)
  const leap = month === 2 && day === 29 && !((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1 || day > days || leap || hour > 23 || minute > 59 || second > 59)
    return 'is not a calendar date and time';
  if (offH > 15 || offM > 59) return 'has an offset out of range';
  const ms = Number(frac.slice(0, 3).padEnd(3, '0'));
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, ms);
  const offset = z ? 0 : (sign === '-' ? -1 : 1) * (offH * 60 + offM) * 60_000;
  return local.getTime() - offset;
}

function instantIssue(ms: number): string | undefined {
  if (!Number.isFinite(ms)) return 'expected a valid instant';
  if (!Number.isInteger(ms)) return 'expected an instant in whole milliseconds';
  if (ms < MIN_INSTANT_MS || ms > MAX_INSTANT_MS) return 'must be between years 1 and 9999';
  return undefined;
}

/**
 * Input instant: a Date, epoch milliseconds, or an ISO-8601 string with an offset; becomes a Date
 * once. Years 1–9999, whole milliseconds (a string with a digit below the millisecond is refused: a
 * Date would cut it off silently, and two instants could become one).
 */
export const instant = z
  .union([z.instanceof(Date), z.number(), z.string()], {
    error: 'expected a Date, epoch milliseconds or an ISO-8601 string with an offset',
  })
  .transform((v, ctx) => {
    let ms: number;
    if (v instanceof Date) ms = v.getTime();
    else if (typeof v === 'number') ms = v;
    else {
      const parsed = parseIsoInstant(v);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: parsed });
        return z.NEVER;
      }
      ms = parsed;
    }
    const issue = instantIssue(ms);
    if (issue) {
      ctx.addIssue({ code: 'custom', message: issue });
      return z.NEVER;
    }
    return new Date(ms);
  });

/**
 * A `timestamptz` column as a Date. Rows carry it as epoch milliseconds (`util.epoch_ms(col)`), a
 * bigint: exact for every year, whatever the session TimeZone (local mean time offsets with seconds)
 * and the host's parsers.
 */
export const timestamptz = z.union([z.string(), z.number(), z.bigint()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : /^-?\d+$/.test(String(v)) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected epoch milliseconds (select util.epoch_ms(col))' });
    return z.NEVER;
  }
  return new Date(ms);
});

// --------------------------------------------------------------------------------------------- keys

/** A uuid column (any RFC-4122-shaped id). */
export const uuid = z.guid({ error: 'not a uuid' });

/** Upper-case exchange symbol such as `BTCUSDT`. */
export const symbol = z.string().regex(/^[A-Z0-9]{2,30}$/, 'expected an upper-case symbol such as BTCUSDT');

/** Upper-case asset code such as `BTC`. */
export const assetCode = z
  .string()
  .regex(/^[A-Z0-9]{1,20}$/, 'expected an upper-case asset code such as BTC');

/**
 * A record input (`{ BTC: '40000' }`) whose keys and values are checked. Unlike a bare `z.record`,
 * an own `"__proto__"` key is refused (zod skips it: it would vanish without an error).
 */
export function recordOf<K extends z.core.$ZodRecordKey, V extends z.ZodType>(key: K, value: V) {
  return z
    .custom<unknown>(
      (v) => !(v !== null && typeof v === 'object' && Object.hasOwn(v, '__proto__')),
      'unknown key: __proto__',
    )
    .pipe(z.record(key, value));
}

// --------------------------------------------------------------------------------------------- JSON

/** A JSON value: what `jsonb` stores and gives back. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** How deep a JSON input may nest, and how long its text may be. */
export const JSON_LIMITS = { depth: 64, chars: 1_000_000 } as const;

interface JsonProblem {
  path: (string | number)[];
  message: string;
}

/**
 * The first reason `value` is not a JSON value jsonb stores exactly, or undefined. Refused: undefined,
 * functions, symbols, BigInt, NaN/±Infinity, class instances (Date, Map, Buffer…), cycles, nesting
 * deeper than `JSON_LIMITS.depth`, text longer than `JSON_LIMITS.chars`, strings or keys with NUL or
 * a lone surrogate. Keys such as `"__proto__"` are kept (the value is never rebuilt).
 */
export function jsonProblem(value: unknown): JsonProblem | undefined {
  let chars = 0;
  const ancestors = new Set<object>();
  const path: (string | number)[] = [];
  const fail = (message: string): JsonProblem => ({ path: [...path], message });
  const walk = (v: unknown, depth: number): JsonProblem | undefined => {
    if (chars > JSON_LIMITS.chars) return fail(`is longer than ${JSON_LIMITS.chars} characters as JSON`);
    switch (typeof v) {
      case 'string': {
        chars += v.length + 2;
        if (chars > JSON_LIMITS.chars) return fail(`is longer than ${JSON_LIMITS.chars} characters as JSON`);
        const p = textProblem(v);
        return p ? fail(p) : undefined;
      }
      case 'number':
        chars += 8;
        return Number.isFinite(v) ? undefined : fail('must be a finite number (JSON has no NaN or Infinity)');
      case 'boolean':
        chars += 5;
        return undefined;
      case 'undefined':
        return fail('must not be undefined (JSON has no undefined)');
      case 'bigint':
        return fail('must not be a BigInt (send it as a string)');
      case 'function':
      case 'symbol':
        return fail(`must not be a ${typeof v}`);
    }
    if (v === null) {
      chars += 4;
      return undefined;
    }
    const o = v as object;
    if (depth >= JSON_LIMITS.depth) return fail(`nests deeper than ${JSON_LIMITS.depth} levels`);
    if (ancestors.has(o)) return fail('is circular (contains itself)');
    const isArray = Array.isArray(o);
    const proto = Object.getPrototypeOf(o);
    if (!isArray && proto !== Object.prototype && proto !== null)
      return fail('must be a plain object, array or primitive (send a Date as an ISO string)');
    ancestors.add(o);
    try {
      if (isArray) {
        const a = o as unknown[];
        chars += 2;
        for (let i = 0; i < a.length; i++) {
          path.push(i);
          const r = i in a ? walk(a[i], depth + 1) : fail('must not be a hole (sparse array)');
          if (r) return r;
          path.pop();
        }
        return undefined;
      }
      if (Object.getOwnPropertySymbols(o).length > 0) return fail('must not have symbol keys');
      chars += 2;
      for (const key of Object.keys(o)) {
        path.push(key);
        const kp = textProblem(key);
        if (kp) return fail(`key ${kp}`);
        chars += key.length + 3;
        const r = walk((o as Record<string, unknown>)[key], depth + 1);
        if (r) return r;
        path.pop();
      }
      return undefined;
    } finally {
      ancestors.delete(o);
    }
  };
  return walk(value, 0);
}

/** A JSON value input (any JSON type), checked in place and passed on unchanged. */
export const json = z.custom<JsonValue>().superRefine((v, ctx) => {
  const p = jsonProblem(v);
  if (p) ctx.addIssue({ code: 'custom', message: p.message, path: p.path });
});

/** A JSON object input (`{ … }`), checked in place and passed on unchanged. */
export const jsonObject = z.custom<JsonObject>().superRefine((v, ctx) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    ctx.addIssue({ code: 'custom', message: 'expected a JSON object' });
    return;
  }
  const p = jsonProblem(v);
  if (p) ctx.addIssue({ code: 'custom', message: p.message, path: p.path });
});

/** A `jsonb` column read back as it is (postgres.js parses it; never rebuilt, so `"__proto__"` keys stay). */
export const jsonRow = z.custom<JsonValue>((v) => v !== undefined, 'expected a JSON value');

/** A `jsonb` object column read back as it is. */
export const jsonObjectRow = z.custom<JsonObject>(
  (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  'expected a JSON object',
);
