import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/client.js';
import { AuthError, IntegrityError, NotFoundError, ValidationError } from '../src/core/errors.js';
import {
  getParams,
  getProfile,
  getProfileBinance,
  getWalletCredentials,
  listCoinUniverse,
  listRules,
  listWindows,
  mirrorUniverseToMarket,
  onUniverseChanged,
  putWalletCredentials,
  queueUniverseBatch,
  syncCoinUniverse,
  type UniverseChangedEvent,
  updateParams,
  upsertExternalAccount,
  upsertProfile,
  upsertRule,
  upsertWallet,
  upsertWindow,
} from '../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { refusal } from './helpers/refusal.js';
import { functionPins, updatedAtTouches } from './helpers/catalog.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

describe('windows', () => {
  const windows = () => db.sql`select label, amount, unit, duration_ms from settings.windows order by label`;

  it('the seeded set exists after migrate', async () => {
    const rows = await listWindows(db.sql);
    expect(rows.map((w) => [w.label, w.durationMs])).toEqual([
      ['30s', 30_000],
      ['40s', 40_000],
      ['1m', 60_000],
      ['3m', 180_000],
      ['5m', 300_000],
      ['15m', 900_000],
      ['30m', 1_800_000],
      ['1h', 3_600_000],
      ['3h', 10_800_000],
      ['4h', 14_400_000],
      ['1d', 86_400_000],
    ]);
    expect(rows[0]).toEqual({
      label: '30s',
      amount: 30,
      unit: 'second',
      durationMs: 30_000,
      createdAt: expect.any(Date),
    });
  });

  it('upsertWindow derives amount, unit and duration from a label alone', async () => {
    const got = await Promise.all(['15m', '4h', '1d', '30s'].map((label) => upsertWindow(db.sql, { label })));
    expect(got.map(({ createdAt: _, ...w }) => w)).toEqual([
      { label: '15m', amount: 15, unit: 'minute', durationMs: 900_000 },
      { label: '4h', amount: 4, unit: 'hour', durationMs: 14_400_000 },
      { label: '1d', amount: 1, unit: 'day', durationMs: 86_400_000 },
      { label: '30s', amount: 30, unit: 'second', durationMs: 30_000 },
    ]);
  });

  it('upsertWindow takes any label with amount and unit (through the client)', async () => {
    expect(await db.client.settings.upsertWindow({ label: 'two-hours', amount: 2, unit: 'hour' })).toEqual({
      label: 'two-hours',
      amount: 2,
      unit: 'hour',
      durationMs: 7_200_000,
      createdAt: expect.any(Date),
    });
    expect((await listWindows(db.sql)).find((w) => w.label === 'two-hours')?.durationMs).toBe(7_200_000);
  });

  it("refuses '7x' and an amount of 0 before sending, and writes nothing", async () => {
    const before = await windows();
    const bad = (await refusal(upsertWindow(db.sql, { label: '7x' }))) as ValidationError;
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad.issues).toEqual([
      { path: ['label'], message: 'a label alone must spell its span, such as 30s, 15m, 4h or 1d' },
    ]);
    const zero = (await refusal(
      upsertWindow(db.sql, { label: 'none', amount: 0, unit: 'hour' }),
    )) as ValidationError;
    expect(zero).toBeInstanceOf(ValidationError);
    expect(zero.issues).toEqual([{ path: ['amount'], message: 'Too small: expected number to be >0' }]);
    expect(zero.sqlstate).toBeUndefined(); // refused by zod: nothing was sent
    expect(await windows()).toEqual(before);
  });

  it('sp_upsert_window refuses them too when the SDK is bypassed', async () => {
    await expect(db.sql`select settings.sp_upsert_window('7x')`).rejects.toMatchObject({ code: '22023' });
    await expect(db.sql`select settings.sp_upsert_window('none', 0, 'hour')`).rejects.toMatchObject({
      code: '22023',
    });
    await expect(db.sql`select settings.sp_upsert_window('none', 2, 'week')`).rejects.toMatchObject({
      code: '22023',
    });
    await expect(
      db.sql`insert into settings.windows (label, amount, unit) values ('z', 0, 'hour')`,
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('a label that spells a span cannot name another, and a window past 2^53 - 1 ms is refused', async () => {
    const before = await windows();
    const other = (await refusal(
      upsertWindow(db.sql, { label: '15m', amount: 2, unit: 'hour' }),
    )) as ValidationError;
    expect(other).toBeInstanceOf(ValidationError);
    expect(other.issues).toEqual([
      { path: ['label'], message: 'a label that spells a span (such as 15m) cannot name another span' },
    ]);
    const long = (await refusal(upsertWindow(db.sql, { label: '999999999d' }))) as ValidationError;
    expect(long).toBeInstanceOf(ValidationError);
    expect(long.issues).toEqual([
      { path: ['amount'], message: 'a window is at most 2^53 - 1 milliseconds long' },
    ]);
    const longNamed = (await refusal(
      upsertWindow(db.sql, { label: 'forever', amount: 2_000_000_000, unit: 'day' }),
    )) as ValidationError;
    expect(longNamed.issues).toEqual([
      { path: ['amount'], message: 'a window is at most 2^53 - 1 milliseconds long' },
    ]);
    expect(await windows()).toEqual(before);
    // the same span spelled and given is fine
    expect(await upsertWindow(db.sql, { label: '15m', amount: 15, unit: 'minute' })).toMatchObject({
      label: '15m',
      durationMs: 900_000,
    });
  });

  it('sp_upsert_window and the table refuse them too, so listWindows can always read the table', async () => {
    const before = await listWindows(db.sql);
    await expect(db.sql`select settings.sp_upsert_window('15m', 2, 'hour')`).rejects.toMatchObject({
      code: '22023',
      message: 'window 15m spells its own span: it cannot be 2 hour',
    });
    await expect(db.sql`select settings.sp_upsert_window('999999999d')`).rejects.toMatchObject({
      code: '22023',
      message: 'window 999999999d is longer than 2^53 - 1 milliseconds',
    });
    await expect(
      db.sql`insert into settings.windows (label, amount, unit) values ('forever', 2000000000, 'day')`,
    ).rejects.toMatchObject({ code: '23514', constraint_name: 'windows_duration_ms_safe' });
    expect(await listWindows(db.sql)).toEqual(before);
  });

  it('a span already held by another label is a ValidationError-free conflict', async () => {
    const e = (await refusal(upsertWindow(db.sql, { label: 'hour', amount: 1, unit: 'hour' }))) as Error;
    expect(e.name).toBe('ConflictError');
    expect(e).toMatchObject({
      sqlstate: '23505',
      constraint: 'windows_amount_unit_key',
      columns: ['amount', 'unit'],
    });
  });
});

describe('params', () => {
  it('getParams returns the seeded knobs', async () => {
    expect(await getParams(db.sql)).toEqual({
      primaryIntervalMs: 30_000,
      secondaryEnabled: false,
      secondaryCycles: 3,
      strCycles: { '30m': 45, '1h': 90, '3h': 270 },
      samplingSeconds: 5,
      cycleSeconds: 40,
      updatedAt: expect.any(Date),
    });
  });

  it('updateParams changes only what it is given', async () => {
    const p = await db.client.settings.updateParams({ primaryIntervalMs: 60_000, strCycles: { '1h': 120 } });
    expect(p).toEqual({
      primaryIntervalMs: 60_000,
      secondaryEnabled: false,
      secondaryCycles: 3,
      strCycles: { '1h': 120 },
      samplingSeconds: 5,
      cycleSeconds: 40,
      updatedAt: expect.any(Date),
    });
    expect(await getParams(db.sql)).toEqual(p);
    expect((await db.sql`select count(*)::int as n from settings.params`)[0]).toEqual({ n: 1 });
  });

  it('updateParams refuses an unknown window and a cycle that is not a multiple of sampling', async () => {
    const before = await getParams(db.sql);
    const unknown = (await refusal(updateParams(db.sql, { strCycles: { '9h': 3 } }))) as ValidationError;
    expect(unknown).toBeInstanceOf(ValidationError);
    expect(unknown.issues).toEqual([
      { path: [], message: "str_cycles names window '9h', which settings.windows does not hold" },
    ]);
    const multiple = (await refusal(
      updateParams(db.sql, { samplingSeconds: 7, cycleSeconds: 40 }),
    )) as ValidationError;
    expect(multiple.issues).toEqual([
      { path: ['cycleSeconds'], message: 'cycleSeconds must be a multiple of samplingSeconds' },
    ]);
    // only one side given: zod cannot tell, the table check can
    const check = (await refusal(updateParams(db.sql, { samplingSeconds: 7 }))) as ValidationError;
    expect(check).toBeInstanceOf(ValidationError);
    expect(check.constraint).toBe('params_cycle_multiple_of_sampling');
    expect(await getParams(db.sql)).toEqual(before);
  });
});

describe('params is a singleton', () => {
  it('the table holds one row whatever the writer', async () => {
    await expect(db.sql`insert into settings.params (singleton) values (false)`).rejects.toMatchObject({
      code: '23514',
    });
    await expect(db.sql`insert into settings.params (singleton) values (true)`).rejects.toMatchObject({
      code: '23505',
      constraint_name: 'params_pkey',
    });
    expect(await db.sql`select count(*)::int as n from settings.params`).toEqual([{ n: 1 }]);
  });
});

describe('profile', () => {
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
    await expect(
      db.sql`insert into settings.profile (email) values ('ADA@EXAMPLE.COM')`,
    ).rejects.toMatchObject({
      code: '23505',
      constraint_name: 'profile_email_lower_key',
    });
    expect(await db.sql`select email from settings.profile where lower(email) = 'ada@example.com'`).toEqual([
      { email: 'Ada@Example.com' },
    ]);
  });

  it('upsertProfile refuses an unknown time zone (the database checks) and writes nothing', async () => {
    const before = await db.sql`select * from settings.profile order by id`;
    const e = (await refusal(
      upsertProfile(db.sql, { email: 'eve@example.com', timezone: 'Mars/Base' }),
    )) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.issues).toEqual([{ path: [], message: "time zone 'Mars/Base' is not known" }]);
    const bad = (await refusal(upsertProfile(db.sql, { email: 'not-an-email' }))) as ValidationError;
    expect(bad.issues).toEqual([{ path: ['email'], message: 'expected an email address' }]);
    expect(await db.sql`select * from settings.profile order by id`).toEqual(before);
  });
});

