// applyMove's refusals (nothing written), idempotency and the overdraft switch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMove, closeSession, fund, listBalances, openSession } from '../../src/cinAux/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../../src/core/errors.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';
import { ledgerState, seedAssets } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
  await seedAssets(db.sql);
});
afterAll(() => db.close());

/** A session funded with 100 USDT (100 units at 1). */
async function funded(options: { allowOverdraft?: boolean } = {}) {
  const s = await openSession(db.sql, { window: '1m', ...options });
  await fund(db.sql, { sessionId: s.id, asset: 'USDT', usdt: '100', units: '100', priceUsdt: '1' });
  return s.id;
}

async function refusedWithNothingWritten(sessionId: string, call: () => Promise<unknown>) {
  const before = await ledgerState(db.sql, sessionId);
  const e = await refusal(call());
  expect(await ledgerState(db.sql, sessionId)).toEqual(before);
  return e;
}

describe('refusals', () => {
  it('a move larger than the source holds (executed + fee) is refused, nothing written', async () => {
    const sessionId = await funded();
    // 99.9 + 0.2 = 100.1 > 100
    const e = await refusedWithNothingWritten(sessionId, () =>
      applyMove(db.sql, {
        sessionId,
        fromAsset: 'USDT',
        toAsset: 'BTC',
        executedUsdt: '99.9',
        feeUsdt: '0.2',
      }),
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues).toEqual([
      { path: ['executedUsdt'], message: 'the source holds less than executedUsdt + feeUsdt + slippageUsdt' },
    ]);
    // exactly what it holds passes: 99.8 + 0.2 = 100
    const m = await applyMove(db.sql, {
      sessionId,
      fromAsset: 'USDT',
      toAsset: 'BTC',
      executedUsdt: '99.8',
      feeUsdt: '0.2',
    });
    expect(m.compPrincipalUsdt).toBe('99.8');
    expect(
      (await listBalances(db.sql, { sessionIds: [sessionId] })).map((b) => [b.asset, b.principalUsdt]),
    ).toEqual([
      ['BTC', '99.8'],
      ['USDT', '0'],
    ]);
  });

  it('an empty source (an asset never funded) refuses any move', async () => {
    const sessionId = await funded();
    const e = await refusedWithNothingWritten(sessionId, () =>
      applyMove(db.sql, { sessionId, fromAsset: 'ETH', toAsset: 'USDT', executedUsdt: '1' }),
    );
    expect(e).toBeInstanceOf(ValidationError);
  });

  it('with prices, fewer units than (executed + fee) / priceFrom is refused even when the value suffices', async () => {
    const sessionId = await funded();
    // 100 USDT of value, 100 units; at 2 USDT per unit 60 USDT is 30 units … but 99 at 0.5 is 198 units
    const e = await refusedWithNothingWritten(sessionId, () =>
      applyMove(db.sql, {
        sessionId,
        fromAsset: 'USDT',
        toAsset: 'BTC',
        executedUsdt: '99',
        priceFromUsdt: '0.5',
        priceToUsdt: '40000',
      }),
    );
    expect((e as ValidationError).issues[0]?.path).toEqual(['executedUsdt']);
  });

  it('a move on a closed session is refused; its replay still returns the first move', async () => {
    const sessionId = await funded();
    const first = await applyMove(db.sql, {
      sessionId,
      fromAsset: 'USDT',
      toAsset: 'BTC',
      executedUsdt: '10',
      idempotencyKey: 'k',
    });
    await closeSession(db.sql, sessionId);
    const e = await refusedWithNothingWritten(sessionId, () =>
      applyMove(db.sql, { sessionId, fromAsset: 'USDT', toAsset: 'BTC', executedUsdt: '10' }),
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues).toEqual([
      { path: ['sessionId'], message: 'the session is closed' },
    ]);
    expect(
      await applyMove(db.sql, {
        sessionId,
        fromAsset: 'USDT',
        toAsset: 'BTC',
        executedUsdt: '10',
        idempotencyKey: 'k',
      }),
    ).toEqual(first);
  });

  it('unknown assets, from = to and non-positive amounts are refused, nothing written', async () => {
    const sessionId = await funded();
    const cases: [Record<string, unknown>, (string | number)[], string][] = [
      [{ fromAsset: 'USDT', toAsset: 'NOPE' }, ['toAsset'], 'unknown asset (not a market.assets row)'],
      [{ fromAsset: 'NOPE', toAsset: 'BTC' }, ['fromAsset'], 'unknown asset (not a market.assets row)'],
      [{ fromAsset: 'USDT', toAsset: 'USDT' }, ['toAsset'], 'must differ from fromAsset'],
      [{ executedUsdt: '0' }, ['executedUsdt'], 'must be positive'],
      [{ executedUsdt: '-1' }, ['executedUsdt'], 'must be positive'],
    ];
    for (const [patch, path, message] of cases) {
      const input = { sessionId, fromAsset: 'USDT', toAsset: 'BTC', executedUsdt: '1', ...patch };
      const e = await refusedWithNothingWritten(sessionId, () => applyMove(db.sql, input as never));
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues).toEqual([{ path, message }]);
    }
  });

  it('an unknown session is a NotFoundError naming cin_aux.session by id', async () => {
    const id = '00000000-0000-4000-8000-000000000001';
    const e = await refusal(
      applyMove(db.sql, { sessionId: id, fromAsset: 'USDT', toAsset: 'BTC', executedUsdt: '1' }),
    );
    expect(e).toBeInstanceOf(NotFoundError);
    expect({ entity: (e as NotFoundError).entity, key: (e as NotFoundError).key }).toEqual({
      entity: 'cin_aux.session',
      key: { id },
    });
  });

  it('the database refuses the same when the SDK is bypassed (22023)', async () => {
    const sessionId = await funded();
    const before = await ledgerState(db.sql, sessionId);
    for (const call of [
      db.sql`select cin_aux.sp_apply_move(${sessionId}, 'USDT', 'BTC', 'NaN'::numeric)`,
      db.sql`select cin_aux.sp_apply_move(${sessionId}, 'USDT', 'BTC', 1, -0.1)`,
      db.sql`select cin_aux.sp_apply_move(${sessionId}, 'USDT', 'BTC', 0.0000000000000000001)`,
      db.sql`select cin_aux.sp_apply_move(${sessionId}, 'USDT', 'USDT', 1)`,
      db.sql`select cin_aux.sp_apply_move(${sessionId}, 'USDT', 'BTC', 101)`,
    ]) {
      await expect(call).rejects.toMatchObject({ code: '22023' });
    }
    await expect(db.sql`update cin_aux.moves set fee_usdt = 0`).rejects.toMatchObject({ code: '55000' });
    expect(await ledgerState(db.sql, sessionId)).toEqual(before);
  });
});

