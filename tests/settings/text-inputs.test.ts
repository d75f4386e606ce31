// Every text input of the module goes through the core text codec: a NUL or a lone surrogate is
// refused before anything is sent (the server refuses NUL; the driver would turn a lone surrogate into
// U+FFFD, merging distinct keys).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  getProfile,
  getProfileBinance,
  getWalletCredentials,
  listRules,
  putWalletCredentials,
  updateParams,
  upsertExternalAccount,
  upsertProfile,
  upsertRule,
  upsertWallet,
  upsertWindow,
} from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const walletId = '00000000-0000-4000-8000-000000000001';
const key = { encryptionKey: 'host-app-encryption-key-0001' };
const creds = { walletId, exchange: 'binance', apiKey: 'api-key-0001', apiSecret: 'api-secret-0001' };

/** A call per text field: `send(s)` puts `s` (a valid value with a bad character added) in `path`. */
const FIELDS: { name: string; path: string[]; send: (bad: (valid: string) => string) => Promise<unknown> }[] =
  [
    {
      name: 'upsertWindow',
      path: ['label'],
      send: (b) => upsertWindow(db.sql, { label: b('w1'), amount: 1, unit: 'day' }),
    },
    { name: 'upsertProfile', path: ['email'], send: (b) => upsertProfile(db.sql, { email: b('a@b.c') }) },
    {
      name: 'upsertProfile',
      path: ['nickname'],
      send: (b) => upsertProfile(db.sql, { email: 'a@b.c', nickname: b('n') }),
    },
    {
      name: 'upsertProfile',
      path: ['timezone'],
      send: (b) => upsertProfile(db.sql, { email: 'a@b.c', timezone: b('UTC') }),
    },
    {
      name: 'upsertProfile',
      path: ['language'],
      send: (b) => upsertProfile(db.sql, { email: 'a@b.c', language: b('en') }),
    },
    {
      name: 'upsertProfile',
      path: ['locale'],
      send: (b) => upsertProfile(db.sql, { email: 'a@b.c', locale: b('en-GB') }),
    },
    { name: 'getProfile', path: ['email'], send: (b) => getProfile(db.sql, { email: b('a@b.c') }) },
    {
      name: 'getProfileBinance',
      path: ['email'],
      send: (b) => getProfileBinance(db.sql, { email: b('a@b.c') }),
    },
    {
      name: 'upsertExternalAccount',
      path: ['provider'],
      send: (b) => upsertExternalAccount(db.sql, { provider: b('binance') }),
    },
    {
      name: 'upsertExternalAccount',
      path: ['label'],
      send: (b) => upsertExternalAccount(db.sql, { provider: 'binance', label: b('l') }),
    },
    {
      name: 'upsertExternalAccount',
      path: ['accountHint'],
      send: (b) => upsertExternalAccount(db.sql, { provider: 'binance', accountHint: b('h') }),
    },
    {
      name: 'upsertExternalAccount',
      path: ['keyFingerprint'],
      send: (b) => upsertExternalAccount(db.sql, { provider: 'binance', keyFingerprint: b('a'.repeat(64)) }),
    },
    { name: 'upsertWallet', path: ['label'], send: (b) => upsertWallet(db.sql, { label: b('w') }) },
    {
      name: 'upsertWallet',
      path: ['exchange'],
      send: (b) => upsertWallet(db.sql, { label: 'w', exchange: b('binance') }),
    },
    {
      name: 'upsertWallet',
      path: ['network'],
      send: (b) => upsertWallet(db.sql, { label: 'w', network: b('eth') }),
    },
    {
      name: 'upsertWallet',
      path: ['address'],
      send: (b) => upsertWallet(db.sql, { label: 'w', address: b('0x1') }),
    },
    {
      name: 'putWalletCredentials',
      path: ['exchange'],
      send: (b) => putWalletCredentials(db.sql, { ...creds, exchange: b('binance') }, key),
    },
    {
      name: 'putWalletCredentials',
      path: ['apiKey'],
      send: (b) => putWalletCredentials(db.sql, { ...creds, apiKey: b(creds.apiKey) }, key),
    },
    {
      name: 'putWalletCredentials',
      path: ['apiSecret'],
      send: (b) => putWalletCredentials(db.sql, { ...creds, apiSecret: b(creds.apiSecret) }, key),
    },
    {
      name: 'putWalletCredentials',
      path: ['passphrase'],
      send: (b) => putWalletCredentials(db.sql, { ...creds, passphrase: b('p') }, key),
    },
    {
      name: 'putWalletCredentials',
      path: ['encryptionKey'],
      send: (b) => putWalletCredentials(db.sql, creds, { encryptionKey: b(key.encryptionKey) }),
    },
    {
      name: 'getWalletCredentials',
      path: ['exchange'],
      send: (b) => getWalletCredentials(db.sql, { walletId, exchange: b('binance') }, key),
    },
    {
      name: 'getWalletCredentials',
      path: ['encryptionKey'],
      send: (b) =>
        getWalletCredentials(
          db.sql,
          { walletId, exchange: 'binance' },
          { encryptionKey: b(key.encryptionKey) },
        ),
    },
    {
      name: 'upsertRule',
      path: ['ruleId'],
      send: (b) => upsertRule(db.sql, { kind: 'scr', ruleId: b('r') }),
    },
    {
      name: 'upsertRule',
      path: ['description'],
      send: (b) => upsertRule(db.sql, { kind: 'scr', ruleId: 'r', description: b('d') }),
    },
    {
      name: 'updateParams',
      path: ['strCycles'],
      send: (b) => updateParams(db.sql, { strCycles: { [b('1h')]: 1 } }),
    },
  ];

