import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient } from '../../src/client.js';
import { NotFoundError, ValidationError } from '../../src/core/errors.js';
import { getWalletCredentials, putWalletCredentials, upsertWallet } from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const encryptionKey = 'host-app-encryption-key-0001';
const wrongKey = 'some-other-encryption-key-999';
const apiKey = 'AKIA-live-api-key-7f3c9e1d5b';
const apiSecret = 'very-secret-api-secret-42c1a7';
const passphrase = 'pass-phrase-88';
const secrets = [encryptionKey, wrongKey, apiKey, apiSecret, passphrase];
const ghost = '00000000-0000-4000-8000-000000000000';

/** Every way an error may show its content: message, enumerable fields, cause, hidden properties. */
const exposed = (e: unknown): string =>
  [
    String(e),
    JSON.stringify(e),
    inspect(e, { showHidden: true, depth: 10 }),
    String((e as { cause?: unknown }).cause),
  ].join('\n');

const credentials = () => db.sql`select * from settings.wallet_credentials order by wallet_id, exchange`;

/** A wallet of its own with credentials stored under `encryptionKey`. */
async function walletWithCredentials(label: string) {
  const wallet = await upsertWallet(db.sql, { label, exchange: 'binance' });
  const info = await putWalletCredentials(
    db.sql,
    { walletId: wallet.id, exchange: 'binance', apiKey, apiSecret, passphrase },
    { encryptionKey },
  );
  return { wallet, info };
}

it('stores credentials only as ciphertext and decrypts them with the right key', async () => {
  const { wallet, info } = await walletWithCredentials('creds');
  expect(info).toEqual({
    walletId: wallet.id,
    exchange: 'binance',
    keyFingerprint: createHash('sha256').update(apiKey).digest('hex'),
    keyLast4: '1d5b',
    createdAt: expect.any(Date),
    updatedAt: expect.any(Date),
  });

  const [row] = await db.sql`select * from settings.wallet_credentials where wallet_id = ${wallet.id}`;
  const [asText] =
    await db.sql`select t::text as t from settings.wallet_credentials t where wallet_id = ${wallet.id}`;
  const seen: string[] = [String(asText?.t)];
  for (const value of Object.values(row ?? {})) {
    if (Buffer.isBuffer(value))
      seen.push(value.toString('latin1'), value.toString('utf8'), value.toString('hex'));
    else seen.push(value instanceof Date ? value.toISOString() : String(value));
  }
  expect(Object.keys(row ?? {}).sort()).toEqual([
    'api_key_enc',
    'api_secret_enc',
    'created_at',
    'exchange',
    'key_fingerprint',
    'key_last4',
    'passphrase_enc',
    'updated_at',
    'wallet_id',
  ]);
  for (const s of secrets) {
    for (const text of seen) expect(text).not.toContain(s);
    expect(seen.join('\n')).not.toContain(Buffer.from(s).toString('hex'));
  }

  expect(
    await db.client.settings.getWalletCredentials(
      { walletId: wallet.id, exchange: 'binance' },
      { encryptionKey },
    ),
  ).toEqual({
    walletId: wallet.id,
    exchange: 'binance',
    apiKey,
    apiSecret,
    passphrase,
    keyFingerprint: info.keyFingerprint,
    keyLast4: '1d5b',
    updatedAt: info.updatedAt,
  });
});

it('a wrong key is a ValidationError saying decryption failed, carrying neither the key nor the credentials', async () => {
  const { wallet } = await walletWithCredentials('wrong-key');
  const e = await refusal(
    getWalletCredentials(db.sql, { walletId: wallet.id, exchange: 'binance' }, { encryptionKey: wrongKey }),
  );
  expect(e).toBeInstanceOf(ValidationError);
  expect(e).toMatchObject({
    operation: 'settings.getWalletCredentials',
    sqlstate: '42501',
    issues: [
      {
        path: ['encryptionKey'],
        message: 'decryption failed: this key does not open the stored credentials',
      },
    ],
  });
  expect((e as Error).message).toBe(
    'settings.getWalletCredentials: invalid input: encryptionKey: decryption failed: this key does not open the stored credentials',
  );
  expect((e as Error).cause).toBeUndefined();
  for (const s of secrets) expect(exposed(e)).not.toContain(s);
});

