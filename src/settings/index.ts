/**
 * Schema `settings` (pack ddl/02_settings.sql): windows, engine params, the owner's profile, the coin
 * universe and its change notifications, external accounts, wallets and their encrypted credentials,
 * cache rules and universe batches. Every function takes a `Queryable` first.
 * @module
 */
import { IntegrityError, ValidationError } from '../core/errors.js';
import { canListen, type Queryable } from '../core/queryable.js';
import { parseInput, parseMaybe, parseOne, parseRow, parseRows, run } from '../core/run.js';
import {
  CoinUniverseRow,
  EncryptionOptions,
  ExternalAccountRow,
  GetProfileBinanceInput,
  GetProfileInput,
  GetWalletCredentialsInput,
  ListCoinUniverseInput,
  ListRulesInput,
  MirrorResult,
  ParamsRow,
  ProfileBinanceRow,
  ProfileRow,
  PutWalletCredentialsInput,
  QueueUniverseBatchInput,
  RuleRow,
  SyncCoinUniverseInput,
  SyncCoinUniverseResult,
  UniverseBatchRow,
  UniverseChangedEvent,
  UpdateParamsInput,
  UpsertExternalAccountInput,
  UpsertProfileInput,
  UpsertRuleInput,
  UpsertWalletInput,
  UpsertWindowInput,
  WalletCredentials,
  WalletCredentialsInfo,
  WalletRow,
  WindowRow,
} from './schemas.js';
import { withoutSecrets } from './secrets.js';
import { pgArray } from '../core/arrays.js';

export * from './schemas.js';

/** The NOTIFY channel of universe changes (payload: `UniverseChangedEvent` as JSON). */
const UNIVERSE_CHANNEL = 'settings_universe_changed';

const json = (v: Record<string, unknown> | undefined): string | null =>
  v === undefined ? null : JSON.stringify(v);

// ---------------------------------------------------------------------------------------------
// windows

/**
 * Creates or updates a window and returns it as stored.
 *
 * Wraps `settings.sp_upsert_window`; a label alone must spell its span (`'30s'`, `'15m'`, `'4h'`, `'1d'`).
 * @example
 * ```ts
 * const w = await db.settings.upsertWindow({ label: '4h' }); // w.durationMs === 14_400_000
 * await db.settings.upsertWindow({ label: 'two-hours', amount: 2, unit: 'hour' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent), or the span is taken by another label
 */
export async function upsertWindow(sql: Queryable, input: UpsertWindowInput): Promise<WindowRow> {
  const op = 'settings.upsertWindow';
  const { label, amount = null, unit = null } = parseInput(op, UpsertWindowInput, input);
  const rows = await run(
    op,
    sql`
      select label, amount, unit, duration_ms as "durationMs", created_at as "createdAt"
      from settings.sp_upsert_window(${label}, ${amount}, ${unit})
    `,
  );
  return parseOne('settings.sp_upsert_window', WindowRow, rows);
}

/**
 * Lists every window, shortest first.
 *
 * Reads `settings.windows` (seeded with 30s 40s 1m 3m 5m 15m 30m 1h 3h 4h 1d).
 * @example
 * ```ts
 * const labels = (await db.settings.listWindows()).map((w) => w.label); // ['30s', '40s', '1m', …]
 * ```
 * @throws IntegrityError when a row no longer matches `WindowRow`
 */
export async function listWindows(sql: Queryable): Promise<WindowRow[]> {
  const rows = await run(
    'settings.listWindows',
    sql`
      select label, amount, unit, duration_ms as "durationMs", created_at as "createdAt"
      from settings.windows order by duration_ms, label
    `,
  );
  return parseRows('settings.windows', WindowRow, rows);
}

// ---------------------------------------------------------------------------------------------
// params

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
    sql`
      select primary_interval_ms as "primaryIntervalMs", secondary_enabled as "secondaryEnabled",
             secondary_cycles as "secondaryCycles", str_cycles as "strCycles",
             sampling_seconds as "samplingSeconds", cycle_seconds as "cycleSeconds", updated_at as "updatedAt"
      from settings.params where singleton
    `,
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
 * @throws ValidationError when the input is malformed, or names a window that does not exist
 */
