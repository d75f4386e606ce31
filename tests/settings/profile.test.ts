import { afterAll, beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { getProfile, listProfiles, upsertProfile } from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const profiles = () => db.sql`select * from settings.profile order by id`;

it('upsertProfile creates, then updates by a case-insensitive email keeping what is not given', async () => {
  const created = await upsertProfile(db.sql, { email: 'Ada@Example.com', nickname: 'ada' });
  expect(created).toEqual({
    id: expect.any(String),
    email: 'Ada@Example.com',
    nickname: 'ada',
    timezone: 'UTC',
    language: 'en',
    locale: null,
    params: {},
    createdAt: expect.any(Date),
    updatedAt: expect.any(Date),
  });
  const updated = await db.client.settings.upsertProfile({
    email: 'ada@example.com',
    timezone: 'Europe/Paris',
    locale: 'fr-FR',
    params: { theme: 'dark' },
  });
  expect(updated).toEqual({
    ...created,
    timezone: 'Europe/Paris',
    locale: 'fr-FR',
    params: { theme: 'dark' },
    updatedAt: expect.any(Date),
  });
  expect(await getProfile(db.sql, { id: created.id })).toEqual(updated);
  expect(await getProfile(db.sql, { email: 'ADA@EXAMPLE.COM' })).toEqual(updated);
  expect(await getProfile(db.sql, { email: 'nobody@example.com' })).toBeNull();
});

it('the email is unique case-insensitively for every writer', async () => {
  await upsertProfile(db.sql, { email: 'Bob@Example.com' });
  await expect(db.sql`insert into settings.profile (email) values ('BOB@EXAMPLE.COM')`).rejects.toMatchObject(
    {
      code: '23505',
      constraint_name: 'profile_email_lower_key',
    },
  );
  expect(await db.sql`select email from settings.profile where lower(email) = 'bob@example.com'`).toEqual([
    { email: 'Bob@Example.com' },
  ]);
});

it('upsertProfile refuses an unknown time zone (the database checks, without quoting it) and a bad email', async () => {
  const before = await profiles();
  const e = (await refusal(
    upsertProfile(db.sql, { email: 'eve@example.com', timezone: 'Mars/Base' }),
  )) as ValidationError;
  expect(e).toBeInstanceOf(ValidationError);
  expect(e.issues).toEqual([
    {
      path: [],
      message: 'the time zone must be one PostgreSQL knows (pg_timezone_names), such as Europe/Paris',
    },
  ]);
  expect(e.message).not.toContain('Mars');
  const bad = (await refusal(upsertProfile(db.sql, { email: 'not-an-email' }))) as ValidationError;
  expect(bad.issues).toEqual([{ path: ['email'], message: 'expected an email address' }]);
  expect(await profiles()).toEqual(before);
});

it('two emails that differ only by a lone surrogate are refused, never merged into one row', async () => {
  // the driver would send both as U+FFFD: one row, the second call overwriting the first's profile
  const kept = await upsertProfile(db.sql, { email: 'x\uFFFD@example.com', nickname: 'first' });
  const before = await profiles();
  for (const address of ['x\uD800@example.com', 'x\uDFFF@example.com']) {
    const e = (await refusal(
      upsertProfile(db.sql, { email: address, nickname: 'second' }),
    )) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.issues).toEqual([
      { path: ['email'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
    ]);
    const read = (await refusal(getProfile(db.sql, { email: address }))) as ValidationError;
    expect(read).toBeInstanceOf(ValidationError);
  }
  expect(await profiles()).toEqual(before);
  expect((await getProfile(db.sql, { id: kept.id }))?.nickname).toBe('first');
  const nul = (await refusal(upsertProfile(db.sql, { email: 'n\u0000@example.com' }))) as ValidationError;
  expect(nul.issues).toEqual([{ path: ['email'], message: 'must not contain NUL (U+0000)' }]);
});

it('well-formed unicode (an emoji, a surrogate pair) round-trips exactly in every text field', async () => {
  const p = await upsertProfile(db.sql, {
    email: '\u{1F600}.ø@example.com',
    nickname: "Zoë 🚀 '; drop table x; --",
  });
  expect(await getProfile(db.sql, { email: '\u{1F600}.Ø@EXAMPLE.COM' })).toMatchObject({
    email: '\u{1F600}.ø@example.com',
    nickname: "Zoë 🚀 '; drop table x; --",
  });
  expect(p.email).toBe('\u{1F600}.ø@example.com');
});

it('params keep a "__proto__" key through a write and a read', async () => {
  const params = JSON.parse('{"__proto__": {"polluted": true}, "theme": "dark"}') as Record<string, unknown>;
  const p = await upsertProfile(db.sql, { email: 'proto@example.com', params: params as never });
  expect(Object.keys(p.params)).toEqual(['theme', '__proto__']); // jsonb orders keys by length
  expect(Object.hasOwn(p.params, '__proto__')).toBe(true);
  expect(JSON.stringify((await getProfile(db.sql, { id: p.id }))?.params)).toBe(
    '{"theme":"dark","__proto__":{"polluted":true}}',
  );
  expect(await db.sql`select params::text as t from settings.profile where id = ${p.id}`).toEqual([
    { t: '{"theme": "dark", "__proto__": {"polluted": true}}' },
  ]);
  expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
});

it('listProfiles reads many ids and emails in one call; unknown keys are absent, a double match listed once', async () => {
  const a = await upsertProfile(db.sql, { email: 'many-a@example.com' });
  const b = await upsertProfile(db.sql, { email: 'Many-B@example.com' });
  const c = await upsertProfile(db.sql, { email: 'many-c@example.com' });
  const got = await db.client.settings.listProfiles({
    ids: [a.id, '00000000-0000-4000-8000-000000000000'],
    emails: ['MANY-B@EXAMPLE.COM', 'many-a@example.com', 'nobody@example.com'],
  });
  expect(got.map((p) => p.email)).toEqual(['many-a@example.com', 'Many-B@example.com']);
  expect(got[1]).toEqual(await getProfile(db.sql, { id: b.id }));
  expect((await listProfiles(db.sql, { ids: [c.id] })).map((p) => p.id)).toEqual([c.id]);
  expect(await listProfiles(db.sql, { emails: [] })).toEqual([]);
  const none = (await refusal(listProfiles(db.sql, {}))) as ValidationError;
  expect(none.issues).toEqual([{ path: ['ids'], message: 'give ids, emails or both' }]);
  const bad = (await refusal(listProfiles(db.sql, { emails: ['x\uD800@example.com'] }))) as ValidationError;
  expect(bad.issues).toEqual([
    { path: ['emails', 0], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
  ]);
});

it('getProfile takes exactly one of id and email, and says which rule a key breaks', async () => {
  const p = await upsertProfile(db.sql, { email: 'one-of@example.com' });
  for (const input of [{}, { id: p.id, email: 'one-of@example.com' }]) {
    const e = (await refusal(getProfile(db.sql, input as never))) as ValidationError;
    expect(e.issues).toEqual([{ path: [], message: 'give id or email (one of them)' }]);
  }
  const id = (await refusal(getProfile(db.sql, { id: 'nope' }))) as ValidationError;
  expect(id.issues).toEqual([{ path: ['id'], message: 'not a uuid' }]);
  const mail = (await refusal(getProfile(db.sql, { email: 'no-at-sign' }))) as ValidationError;
  expect(mail.issues).toEqual([{ path: ['email'], message: 'expected an email address' }]);
  const extra = (await refusal(getProfile(db.sql, { id: p.id, name: 'x' } as never))) as ValidationError;
  expect(extra.issues).toEqual([{ path: [], message: 'unknown key: name' }]);
});