it('no credentials for that exchange is a NotFoundError with entity and key as data', async () => {
  const { wallet } = await walletWithCredentials('missing');
  const missing = await refusal(
    getWalletCredentials(db.sql, { walletId: wallet.id, exchange: 'kraken' }, { encryptionKey }),
  );
  expect(missing).toBeInstanceOf(NotFoundError);
  expect(missing).toMatchObject({
    operation: 'settings.getWalletCredentials',
    entity: 'settings.wallet_credential',
    key: { walletId: wallet.id, exchange: 'kraken' },
    sqlstate: 'P0002',
  });
  expect((missing as Error).message).toBe(
    'settings.getWalletCredentials: settings.wallet_credential not found (by walletId, exchange)',
  );
  expect((missing as Error).cause).toBeUndefined();
  for (const s of secrets) expect(exposed(missing)).not.toContain(s);
});

it('refusals of putWalletCredentials carry no secret either, and write nothing', async () => {
  const before = await credentials();
  const fk = await refusal(
    putWalletCredentials(
      db.sql,
      { walletId: ghost, exchange: 'binance', apiKey, apiSecret },
      { encryptionKey },
    ),
  );
  expect(fk).toBeInstanceOf(ValidationError);
  expect(fk).toMatchObject({ sqlstate: '23503', constraint: 'wallet_credentials_wallet_id_fkey' });
  expect((fk as Error).cause).toBeUndefined();
  for (const s of secrets) expect(exposed(fk)).not.toContain(s);

  const shortKey = await refusal(
    putWalletCredentials(
      db.sql,
      { walletId: ghost, exchange: 'binance', apiKey, apiSecret },
      { encryptionKey: 'short-key-000' },
    ),
  );
  expect(shortKey).toBeInstanceOf(ValidationError);
  expect((shortKey as ValidationError).issues).toEqual([
    { path: ['encryptionKey'], message: 'must be at least 16 characters' },
  ]);
  expect(exposed(shortKey)).not.toContain('short-key-000');
  expect(await credentials()).toEqual(before);
});