export async function updateParams(sql: Queryable, input: UpdateParamsInput = {}): Promise<ParamsRow> {
  const op = 'settings.updateParams';
  const p = parseInput(op, UpdateParamsInput, input);
  const rows = await run(
    op,
    sql`
      select primary_interval_ms as "primaryIntervalMs", secondary_enabled as "secondaryEnabled",
             secondary_cycles as "secondaryCycles", str_cycles as "strCycles",
             sampling_seconds as "samplingSeconds", cycle_seconds as "cycleSeconds", updated_at as "updatedAt"
      from settings.sp_update_params(
        ${p.primaryIntervalMs ?? null}, ${p.secondaryEnabled ?? null}, ${p.secondaryCycles ?? null},
        ${json(p.strCycles)}::text::jsonb, ${p.samplingSeconds ?? null}, ${p.cycleSeconds ?? null})
    `,
  );
  return parseOne('settings.sp_update_params', ParamsRow, rows);
}

// ---------------------------------------------------------------------------------------------
// profile

/**
 * Returns a profile by id or email (case-insensitive), or `null` when there is none.
 *
 * Reads `settings.profile`.
 * @example
 * ```ts
 * const me = await db.settings.getProfile({ email: 'ada@example.com' });
 * ```
 * @throws ValidationError when the input is malformed
 */
export async function getProfile(sql: Queryable, input: GetProfileInput): Promise<ProfileRow | null> {
  const op = 'settings.getProfile';
  const key = parseInput(op, GetProfileInput, input);
  const id = 'id' in key ? key.id : null;
  const email = 'email' in key ? key.email : null;
  const rows = await run(
    op,
    sql`
      select id, email, nickname, timezone, language, locale, params,
             created_at as "createdAt", updated_at as "updatedAt"
      from settings.profile
      where (${id}::uuid is not null and id = ${id}::uuid)
         or (${email}::text is not null and lower(email) = lower(${email}::text))
    `,
  );
  return parseMaybe('settings.profile', ProfileRow, rows);
}

/**
 * Creates or updates the profile of an email (case-insensitive); a missing field keeps its value.
 *
 * Wraps `settings.sp_upsert_profile`; the time zone must be one PostgreSQL knows.
 * @example
 * ```ts
 * const me = await db.settings.upsertProfile({ email: 'ada@example.com', timezone: 'Europe/Paris' });
 * ```
 * @throws ValidationError when the input is malformed or the time zone is unknown
 */
export async function upsertProfile(sql: Queryable, input: UpsertProfileInput): Promise<ProfileRow> {
  const op = 'settings.upsertProfile';
  const p = parseInput(op, UpsertProfileInput, input);
  const rows = await run(
    op,
    sql`
      select id, email, nickname, timezone, language, locale, params,
             created_at as "createdAt", updated_at as "updatedAt"
      from settings.sp_upsert_profile(${p.email}, ${p.nickname ?? null}, ${p.timezone ?? null},
        ${p.language ?? null}, ${p.locale ?? null}, ${json(p.params)}::text::jsonb)
    `,
  );
  return parseOne('settings.sp_upsert_profile', ProfileRow, rows);
}

// ---------------------------------------------------------------------------------------------
// coin universe

/**
 * Makes the enabled universe exactly these symbols (or, with `autoDisable: false`, only enables them).
 *
 * Wraps `settings.sp_sync_coin_universe`: new symbols are split into base and quote by the longest
 * known quote, and market.symbols mirrors the change (status TRADING / OFF, exchange filters kept).
 * Idempotent, callable many times in one transaction; concurrent calls are serialized.
 * @example
 * ```ts
 * await db.settings.syncCoinUniverse(['BTCUSDT', 'ETHUSDT']); // { enabledCount: 2, disabledCount: 0 }
 * await db.settings.syncCoinUniverse({ symbols: ['SOLUSDT'], autoDisable: false });
 * ```
 * @throws ValidationError when a symbol is malformed or ends with no known quote (nothing is written)
 */
export async function syncCoinUniverse(
  sql: Queryable,
  input: SyncCoinUniverseInput,
): Promise<SyncCoinUniverseResult> {
  const op = 'settings.syncCoinUniverse';
  const { symbols, autoDisable = true } = parseInput(
    op,
    SyncCoinUniverseInput,
    Array.isArray(input) ? { symbols: input } : input,
  );
  const rows = await run(
    op,
    sql`
      select enabled_count as "enabledCount", disabled_count as "disabledCount"
      from settings.sp_sync_coin_universe(${pgArray(symbols)}::text[], ${autoDisable})
    `,
  );
  return parseOne('settings.sp_sync_coin_universe', SyncCoinUniverseResult, rows);
}

