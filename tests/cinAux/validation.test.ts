// Bad input on every writer: a ValidationError whose issue names the field, and nothing written.
// Amounts are decimal strings; a JS number is taken only when it has at most 15 significant digits
// (then it is exactly the decimal written); more digits, NaN, infinities are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMark,
  applyMove,
  closeSession,
  fund,
  importMovesFromTrades,
  openSession,
  setReference,
  setReferencesFromWallet,
} from '../../src/cinAux/index.js';
import { NotFoundError, ValidationError } from '../../src/core/errors.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';
import { ledgerState, seedAssets } from './helpers.js';

let db: TestDatabase;
let sessionId: string;
beforeAll(async () => {
  db = await startTestDatabase();
  await seedAssets(db.sql);
  sessionId = (await openSession(db.sql, { window: '1m' })).id;
  await fund(db.sql, { sessionId, asset: 'USDT', usdt: '100', units: '100', priceUsdt: '1' });
});
afterAll(() => db.close());

const UNKNOWN = '00000000-0000-4000-8000-00000000abcd';

/** Bad values for an amount field, and the message each gets. */
const BAD_AMOUNTS: [unknown, string][] = [
  [Number.NaN, 'expected a decimal string such as "12.50", or a finite number'],
  ['NaN', 'expected a decimal string such as "12.50"'],
  [Number.POSITIVE_INFINITY, 'expected a decimal string such as "12.50", or a finite number'],
  ['Infinity', 'expected a decimal string such as "12.50"'],
  ['abc', 'expected a decimal string such as "12.50"'],
  [true, 'expected a decimal string such as "12.50", or a finite number'],
  ['0.0000000000000000001', 'must have at most 18 decimal places'], // 19 decimals
  ['1e-19', 'must have at most 18 decimal places'],
  ['100000000000000000000', 'must be below 10^20 in magnitude'], // 10^20
  [0.1 + 0.2, 'a JS number with more than 15 significant digits may have lost digits: send a decimal string'],
  [
    1234567890.1234567,
    'a JS number with more than 15 significant digits may have lost digits: send a decimal string',
  ],
];

async function expectRefused(
  call: () => Promise<unknown>,
  path: (string | number)[],
  message?: string,
): Promise<void> {
  const before = await ledgerState(db.sql, sessionId);
  const e = await refusal(call());
  expect(e).toBeInstanceOf(ValidationError);
  const issues = (e as ValidationError).issues;
  expect(issues.map((i) => i.path)).toEqual([path]);
  if (message !== undefined) expect(issues[0]?.message).toBe(message);
  expect(await ledgerState(db.sql, sessionId)).toEqual(before);
}

const base = {
  applyMove: { sessionId: '', fromAsset: 'USDT', toAsset: 'BTC', executedUsdt: '1' },
  fund: { sessionId: '', asset: 'USDT', usdt: '1' },
  addMark: { sessionId: '', asset: 'BTC', priceUsdt: '1' },
  setReference: { sessionId: '', asset: 'BTC', refUsdt: '1' },
} as const;

const writers = {
  applyMove: (i: object) => applyMove(db.sql, i as never),
  fund: (i: object) => fund(db.sql, i as never),
  addMark: (i: object) => addMark(db.sql, i as never),
  setReference: (i: object) => setReference(db.sql, i as never),
};

const amountFields: [keyof typeof writers, string][] = [
  ['applyMove', 'executedUsdt'],
  ['applyMove', 'feeUsdt'],
  ['applyMove', 'slippageUsdt'],
  ['applyMove', 'refUsdtTarget'],
  ['applyMove', 'priceBridgeUsdt'],
  ['fund', 'usdt'],
  ['fund', 'units'],
  ['fund', 'priceUsdt'],
  ['addMark', 'priceUsdt'],
  ['addMark', 'bulkUsdt'],
  ['setReference', 'refUsdt'],
];

describe('amounts', () => {
  for (const [writer, field] of amountFields) {
    it(`${writer}.${field}: NaN, infinities, non-numbers, too many digits, lossy floats`, async () => {
      for (const [value, message] of BAD_AMOUNTS) {
        await expectRefused(
          () => writers[writer]({ ...base[writer], sessionId, [field]: value }),
          [field],
          message,
        );
      }
    });
  }

  it('negative fees, slippage and references, non-positive prices', async () => {
    await expectRefused(
      () => applyMove(db.sql, { ...base.applyMove, sessionId, feeUsdt: '-0.1' }),
      ['feeUsdt'],
      'must not be negative',
    );
    await expectRefused(
      () => applyMove(db.sql, { ...base.applyMove, sessionId, slippageUsdt: -1 }),
      ['slippageUsdt'],
    );
    await expectRefused(
      () => setReference(db.sql, { ...base.setReference, sessionId, refUsdt: '-1' }),
      ['refUsdt'],
    );
    await expectRefused(
      () => addMark(db.sql, { ...base.addMark, sessionId, priceUsdt: '0' }),
      ['priceUsdt'],
      'must be positive',
    );
    await expectRefused(
      () => applyMove(db.sql, { ...base.applyMove, sessionId, priceFromUsdt: '1' }),
      ['priceToUsdt'],
      'priceFromUsdt and priceToUsdt come together',
    );
  });

  it('accepts decimal strings and exact numbers: 1000, 0.4, "1e2", "0.000000000000000001"', async () => {
    const s = (await openSession(db.sql, { window: '1m' })).id;
    const r = await fund(db.sql, { sessionId: s, asset: 'USDT', usdt: 1000, units: '1e2', priceUsdt: 10 });
    expect([r.principalUsdt, r.units]).toEqual(['1000', '100']);
    const m = await applyMove(db.sql, {
      sessionId: s,
      fromAsset: 'USDT',
      toAsset: 'BTC',
      executedUsdt: 0.4,
      feeUsdt: '0.000000000000000001',
    });
    expect([m.executedUsdt, m.feeUsdt]).toEqual(['0.4', '0.000000000000000001']);
  });
});

