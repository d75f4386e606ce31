/**
 * settings.wallet_credentials: a wallet's exchange API credentials, stored only as pgcrypto ciphertext
 * (`pgp_sym_encrypt`, AES-256). The encryption key comes from the host app on each call and is never
 * stored; no error of these functions carries the key, the credentials or the driver error.
 */
import { z } from 'zod';
import { text, timestamptz, uuid } from '../core/codecs.js';
import { IntegrityError } from '../core/errors.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseOne } from '../core/run.js';
import { inputObject, provider } from './fields.js';
import { withoutSecrets } from './secrets.js';

/** Input of `putWalletCredentials`: the clear credentials, encrypted in the database with the client's key. */
export const PutWalletCredentialsInput = inputObject({
  walletId: uuid,
  exchange: provider,
  apiKey: text({ min: 8 }),
  apiSecret: text({ min: 8 }),
  passphrase: text({ min: 1 }).optional(),
});
export type PutWalletCredentialsInput = z.input<typeof PutWalletCredentialsInput>;

/** Input of `getWalletCredentials`. */
export const GetWalletCredentialsInput = inputObject({ walletId: uuid, exchange: provider });
export type GetWalletCredentialsInput = z.input<typeof GetWalletCredentialsInput>;

/** The host app's encryption key for wallet credentials (at least 16 characters; never stored). */
export const EncryptionOptions = inputObject({ encryptionKey: text({ min: 16 }) });
export type EncryptionOptions = z.input<typeof EncryptionOptions>;

/** What `putWalletCredentials` stored: no secret, a sha256 fingerprint and the last 4 characters of the key. */
export const WalletCredentialsInfo = z.object({
  walletId: uuid,
  exchange: z.string(),
  keyFingerprint: z.string(),
  keyLast4: z.string(),
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type WalletCredentialsInfo = z.output<typeof WalletCredentialsInfo>;

/** Decrypted credentials, as `getWalletCredentials` returns them. */
export const WalletCredentials = z.object({
  walletId: uuid,
  exchange: z.string(),
  apiKey: z.string(),
  apiSecret: z.string(),
  passphrase: z.string().nullable(),
  keyFingerprint: z.string(),
  keyLast4: z.string(),
  updatedAt: timestamptz,
});
export type WalletCredentials = z.output<typeof WalletCredentials>;

/**
 * Encrypts and stores (or replaces) a wallet's exchange credentials; returns no secret.
 *
 * Wraps `settings.sp_put_wallet_credentials`: pgcrypto `pgp_sym_encrypt` (AES-256) with
 * `options.encryptionKey` into `bytea` columns, plus the sha256 fingerprint and last 4 characters of
 * the api key. The key is never stored; errors carry neither the key nor the credentials.
 * @example
 * ```ts
 * await putWalletCredentials(sql, { walletId, exchange: 'binance', apiKey, apiSecret }, { encryptionKey });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent) or the wallet does not exist
 */
export async function putWalletCredentials(
  sql: Queryable,
  input: PutWalletCredentialsInput,
  options: EncryptionOptions,
): Promise<WalletCredentialsInfo> {
  const op = 'settings.putWalletCredentials';
  const {
    walletId,
    exchange,
    apiKey,
    apiSecret,
    passphrase = null,
  } = parseInput(op, PutWalletCredentialsInput, input);
  const { encryptionKey } = parseInput(op, EncryptionOptions, options);
  let rows: readonly unknown[];
  try {
    rows = await sql`
      select c.wallet_id as "walletId", c.exchange, c.key_fingerprint as "keyFingerprint", c.key_last4 as "keyLast4",
             util.epoch_ms(c.created_at) as "createdAt", util.epoch_ms(c.updated_at) as "updatedAt"
      from settings.sp_put_wallet_credentials(${walletId}::uuid, ${exchange}, ${apiKey}, ${apiSecret},
        ${passphrase}, ${encryptionKey}) c
    `;
  } catch (e) {
    throw withoutSecrets(op, e);
  }
  return parseOne('settings.sp_put_wallet_credentials', WalletCredentialsInfo, rows);
}

/**
 * Decrypts a wallet's exchange credentials with the client's key.
 *
 * Wraps `settings.sp_get_wallet_credentials`. A key that does not open them is a `ValidationError`
 * on `encryptionKey` ("decryption failed"), never garbage; no error carries the key or the credentials.
 * @example
 * ```ts
 * const { apiKey, apiSecret } = await getWalletCredentials(sql, { walletId, exchange: 'binance' }, { encryptionKey });
 * ```
 * @throws NotFoundError (entity `settings.wallet_credential`, key `{ walletId, exchange }`) when the wallet has no credentials for that exchange
 * @throws ValidationError when the input is malformed (nothing is sent), or the key does not decrypt the credentials
 */
export async function getWalletCredentials(
  sql: Queryable,
  input: GetWalletCredentialsInput,
  options: EncryptionOptions,
): Promise<WalletCredentials> {
  const op = 'settings.getWalletCredentials';
  const { walletId, exchange } = parseInput(op, GetWalletCredentialsInput, input);
  const { encryptionKey } = parseInput(op, EncryptionOptions, options);
  let rows: readonly unknown[];
  try {
    rows = await sql`
      select c.wallet_id as "walletId", c.exchange, c.api_key as "apiKey", c.api_secret as "apiSecret", c.passphrase,
             c.key_fingerprint as "keyFingerprint", c.key_last4 as "keyLast4", util.epoch_ms(c.updated_at) as "updatedAt"
      from settings.sp_get_wallet_credentials(${walletId}::uuid, ${exchange}, ${encryptionKey}) c
    `;
  } catch (e) {
    throw withoutSecrets(op, e, { entity: 'settings.wallet_credential', key: { walletId, exchange } });
  }
  if (rows.length !== 1) {
    throw new IntegrityError('settings.sp_get_wallet_credentials', [
      { path: [], message: `expected exactly one row, got ${rows.length}` },
    ]);
  }
  // not parseOne: an IntegrityError names the offending value, and these values are secrets
  const r = WalletCredentials.safeParse(rows[0]);
  if (!r.success) {
    throw new IntegrityError(
      'settings.sp_get_wallet_credentials',
      r.error.issues.map((i) => ({ path: i.path.map(String), message: 'does not match its schema' })),
    );
  }
  return r.data;
}
