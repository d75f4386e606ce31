/** settings.params: the engine knobs, a true singleton. */
import { z } from 'zod';
import {
  int8,
  type JsonObject,
  jsonObject,
  jsonObjectRow,
  jsonProblem,
  timestamptz,
} from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseOne, run } from '../core/run.js';
import { inputObject, intAtLeast, windowLabel } from './fields.js';

/** str-aux cycles per window label, as stored (a jsonb object, read back as it is). */
const StrCyclesRow = jsonObjectRow.refine(
  (v) => Object.values(v).every((n) => Number.isInteger(n) && (n as number) > 0),
  'expected positive integer cycles per window label',
);

/** The engine knobs (`settings.params`, a singleton). `strCycles` maps a window label to str-aux cycles. */
export const ParamsRow = z.object({
  primaryIntervalMs: int8,
  secondaryEnabled: z.boolean(),
  secondaryCycles: z.int(),
  strCycles: StrCyclesRow as z.ZodType<Record<string, number>>,
  samplingSeconds: z.int(),
  cycleSeconds: z.int(),
  updatedAt: timestamptz,
});
export type ParamsRow = z.output<typeof ParamsRow>;

/**
 * `strCycles` input: a JSON object (checked in place by the core JSON codec, never rebuilt) whose keys
 * are window labels and whose values are whole cycles, 1 to 100 000.
 */
const StrCyclesInput = jsonObject.superRefine((v, ctx) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || jsonProblem(v)) return; // jsonObject said why
  for (const [key, n] of Object.entries(v as JsonObject)) {
    const label = windowLabel.safeParse(key);
    if (!label.success)
      ctx.addIssue({ code: 'custom', path: [key], message: 'a key must be a window label such as 15m' });
    else if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 100_000)
      ctx.addIssue({ code: 'custom', path: [key], message: 'expected whole cycles, 1 to 100000' });
  }
}) as unknown as z.ZodType<Record<string, number>, Record<string, number>>;

/** Input of `updateParams`: only the knobs to change (a missing one keeps its value). */
export const UpdateParamsInput = inputObject({
  primaryIntervalMs: intAtLeast(1000, 86_400_000).optional(),
  secondaryEnabled: z.boolean({ error: 'expected true or false' }).optional(),
  secondaryCycles: intAtLeast(1, 100).optional(),
  strCycles: StrCyclesInput.optional(),
  samplingSeconds: intAtLeast(1, 3600).optional(),
  cycleSeconds: intAtLeast(1, 86_400).optional(),
}).refine(
  (p) =>
    p.samplingSeconds === undefined ||
    p.cycleSeconds === undefined ||
    p.cycleSeconds % p.samplingSeconds === 0,
  { path: ['cycleSeconds'], error: 'cycleSeconds must be a multiple of samplingSeconds' },
);
export type UpdateParamsInput = z.input<typeof UpdateParamsInput>;

const COLUMNS = (sql: Queryable) => sql`
  primary_interval_ms as "primaryIntervalMs", secondary_enabled as "secondaryEnabled",
  secondary_cycles as "secondaryCycles", str_cycles as "strCycles",
  sampling_seconds as "samplingSeconds", cycle_seconds as "cycleSeconds",
  util.epoch_ms(updated_at) as "updatedAt"
`;

/**
 * Returns the engine knobs.
 *
 * Reads `settings.params` (a seeded singleton).
 * @example
 * ```ts
 * const { cycleSeconds, samplingSeconds } = await db.settings.getParams(); // 40, 5
 * ```
 * @throws IntegrityError when the singleton row is missing or no longer matches `ParamsRow`
 */
export async function getParams(sql: Queryable): Promise<ParamsRow> {
  const rows = await run(
    'settings.getParams',
    sql`select ${COLUMNS(sql)} from settings.params where singleton`,
  );
  return parseOne('settings.params', ParamsRow, rows);
}

/**
 * Changes the given engine knobs (the others keep their values) and returns them all.
 *
 * Wraps `settings.sp_update_params`; `strCycles` replaces the whole map and its labels must be windows.
 * @example
 * ```ts
 * await db.settings.updateParams({ primaryIntervalMs: 60_000, strCycles: { '1h': 90 } });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent), or names a window that does not exist
 */
export async function updateParams(sql: Queryable, input: UpdateParamsInput = {}): Promise<ParamsRow> {
  const op = 'settings.updateParams';
  const p = parseInput(op, UpdateParamsInput, input);
  const strCycles = p.strCycles === undefined ? null : JSON.stringify(p.strCycles);
  const rows = await run(
    op,
    sql`
      select ${COLUMNS(sql)}
      from settings.sp_update_params(
        ${p.primaryIntervalMs ?? null}, ${p.secondaryEnabled ?? null}, ${p.secondaryCycles ?? null},
        ${strCycles}::text::jsonb, ${p.samplingSeconds ?? null}, ${p.cycleSeconds ?? null})
    `,
  );
  return parseOne('settings.sp_update_params', ParamsRow, rows);
}
