// The worked example of the spec, every figure written out by hand:
// fund 1000 USDT; move 400 USDT→BTC at 40 000 (fee 0.4, plan: target 390 of 1000 available); mark BTC
// at 44 000; move half the BTC (0.005 BTC = 220 USDT) to ETH at 2 200 bridging through USDT (fee 0.22);
// references 600 / 200 / 200; close.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  addMark,
  applyMove,
  assetPnl,
  assetTau,
  closeSession,
  fund,
  listBalances,
  listLots,
  listMoveLots,
  listMoves,
  type MoveRow,
  movePnl,
  openSession,
  reconciliation,
  sessionSummary,
  setReference,
  tau,
} from '../../src/cinAux/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { seedAssets } from './helpers.js';

let db: TestDatabase;
let sessionId: string;
let m1: MoveRow;
let m2: MoveRow;
const T0 = Date.UTC(2025, 0, 1);

beforeAll(async () => {
  db = await startTestDatabase();
  await seedAssets(db.sql);
  sessionId = (await openSession(db.sql, { window: '1h', openedAt: T0 })).id;
  await fund(db.sql, { sessionId, asset: 'USDT', usdt: '1000', units: '1000', priceUsdt: '1' });
  m1 = await applyMove(db.sql, {
    sessionId,
    fromAsset: 'USDT',
    toAsset: 'BTC',
    executedUsdt: '400',
    feeUsdt: '0.4',
    refUsdtTarget: '390',
    availableUsdt: '1000',
    priceFromUsdt: '1',
    priceToUsdt: '40000',
    ts: T0 + 1000,
    idempotencyKey: 'm1',
  });
  await addMark(db.sql, { sessionId, asset: 'BTC', priceUsdt: '44000', ts: T0 + 2000 });
  m2 = await applyMove(db.sql, {
    sessionId,
    fromAsset: 'BTC',
    toAsset: 'ETH',
    executedUsdt: '220',
    feeUsdt: '0.22',
    priceFromUsdt: '44000',
    priceToUsdt: '2200',
    bridgeAsset: 'USDT',
    priceBridgeUsdt: '1',
    ts: T0 + 3000,
    idempotencyKey: 'm2',
  });
  await setReference(db.sql, { sessionId, asset: 'USDT', refUsdt: '600' });
  await setReference(db.sql, { sessionId, asset: 'BTC', refUsdt: '200' });
  await setReference(db.sql, { sessionId, asset: 'ETH', refUsdt: '200' });
});
afterAll(() => db.close());

const move = {
  sessionId: expect.any(String),
  slippageUsdt: '0',
  costProfitUsdt: '0',
  compProfitUsdt: '0',
  sourceSymbol: null,
  tradeId: null,
  side: null,
  createdAt: expect.any(Date),
};

it('move 1 (USDT→BTC): principal first, the fee from principal (no profit), a 0.01 BTC lot at 40 000, trace 0', () => {
  expect(m1).toEqual({
    ...move,
    id: m1.id,
    ts: new Date(T0 + 1000),
    fromAsset: 'USDT',
    toAsset: 'BTC',
    executedUsdt: '400',
    feeUsdt: '0.4',
    refUsdtTarget: '390',
    availableUsdt: '1000',
    plannedUsdt: '390',
    devRefUsdt: '10', // min(390, 1000) = 390; 400 - 390 = 10
    compPrincipalUsdt: '400',
    costPrincipalUsdt: '0.4',
    priceFromUsdt: '1',
    priceToUsdt: '40000',
    bridgeAsset: null,
    priceBridgeUsdt: null,
    fromUnits: '400',
    costUnits: '0.4',
    toUnits: '0.01', // 400 / 40 000 = 0.01
    traceUsdt: '0',
    profitConsumedUsdt: '0',
    principalHitUsdt: '0',
    idempotencyKey: 'm1',
  });
});

