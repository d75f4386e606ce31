// importMovesFromTrades: buyer quote→base, seller base→quote, commissions charged as fees, non-USDT
// quotes converted with the prices given, refused without one, idempotent by (symbol, trade id).
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  fund,
  importMovesFromTrades,
  listBalances,
  openSession,
  type TradeInput,
} from '../../src/cinAux/index.js';
import { ConflictError, ValidationError } from '../../src/core/errors.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';
import { ledgerState, seedAssets } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
  await seedAssets(db.sql);
});
afterAll(() => db.close());

const T0 = Date.UTC(2025, 0, 1);
const TRADES: TradeInput[] = [
  // buy 0.005 BTC at 40 000 USDT, commission 0.2 USDT
  {
    symbol: 'BTCUSDT',
    tradeId: 1,
    isBuyer: true,
    price: '40000',
    qty: '0.005',
    commission: '0.2',
    commissionAsset: 'USDT',
    time: T0,
  },
  // buy 0.02 ETH at 0.05 BTC (BTC at 40 000 USDT: 0.001 BTC = 40 USDT), commission 0.00002 ETH (ETH = 0.05 × 40 000 = 2 000)
  {
    symbol: 'ETHBTC',
    tradeId: 7,
    isBuyer: true,
    price: '0.05',
    qty: '0.02',
    commission: '0.00002',
    commissionAsset: 'ETH',
    time: T0 + 1,
  },
  // sell 0.002 BTC at 42 000 USDT, commission 0.00042 BNB at 600
  {
    symbol: 'BTCUSDT',
    tradeId: 2,
    isBuyer: false,
    price: '42000',
    qty: '0.002',
    commission: '0.00042',
    commissionAsset: 'BNB',
    time: T0 + 2,
  },
];
const PRICES = { BTC: '40000', BNB: '600' };

async function funded() {
  const s = await openSession(db.sql, { window: '1h' });
  await fund(db.sql, { sessionId: s.id, asset: 'USDT', usdt: '1000', priceUsdt: '1' });
  return s.id;
}

it('turns fills into moves: sides, USDT conversion, commissions as fees, lots', async () => {
  const sessionId = await funded();
  const r = await importMovesFromTrades(db.sql, TRADES, { sessionId, prices: PRICES });
  expect({ imported: r.imported, replayed: r.replayed }).toEqual({ imported: 3, replayed: 0 });
  const pick = r.moves.map((m) => [
    m.fromAsset,
    m.toAsset,
    m.executedUsdt,
    m.feeUsdt,
    m.priceFromUsdt,
    m.priceToUsdt,
    m.fromUnits,
    m.costUnits,
    m.toUnits,
    m.traceUsdt,
    m.side,
    m.sourceSymbol,
    m.tradeId,
    m.idempotencyKey,
    m.ts.getTime(),
    m.replayed,
  ]);
  expect(pick).toEqual([
    // 0.005 × 40 000 = 200; 200 / 40 000 = 0.005 BTC; fee 0.2 USDT = 0.2 units of USDT
    [
      'USDT',
      'BTC',
      '200',
      '0.2',
      '1',
      '40000',
      '200',
      '0.2',
      '0.005',
      '0',
      'buy',
      'BTCUSDT',
      '1',
      'trade:BTCUSDT:1',
      T0,
      false,
    ],
    // 0.05 × 0.02 = 0.001 BTC × 40 000 = 40; fee 0.00002 × 2 000 = 0.04; 0.04 / 40 000 = 0.000001 BTC;
    // basis 0.001 × 40 000 = 40: trace 0
    [
      'BTC',
      'ETH',
      '40',
      '0.04',
      '40000',
      '2000',
      '0.001',
      '0.000001',
      '0.02',
      '0',
      'buy',
      'ETHBTC',
      '7',
      'trade:ETHBTC:7',
      T0 + 1,
      false,
    ],
    // 0.002 × 42 000 = 84; fee 0.00042 × 600 = 0.252; 0.252 / 42 000 = 0.000006 BTC; basis 0.002 × 40 000 = 80: trace 4
    [
      'BTC',
      'USDT',
      '84',
      '0.252',
      '42000',
      '1',
      '0.002',
      '0.000006',
      '84',
      '4',
      'sell',
      'BTCUSDT',
      '2',
      'trade:BTCUSDT:2',
      T0 + 2,
      false,
    ],
  ]);
  const balances = (await listBalances(db.sql, { sessionIds: [sessionId] })).map((b) => [
    b.asset,
    b.principalUsdt,
    b.profitUsdt,
    b.units,
  ]);
  expect(balances).toEqual([
    // BTC: +200, −40 −0.04, −84 −0.252 = 75.708; units 0.005 − 0.001001 − 0.002006 = 0.001993
    ['BTC', '75.708', '0', '0.001993'],
    ['ETH', '40', '0', '0.02'],
    // USDT: 1000 − 200 − 0.2 + 84 = 883.8 (84 arrives as principal: BTC gave it from principal)
    ['USDT', '883.8', '0', '883.8'],
  ]);

  // the same import again: every trade replayed, nothing changes
  const before = await ledgerState(db.sql, sessionId);
  const again = await importMovesFromTrades(db.sql, TRADES, { sessionId, prices: PRICES });
  expect({ imported: again.imported, replayed: again.replayed }).toEqual({ imported: 0, replayed: 3 });
  expect(again.moves.map((m) => m.id)).toEqual(r.moves.map((m) => m.id));
  expect(await ledgerState(db.sql, sessionId)).toEqual(before);
});