describe('coin universe', () => {
  const enabled = async () =>
    (await db.sql`select symbol from settings.coin_universe where enabled order by symbol`).map(
      (r) => r.symbol,
    );
  const market = () =>
    db.sql`select symbol, base_asset, quote_asset, status, price_tick::text, min_notional::text
           from market.symbols where symbol in ('BTCUSDT', 'ETHUSDT', 'SOLUSDT') order by symbol`;

  it('sync then sync leaves exactly the second list enabled, with the right counts', async () => {
    expect(await syncCoinUniverse(db.sql, ['BTCUSDT', 'ETHUSDT'])).toEqual({
      enabledCount: 2,
      disabledCount: 0,
    });
    expect(await db.client.settings.syncCoinUniverse(['ETHUSDT', 'SOLUSDT'])).toEqual({
      enabledCount: 2,
      disabledCount: 1,
    });
    expect(await enabled()).toEqual(['ETHUSDT', 'SOLUSDT']);
    expect(await listCoinUniverse(db.sql)).toEqual([
      { symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', enabled: false, sortOrder: 1 },
      { symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', enabled: true, sortOrder: 2 },
      { symbol: 'SOLUSDT', base: 'SOL', quote: 'USDT', enabled: true, sortOrder: 3 },
    ]);
    expect(await listCoinUniverse(db.sql, { enabled: false })).toEqual([
      { symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', enabled: false, sortOrder: 1 },
    ]);
    // idempotent
    expect(await syncCoinUniverse(db.sql, ['ETHUSDT', 'SOLUSDT', 'ETHUSDT'])).toEqual({
      enabledCount: 2,
      disabledCount: 0,
    });
  });

  it('market.symbols mirrors the universe, and keeps exchange filters across universe changes', async () => {
    expect(await market()).toEqual([
      {
        symbol: 'BTCUSDT',
        base_asset: 'BTC',
        quote_asset: 'USDT',
        status: 'OFF',
        price_tick: null,
        min_notional: null,
      },
      {
        symbol: 'ETHUSDT',
        base_asset: 'ETH',
        quote_asset: 'USDT',
        status: 'TRADING',
        price_tick: null,
        min_notional: null,
      },
      {
        symbol: 'SOLUSDT',
        base_asset: 'SOL',
        quote_asset: 'USDT',
        status: 'TRADING',
        price_tick: null,
        min_notional: null,
      },
    ]);
    await db.sql`select market.sp_upsert_symbol('ETHUSDT', p_price_tick => 0.01, p_min_notional => 5)`;
    await syncCoinUniverse(db.sql, ['BTCUSDT']);
    await syncCoinUniverse(db.sql, ['BTCUSDT', 'ETHUSDT']);
    await db.sql`delete from settings.coin_universe where symbol = 'SOLUSDT'`;
    expect(await market()).toEqual([
      {
        symbol: 'BTCUSDT',
        base_asset: 'BTC',
        quote_asset: 'USDT',
        status: 'TRADING',
        price_tick: null,
        min_notional: null,
      },
      {
        symbol: 'ETHUSDT',
        base_asset: 'ETH',
        quote_asset: 'USDT',
        status: 'TRADING',
        price_tick: '0.01',
        min_notional: '5',
      },
      {
        symbol: 'SOLUSDT',
        base_asset: 'SOL',
        quote_asset: 'USDT',
        status: 'OFF',
        price_tick: null,
        min_notional: null,
      },
    ]);
    expect(
      (
        await db.sql`select code from market.assets where code in ('BTC', 'ETH', 'SOL', 'USDT') order by code`
      ).map((r) => r.code),
    ).toEqual(['BTC', 'ETH', 'SOL', 'USDT']);
  });

  it('is callable twice in one transaction', async () => {
    const results = await db.client.transaction(async (tx) => [
      await tx.settings.syncCoinUniverse(['BTCUSDT', 'ETHUSDT', 'BNBBTC']),
      await tx.settings.syncCoinUniverse(['ETHBTC', 'BNBBTC']),
    ]);
    expect(results).toEqual([
      { enabledCount: 3, disabledCount: 0 },
      { enabledCount: 2, disabledCount: 2 },
    ]);
    expect(await enabled()).toEqual(['BNBBTC', 'ETHBTC']);
    expect(
      (await listCoinUniverse(db.sql, { enabled: true })).map((r) => [r.symbol, r.base, r.quote]),
    ).toEqual([
      ['BNBBTC', 'BNB', 'BTC'],
      ['ETHBTC', 'ETH', 'BTC'],
    ]);
  });

  it('derives base and quote by the longest known quote', async () => {
    await syncCoinUniverse(db.sql, { symbols: ['BTCFDUSD', 'ETHBTC'], autoDisable: false });
    expect(
      await db.sql`select symbol, base_asset, quote_asset from settings.coin_universe
                   where symbol in ('BTCFDUSD', 'ETHBTC') order by symbol`,
    ).toEqual([
      { symbol: 'BTCFDUSD', base_asset: 'BTC', quote_asset: 'FDUSD' },
      { symbol: 'ETHBTC', base_asset: 'ETH', quote_asset: 'BTC' },
    ]);
    // other writers get the same derivation (trg_coin_universe_derive)
    await db.sql`insert into settings.coin_universe (symbol, enabled) values ('DOGETRY', false)`;
    expect(
      await db.sql`select base_asset, quote_asset from settings.coin_universe where symbol = 'DOGETRY'`,
    ).toEqual([{ base_asset: 'DOGE', quote_asset: 'TRY' }]);
  });

  it('an unsplittable symbol is a ValidationError and nothing is written', async () => {
    const universe = () => db.sql`select * from settings.coin_universe order by symbol`;
    const symbols = () => db.sql`select * from market.symbols order by symbol`;
    const [u0, s0] = [await universe(), await symbols()];
    const e = (await refusal(syncCoinUniverse(db.sql, ['ADAUSDT', 'FOOBAR']))) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.issues).toEqual([{ path: [], message: 'symbol FOOBAR does not end with a known quote' }]);
    expect(e.sqlstate).toBe('22023');
    const lower = (await refusal(syncCoinUniverse(db.sql, ['btcusdt']))) as ValidationError;
    expect(lower.issues).toEqual([
      { path: ['symbols', 0], message: 'expected an upper-case symbol such as BTCUSDT' },
    ]);
    expect([await universe(), await symbols()]).toEqual([u0, s0]);
  });

  it('works on a host pool that does not fetch array types (fetch_types: false)', async () => {
    const raw = postgres(db.url, { fetch_types: false, max: 2, onnotice: () => {} });
    try {
      expect(await syncCoinUniverse(raw, ['BTCUSDT', 'ETHUSDT'])).toMatchObject({ enabledCount: 2 });
      expect(await queueUniverseBatch(raw, { symbols: ['ETHUSDT', 'BTCUSDT'] })).toMatchObject({
        symbols: ['ETHUSDT', 'BTCUSDT'],
        enabledCount: 2,
        disabledCount: 0,
      });
      expect(await enabled()).toEqual(['BTCUSDT', 'ETHUSDT']);
    } finally {
      await raw.end();
    }
  });

  it('concurrent syncs on separate connections never blend their lists', async () => {
    const lists = [
      ['BTCUSDT', 'ETHUSDT'],
      ['SOLUSDT', 'XRPUSDT', 'ADAUSDT'],
      ['BNBUSDT'],
      ['ETHUSDT', 'DOTUSDT', 'LTCUSDT', 'TRXUSDT'],
    ];
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(lists.map((l) => syncCoinUniverse(db.sql, l)));
      expect(results.map((r) => r.enabledCount)).toEqual([2, 3, 1, 4]);
      const now = await enabled();
      expect(lists.map((l) => [...l].sort())).toContainEqual(now);
    }
    const off = await db.sql`
      select count(*)::int as n from settings.coin_universe c join market.symbols m using (symbol)
      where (m.status = 'TRADING') <> c.enabled`;
    expect(off).toEqual([{ n: 0 }]);
  });

  it('mirrorUniverseToMarket repairs market.symbols without wiping filters', async () => {
    await syncCoinUniverse(db.sql, ['BTCUSDT', 'ETHUSDT']);
    await db.sql`update market.symbols set status = 'BREAK' where symbol in ('BTCUSDT', 'ETHUSDT')`;
    expect(await db.client.settings.mirrorUniverseToMarket()).toEqual({
      symbolsUpserted: 2,
      assetsCreated: 0,
    });
    expect(await market()).toEqual([
      {
        symbol: 'BTCUSDT',
        base_asset: 'BTC',
        quote_asset: 'USDT',
        status: 'TRADING',
        price_tick: null,
        min_notional: null,
      },
      {
        symbol: 'ETHUSDT',
        base_asset: 'ETH',
        quote_asset: 'USDT',
        status: 'TRADING',
        price_tick: '0.01',
        min_notional: '5',
      },
      {
        symbol: 'SOLUSDT',
        base_asset: 'SOL',
        quote_asset: 'USDT',
        status: 'OFF',
        price_tick: null,
        min_notional: null,
      },
    ]);
    expect(await mirrorUniverseToMarket(db.sql)).toEqual({ symbolsUpserted: 0, assetsCreated: 0 });
  });

  it('queueUniverseBatch applies the batch and records counts and applied time on the row', async () => {
    await syncCoinUniverse(db.sql, ['BTCUSDT', 'ETHUSDT']);
    const batch = await queueUniverseBatch(db.sql, { symbols: ['ETHUSDT', 'LINKUSDT'] });
    expect(batch).toEqual({
      id: expect.any(Number),
      symbols: ['ETHUSDT', 'LINKUSDT'],
      autoDisable: true,
      requestedAt: expect.any(Date),
      appliedAt: expect.any(Date),
      enabledCount: 2,
      disabledCount: 1,
    });
    expect(await enabled()).toEqual(['ETHUSDT', 'LINKUSDT']);
    const keep = await db.client.settings.queueUniverseBatch({ symbols: ['BTCUSDT'], autoDisable: false });
    expect([keep.enabledCount, keep.disabledCount, keep.autoDisable]).toEqual([1, 0, false]);
    expect(await enabled()).toEqual(['BTCUSDT', 'ETHUSDT', 'LINKUSDT']);
    const rows = await db.sql`
      select symbols, enabled_count, disabled_count, applied_at is not null as applied
      from settings.universe_batch_ops where id >= ${batch.id} order by id`;
    expect(rows).toEqual([
      { symbols: ['ETHUSDT', 'LINKUSDT'], enabled_count: 2, disabled_count: 1, applied: true },
      { symbols: ['BTCUSDT'], enabled_count: 1, disabled_count: 0, applied: true },
    ]);
    const before = await db.sql`select * from settings.universe_batch_ops order by id`;
    const e = (await refusal(queueUniverseBatch(db.sql, { symbols: ['FOOBAR'] }))) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(await db.sql`select * from settings.universe_batch_ops order by id`).toEqual(before);
    expect(await enabled()).toEqual(['BTCUSDT', 'ETHUSDT', 'LINKUSDT']);
  });
});

describe('coin universe, edges', () => {
  it('a symbol already in the universe is not split again (another writer gave its base and quote)', async () => {
    await db.sql`insert into settings.coin_universe (symbol, base_asset, quote_asset, enabled)
                 values ('GOLDOZ', 'GOLD', 'OZ', false)`;
    expect(await syncCoinUniverse(db.sql, { symbols: ['GOLDOZ'], autoDisable: false })).toEqual({
      enabledCount: 1,
      disabledCount: 0,
    });
    expect(
      await db.sql`select c.base_asset, c.quote_asset, c.enabled, m.status from settings.coin_universe c
                   join market.symbols m using (symbol) where symbol = 'GOLDOZ'`,
    ).toEqual([{ base_asset: 'GOLD', quote_asset: 'OZ', enabled: true, status: 'TRADING' }]);
    await db.sql`delete from settings.coin_universe where symbol = 'GOLDOZ'`;
  });

  it('renaming a universe symbol alone re-splits it; market and cursors follow the new name', async () => {
    await syncCoinUniverse(db.sql, { symbols: ['RNMUSDT'], autoDisable: false });
    await db.sql`update settings.coin_universe set symbol = 'RNMUSDC' where symbol = 'RNMUSDT'`;
    expect(
      await db.sql`select symbol, base_asset, quote_asset, enabled from settings.coin_universe
                   where symbol like 'RNM%'`,
    ).toEqual([{ symbol: 'RNMUSDC', base_asset: 'RNM', quote_asset: 'USDC', enabled: true }]);
    expect(
      await db.sql`select symbol, base_asset, quote_asset, status from market.symbols
                   where symbol like 'RNM%' order by symbol`,
    ).toEqual([
      { symbol: 'RNMUSDC', base_asset: 'RNM', quote_asset: 'USDC', status: 'TRADING' },
      { symbol: 'RNMUSDT', base_asset: 'RNM', quote_asset: 'USDT', status: 'OFF' },
    ]);
    expect(await db.sql`select stream from ingest.cursors where symbol = 'RNMUSDC' order by stream`).toEqual([
      { stream: 'klines' },
      { stream: 'trades' },
    ]);
    // a writer that gives base and quote with the new name keeps them; one that breaks the rule is refused
    await db.sql`update settings.coin_universe set symbol = 'RNMUSDT', base_asset = 'RNMU', quote_asset = 'SDT'
                 where symbol = 'RNMUSDC'`;
    expect(
      await db.sql`select symbol, base_asset, quote_asset from settings.coin_universe where symbol like 'RNM%'`,
    ).toEqual([{ symbol: 'RNMUSDT', base_asset: 'RNMU', quote_asset: 'SDT' }]);
    await expect(
      db.sql`update settings.coin_universe set symbol = 'RNMBTC', quote_asset = 'USDT' where symbol = 'RNMUSDT'`,
    ).rejects.toMatchObject({ code: '23514' });
    await db.sql`delete from settings.coin_universe where symbol like 'RNM%'`;
  });

  it('sp_sync_coin_universe refuses a null auto_disable instead of guessing', async () => {
    const before = await db.sql`select symbol, enabled from settings.coin_universe order by symbol`;
    await expect(
      db.sql`select * from settings.sp_sync_coin_universe(array['BTCUSDT'], null)`,
    ).rejects.toMatchObject({ code: '22023', message: 'auto_disable must be true or false, not null' });
    expect(await db.sql`select symbol, enabled from settings.coin_universe order by symbol`).toEqual(before);
  });
});

describe('onUniverseChanged', () => {
  /** Collects events; `next(n)` resolves once n events have arrived, `until(p)` once one matches p. */
  function collector() {
    const events: UniverseChangedEvent[] = [];
    const waiters: { done: () => boolean; resolve: () => void }[] = [];
    const push = (e: UniverseChangedEvent) => {
      events.push(e);
      for (const w of waiters.filter((x) => x.done())) w.resolve();
    };
    const wait = (done: () => boolean) =>
      new Promise<void>((resolve) => {
        if (done()) resolve();
        else waiters.push({ done, resolve });
      });
    const next = (n: number) => wait(() => events.length >= n);
    const until = (p: (e: UniverseChangedEvent) => boolean) => wait(() => events.some(p));
    return { events, push, next, until };
  }

  it('delivers one parsed event per changing statement, and nothing after unsubscribing', async () => {
    await syncCoinUniverse(db.sql, []); // a known state, before listening
    const a = collector();
    const stopA = await onUniverseChanged(db.sql, a.push);

    await syncCoinUniverse(db.sql, ['XLMUSDT', 'ATOMUSDT']); // inserts two, updates none
    await a.next(1);
    await syncCoinUniverse(db.sql, ['XLMUSDT']); // updates one
    await a.next(2);
    expect(a.events).toEqual([
      { op: 'insert', symbols: ['ATOMUSDT', 'XLMUSDT'], count: 2, truncated: false, seq: 1 },
      { op: 'update', symbols: ['ATOMUSDT'], count: 1, truncated: false, seq: 1 },
    ]);

    await stopA();
    await syncCoinUniverse(db.sql, ['XLMUSDT', 'ATOMUSDT']); // A must not see this
    const b = collector();
    const stopB = await db.client.settings.onUniverseChanged(b.push);
    await db.sql`delete from settings.coin_universe where symbol = 'ATOMUSDT'`;
    await b.next(1);
    expect(b.events).toEqual([{ op: 'delete', symbols: ['ATOMUSDT'], count: 1, truncated: false, seq: 1 }]);
    expect(a.events).toHaveLength(2);
    await stopB();
  });

  it('a statement that changes nothing sends nothing; a malformed payload goes to onError', async () => {
    const c = collector();
    const errors: unknown[] = [];
    let failed: () => void = () => {};
    const gotError = new Promise<void>((r) => {
      failed = r;
    });
    const stop = await onUniverseChanged(db.sql, c.push, {
      onError: (e) => {
        errors.push(e);
        failed();
      },
    });
    await syncCoinUniverse(db.sql, ['XLMUSDT']); // already exactly this: no change
    await db.sql`select pg_notify('settings_universe_changed', '{"op": "truncate", "symbols": []}')`;
    await gotError;
    await db.sql`update settings.coin_universe set enabled = not enabled where symbol = 'XLMUSDT'`;
    await c.next(1);
    expect(c.events).toEqual([{ op: 'update', symbols: ['XLMUSDT'], count: 1, truncated: false, seq: 1 }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(IntegrityError);
    await stop();
  });

  it('equal changes in one transaction are still one event each (syncs included)', async () => {
    await syncCoinUniverse(db.sql, ['XLMUSDT', 'ATOMUSDT']); // a known state, before listening
    const c = collector();
    const stop = await onUniverseChanged(db.sql, c.push);
    await db.client.transaction(async (tx) => {
      await tx.settings.syncCoinUniverse(['XLMUSDT']); // ATOM off
      await tx.settings.syncCoinUniverse(['XLMUSDT', 'ATOMUSDT']); // ATOM on
      await tx.settings.syncCoinUniverse(['XLMUSDT']); // ATOM off: the same payload as the first, but for seq
    });
    // a last, different event: once it is here, everything sent before it is here too
    await db.sql`update settings.coin_universe set enabled = false where symbol = 'XLMUSDT'`;
    await c.until((e) => e.symbols.includes('XLMUSDT'));
    expect(c.events).toEqual([
      { op: 'update', symbols: ['ATOMUSDT'], count: 1, truncated: false, seq: 1 },
      { op: 'update', symbols: ['ATOMUSDT'], count: 1, truncated: false, seq: 2 },
      { op: 'update', symbols: ['ATOMUSDT'], count: 1, truncated: false, seq: 3 },
      { op: 'update', symbols: ['XLMUSDT'], count: 1, truncated: false, seq: 1 },
    ]);
    await stop();
  });

  it('tells onReconnect when the listening connection was lost and is back, then delivers again', async () => {
    const c = collector();
    let reconnected: () => void = () => {};
    const back = new Promise<void>((r) => {
      reconnected = r;
    });
    let reconnects = 0;
    const stop = await onUniverseChanged(db.sql, c.push, {
      onReconnect: () => {
        reconnects++;
        reconnected();
      },
    });
    expect(reconnects).toBe(0); // the first LISTEN is no reconnect
    const killed = await db.sql`
      select pg_terminate_backend(pid) as ok from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and query ilike 'listen%'`;
    expect(killed).toEqual([{ ok: true }]);
    await back;
    expect(reconnects).toBe(1);
    await db.sql`update settings.coin_universe set enabled = not enabled where symbol = 'XLMUSDT'`;
    await c.next(1);
    expect(c.events).toEqual([{ op: 'update', symbols: ['XLMUSDT'], count: 1, truncated: false, seq: 1 }]);
    await stop();
  });

  it('truncating the universe is a delete of every symbol: market turns them OFF and one event says so', async () => {
    await syncCoinUniverse(db.sql, ['XLMUSDT', 'ATOMUSDT']); // a known state, before listening
    await db.sql`delete from settings.coin_universe where symbol not in ('XLMUSDT', 'ATOMUSDT')`;
    const c = collector();
    const stop = await onUniverseChanged(db.sql, c.push);
    await db.sql`truncate settings.coin_universe`;
    const truncated = (e: UniverseChangedEvent) => e.op === 'delete' && e.symbols.includes('XLMUSDT');
    await c.until(truncated);
    // (the events of the set-up may still be in flight to the shared listening connection)
    expect(c.events.filter(truncated)).toEqual([
      { op: 'delete', symbols: ['ATOMUSDT', 'XLMUSDT'], count: 2, truncated: false, seq: 1 },
    ]);
    expect(
      await db.sql`select symbol, status from market.symbols where symbol in ('ATOMUSDT', 'XLMUSDT') order by symbol`,
    ).toEqual([
      { symbol: 'ATOMUSDT', status: 'OFF' },
      { symbol: 'XLMUSDT', status: 'OFF' },
    ]);
    expect(await listCoinUniverse(db.sql)).toEqual([]);
    await stop();
  });

  it('refuses a transaction (LISTEN needs a pool)', async () => {
    const e = await db.client.transaction((tx) => refusal(tx.settings.onUniverseChanged(() => {})));
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues).toEqual([
      { path: [], message: 'LISTEN needs a pool (db.sql), not a transaction' },
    ]);
  });
});

describe('external accounts', () => {
  it('last_linked_at bumps only when linked becomes true', async () => {
    const profile = await upsertProfile(db.sql, { email: 'linker@example.com' });
    const created = await upsertExternalAccount(db.sql, { provider: 'binance', profileId: profile.id });
    expect(created).toEqual({
      id: expect.any(String),
      provider: 'binance',
      label: 'default',
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
      linked: true,
      accountHint: '…7731',
    });
    expect(linked.lastLinkedAt).toBeInstanceOf(Date);
    const first = linked.lastLinkedAt!;
    const again = await upsertExternalAccount(db.sql, { provider: 'binance', linked: true, meta: { v: 1 } });
    expect(again.lastLinkedAt).toEqual(first); // still linked: no bump
    const unlinked = await upsertExternalAccount(db.sql, { provider: 'binance', linked: false });
    expect([unlinked.linked, unlinked.lastLinkedAt]).toEqual([false, first]);
    const relinked = await upsertExternalAccount(db.sql, { provider: 'binance', linked: true });
    expect(relinked.lastLinkedAt!.getTime()).toBeGreaterThan(first.getTime());
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
    expect((await upsertExternalAccount(db.sql, { provider: 'binance' })).lastLinkedAt).toEqual(
      relinked.lastLinkedAt,
    );
  });

  it('getProfileBinance reads the profile with its binance account', async () => {
    const fp = createHash('sha256').update('key').digest('hex');
    await upsertExternalAccount(db.sql, { provider: 'binance', keyFingerprint: fp });
    const account = await upsertExternalAccount(db.sql, { provider: 'binance' });
    const row = await getProfileBinance(db.sql, { email: 'LINKER@example.com' });
    expect(row).toEqual({
      profileId: account.profileId,
      email: 'linker@example.com',
      nickname: null,
      timezone: 'UTC',
      language: 'en',
      locale: null,
      externalAccountId: account.id,
      accountLabel: 'default',
      linked: true,
      accountHint: '…7731',
      keyFingerprint: fp,
      lastLinkedAt: account.lastLinkedAt,
    });
    expect(await db.client.settings.getProfileBinance({ profileId: account.profileId! })).toEqual(row);
    const lone = await upsertProfile(db.sql, { email: 'lone@example.com' });
    expect(await getProfileBinance(db.sql, { profileId: lone.id })).toMatchObject({
      externalAccountId: null,
      linked: false,
      keyFingerprint: null,
    });
    expect(await getProfileBinance(db.sql, { email: 'ghost@example.com' })).toBeNull();
    const bad = (await refusal(upsertExternalAccount(db.sql, { provider: 'Binance!' }))) as ValidationError;
    expect(bad.issues).toEqual([
      { path: ['provider'], message: 'expected a lower-case name such as binance' },
    ]);
  });
});

describe('wallets and credentials', () => {
  const encryptionKey = 'host-app-encryption-key-0001';
  const wrongKey = 'some-other-encryption-key-999';
  const apiKey = 'AKIA-live-api-key-7f3c9e1d5b';
  const apiSecret = 'very-secret-api-secret-42c1a7';
  const passphrase = 'pass-phrase-88';
  const secrets = [encryptionKey, wrongKey, apiKey, apiSecret, passphrase];

  /** Every way an error may show its content: message, enumerable fields, cause, hidden properties. */
  const exposed = (e: unknown): string =>
    [
      String(e),
      JSON.stringify(e),
      inspect(e, { showHidden: true, depth: 10 }),
      String((e as { cause?: unknown }).cause),
    ].join('\n');

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

  it('stores credentials only as ciphertext and decrypts them with the right key', async () => {
    const wallet = await upsertWallet(db.sql, { label: 'creds', exchange: 'binance' });
    const info = await putWalletCredentials(
      db.sql,
      { walletId: wallet.id, exchange: 'binance', apiKey, apiSecret, passphrase },
      { encryptionKey },
    );
    expect(info).toEqual({
      walletId: wallet.id,
      exchange: 'binance',
      keyFingerprint: createHash('sha256').update(apiKey).digest('hex'),
      keyLast4: apiKey.slice(-4),
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });

    const [row] = await db.sql`select * from settings.wallet_credentials where wallet_id = ${wallet.id}`;
    const [asText] =
      await db.sql`select t::text as t from settings.wallet_credentials t where wallet_id = ${wallet.id}`;
    const seen: string[] = [String(asText!.t)];
    for (const value of Object.values(row!)) {
      if (Buffer.isBuffer(value))
        seen.push(value.toString('latin1'), value.toString('utf8'), value.toString('hex'));
      else seen.push(value instanceof Date ? value.toISOString() : String(value));
    }
    expect(Object.keys(row!).sort()).toEqual([
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
      keyLast4: info.keyLast4,
      updatedAt: info.updatedAt,
    });
  });

  it('a wrong key is an AuthError that carries neither the key nor the credentials', async () => {
    const [{ id }] = (await db.sql`select id from settings.wallets where label = 'creds'`) as unknown as [
      { id: string },
    ];
    const e = await refusal(
      getWalletCredentials(db.sql, { walletId: id, exchange: 'binance' }, { encryptionKey: wrongKey }),
    );
    expect(e).toBeInstanceOf(AuthError);
    expect(e).toMatchObject({
      reason: 'forbidden',
      operation: 'settings.getWalletCredentials',
    });
    expect((e as Error).cause).toBeUndefined();
    expect((e as AuthError).message).toBe('settings.getWalletCredentials: forbidden');
    for (const s of secrets) expect(exposed(e)).not.toContain(s);

    const missing = await refusal(
      getWalletCredentials(db.sql, { walletId: id, exchange: 'kraken' }, { encryptionKey }),
    );
    expect(missing).toBeInstanceOf(NotFoundError);
    for (const s of secrets) expect(exposed(missing)).not.toContain(s);
  });

  it('refusals of putWalletCredentials carry no secret either, and write nothing', async () => {
    const before = await db.sql`select * from settings.wallet_credentials order by wallet_id`;
    const ghost = '00000000-0000-4000-8000-000000000000';
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
        { encryptionKey: 'short' },
      ),
    );
    expect(shortKey).toBeInstanceOf(ValidationError);
    expect((shortKey as ValidationError).issues).toEqual([
      { path: ['encryptionKey'], message: 'Too small: expected string to have >=16 characters' },
    ]);
    expect(exposed(shortKey)).not.toContain('short');
    expect(await db.sql`select * from settings.wallet_credentials order by wallet_id`).toEqual(before);
  });

  it('a client created with encryptionKey uses it for credentials; without one the call is refused', async () => {
    const keyed = createClient({ sql: db.sql }, { encryptionKey });
    const wallet = await keyed.settings.upsertWallet({ label: 'client-key', exchange: 'binance' });
    await keyed.settings.putWalletCredentials({
      walletId: wallet.id,
      exchange: 'binance',
      apiKey,
      apiSecret,
    });
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
        client.settings.putWalletCredentials({
          walletId: '00000000-0000-4000-8000-000000000000',
          exchange: 'binance',
          apiKey,
          apiSecret,
        }),
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
    const [{ id }] = (await db.sql`select id from settings.wallets where label = 'creds'`) as unknown as [
      { id: string },
    ];
    await expect(db.sql`
      insert into settings.wallet_credentials (wallet_id, exchange, api_key_enc, api_secret_enc, key_fingerprint, key_last4)
      values (${id}, 'kraken', convert_to('plain-key', 'UTF8'), convert_to('plain-secret', 'UTF8'),
              repeat('a', 64), '1234')`).rejects.toMatchObject({ code: '23514' });
  });
});