it('move 2 (BTC→ETH): 0.005 BTC at cost 200 sold for 220: trace 20 = profit consumed', () => {
  expect(m2).toEqual({
    ...move,
    id: m2.id,
    ts: new Date(T0 + 3000),
    fromAsset: 'BTC',
    toAsset: 'ETH',
    executedUsdt: '220',
    feeUsdt: '0.22',
    refUsdtTarget: null,
    availableUsdt: null,
    plannedUsdt: '220',
    devRefUsdt: '0',
    compPrincipalUsdt: '220',
    costPrincipalUsdt: '0.22',
    priceFromUsdt: '44000',
    priceToUsdt: '2200',
    bridgeAsset: 'USDT',
    priceBridgeUsdt: '1',
    fromUnits: '0.005',
    costUnits: '0.000005',
    toUnits: '0.1', // 220/44000, 0.22/44000, 220/2200
    traceUsdt: '20',
    profitConsumedUsdt: '20',
    principalHitUsdt: '0',
    idempotencyKey: 'm2',
  });
  expect(m2.id).toBeGreaterThan(m1.id);
});

it('the buckets: USDT 1000 - 400 - 0.4; BTC 400 - 220 - 0.22; ETH 220; Σ = 1000 - 0.62', async () => {
  const rows = (await listBalances(db.sql, { sessionIds: [sessionId] })).map(({ updatedAt: _, ...r }) => r);
  expect(rows).toEqual([
    { sessionId, asset: 'BTC', principalUsdt: '179.78', profitUsdt: '0', units: '0.004995' },
    { sessionId, asset: 'ETH', principalUsdt: '220', profitUsdt: '0', units: '0.1' },
    { sessionId, asset: 'USDT', principalUsdt: '599.6', profitUsdt: '0', units: '599.6' },
  ]);
});

it('the lots and what each move took from them (converted + cost units)', async () => {
  const lots = await listLots(db.sql, { sessionIds: [sessionId] });
  expect(lots.map(({ id: _, ...l }) => l)).toEqual([
    { sessionId, asset: 'USDT', moveId: null, entryPriceUsdt: '1', unitsTotal: '1000', unitsFree: '599.6' },
    {
      sessionId,
      asset: 'BTC',
      moveId: m1.id,
      entryPriceUsdt: '40000',
      unitsTotal: '0.01',
      unitsFree: '0.004995',
    },
    { sessionId, asset: 'ETH', moveId: m2.id, entryPriceUsdt: '2200', unitsTotal: '0.1', unitsFree: '0.1' },
  ]);
  const [usdtLot, btcLot] = lots;
  expect(await listMoveLots(db.sql, { moveIds: [m1.id, m2.id] })).toEqual([
    { moveId: m1.id, lotId: usdtLot?.id, units: '400.4', entryPriceUsdt: '1' },
    { moveId: m2.id, lotId: btcLot?.id, units: '0.005005', entryPriceUsdt: '40000' },
  ]);
  expect((await listMoves(db.sql, { sessionIds: [sessionId] })).map((m) => m.id)).toEqual([m1.id, m2.id]);
});

it('tau: per asset over the moves into it, and the session total', async () => {
  expect(await assetTau(db.sql, { sessionIds: [sessionId] })).toEqual([
    // BTC: imprint 0 - 0; luggage 0.4 + 0 + 0 + 0
    { sessionId, asset: 'BTC', imprintUsdt: '0', luggageUsdt: '0.4', tauUsdt: '-0.4' },
    // ETH: imprint 0 - 20; luggage 0.22 + 0 + 20 + 0
    { sessionId, asset: 'ETH', imprintUsdt: '-20', luggageUsdt: '20.22', tauUsdt: '-40.22' },
    { sessionId, asset: 'USDT', imprintUsdt: '0', luggageUsdt: '0', tauUsdt: '0' },
  ]);
  expect(await tau(db.sql, { sessionIds: [sessionId] })).toEqual([
    { sessionId, asset: null, imprintUsdt: '-20', luggageUsdt: '20.62', tauUsdt: '-40.62' },
  ]);
  expect(await tau(db.sql, { sessionIds: [sessionId], asset: 'ETH' })).toEqual([
    { sessionId, asset: 'ETH', imprintUsdt: '-20', luggageUsdt: '20.22', tauUsdt: '-40.22' },
  ]);
});

it('reconciliation: book 999.38 against references 1000', async () => {
  expect(await reconciliation(db.sql, { sessionIds: [sessionId] })).toEqual([
    {
      sessionId,
      bookUsdt: '999.38',
      referenceUsdt: '1000',
      deltaUsdt: '-0.62',
      ratio: '0.99938',
      referencesCount: 3,
    },
  ]);
});

