// Every instant the module reads comes back exact whatever the session TimeZone (local mean time
// offsets with seconds before 1900, years below 100): reads select util.epoch_ms(col). Settings stores
// no caller-given instant (every column is now() or a trigger's), so another writer sets old ones here.
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  getParams,
  getProfile,
  getProfileBinance,
  getWalletCredentials,
  listRules,
  listWindows,
  putWalletCredentials,
  upsertExternalAccount,
  upsertProfile,
  upsertRule,
  upsertWallet,
  upsertWindow,
} from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const ZONES = ['Europe/Amsterdam', 'Asia/Kolkata', 'America/New_York'];
const INSTANTS = [
  '0050-06-01T00:00:00.000Z',
  '1850-01-01T00:00:00.123Z',
  '1900-01-01T00:00:00.000Z',
  '1970-01-01T00:00:00.000Z',
  '2038-01-19T03:14:08.000Z',
  '9999-12-31T23:59:59.999Z',
];
const encryptionKey = 'host-app-encryption-key-0001';

/** Sets every timestamptz column of the rows under test to `iso`, with the touch triggers off. */
async function setAll(iso: string, ids: { profile: string; wallet: string }) {
  await db.sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`update settings.windows set created_at = ${iso}::timestamptz where label = 'tz-w'`;
    await tx`update settings.params set updated_at = ${iso}::timestamptz`;
    await tx`update settings.profile set created_at = ${iso}::timestamptz, updated_at = ${iso}::timestamptz
             where id = ${ids.profile}`;
    await tx`update settings.external_accounts set last_linked_at = ${iso}::timestamptz,
               created_at = ${iso}::timestamptz, updated_at = ${iso}::timestamptz where label = 'tz-a'`;
    await tx`update settings.wallets set created_at = ${iso}::timestamptz where id = ${ids.wallet}`;
    await tx`update settings.wallet_credentials set created_at = ${iso}::timestamptz,
               updated_at = ${iso}::timestamptz where wallet_id = ${ids.wallet}`;
    await tx`update settings.scr_rules set created_at = ${iso}::timestamptz, updated_at = ${iso}::timestamptz
             where rule_id = 'tz-r'`;
  });
}

it('every read is exact under Europe/Amsterdam, Asia/Kolkata and America/New_York, years 50 to 9999', async () => {
  await upsertWindow(db.sql, { label: 'tz-w', amount: 17, unit: 'minute' });
  const profile = await upsertProfile(db.sql, { email: 'tz@example.com' });
  await upsertExternalAccount(db.sql, {
    provider: 'binance',
    label: 'tz-a',
    profileId: profile.id,
    linked: true,
  });
  const wallet = await upsertWallet(db.sql, { label: 'tz-wallet' });
  const creds = {
    walletId: wallet.id,
    exchange: 'binance',
    apiKey: 'api-key-0001',
    apiSecret: 'api-secret-0001',
  };
  await putWalletCredentials(db.sql, creds, { encryptionKey });
  await upsertRule(db.sql, { kind: 'scr', ruleId: 'tz-r' });

  for (const zone of ZONES) {
    const sql = postgres(db.url, { max: 1, connection: { TimeZone: zone }, onnotice: () => {} });
    try {
      expect(await sql`show timezone`).toEqual([{ TimeZone: zone }]);
      for (const iso of INSTANTS) {
        await setAll(iso, { profile: profile.id, wallet: wallet.id });
        const at = (d: Date | null | undefined) => [zone, iso, d?.toISOString()];
        const want = [zone, iso, iso];
        expect(at((await listWindows(sql)).find((w) => w.label === 'tz-w')?.createdAt)).toEqual(want);
        expect(
          at((await upsertWindow(sql, { label: 'tz-w', amount: 17, unit: 'minute' })).createdAt),
        ).toEqual(want);
        expect(at((await getParams(sql)).updatedAt)).toEqual(want);
        const p = await getProfile(sql, { id: profile.id });
        expect([at(p?.createdAt), at(p?.updatedAt)]).toEqual([want, want]);
        expect(at((await getProfileBinance(sql, { profileId: profile.id }))?.lastLinkedAt)).toEqual(want);
        const a = await upsertExternalAccount(sql, { provider: 'binance', label: 'tz-a' });
        expect([at(a.lastLinkedAt), at(a.createdAt)]).toEqual([want, want]);
        expect(at((await upsertWallet(sql, { label: 'tz-wallet' })).createdAt)).toEqual(want);
        expect(
          at(
            (await getWalletCredentials(sql, { walletId: wallet.id, exchange: 'binance' }, { encryptionKey }))
              .updatedAt,
          ),
        ).toEqual(want);
        expect(at((await putWalletCredentials(sql, creds, { encryptionKey })).createdAt)).toEqual(want);
        const [rule] = await listRules(sql, { kind: 'scr' });
        expect([at(rule?.createdAt), at(rule?.updatedAt)]).toEqual([want, want]);
        expect(at((await upsertRule(sql, { kind: 'scr', ruleId: 'tz-r' })).createdAt)).toEqual(want);
      }
    } finally {
      await sql.end();
    }
  }
});