it('an API secret with a lone surrogate is refused: it would decrypt altered (as U+FFFD)', async () => {
  const wallet = await upsertWallet(db.sql, { label: 'surrogate' });
  const before = await credentials();
  const altered = `${apiSecret}\uD83D`; // half of an emoji
  const e = (await refusal(
    putWalletCredentials(
      db.sql,
      { walletId: wallet.id, exchange: 'binance', apiKey, apiSecret: altered },
      { encryptionKey },
    ),
  )) as ValidationError;
  expect(e).toBeInstanceOf(ValidationError);
  expect(e.issues).toEqual([
    { path: ['apiSecret'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
  ]);
  for (const s of [...secrets, altered]) expect(exposed(e)).not.toContain(s);
  const others = (await refusal(
    putWalletCredentials(
      db.sql,
      {
        walletId: wallet.id,
        exchange: 'binance',
        apiKey: `${apiKey}\u0000`,
        apiSecret,
        passphrase: '\uDE00',
      },
      { encryptionKey: `${encryptionKey}\uD800` },
    ),
  )) as ValidationError;
  expect(others.issues).toEqual([
    { path: ['apiKey'], message: 'must not contain NUL (U+0000)' },
    { path: ['passphrase'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
  ]);
  const key = (await refusal(
    getWalletCredentials(
      db.sql,
      { walletId: wallet.id, exchange: 'binance' },
      { encryptionKey: `${encryptionKey}\uD800` },
    ),
  )) as ValidationError;
  expect(key.issues).toEqual([
    { path: ['encryptionKey'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
  ]);
  expect(await credentials()).toEqual(before);
  // the whole emoji is fine, and comes back exactly
  const emoji = `${apiSecret}\u{1F600}`;
  await putWalletCredentials(
    db.sql,
    { walletId: wallet.id, exchange: 'binance', apiKey, apiSecret: emoji },
    { encryptionKey },
  );
  expect(
    (await getWalletCredentials(db.sql, { walletId: wallet.id, exchange: 'binance' }, { encryptionKey }))
      .apiSecret,
  ).toBe(emoji);
});

it('a client created with encryptionKey uses it for credentials; without one the call is refused', async () => {
  const keyed = createClient({ sql: db.sql }, { encryptionKey });
  const wallet = await keyed.settings.upsertWallet({ label: 'client-key', exchange: 'binance' });
  await keyed.settings.putWalletCredentials({ walletId: wallet.id, exchange: 'binance', apiKey, apiSecret });
  const back = await keyed.transaction((tx) =>
    tx.settings.getWalletCredentials({ walletId: wallet.id, exchange: 'binance' }),
  );
  expect({ apiKey: back.apiKey, apiSecret: back.apiSecret }).toEqual({ apiKey, apiSecret });
  // the standalone function with the same key reads what the client wrote
  expect(
    (await getWalletCredentials(db.sql, { walletId: wallet.id, exchange: 'binance' }, { encryptionKey }))
      .apiKey,
  ).toBe(apiKey);
  const keyless = await refusal(
    db.client.settings.getWalletCredentials({ walletId: wallet.id, exchange: 'binance' }),
  );
  expect(keyless).toBeInstanceOf(ValidationError);
  expect((keyless as ValidationError).issues).toEqual([
    {
      path: ['encryptionKey'],
      message: 'no encryption key: pass { encryptionKey } or set the client option',
    },
  ]);
  for (const s of secrets) expect(exposed(keyless)).not.toContain(s);
});

it("the client's key and the credentials never reach its logger", async () => {
  const lines: string[] = [];
  const record = (message: string, meta?: Record<string, unknown>) => {
    lines.push(`${message} ${inspect(meta, { depth: 10 })}`);
  };
  const client = createClient(
    { url: db.url },
    { encryptionKey, logger: { debug: record, info: record, warn: record } },
  );
  try {
    await client.migrate();
    await client.sql`do $$ begin raise notice 'the logger is wired'; end $$`;
    const wallet = await client.settings.upsertWallet({ label: 'logged', exchange: 'binance' });
    await client.settings.putWalletCredentials({
      walletId: wallet.id,
      exchange: 'binance',
      apiKey,
      apiSecret,
      passphrase,
    });
    expect(
      (await client.settings.getWalletCredentials({ walletId: wallet.id, exchange: 'binance' })).apiKey,
    ).toBe(apiKey);
    await refusal(
      client.settings.getWalletCredentials(
        { walletId: wallet.id, exchange: 'binance' },
        { encryptionKey: wrongKey },
      ),
    );
    await refusal(
      client.settings.putWalletCredentials({ walletId: ghost, exchange: 'binance', apiKey, apiSecret }),
    );
    for (const s of secrets) {
      expect(inspect(client, { showHidden: true, depth: 10 })).not.toContain(s);
      expect(JSON.stringify(client)).not.toContain(s);
    }
  } finally {
    await client.close();
  }
  expect(lines.filter((l) => l.includes('the logger is wired'))).toHaveLength(1);
  for (const s of secrets) expect(lines.join('\n')).not.toContain(s);
});

it('the table refuses clear bytes from any writer', async () => {
  const wallet = await upsertWallet(db.sql, { label: 'clear-bytes' });
  await expect(db.sql`
    insert into settings.wallet_credentials (wallet_id, exchange, api_key_enc, api_secret_enc, key_fingerprint, key_last4)
    values (${wallet.id}, 'kraken', convert_to('plain-key', 'UTF8'), convert_to('plain-secret', 'UTF8'),
            repeat('a', 64), '1234')`).rejects.toMatchObject({ code: '23514' });
});
