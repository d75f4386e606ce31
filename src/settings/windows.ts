/**
 * settings.windows: labelled spans ('30s', '15m', '4h', '1d', or any label with an amount and a unit).
 * Every other schema that speaks of a window references this table.
 */
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import { int8, timestamptz } from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseOne, parseRows, run } from '../core/run.js';
import { inputObject, intAtLeast, windowLabel } from './fields.js';

/** The units a window is counted in. */
export const WindowUnit = z.enum(['second', 'minute', 'hour', 'day'], {
  error: 'expected second, minute, hour or day',
});
export type WindowUnit = z.output<typeof WindowUnit>;

/** A row of `settings.windows`, as the SDK returns it. */
export const WindowRow = z.object({
  label: z.string(),
  amount: z.int().positive(),
  unit: WindowUnit,
  durationMs: int8,
  createdAt: timestamptz,
});
export type WindowRow = z.output<typeof WindowRow>;

const SPAN = /^([1-9][0-9]{0,8})([smhd])$/;
const UNIT_MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
const UNIT_OF = { s: 'second', m: 'minute', h: 'hour', d: 'day' } as const;

/** The (amount, unit) a window input names: given, or spelled by its label; undefined when neither. */
function spanOf(w: { label: string; amount?: number | undefined; unit?: WindowUnit | undefined }) {
  if (w.amount !== undefined && w.unit !== undefined) return { amount: w.amount, unit: w.unit };
  const m = SPAN.exec(w.label);
  return m ? { amount: Number(m[1]), unit: UNIT_OF[m[2] as keyof typeof UNIT_OF] } : undefined;
}

/**
 * Input of `upsertWindow`: a label that spells its span ('15m', '30s'), or any other label with amount
 * and unit. A label that spells a span cannot name another one ('15m' is always 15 minutes), and a
 * window is at most 2^53 - 1 ms long (its `durationMs` must be an exact number).
 */
export const UpsertWindowInput = inputObject({
  label: windowLabel,
  amount: intAtLeast(1).optional(),
  unit: WindowUnit.optional(),
})
  .refine((w) => (w.amount === undefined) === (w.unit === undefined), {
    path: ['unit'],
    error: 'amount and unit come together',
  })
  .refine((w) => w.amount !== undefined || SPAN.test(w.label), {
    path: ['label'],
    error: 'a label alone must spell its span, such as 30s, 15m, 4h or 1d',
  })
  .refine(
    (w) => {
      const spelled = SPAN.exec(w.label);
      if (!spelled || w.amount === undefined || w.unit === undefined) return true;
      return w.amount === Number(spelled[1]) && w.unit === UNIT_OF[spelled[2] as keyof typeof UNIT_OF];
    },
    { path: ['label'], error: 'a label that spells a span (such as 15m) cannot name another span' },
  )
  .refine(
    (w) => {
      const span = spanOf(w);
      return span === undefined || span.amount * UNIT_MS[span.unit] <= Number.MAX_SAFE_INTEGER;
    },
    { path: ['amount'], error: 'a window is at most 2^53 - 1 milliseconds long' },
  );
export type UpsertWindowInput = z.input<typeof UpsertWindowInput>;

/**
 * Creates or updates a window and returns it as stored.
 *
 * Wraps `settings.sp_upsert_window`; a label alone must spell its span (`'30s'`, `'15m'`, `'4h'`, `'1d'`).
 * @example
 * ```ts
 * const w = await db.settings.upsertWindow({ label: '4h' }); // w.durationMs === 14_400_000
 * await db.settings.upsertWindow({ label: 'two-hours', amount: 2, unit: 'hour' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 * @throws ConflictError when another label already holds that span (`windows_amount_unit_key`)
 */
export async function upsertWindow(sql: Queryable, input: UpsertWindowInput): Promise<WindowRow> {
  const op = 'settings.upsertWindow';
  const { label, amount = null, unit = null } = parseInput(op, UpsertWindowInput, input);
  const rows = await run(
    op,
    sql`
      select w.label, w.amount, w.unit, w.duration_ms as "durationMs", util.epoch_ms(w.created_at) as "createdAt"
      from settings.sp_upsert_window(${label}, ${amount}, ${unit}) w
    `,
  );
  return parseOne('settings.sp_upsert_window', WindowRow, rows);
}

/** Input of `listWindows`: every window, or only those of these labels (unknown labels are absent). */
export const ListWindowsInput = inputObject({
  labels: z
    .array(windowLabel, { error: 'expected an array of window labels' })
    .max(10_000)
    .readonly()
    .optional(),
});
export type ListWindowsInput = z.input<typeof ListWindowsInput>;

/**
 * Lists every window (or those of `labels`), shortest first.
 *
 * Reads `settings.windows` (seeded with 30s 40s 1m 3m 5m 15m 30m 1h 3h 4h 1d).
 * @example
 * ```ts
 * const labels = (await db.settings.listWindows()).map((w) => w.label); // ['30s', '40s', '1m', …]
 * const [hour] = await db.settings.listWindows({ labels: ['1h'] });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 * @throws IntegrityError when a row no longer matches `WindowRow`
 */
export async function listWindows(sql: Queryable, input: ListWindowsInput = {}): Promise<WindowRow[]> {
  const op = 'settings.listWindows';
  const { labels } = parseInput(op, ListWindowsInput, input);
  const only = labels === undefined ? null : pgArray(labels);
  const rows = await run(
    op,
    sql`
      select label, amount, unit, duration_ms as "durationMs", util.epoch_ms(created_at) as "createdAt"
      from settings.windows
      where ${only}::text[] is null or label = any(${only}::text[])
      order by duration_ms, label
    `,
  );
  return parseRows('settings.windows', WindowRow, rows);
}