it('a trade whose quote has no price is refused, nothing written', async () => {
  const sessionId = await funded();
  const before = await ledgerState(db.sql, sessionId);
  const e = await refusal(importMovesFromTrades(db.sql, TRADES, { sessionId, prices: { BNB: '600' } }));
  expect(e).toBeInstanceOf(ValidationError);
  expect((e as ValidationError).issues).toEqual([
    { path: [1, 'symbol'], message: 'the quote BTC has no USDT price (give prices.BTC)' },
  ]);
  const f = await refusal(importMovesFromTrades(db.sql, TRADES, { sessionId, prices: { BTC: '40000' } }));
  expect((f as ValidationError).issues).toEqual([
    { path: [2, 'commissionAsset'], message: 'BNB has no USDT price (give prices.BNB)' },
  ]);
  expect(await ledgerState(db.sql, sessionId)).toEqual(before);
});

it('a trade id of a symbol imported again with other content is a ConflictError', async () => {
  const sessionId = await funded();
  await importMovesFromTrades(db.sql, [TRADES[0]!], { sessionId });
  const before = await ledgerState(db.sql, sessionId);
  const e = await refusal(importMovesFromTrades(db.sql, [{ ...TRADES[0]!, qty: '0.006' }], { sessionId }));
  expect(e).toBeInstanceOf(ConflictError);
  expect((e as ConflictError).constraint).toBe('moves_idempotency_key');
  expect(await ledgerState(db.sql, sessionId)).toEqual(before);
});

it('a trade the source cannot pay refuses the whole import, naming the trade', async () => {
  const sessionId = await funded();
  const before = await ledgerState(db.sql, sessionId);
  const big = { ...TRADES[0]!, tradeId: 99, qty: '1' }; // 40 000 USDT
  const e = await refusal(importMovesFromTrades(db.sql, [TRADES[0]!, big], { sessionId }));
  expect(e).toBeInstanceOf(ValidationError);
  expect((e as ValidationError).issues).toEqual([
    {
      path: [1, 'executedUsdt'],
      message: 'the source holds less than executedUsdt + feeUsdt + slippageUsdt',
    },
  ]);
  expect(await ledgerState(db.sql, sessionId)).toEqual(before);
});