describe('idempotency', () => {
  it('replaying a move with its key returns the first move and changes nothing', async () => {
    const sessionId = await funded();
    const input = {
      sessionId,
      fromAsset: 'USDT',
      toAsset: 'BTC',
      executedUsdt: '40',
      feeUsdt: '0.04',
      priceFromUsdt: '1',
      priceToUsdt: '40000',
      ts: Date.UTC(2025, 0, 1),
      idempotencyKey: 'buy-1',
    };
    const first = await applyMove(db.sql, input);
    const after = await ledgerState(db.sql, sessionId);
    expect(await applyMove(db.sql, input)).toEqual(first);
    // the same content written differently ('40.00', no ts) is the same move
    expect(await applyMove(db.sql, { ...input, executedUsdt: '40.00', ts: undefined })).toEqual(first);
    expect(await ledgerState(db.sql, sessionId)).toEqual(after);
  });

  it('the same key with different content is a ConflictError, nothing written', async () => {
    const sessionId = await funded();
    await applyMove(db.sql, {
      sessionId,
      fromAsset: 'USDT',
      toAsset: 'BTC',
      executedUsdt: '40',
      idempotencyKey: 'k1',
    });
    for (const patch of [
      { executedUsdt: '41' },
      { toAsset: 'ETH' },
      { feeUsdt: '0.1' },
      { ts: Date.UTC(2025, 0, 2) },
    ]) {
      const e = await refusedWithNothingWritten(sessionId, () =>
        applyMove(db.sql, {
          sessionId,
          fromAsset: 'USDT',
          toAsset: 'BTC',
          executedUsdt: '40',
          idempotencyKey: 'k1',
          ...patch,
        }),
      );
      expect(e).toBeInstanceOf(ConflictError);
      expect({
        sqlstate: (e as ConflictError).sqlstate,
        constraint: (e as ConflictError).constraint,
      }).toEqual({
        sqlstate: '23505',
        constraint: 'moves_idempotency_key',
      });
    }
  });
});

describe('overdraft', () => {
  it('a session that allows overdraft takes the shortfall from profit (principal never below 0)', async () => {
    const sessionId = await funded({ allowOverdraft: true });
    const m = await applyMove(db.sql, {
      sessionId,
      fromAsset: 'USDT',
      toAsset: 'BTC',
      executedUsdt: '120',
      feeUsdt: '1',
    });
    // principal 100 first, 20 from profit; the fee (1) neither bucket covers goes to profit
    expect([m.compPrincipalUsdt, m.compProfitUsdt, m.costPrincipalUsdt, m.costProfitUsdt]).toEqual([
      '100',
      '20',
      '0',
      '1',
    ]);
    expect(
      (await listBalances(db.sql, { sessionIds: [sessionId] })).map((b) => [
        b.asset,
        b.principalUsdt,
        b.profitUsdt,
      ]),
    ).toEqual([
      ['BTC', '100', '20'],
      ['USDT', '0', '-21'],
    ]);
  });
});