it('move P&L: trace - fee - slippage, fee / executed', async () => {
  const rows = await movePnl(db.sql, { sessionIds: [sessionId] });
  expect(rows.map(({ ts: _, sessionId: __, ...r }) => r)).toEqual([
    {
      moveId: m1.id,
      fromAsset: 'USDT',
      toAsset: 'BTC',
      executedUsdt: '400',
      feeUsdt: '0.4',
      slippageUsdt: '0',
      traceUsdt: '0',
      profitConsumedUsdt: '0',
      principalHitUsdt: '0',
      profitUsdt: '-0.4',
      feeRate: '0.001',
    },
    {
      moveId: m2.id,
      fromAsset: 'BTC',
      toAsset: 'ETH',
      executedUsdt: '220',
      feeUsdt: '0.22',
      slippageUsdt: '0',
      traceUsdt: '20',
      profitConsumedUsdt: '20',
      principalHitUsdt: '0',
      profitUsdt: '19.78',
      feeRate: '0.001',
    },
  ]);
});

it('close: closing buckets, the imprint/luggage row, then the summary and asset P&L', async () => {
  const row = await closeSession(db.sql, sessionId);
  expect(row).toEqual({
    sessionId,
    principalChurnUsdt: '620', // 400 + 220
    profitChurnUsdt: '0',
    generatedProfitUsdt: '39.38', // closing profit 40 - opening 0 - (0.4 + 0.22)
    traceSumUsdt: '20',
    devRefSumUsdt: '10',
    luggagePrincipalUsdt: '999.38', // 599.6 + 179.78 + 220
    luggageProfitUsdt: '40', // BTC: 0.004995 × 44 000 = 219.78, - principal 179.78
    imprintUsdt: '-20',
    luggageUsdt: '20.62',
    tauUsdt: '-40.62',
    closedAt: expect.any(Date),
  });
  expect(await closeSession(db.sql, sessionId)).toEqual(row); // closing again returns the same row
  const [summary] = await sessionSummary(db.sql, { sessionIds: [sessionId] });
  expect(summary).toEqual({
    sessionId,
    ownerId: null,
    accountId: null,
    window: '1h',
    status: 'closed',
    openedAt: new Date(T0),
    closedAt: row.closedAt,
    fundedUsdt: '1000',
    principalUsdt: '999.38',
    profitUsdt: '0',
    bookUsdt: '999.38',
    assets: 3,
    moves: 2,
    feeUsdt: '0.62',
    slippageUsdt: '0',
    traceUsdt: '20',
    lastMoveAt: new Date(T0 + 3000),
  });
  expect(await assetPnl(db.sql, { sessionIds: [sessionId] })).toEqual([
    {
      sessionId,
      asset: 'BTC',
      openingPrincipalUsdt: '0',
      openingProfitUsdt: '0',
      principalUsdt: '179.78',
      profitUsdt: '0',
      units: '0.004995',
      closingPrincipalUsdt: '179.78',
      closingProfitUsdt: '40',
      lastMarkPriceUsdt: '44000',
      lastMarkAt: new Date(T0 + 2000),
      mtmUsdt: '219.78',
      mtmProfitUsdt: '40',
    },
    {
      sessionId,
      asset: 'ETH',
      openingPrincipalUsdt: '0',
      openingProfitUsdt: '0',
      principalUsdt: '220',
      profitUsdt: '0',
      units: '0.1',
      closingPrincipalUsdt: '220',
      closingProfitUsdt: '0',
      lastMarkPriceUsdt: null,
      lastMarkAt: null,
      mtmUsdt: null,
      mtmProfitUsdt: null,
    },
    {
      sessionId,
      asset: 'USDT',
      openingPrincipalUsdt: '1000',
      openingProfitUsdt: '0',
      principalUsdt: '599.6',
      profitUsdt: '0',
      units: '599.6',
      closingPrincipalUsdt: '599.6',
      closingProfitUsdt: '0',
      lastMarkPriceUsdt: null,
      lastMarkAt: null,
      mtmUsdt: null,
      mtmProfitUsdt: null,
    },
  ]);
});