describe('other fields', () => {
  it('ids, asset codes, enums, instants, unknown keys', async () => {
    await expectRefused(
      () => applyMove(db.sql, { ...base.applyMove, sessionId: 'nope' }),
      ['sessionId'],
      'not a uuid',
    );
    await expectRefused(
      () => applyMove(db.sql, { ...base.applyMove, sessionId, fromAsset: 'usdt' }),
      ['fromAsset'],
    );
    await expectRefused(() => applyMove(db.sql, { ...base.applyMove, sessionId, side: 'long' }), ['side']);
    await expectRefused(
      () => applyMove(db.sql, { ...base.applyMove, sessionId, ts: '2025-01-01T00:00:00' }),
      ['ts'],
    );
    await expectRefused(
      () => applyMove(db.sql, { ...base.applyMove, sessionId, idempotencyKey: 'a\u0000b' }),
      ['idempotencyKey'],
    );
    await expectRefused(
      () => applyMove(db.sql, { ...base.applyMove, sessionId, executed: '1' } as never),
      [],
    );
    await expectRefused(
      () => fund(db.sql, { ...base.fund, sessionId, asset: 'NOPE' }),
      ['asset'],
      'unknown asset (not a market.assets row)',
    );
    await expectRefused(() => addMark(db.sql, { ...base.addMark, sessionId, asset: 'NOPE' }), ['asset']);
    await expectRefused(
      () => setReference(db.sql, { ...base.setReference, sessionId, asset: 'NOPE' }),
      ['asset'],
    );
  });

  it('openSession: unknown window, unknown account, malformed meta; nothing written', async () => {
    const count = async () => (await db.sql`select count(*)::int as n from cin_aux.sessions`)[0]?.n;
    const before = await count();
    for (const [input, path] of [
      [{ window: 'fortnight' }, ['window']],
      [{ window: '1m', accountId: UNKNOWN }, ['accountId']],
      [{ window: '1m', meta: { n: Number.NaN } }, ['meta', 'n']],
      [{ window: '1m', meta: [] }, ['meta']],
    ] as const) {
      const e = await refusal(openSession(db.sql, input as never));
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues.map((i) => i.path)).toEqual([path]);
    }
    expect(await count()).toBe(before);
  });

  it('an unknown session is a NotFoundError on every writer', async () => {
    for (const call of [
      () => applyMove(db.sql, { ...base.applyMove, sessionId: UNKNOWN }),
      () => fund(db.sql, { ...base.fund, sessionId: UNKNOWN }),
      () => addMark(db.sql, { ...base.addMark, sessionId: UNKNOWN }),
      () => setReference(db.sql, { ...base.setReference, sessionId: UNKNOWN }),
      () => setReferencesFromWallet(db.sql, { sessionId: UNKNOWN }),
      () => importMovesFromTrades(db.sql, [], { sessionId: UNKNOWN }),
      () => closeSession(db.sql, UNKNOWN),
    ]) {
      const e = await refusal(call());
      expect(e).toBeInstanceOf(NotFoundError);
      expect((e as NotFoundError).key).toEqual({ id: UNKNOWN });
    }
  });

  it('a closed session refuses funding, marks and references, nothing written', async () => {
    const s = (await openSession(db.sql, { window: '1m' })).id;
    await fund(db.sql, { sessionId: s, asset: 'USDT', usdt: '5' });
    await closeSession(db.sql, s);
    const before = await ledgerState(db.sql, s);
    for (const call of [
      () => fund(db.sql, { ...base.fund, sessionId: s }),
      () => addMark(db.sql, { ...base.addMark, sessionId: s }),
      () => setReference(db.sql, { ...base.setReference, sessionId: s }),
    ]) {
      const e = await refusal(call());
      expect((e as ValidationError).issues).toEqual([
        { path: ['sessionId'], message: 'the session is closed' },
      ]);
    }
    expect(await ledgerState(db.sql, s)).toEqual(before);
  });

  it('importMovesFromTrades: a bad trade names its index and field, nothing written', async () => {
    const trade = {
      symbol: 'BTCUSDT',
      tradeId: 1,
      isBuyer: true,
      price: '40000',
      qty: '0.001',
      time: Date.UTC(2025, 0, 1),
    };
    await expectRefused(
      () => importMovesFromTrades(db.sql, [trade, { ...trade, tradeId: 2, qty: 0.1 + 0.2 }], { sessionId }),
      [1, 'qty'],
    );
    await expectRefused(
      () => importMovesFromTrades(db.sql, [{ ...trade, price: '-1' }], { sessionId }),
      [0, 'price'],
    );
    await expectRefused(
      () => importMovesFromTrades(db.sql, [{ ...trade, commission: 'x' }], { sessionId }),
      [0, 'commission'],
    );
  });
});
