/** settings.wallets: wallet metadata, keyed by owner profile (or none) and label. Credentials: `credentials.ts`. */
import { z } from 'zod';
import { jsonObject, jsonObjectRow, text, timestamptz, uuid } from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseOne, run } from '../core/run.js';
import { inputObject, provider } from './fields.js';

/** A row of `settings.wallets`. */
export const WalletRow = z.object({
  id: uuid,
  profileId: uuid.nullable(),
  label: z.string(),
  exchange: z.string().nullable(),
  network: z.string().nullable(),
  address: z.string().nullable(),
  externalAccountId: uuid.nullable(),
  meta: jsonObjectRow,
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type WalletRow = z.output<typeof WalletRow>;

/** Input of `upsertWallet`: keyed by owner profile (or none) and label; a missing field keeps its value. */
export const UpsertWalletInput = inputObject({
  label: text({ min: 1, max: 64 }),
  profileId: uuid.optional(),
  exchange: provider.optional(),
  network: text({ min: 1, max: 64 }).optional(),
  address: text({ min: 1, max: 256 }).optional(),
  externalAccountId: uuid.optional(),
  /** Free metadata: a JSON object, stored exactly (`"__proto__"` keys included). */
  meta: jsonObject.optional(),
});
export type UpsertWalletInput = z.input<typeof UpsertWalletInput>;

/**
 * Creates or updates a wallet (keyed by owner profile, or none, and label); a missing field keeps its value.
 *
 * Wraps `settings.sp_upsert_wallet`.
 * @example
 * ```ts
 * const w = await db.settings.upsertWallet({ label: 'main', exchange: 'binance', profileId });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent) or a referenced profile / account does not exist
 */
export async function upsertWallet(sql: Queryable, input: UpsertWalletInput): Promise<WalletRow> {
  const op = 'settings.upsertWallet';
  const p = parseInput(op, UpsertWalletInput, input);
  const meta = p.meta === undefined ? null : JSON.stringify(p.meta);
  const rows = await run(
    op,
    sql`
      select id, profile_id as "profileId", label, exchange, network, address,
             external_account_id as "externalAccountId", meta,
             util.epoch_ms(created_at) as "createdAt", util.epoch_ms(updated_at) as "updatedAt"
      from settings.sp_upsert_wallet(${p.label}, ${p.profileId ?? null}::uuid, ${p.exchange ?? null},
        ${p.network ?? null}, ${p.address ?? null}, ${p.externalAccountId ?? null}::uuid, ${meta}::text::jsonb)
    `,
  );
  return parseOne('settings.sp_upsert_wallet', WalletRow, rows);
}
