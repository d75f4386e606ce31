/** settings.profile: the owner's profile, keyed by a case-insensitive email. */
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import { jsonObject, jsonObjectRow, text, timestamptz, uuid } from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseMaybe, parseOne, parseRows, run } from '../core/run.js';
import { email, inputObject } from './fields.js';

/** A row of `settings.profile`. */
export const ProfileRow = z.object({
  id: uuid,
  email: z.string(),
  nickname: z.string().nullable(),
  timezone: z.string(),
  language: z.string(),
  locale: z.string().nullable(),
  params: jsonObjectRow,
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type ProfileRow = z.output<typeof ProfileRow>;

/** Input of `getProfile`: the profile's id, or its email (case-insensitive). */
export const GetProfileInput = inputObject({ id: uuid.optional(), email: email.optional() }).refine(
  (k) => (k.id === undefined) !== (k.email === undefined),
  { error: 'give id or email (one of them)' },
) as unknown as z.ZodType<{ id?: string; email?: string }, GetProfileInput>;
export type GetProfileInput = { id: string } | { email: string };

/** Input of `listProfiles`: many ids and / or many emails (case-insensitive); a profile matching both is listed once. */
export const ListProfilesInput = inputObject({
  ids: z.array(uuid, { error: 'expected an array of ids' }).max(10_000).readonly().optional(),
  emails: z.array(email, { error: 'expected an array of emails' }).max(10_000).readonly().optional(),
}).refine((k) => k.ids !== undefined || k.emails !== undefined, {
  path: ['ids'],
  error: 'give ids, emails or both',
});
export type ListProfilesInput = z.input<typeof ListProfilesInput>;

/** Input of `upsertProfile`: keyed by email (case-insensitive); a missing field keeps its value. */
export const UpsertProfileInput = inputObject({
  email,
  nickname: text({ min: 1, max: 64 }).optional(),
  timezone: text({ min: 1, max: 64 }).optional(),
  language: text()
    .regex(/^[a-z]{2,3}$/, 'expected a language code such as en')
    .optional(),
  locale: text()
    .regex(/^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, 'expected a locale such as en-GB')
    .optional(),
  /** Free settings of the profile: a JSON object, stored exactly (`"__proto__"` keys included). */
  params: jsonObject.optional(),
});
export type UpsertProfileInput = z.input<typeof UpsertProfileInput>;

const COLUMNS = (sql: Queryable) => sql`
  id, email, nickname, timezone, language, locale, params,
  util.epoch_ms(created_at) as "createdAt", util.epoch_ms(updated_at) as "updatedAt"
`;

/**
 * Returns a profile by id or email (case-insensitive), or `null` when there is none.
 *
 * Reads `settings.profile`.
 * @example
 * ```ts
 * const me = await db.settings.getProfile({ email: 'ada@example.com' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function getProfile(sql: Queryable, input: GetProfileInput): Promise<ProfileRow | null> {
  const op = 'settings.getProfile';
  const key = parseInput(op, GetProfileInput, input);
  const id = key.id ?? null;
  const mail = key.email ?? null;
  const rows = await run(
    op,
    sql`
      select ${COLUMNS(sql)}
      from settings.profile
      where (${id}::uuid is not null and id = ${id}::uuid)
         or (${mail}::text is not null and lower(email) = lower(${mail}::text))
    `,
  );
  return parseMaybe('settings.profile', ProfileRow, rows);
}

/**
 * Returns the profiles of many ids and / or emails in one round trip, ordered by email (case-insensitive)
 * then id; keys that match no profile are simply absent.
 *
 * Reads `settings.profile`.
 * @example
 * ```ts
 * const team = await db.settings.listProfiles({ emails: ['ada@example.com', 'bob@example.com'] });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function listProfiles(sql: Queryable, input: ListProfilesInput): Promise<ProfileRow[]> {
  const op = 'settings.listProfiles';
  const { ids = [], emails = [] } = parseInput(op, ListProfilesInput, input);
  const rows = await run(
    op,
    sql`
      select ${COLUMNS(sql)}
      from settings.profile
      where id = any(${pgArray(ids)}::uuid[])
         or lower(email) = any(select lower(e) from unnest(${pgArray(emails)}::text[]) e)
      order by lower(email), id
    `,
  );
  return parseRows('settings.profile', ProfileRow, rows);
}

/**
 * Creates or updates the profile of an email (case-insensitive); a missing field keeps its value.
 *
 * Wraps `settings.sp_upsert_profile`; the time zone must be one PostgreSQL knows.
 * @example
 * ```ts
 * const me = await db.settings.upsertProfile({ email: 'ada@example.com', timezone: 'Europe/Paris' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent) or the time zone is unknown
 */
export async function upsertProfile(sql: Queryable, input: UpsertProfileInput): Promise<ProfileRow> {
  const op = 'settings.upsertProfile';
  const p = parseInput(op, UpsertProfileInput, input);
  const params = p.params === undefined ? null : JSON.stringify(p.params);
  const rows = await run(
    op,
    sql`
      select ${COLUMNS(sql)}
      from settings.sp_upsert_profile(${p.email}, ${p.nickname ?? null}, ${p.timezone ?? null},
        ${p.language ?? null}, ${p.locale ?? null}, ${params}::text::jsonb)
    `,
  );
  return parseOne('settings.sp_upsert_profile', ProfileRow, rows);
}
