import { afterAll, beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { upsertProfile, upsertWallet } from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const wallets = () => db.sql`select * from settings.wallets order by id`;

it('upsertWallet creates and updates by owner and label', async () => {
  const owner = await upsertProfile(db.sql, { email: 'wallets@example.com' });
  const w = await upsertWallet(db.sql, { label: 'main', exchange: 'binance', profileId: owner.id });
  expect(w).toEqual({
    id: expect.any(String),
    profileId: owner.id,
    label: 'main',
    exchange: 'binance',
    network: null,
    address: null,
    externalAccountId: null,
    meta: {},
    createdAt: expect.any(Date),
    updatedAt: expect.any(Date),
  });
  const same = await db.client.settings.upsertWallet({
    label: 'main',
    profileId: owner.id,
    address: 'sub-7',
  });
  expect(same).toEqual({ ...w, address: 'sub-7', updatedAt: expect.any(Date) });
  const ownerless = await upsertWallet(db.sql, { label: 'main' });
  expect(ownerless.id).not.toBe(w.id);
  expect((await upsertWallet(db.sql, { label: 'main', network: 'eth' })).id).toBe(ownerless.id);
});

it("a label with a lone surrogate is refused: it never overwrites another wallet's address", async () => {
  // the driver would send 'cold\uD800' as 'cold\uFFFD': the upsert would land on this wallet
  const kept = await upsertWallet(db.sql, { label: 'cold\uFFFD', address: 'bc1-original' });
  const before = await wallets();
  for (const label of ['cold\uD800', 'cold\uDBFF']) {
    const e = (await refusal(upsertWallet(db.sql, { label, address: 'bc1-attacker' }))) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.issues).toEqual([
      { path: ['label'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
    ]);
  }
  const address = (await refusal(
    upsertWallet(db.sql, { label: 'cold\uFFFD', address: 'bc1\uDFFF', network: 'n\u0000' }),
  )) as ValidationError;
  expect(address.issues).toEqual([
    { path: ['network'], message: 'must not contain NUL (U+0000)' },
    { path: ['address'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
  ]);
  expect(await wallets()).toEqual(before);
  expect((await db.sql`select address from settings.wallets where id = ${kept.id}`)[0]).toEqual({
    address: 'bc1-original',
  });
});

it('refuses an unknown profile and a malformed id, writing nothing', async () => {
  const before = await wallets();
  const ghost = (await refusal(
    upsertWallet(db.sql, { label: 'ghost', profileId: '00000000-0000-4000-8000-000000000000' }),
  )) as ValidationError;
  expect(ghost).toBeInstanceOf(ValidationError);
  expect(ghost).toMatchObject({ sqlstate: '23503', constraint: 'wallets_profile_id_fkey' });
  const id = (await refusal(upsertWallet(db.sql, { label: 'x', profileId: 'nope' }))) as ValidationError;
  expect(id.issues).toEqual([{ path: ['profileId'], message: 'not a uuid' }]);
  expect(await wallets()).toEqual(before);
});

it('meta keeps a "__proto__" key through a write and a read', async () => {
  const meta = JSON.parse('{"__proto__": {"x": "y"}}') as Record<string, never>;
  const w = await upsertWallet(db.sql, { label: 'proto', meta });
  expect(JSON.stringify(w.meta)).toBe('{"__proto__":{"x":"y"}}');
  expect(await db.sql`select meta::text as t from settings.wallets where id = ${w.id}`).toEqual([
    { t: '{"__proto__": {"x": "y"}}' },
  ]);
});
