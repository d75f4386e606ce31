/**
 * settings.external_accounts: linked provider accounts (no secrets: a fingerprint and a hint only),
 * and `v_profile_binance`, a profile with its binance account.
 */
import { z } from 'zod';
import { jsonObject, jsonObjectRow, text, timestamptz, uuid } from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseMaybe, parseOne, run } from '../core/run.js';
import { email, fingerprint, inputObject, provider } from './fields.js';

/** A row of `settings.external_accounts` (no secrets). */
export const ExternalAccountRow = z.object({
  id: uuid,
  provider: z.string(),
  label: z.string(),
  profileId: uuid.nullable(),
  linked: z.boolean(),
  accountHint: z.string().nullable(),
  keyFingerprint: z.string().nullable(),
  lastLinkedAt: timestamptz.nullable(),
  meta: jsonObjectRow,
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type ExternalAccountRow = z.output<typeof ExternalAccountRow>;

/** Input of `upsertExternalAccount`: keyed by provider and label (default 'default'). */
export const UpsertExternalAccountInput = inputObject({
  provider,
  label: text({ min: 1, max: 64 }).optional(),
  linked: z.boolean({ error: 'expected true or false' }).optional(),
  accountHint: text({ max: 64 }).optional(),
  keyFingerprint: fingerprint.optional(),
  /** Free metadata: a JSON object, stored exactly (`"__proto__"` keys included). */
  meta: jsonObject.optional(),
  profileId: uuid.optional(),
});
export type UpsertExternalAccountInput = z.input<typeof UpsertExternalAccountInput>;

/** A row of `settings.v_profile_binance`: a profile and its binance account (nulls when none). */
export const ProfileBinanceRow = z.object({
  profileId: uuid,
  email: z.string(),
  nickname: z.string().nullable(),
  timezone: z.string(),
  language: z.string(),
  locale: z.string().nullable(),
  externalAccountId: uuid.nullable(),
  accountLabel: z.string().nullable(),
  linked: z.boolean(),
  accountHint: z.string().nullable(),
  keyFingerprint: z.string().nullable(),
  lastLinkedAt: timestamptz.nullable(),
});
export type ProfileBinanceRow = z.output<typeof ProfileBinanceRow>;

/** Input of `getProfileBinance`: the profile's id, or its email. */
export const GetProfileBinanceInput = inputObject({
  profileId: uuid.optional(),
  email: email.optional(),
}).refine((k) => (k.profileId === undefined) !== (k.email === undefined), {
  error: 'give profileId or email (one of them)',
}) as unknown as z.ZodType<{ profileId?: string; email?: string }, GetProfileBinanceInput>;
export type GetProfileBinanceInput = { profileId: string } | { email: string };

/**
 * Creates or updates a linked provider account (keyed by provider and label); a missing field keeps its
 * value. `lastLinkedAt` is set only when `linked` becomes true.
 *
 * Wraps `settings.sp_upsert_external_account` (the bump is a trigger, so every writer is held to it).
 * @example
 * ```ts
 * await db.settings.upsertExternalAccount({ provider: 'binance', linked: true, accountHint: '…7731', profileId });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent) or the profile does not exist
 */
export async function upsertExternalAccount(
  sql: Queryable,
  input: UpsertExternalAccountInput,
): Promise<ExternalAccountRow> {
  const op = 'settings.upsertExternalAccount';
  const p = parseInput(op, UpsertExternalAccountInput, input);
  const meta = p.meta === undefined ? null : JSON.stringify(p.meta);
  const rows = await run(
    op,
    sql`
      select id, provider, label, profile_id as "profileId", linked, account_hint as "accountHint",
             key_fingerprint as "keyFingerprint", util.epoch_ms(last_linked_at) as "lastLinkedAt", meta,
             util.epoch_ms(created_at) as "createdAt", util.epoch_ms(updated_at) as "updatedAt"
      from settings.sp_upsert_external_account(${p.provider}, ${p.label ?? null}, ${p.linked ?? null},
        ${p.accountHint ?? null}, ${p.keyFingerprint ?? null}, ${meta}::text::jsonb, ${p.profileId ?? null}::uuid)
    `,
  );
  return parseOne('settings.sp_upsert_external_account', ExternalAccountRow, rows);
}

/**
 * Returns a profile with its binance account (linked flag, hint, fingerprint), or `null` when no such profile.
 *
 * Reads `settings.v_profile_binance`.
 * @example
 * ```ts
 * const p = await db.settings.getProfileBinance({ email: 'ada@example.com' }); // p?.linked
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function getProfileBinance(
  sql: Queryable,
  input: GetProfileBinanceInput,
): Promise<ProfileBinanceRow | null> {
  const op = 'settings.getProfileBinance';
  const key = parseInput(op, GetProfileBinanceInput, input);
  const id = key.profileId ?? null;
  const mail = key.email ?? null;
  const rows = await run(
    op,
    sql`
      select profile_id as "profileId", email, nickname, timezone, language, locale,
             external_account_id as "externalAccountId", account_label as "accountLabel", linked,
             account_hint as "accountHint", key_fingerprint as "keyFingerprint",
             util.epoch_ms(last_linked_at) as "lastLinkedAt"
      from settings.v_profile_binance
      where (${id}::uuid is not null and profile_id = ${id}::uuid)
         or (${mail}::text is not null and lower(email) = lower(${mail}::text))
    `,
  );
  return parseMaybe('settings.v_profile_binance', ProfileBinanceRow, rows);
}
