/**
 * zod rows and inputs of schema `settings` (pack ddl/02_settings.sql), each with its inferred type.
 * Rows are what the SDK returns (camelCase, parsed); inputs are validated before anything is sent.
 */
import { z } from 'zod';
import { int8, jsonObject, symbol, timestamptz, uuid } from '../core/codecs.js';

const label32 = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, 'expected a short name such as 15m');
const provider = z.string().regex(/^[a-z][a-z0-9_]{1,31}$/, 'expected a lower-case name such as binance');
const email = z
  .string()
  .max(254)
  .regex(/^[^@\s]+@[^@\s]+$/, 'expected an email address');
const fingerprint = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex fingerprint');

// ---------------------------------------------------------------------------------------------
// windows

/** A row of `settings.windows`, as the SDK returns it. */
export const WindowRow = z.object({
  label: z.string(),
  amount: z.int().positive(),
  unit: z.enum(['second', 'minute', 'hour', 'day']),
  durationMs: int8,
  createdAt: timestamptz,
});
export type WindowRow = z.output<typeof WindowRow>;

const SPAN = /^([1-9][0-9]{0,8})([smhd])$/;
const UNIT_MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
const UNIT_OF = { s: 'second', m: 'minute', h: 'hour', d: 'day' } as const;

/** The (amount, unit) a window input names: given, or spelled by its label; undefined when neither. */
function spanOf(w: { label: string; amount?: number | undefined; unit?: WindowRow['unit'] | undefined }) {
  if (w.amount !== undefined && w.unit !== undefined) return { amount: w.amount, unit: w.unit };
  const m = SPAN.exec(w.label);
  return m ? { amount: Number(m[1]), unit: UNIT_OF[m[2] as keyof typeof UNIT_OF] } : undefined;
}

/**
 * Input of `upsertWindow`: a label that spells its span ('15m', '30s'), or any other label with amount
 * and unit. A label that spells a span cannot name another one ('15m' is always 15 minutes), and a
 * window is at most 2^53 - 1 ms long (its `durationMs` must be an exact number).
 */
