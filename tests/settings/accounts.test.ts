import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { getProfileBinance, upsertExternalAccount, upsertProfile } from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const accounts = () => db.sql`select * from settings.external_accounts order by id`;

it('last_linked_at bumps only when linked becomes true, and no writer can forge it', async () => {
  const profile = await upsertProfile(db.sql, { email: 'linker@example.com' });
  const created = await upsertExternalAccount(db.sql, {
    provider: 'binance',
    label: 'bump',
    profileId: profile.id,
  });
  expect(created).toEqual({
    id: expect.any(String),
    provider: 'binance',
    label: 'bump',
    profileId: profile.id,
    linked: false,
    accountHint: null,
    keyFingerprint: null,
    lastLinkedAt: null,
    meta: {},
    createdAt: expect.any(Date),
    updatedAt: expect.any(Date),
  });
  const linked = await db.client.settings.upsertExternalAccount({
    provider: 'binance',
    label: 'bump',
    linked: true,
    accountHint: '…7731',
  });
  expect(linked.lastLinkedAt).toBeInstanceOf(Date);
  const first = linked.lastLinkedAt as Date;
  const again = await upsertExternalAccount(db.sql, {
    provider: 'binance',
    label: 'bump',
    linked: true,
    meta: { v: 1 },
  });
  expect(again.lastLinkedAt).toEqual(first); // still linked: no bump
  const unlinked = await upsertExternalAccount(db.sql, { provider: 'binance', label: 'bump', linked: false });
  expect([unlinked.linked, unlinked.lastLinkedAt]).toEqual([false, first]);
  // make the first link visibly old, so the re-link's bump is measurable without waiting
  await db.sql`alter table settings.external_accounts disable trigger trg_external_accounts_linked_at`;
  await db.sql`update settings.external_accounts set last_linked_at = '2000-01-01T00:00:00Z' where id = ${created.id}`;
  await db.sql`alter table settings.external_accounts enable trigger trg_external_accounts_linked_at`;
  const relinked = await upsertExternalAccount(db.sql, { provider: 'binance', label: 'bump', linked: true });
  expect((relinked.lastLinkedAt as Date).getTime()).toBeGreaterThan(Date.parse('2000-01-01T00:00:00Z'));
  expect(relinked).toEqual({
    ...created,
    linked: true,
    accountHint: '…7731',
    meta: { v: 1 },
    lastLinkedAt: relinked.lastLinkedAt,
    updatedAt: expect.any(Date),
  });
  // a writer cannot forge the time
  await db.sql`update settings.external_accounts set last_linked_at = 'epoch' where id = ${created.id}`;
  expect((await upsertExternalAccount(db.sql, { provider: 'binance', label: 'bump' })).lastLinkedAt).toEqual(
    relinked.lastLinkedAt,
  );
});

it('getProfileBinance reads the profile with its binance account', async () => {
  const profile = await upsertProfile(db.sql, { email: 'reader@example.com' });
  const fp = createHash('sha256').update('key').digest('hex');
  const account = await upsertExternalAccount(db.sql, {
    provider: 'binance',
    label: 'reader',
    profileId: profile.id,
    linked: true,
    accountHint: '…0001',
    keyFingerprint: fp,
  });
  const row = await getProfileBinance(db.sql, { email: 'READER@example.com' });
  expect(row).toEqual({
    profileId: profile.id,
    email: 'reader@example.com',
    nickname: null,
    timezone: 'UTC',
    language: 'en',
    locale: null,
    externalAccountId: account.id,
    accountLabel: 'reader',
    linked: true,
    accountHint: '…0001',
    keyFingerprint: fp,
    lastLinkedAt: account.lastLinkedAt,
  });
  expect(await db.client.settings.getProfileBinance({ profileId: profile.id })).toEqual(row);
  const lone = await upsertProfile(db.sql, { email: 'lone@example.com' });
  expect(await getProfileBinance(db.sql, { profileId: lone.id })).toMatchObject({
    externalAccountId: null,
    linked: false,
    keyFingerprint: null,
    lastLinkedAt: null,
  });
  expect(await getProfileBinance(db.sql, { email: 'ghost@example.com' })).toBeNull();
});

it('refuses a bad provider, a bad fingerprint, bad text and an unknown profile, writing nothing', async () => {
  const before = await accounts();
  const bad = (await refusal(
    upsertExternalAccount(db.sql, { provider: 'Binance!', keyFingerprint: 'abc', accountHint: 'x\u0000' }),
  )) as ValidationError;
  expect(bad).toBeInstanceOf(ValidationError);
  expect(bad.issues).toEqual([
    {
      path: ['provider'],
      message: 'expected a lower-case name such as binance (2 to 32 letters, digits or _)',
    },
    { path: ['accountHint'], message: 'must not contain NUL (U+0000)' },
    { path: ['keyFingerprint'], message: 'expected a sha256 fingerprint (64 lower-case hex digits)' },
  ]);
  const label = (await refusal(
    upsertExternalAccount(db.sql, { provider: 'binance', label: 'a\uDC00' }),
  )) as ValidationError;
  expect(label.issues).toEqual([
    { path: ['label'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
  ]);
  const ghost = (await refusal(
    upsertExternalAccount(db.sql, {
      provider: 'binance',
      label: 'ghost',
      profileId: '00000000-0000-4000-8000-000000000000',
    }),
  )) as ValidationError;
  expect(ghost).toBeInstanceOf(ValidationError);
  expect(ghost).toMatchObject({ sqlstate: '23503', constraint: 'external_accounts_profile_id_fkey' });
  await expect(db.sql`select settings.sp_upsert_external_account('Bad!')`).rejects.toMatchObject({
    code: '22023',
    message: 'a provider is a lower-case name such as binance',
    detail: "provider 'Bad!'",
  });
  expect(await accounts()).toEqual(before);
});

it('meta keeps a "__proto__" key through a write and a read', async () => {
  const meta = JSON.parse('{"__proto__": 1, "a": [true, null]}') as Record<string, never>;
  const a = await upsertExternalAccount(db.sql, { provider: 'kraken', label: 'proto', meta });
  expect(JSON.stringify(a.meta)).toBe('{"a":[true,null],"__proto__":1}');
  expect(Object.hasOwn(a.meta, '__proto__')).toBe(true);
  expect(await db.sql`select meta::text as t from settings.external_accounts where id = ${a.id}`).toEqual([
    { t: '{"a": [true, null], "__proto__": 1}' },
  ]);
});

it('getProfileBinance takes exactly one of profileId and email', async () => {
  const p = await upsertProfile(db.sql, { email: 'one-of@example.com' });
  for (const input of [{}, { profileId: p.id, email: 'one-of@example.com' }]) {
    const e = (await refusal(getProfileBinance(db.sql, input as never))) as ValidationError;
    expect(e.issues).toEqual([{ path: [], message: 'give profileId or email (one of them)' }]);
  }
  const mail = (await refusal(
    getProfileBinance(db.sql, { email: 'x\uD800@example.com' }),
  )) as ValidationError;
  expect(mail.issues).toEqual([
    { path: ['email'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
  ]);
});