/**
 * Lists the universe ordered by sort order then symbol; `{ enabled: true }` for the enabled symbols only.
 *
 * Reads `settings.v_coin_universe_simple`.
 * @example
 * ```ts
 * const live = await db.settings.listCoinUniverse({ enabled: true });
 * ```
 * @throws ValidationError when the input is malformed
 */
export async function listCoinUniverse(
  sql: Queryable,
  input: ListCoinUniverseInput = {},
): Promise<CoinUniverseRow[]> {
  const op = 'settings.listCoinUniverse';
  const { enabled = null } = parseInput(op, ListCoinUniverseInput, input);
  const rows = await run(
    op,
    sql`
      select symbol, base, quote, enabled, sort_order as "sortOrder"
      from settings.v_coin_universe_simple
      where ${enabled}::boolean is null or enabled = ${enabled}::boolean
      order by sort_order, symbol
    `,
  );
  return parseRows('settings.v_coin_universe_simple', CoinUniverseRow, rows);
}

/**
 * Mirrors the whole universe to market.symbols and market.assets, keeping exchange filters and metadata.
 *
 * Wraps `settings.sp_mirror_universe_to_market` (the universe triggers already mirror every change;
 * this repairs a market schema that was edited by hand or restored).
 * @example
 * ```ts
 * const { symbolsUpserted, assetsCreated } = await db.settings.mirrorUniverseToMarket();
 * ```
 * @throws IntegrityError when the result no longer matches `MirrorResult`
 */
export async function mirrorUniverseToMarket(sql: Queryable): Promise<MirrorResult> {
  const op = 'settings.mirrorUniverseToMarket';
  const rows = await run(
    op,
    sql`
      select symbols_upserted as "symbolsUpserted", assets_created as "assetsCreated"
      from settings.sp_mirror_universe_to_market()
    `,
  );
  return parseOne('settings.sp_mirror_universe_to_market', MirrorResult, rows);
}

/**
 * Queues a whole-universe update: inserting it into `settings.universe_batch_ops` applies it at once
 * (through `sp_sync_coin_universe`) and records the counts and the time applied on the row.
 *
 * @example
 * ```ts
 * const batch = await db.settings.queueUniverseBatch({ symbols: ['BTCUSDT', 'ETHUSDT'] });
 * // batch.appliedAt is set, batch.enabledCount === 2
 * ```
 * @throws ValidationError when a symbol is malformed or ends with no known quote (nothing is written)
 */
export async function queueUniverseBatch(
  sql: Queryable,
  input: QueueUniverseBatchInput,
): Promise<UniverseBatchRow> {
  const op = 'settings.queueUniverseBatch';
  const { symbols, autoDisable = true } = parseInput(op, QueueUniverseBatchInput, input);
  const rows = await run(
    op,
    sql`
      insert into settings.universe_batch_ops (symbols, auto_disable)
      values (${pgArray(symbols)}::text[], ${autoDisable})
      returning id, to_jsonb(symbols) as symbols, auto_disable as "autoDisable", requested_at as "requestedAt",
                applied_at as "appliedAt", enabled_count as "enabledCount", disabled_count as "disabledCount"
    `,
  );
  return parseOne('settings.universe_batch_ops', UniverseBatchRow, rows);
}

/** Options of `onUniverseChanged`. */
export interface UniverseListenerOptions {
  /** Receives a payload that fails its schema (an IntegrityError) or an error thrown by the callback. */
  onError?: ((error: unknown) => void) | undefined;
  /**
   * Called each time the listening connection was lost and is listening again (postgres.js reconnects
   * by itself). Events sent while it was down are lost: re-read what you need (`listCoinUniverse`).
   */
  onReconnect?: (() => void) | undefined;
}

/**
 * Calls `callback` with one parsed event per statement that changes the universe, until unsubscribed.
 *
 * LISTENs on `settings_universe_changed` (sent by the `trg_coin_universe_sync*` triggers): it needs a
 * pool (the client's `db.sql`), not a transaction. Resolves once listening; returns the unsubscribe.
 * @example
 * ```ts
 * const stop = await db.settings.onUniverseChanged((e) => console.log(e.op, e.symbols));
 * await stop();
 * ```
 * @throws ValidationError when `sql` is a transaction (it cannot LISTEN)
 */