const BAD = [
  { what: 'NUL', add: (s: string) => `${s}\u0000`, message: 'must not contain NUL (U+0000)' },
  {
    what: 'a lone high surrogate',
    add: (s: string) => `${s}\uD83D`,
    message: 'must not contain a lone surrogate (ill-formed UTF-16)',
  },
  {
    what: 'a lone low surrogate',
    add: (s: string) => `\uDE00${s}`,
    message: 'must not contain a lone surrogate (ill-formed UTF-16)',
  },
];

/** Row counts of every settings table. */
const counts = () => db.sql`
  select 'profile' as t, count(*)::int as n from settings.profile union all
  select 'windows', count(*)::int from settings.windows union all
  select 'external_accounts', count(*)::int from settings.external_accounts union all
  select 'wallets', count(*)::int from settings.wallets union all
  select 'wallet_credentials', count(*)::int from settings.wallet_credentials union all
  select 'scr_rules', count(*)::int from settings.scr_rules union all
  select 'params', count(*)::int from settings.params where str_cycles = '{"30m": 45, "1h": 90, "3h": 270}'`;

for (const field of FIELDS) {
  describe(`${field.name} ${field.path.join('.')}`, () => {
    for (const bad of BAD) {
      it(`refuses ${bad.what} before sending`, async () => {
        const before = await counts();
        const e = await refusal(field.send(bad.add));
        expect(e).toBeInstanceOf(ValidationError);
        const issue = (e as ValidationError).issues[0];
        if (field.name === 'updateParams') {
          // a key of a JSON object: the JSON codec names the key
          expect(issue?.path[0]).toBe('strCycles');
          expect(issue?.message).toBe(`key ${bad.message}`);
        } else {
          expect(issue).toEqual({ path: field.path, message: bad.message });
        }
        expect((e as ValidationError).sqlstate).toBeUndefined(); // nothing was sent
        expect(await counts()).toEqual(before);
      });
    }
  });
}

it('listRules refuses a kind with a lone surrogate too', async () => {
  const e = await refusal(listRules(db.sql, { kind: 'scr\uD800' as 'scr' }));
  expect(e).toBeInstanceOf(ValidationError);
});
