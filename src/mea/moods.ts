/** mea_dynamics.mood_registry: the moods the engine knows, with their formula version and buckets. */
import { z } from 'zod';
import { int8, json, jsonRow, text, timestamptz } from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseOne, parseRows, run } from '../core/run.js';

/** A row of `mea_dynamics.mood_registry`. */
export const MoodRow = z.object({
  id: int8,
  mood: z.string(),
  formulaVersion: z.string(),
  buckets: jsonRow,
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type MoodRow = z.infer<typeof MoodRow>;

/** Input of `upsertMood`. */
export const UpsertMoodInput = z.strictObject({
  mood: text({ min: 1, max: 64 }),
  formulaVersion: text({ min: 1, max: 64 }),
  /** Any JSON (default `[]`). */
  buckets: json.optional(),
});
export type UpsertMoodInput = z.input<typeof UpsertMoodInput>;

const MOOD_COLUMNS = (sql: Queryable) => sql`
  m.id, m.mood, m.formula_version as "formulaVersion", m.buckets,
  util.epoch_ms(m.created_at) as "createdAt", util.epoch_ms(m.updated_at) as "updatedAt"
`;

/**
 * Registers a mood, or replaces its formula version and buckets; returns it.
 *
 * Wraps `mea_dynamics.sp_upsert_mood`.
 * @example
 * ```ts
 * await db.mea.upsertMood({ mood: 'calm', formulaVersion: 'v2', buckets: [0.2, 1, 2] });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function upsertMood(sql: Queryable, input: UpsertMoodInput): Promise<MoodRow> {
  const op = 'mea.upsertMood';
  const i = parseInput(op, UpsertMoodInput, input);
  const rows = await run(
    op,
    sql`
      select ${MOOD_COLUMNS(sql)}
      from mea_dynamics.sp_upsert_mood(${i.mood}, ${i.formulaVersion},
        ${i.buckets === undefined ? null : JSON.stringify(i.buckets)}::text::jsonb) m
    `,
  );
  return parseOne('mea_dynamics.sp_upsert_mood', MoodRow, rows);
}

/**
 * Every registered mood, by name.
 *
 * Reads `mea_dynamics.mood_registry`.
 * @example
 * ```ts
 * const moods = await db.mea.listMoods();
 * ```
 * @throws IntegrityError when a row no longer matches `MoodRow`
 */
export async function listMoods(sql: Queryable): Promise<MoodRow[]> {
  const rows = await run(
    'mea.listMoods',
    sql`select ${MOOD_COLUMNS(sql)} from mea_dynamics.mood_registry m order by m.mood`,
  );
  return parseRows('mea_dynamics.mood_registry', MoodRow, rows);
}