export async function onUniverseChanged(
  sql: Queryable,
  callback: (event: UniverseChangedEvent) => void | Promise<void>,
  options: UniverseListenerOptions = {},
): Promise<() => Promise<void>> {
  const op = 'settings.onUniverseChanged';
  if (!canListen(sql)) {
    throw new ValidationError(op, [{ path: [], message: 'LISTEN needs a pool (db.sql), not a transaction' }]);
  }
  if (typeof callback !== 'function') {
    throw new ValidationError(op, [{ path: ['callback'], message: 'expected a function' }]);
  }
  const report = (e: unknown) => options.onError?.(e);
  let active = true;
  let listens = 0;
  // postgres.js calls this once listening, and again after every reconnect
  const onListen = () => {
    listens++;
    if (listens > 1 && active && options.onReconnect) {
      try {
        options.onReconnect();
      } catch (e) {
        report(e);
      }
    }
  };
  const listening = await run(
    op,
    sql.listen(
      UNIVERSE_CHANNEL,
      (payload) => {
        if (!active) return;
        let event: UniverseChangedEvent;
        try {
          let data: unknown;
          try {
            data = JSON.parse(payload);
          } catch {
            throw new IntegrityError(UNIVERSE_CHANNEL, [{ path: [], message: 'payload is not JSON' }]);
          }
          event = parseRow(UNIVERSE_CHANNEL, UniverseChangedEvent, data);
        } catch (e) {
          report(e);
          return;
        }
        Promise.resolve()
          .then(() => callback(event))
          .catch(report);
      },
      onListen,
    ),
  );
  return async () => {
    if (!active) return;
    active = false;
    await listening.unlisten();
  };
}

// ---------------------------------------------------------------------------------------------
// external accounts

/**
 * Creates or updates a linked provider account (keyed by provider and label); a missing field keeps its
 * value. `lastLinkedAt` is set only when `linked` becomes true.
 *
 * Wraps `settings.sp_upsert_external_account` (the bump is a trigger, so every writer is held to it).
 * @example
 * ```ts
 * await db.settings.upsertExternalAccount({ provider: 'binance', linked: true, accountHint: '…7731', profileId });
 * ```
 * @throws ValidationError when the input is malformed or the profile does not exist
 */
export async function upsertExternalAccount(
  sql: Queryable,
  input: UpsertExternalAccountInput,
): Promise<ExternalAccountRow> {
  const op = 'settings.upsertExternalAccount';
  const p = parseInput(op, UpsertExternalAccountInput, input);
  const rows = await run(
    op,
    sql`
      select id, provider, label, profile_id as "profileId", linked, account_hint as "accountHint",
             key_fingerprint as "keyFingerprint", last_linked_at as "lastLinkedAt", meta,
             created_at as "createdAt", updated_at as "updatedAt"
      from settings.sp_upsert_external_account(${p.provider}, ${p.label ?? null}, ${p.linked ?? null},
        ${p.accountHint ?? null}, ${p.keyFingerprint ?? null}, ${json(p.meta)}::text::jsonb, ${p.profileId ?? null}::uuid)
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
 * @throws ValidationError when the input is malformed
 */
export async function getProfileBinance(
  sql: Queryable,
  input: GetProfileBinanceInput,
): Promise<ProfileBinanceRow | null> {
  const op = 'settings.getProfileBinance';
  const key = parseInput(op, GetProfileBinanceInput, input);
  const id = 'profileId' in key ? key.profileId : null;
  const email = 'email' in key ? key.email : null;
  const rows = await run(
    op,
    sql`
      select profile_id as "profileId", email, nickname, timezone, language, locale,
             external_account_id as "externalAccountId", account_label as "accountLabel", linked,
             account_hint as "accountHint", key_fingerprint as "keyFingerprint", last_linked_at as "lastLinkedAt"
      from settings.v_profile_binance
      where (${id}::uuid is not null and profile_id = ${id}::uuid)
         or (${email}::text is not null and lower(email) = lower(${email}::text))
    `,
  );
  return parseMaybe('settings.v_profile_binance', ProfileBinanceRow, rows);
}

// ---------------------------------------------------------------------------------------------
// wallets and credentials

/**
 * Creates or updates a wallet (keyed by owner profile, or none, and label); a missing field keeps its value.
 *
 * Wraps `settings.sp_upsert_wallet`.
 * @example
 * ```ts
 * const w = await db.settings.upsertWallet({ label: 'main', exchange: 'binance', profileId });
 * ```
 * @throws ValidationError when the input is malformed or a referenced profile / account does not exist
 */
export async function upsertWallet(sql: Queryable, input: UpsertWalletInput): Promise<WalletRow> {
  const op = 'settings.upsertWallet';
  const p = parseInput(op, UpsertWalletInput, input);
  const rows = await run(
    op,
    sql`
      select id, profile_id as "profileId", label, exchange, network, address,
             external_account_id as "externalAccountId", meta, created_at as "createdAt", updated_at as "updatedAt"
      from settings.sp_upsert_wallet(${p.label}, ${p.profileId ?? null}::uuid, ${p.exchange ?? null},
        ${p.network ?? null}, ${p.address ?? null}, ${p.externalAccountId ?? null}::uuid, ${json(p.meta)}::text::jsonb)
    `,
  );
  return parseOne('settings.sp_upsert_wallet', WalletRow, rows);
}

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
 * @throws ValidationError when the input is malformed or the wallet does not exist
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
      select wallet_id as "walletId", exchange, key_fingerprint as "keyFingerprint", key_last4 as "keyLast4",
             created_at as "createdAt", updated_at as "updatedAt"
      from settings.sp_put_wallet_credentials(${walletId}::uuid, ${exchange}, ${apiKey}, ${apiSecret},
        ${passphrase}, ${encryptionKey})
    `;
  } catch (e) {
    throw withoutSecrets(op, e);
  }
  return parseOne('settings.sp_put_wallet_credentials', WalletCredentialsInfo, rows);
}