export const UpsertWindowInput = z
  .strictObject({
    label: label32,
    amount: z.int().positive().max(2_147_483_647).optional(),
    unit: WindowRow.shape.unit.optional(),
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

// ---------------------------------------------------------------------------------------------
// params

/** The engine knobs (`settings.params`, a singleton). `strCycles` maps a window label to str-aux cycles. */
export const ParamsRow = z.object({
  primaryIntervalMs: int8,
  secondaryEnabled: z.boolean(),
  secondaryCycles: z.int(),
  strCycles: z.record(z.string(), z.int().positive()),
  samplingSeconds: z.int(),
  cycleSeconds: z.int(),
  updatedAt: timestamptz,
});
export type ParamsRow = z.output<typeof ParamsRow>;

/** Input of `updateParams`: only the knobs to change (a missing one keeps its value). */
export const UpdateParamsInput = z
  .strictObject({
    primaryIntervalMs: z.int().min(1000).max(86_400_000).optional(),
    secondaryEnabled: z.boolean().optional(),
    secondaryCycles: z.int().min(1).max(100).optional(),
    strCycles: z.record(label32, z.int().min(1).max(100_000)).optional(),
    samplingSeconds: z.int().min(1).max(3600).optional(),
    cycleSeconds: z.int().min(1).max(86_400).optional(),
  })
  .refine(
    (p) =>
      p.samplingSeconds === undefined ||
      p.cycleSeconds === undefined ||
      p.cycleSeconds % p.samplingSeconds === 0,
    { path: ['cycleSeconds'], error: 'cycleSeconds must be a multiple of samplingSeconds' },
  );
export type UpdateParamsInput = z.input<typeof UpdateParamsInput>;

// ---------------------------------------------------------------------------------------------
// profile

/** A row of `settings.profile`. */
export const ProfileRow = z.object({
  id: uuid,
  email: z.string(),
  nickname: z.string().nullable(),
  timezone: z.string(),
  language: z.string(),
  locale: z.string().nullable(),
  params: jsonObject,
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type ProfileRow = z.output<typeof ProfileRow>;

/** Input of `getProfile`: the profile's id, or its email (case-insensitive). */
export const GetProfileInput = z.union([z.strictObject({ id: uuid }), z.strictObject({ email })]);
export type GetProfileInput = z.input<typeof GetProfileInput>;

/** Input of `upsertProfile`: keyed by email (case-insensitive); a missing field keeps its value. */
export const UpsertProfileInput = z.strictObject({
  email,
  nickname: z.string().min(1).max(64).optional(),
  timezone: z.string().min(1).max(64).optional(),
  language: z
    .string()
    .regex(/^[a-z]{2,3}$/, 'expected a language code such as en')
    .optional(),
  locale: z
    .string()
    .regex(/^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, 'expected a locale such as en-GB')
    .optional(),
  params: jsonObject.optional(),
});
export type UpsertProfileInput = z.input<typeof UpsertProfileInput>;

// ---------------------------------------------------------------------------------------------
// coin universe

/** A row of `settings.v_coin_universe_simple`. */
export const CoinUniverseRow = z.object({
  symbol: z.string(),
  base: z.string(),
  quote: z.string(),
  enabled: z.boolean(),
  sortOrder: z.int(),
});
export type CoinUniverseRow = z.output<typeof CoinUniverseRow>;

/** Input of `syncCoinUniverse` in its object form: the symbols, and whether every other symbol is disabled (default true). */
export const SyncCoinUniverseInput = z.strictObject({
  symbols: z.array(symbol).max(10_000),
  autoDisable: z.boolean().optional(),
});
/** Input of `syncCoinUniverse`: the symbols alone (every other symbol is disabled), or `{ symbols, autoDisable }`. */
export type SyncCoinUniverseInput = string[] | z.input<typeof SyncCoinUniverseInput>;

/**
 * What `syncCoinUniverse` did: `enabledCount` symbols given (all enabled now, duplicates counted once),
 * `disabledCount` symbols this call switched off.
 */
export const SyncCoinUniverseResult = z.object({ enabledCount: z.int(), disabledCount: z.int() });
export type SyncCoinUniverseResult = z.output<typeof SyncCoinUniverseResult>;

/** Input of `listCoinUniverse`: all symbols, or only the enabled (`true`) or disabled (`false`) ones. */
export const ListCoinUniverseInput = z.strictObject({ enabled: z.boolean().optional() });
export type ListCoinUniverseInput = z.input<typeof ListCoinUniverseInput>;

/** What `mirrorUniverseToMarket` did: market symbols inserted or changed, assets created. */
export const MirrorResult = z.object({ symbolsUpserted: z.int(), assetsCreated: z.int() });
export type MirrorResult = z.output<typeof MirrorResult>;

/** A row of `settings.universe_batch_ops`: an applied whole-universe update. */
export const UniverseBatchRow = z.object({
  id: int8,
  symbols: z.array(z.string()),
  autoDisable: z.boolean(),
  requestedAt: timestamptz,
  appliedAt: timestamptz.nullable(),
  enabledCount: z.int().nullable(),
  disabledCount: z.int().nullable(),
});
export type UniverseBatchRow = z.output<typeof UniverseBatchRow>;

/** Input of `queueUniverseBatch`. */
export const QueueUniverseBatchInput = z.strictObject({
  symbols: z.array(symbol).max(10_000),
  autoDisable: z.boolean().optional(),
});
export type QueueUniverseBatchInput = z.input<typeof QueueUniverseBatchInput>;

/**
 * The payload of a `settings_universe_changed` notification: one per statement that changed the
 * universe. `symbols` lists at most 200 (then `truncated` is true); `count` is the full number;
 * `seq` numbers the changing statements of one transaction (1, 2, …), so that two equal changes in
 * one transaction stay two events (PostgreSQL folds identical payloads of a transaction into one).
 */
export const UniverseChangedEvent = z.strictObject({
  op: z.enum(['insert', 'update', 'delete']),
  symbols: z.array(z.string()),
  count: z.int().nonnegative(),
  truncated: z.boolean(),
  seq: z.int().positive(),
});
export type UniverseChangedEvent = z.output<typeof UniverseChangedEvent>;

// ---------------------------------------------------------------------------------------------
// external accounts

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
  meta: jsonObject,
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type ExternalAccountRow = z.output<typeof ExternalAccountRow>;

/** Input of `upsertExternalAccount`: keyed by provider and label (default 'default'). */
export const UpsertExternalAccountInput = z.strictObject({
  provider,
  label: z.string().min(1).max(64).optional(),
  linked: z.boolean().optional(),
  accountHint: z.string().max(64).optional(),
  keyFingerprint: fingerprint.optional(),
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
export const GetProfileBinanceInput = z.union([
  z.strictObject({ profileId: uuid }),
  z.strictObject({ email }),
]);
export type GetProfileBinanceInput = z.input<typeof GetProfileBinanceInput>;

// ---------------------------------------------------------------------------------------------
// wallets and credentials

/** A row of `settings.wallets`. */
export const WalletRow = z.object({
  id: uuid,
  profileId: uuid.nullable(),
  label: z.string(),
  exchange: z.string().nullable(),
  network: z.string().nullable(),
  address: z.string().nullable(),
  externalAccountId: uuid.nullable(),
  meta: jsonObject,
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type WalletRow = z.output<typeof WalletRow>;

/** Input of `upsertWallet`: keyed by owner profile (or none) and label; a missing field keeps its value. */
export const UpsertWalletInput = z.strictObject({
  label: z.string().min(1).max(64),
  profileId: uuid.optional(),
  exchange: provider.optional(),
  network: z.string().min(1).max(64).optional(),
  address: z.string().min(1).max(256).optional(),
  externalAccountId: uuid.optional(),
  meta: jsonObject.optional(),
});
export type UpsertWalletInput = z.input<typeof UpsertWalletInput>;

/** Input of `putWalletCredentials`: the clear credentials, encrypted in the database with the client's key. */
export const PutWalletCredentialsInput = z.strictObject({
  walletId: uuid,
  exchange: provider,
  apiKey: z.string().min(8),
  apiSecret: z.string().min(8),
  passphrase: z.string().min(1).optional(),
});
export type PutWalletCredentialsInput = z.input<typeof PutWalletCredentialsInput>;

/** Input of `getWalletCredentials`. */
export const GetWalletCredentialsInput = z.strictObject({ walletId: uuid, exchange: provider });
export type GetWalletCredentialsInput = z.input<typeof GetWalletCredentialsInput>;

/** The host app's encryption key for wallet credentials (at least 16 characters; never stored). */
export const EncryptionOptions = z.strictObject({ encryptionKey: z.string().min(16) });
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

// ---------------------------------------------------------------------------------------------
// cache rules

/** Server-side (`scr`) or client-side (`ccr`) cache rules. */
export const RuleKind = z.enum(['scr', 'ccr']);
export type RuleKind = z.output<typeof RuleKind>;

/** A row of `settings.v_cache_rules` (both rule tables). */
export const RuleRow = z.object({
  kind: RuleKind,
  ruleId: z.string(),
  description: z.string().nullable(),
  enabled: z.boolean(),
  precedence: z.int(),
  ruleJson: jsonObject,
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type RuleRow = z.output<typeof RuleRow>;

/** Input of `upsertRule`: keyed by kind and rule id; a missing field keeps its value. */
export const UpsertRuleInput = z.strictObject({
  kind: RuleKind,
  ruleId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/, 'expected a rule id such as api.markets'),
  description: z.string().max(500).optional(),
  enabled: z.boolean().optional(),
  precedence: z.int().min(-2_147_483_648).max(2_147_483_647).optional(),
  ruleJson: jsonObject.optional(),
});
export type UpsertRuleInput = z.input<typeof UpsertRuleInput>;

/** Input of `listRules`: one kind or both, optionally only enabled (or disabled) rules. */
export const ListRulesInput = z.strictObject({ kind: RuleKind.optional(), enabled: z.boolean().optional() });
export type ListRulesInput = z.input<typeof ListRulesInput>;