describe('cache rules', () => {
  it('upsertRule and listRules for scr and ccr', async () => {
    const scr = await upsertRule(db.sql, {
      kind: 'scr',
      ruleId: 'api.markets',
      description: 'markets list',
      precedence: 10,
      ruleJson: { ttlMs: 5000 },
    });
    expect(scr).toEqual({
      kind: 'scr',
      ruleId: 'api.markets',
      description: 'markets list',
      enabled: true,
      precedence: 10,
      ruleJson: { ttlMs: 5000 },
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    await upsertRule(db.sql, { kind: 'scr', ruleId: 'api.slow', precedence: 5, enabled: false });
    const ccr = await db.client.settings.upsertRule({
      kind: 'ccr',
      ruleId: 'ui.matrix',
      ruleJson: { stale: true },
    });
    expect(ccr).toMatchObject({
      kind: 'ccr',
      ruleId: 'ui.matrix',
      enabled: true,
      precedence: 100,
      description: null,
    });
    const updated = await upsertRule(db.sql, { kind: 'scr', ruleId: 'api.markets', enabled: false });
    expect(updated).toEqual({ ...scr, enabled: false, updatedAt: expect.any(Date) });

    expect((await listRules(db.sql)).map((r) => [r.kind, r.ruleId, r.precedence, r.enabled])).toEqual([
      ['ccr', 'ui.matrix', 100, true],
      ['scr', 'api.slow', 5, false],
      ['scr', 'api.markets', 10, false],
    ]);
    expect(await db.client.settings.listRules({ kind: 'ccr' })).toEqual([ccr]);
    expect(await listRules(db.sql, { kind: 'scr', enabled: true })).toEqual([]);
    expect(await db.sql`select count(*)::int as n from settings.scr_rules`).toEqual([{ n: 2 }]);

    const bad = (await refusal(upsertRule(db.sql, { kind: 'xyz' as 'scr', ruleId: 'r' }))) as ValidationError;
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad.issues.map((i) => i.path)).toEqual([['kind']]);
    await expect(db.sql`select settings.sp_upsert_rule('xyz', 'r')`).rejects.toMatchObject({ code: '22023' });
  });
});

describe('pack invariants', () => {
  it('every settings function pins search_path; every settings table with updated_at is touched', async () => {
    const functions = await functionPins(db.sql, 'settings');
    expect(functions.map((f) => f.name)).toEqual([
      'coin_universe_derive',
      'coin_universe_sync',
      'coin_universe_truncate',
      'external_accounts_linked_at',
      'mirror_symbols_to_market',
      'sp_get_wallet_credentials',
      'sp_mirror_universe_to_market',
      'sp_put_wallet_credentials',
      'sp_sync_coin_universe',
      'sp_update_params',
      'sp_upsert_external_account',
      'sp_upsert_profile',
      'sp_upsert_rule',
      'sp_upsert_wallet',
      'sp_upsert_window',
      'universe_batch_apply',
    ]);
    expect(functions.filter((f) => !f.pinned)).toEqual([]);
    expect(
      (await updatedAtTouches(db.sql, 'settings')).map((t) => ({ table: t.table, touched: t.touched })),
    ).toEqual(
      [
        'ccr_rules',
        'coin_universe',
        'external_accounts',
        'params',
        'profile',
        'scr_rules',
        'wallet_credentials',
        'wallets',
      ].map((table) => ({ table, touched: true })),
    );
  });
});