/**
 * Decrypts a wallet's exchange credentials with the client's key.
 *
 * Wraps `settings.sp_get_wallet_credentials`. A wrong key is an `AuthError` (reason `forbidden`), never
 * garbage; the error carries neither the key nor the credentials.
 * @example
 * ```ts
 * const { apiKey, apiSecret } = await getWalletCredentials(sql, { walletId, exchange: 'binance' }, { encryptionKey });
 * ```
 * @throws NotFoundError when the wallet has no credentials for that exchange
 * @throws AuthError (reason `forbidden`) when the key does not decrypt them
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
      select wallet_id as "walletId", exchange, api_key as "apiKey", api_secret as "apiSecret", passphrase,
             key_fingerprint as "keyFingerprint", key_last4 as "keyLast4", updated_at as "updatedAt"
      from settings.sp_get_wallet_credentials(${walletId}::uuid, ${exchange}, ${encryptionKey})
    `;
  } catch (e) {
    throw withoutSecrets(op, e);
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

// ---------------------------------------------------------------------------------------------
// cache rules

/**
 * Creates or updates a server-side (`scr`) or client-side (`ccr`) cache rule; a missing field keeps its value.
 *
 * Wraps `settings.sp_upsert_rule` (tables `settings.scr_rules` / `settings.ccr_rules`).
 * @example
 * ```ts
 * await db.settings.upsertRule({ kind: 'scr', ruleId: 'api.markets', precedence: 10, ruleJson: { ttlMs: 5000 } });
 * ```
 * @throws ValidationError when the input is malformed
 */
export async function upsertRule(sql: Queryable, input: UpsertRuleInput): Promise<RuleRow> {
  const op = 'settings.upsertRule';
  const p = parseInput(op, UpsertRuleInput, input);
  const rows = await run(
    op,
    sql`
      select kind, rule_id as "ruleId", description, enabled, precedence, rule_json as "ruleJson",
             created_at as "createdAt", updated_at as "updatedAt"
      from settings.sp_upsert_rule(${p.kind}, ${p.ruleId}, ${p.description ?? null}, ${p.enabled ?? null},
        ${p.precedence ?? null}, ${json(p.ruleJson)}::text::jsonb)
    `,
  );
  return parseOne('settings.sp_upsert_rule', RuleRow, rows);
}

/**
 * Lists cache rules in the order they apply (kind, precedence, rule id).
 *
 * Reads `settings.v_cache_rules`.
 * @example
 * ```ts
 * const rules = await db.settings.listRules({ kind: 'ccr', enabled: true });
 * ```
 * @throws ValidationError when the input is malformed
 */
export async function listRules(sql: Queryable, input: ListRulesInput = {}): Promise<RuleRow[]> {
  const op = 'settings.listRules';
  const { kind = null, enabled = null } = parseInput(op, ListRulesInput, input);
  const rows = await run(
    op,
    sql`
      select kind, rule_id as "ruleId", description, enabled, precedence, rule_json as "ruleJson",
             created_at as "createdAt", updated_at as "updatedAt"
      from settings.v_cache_rules
      where (${kind}::text is null or kind = ${kind}::text)
        and (${enabled}::boolean is null or enabled = ${enabled}::boolean)
      order by kind, precedence, rule_id
    `,
  );
  return parseRows('settings.v_cache_rules', RuleRow, rows);
}
