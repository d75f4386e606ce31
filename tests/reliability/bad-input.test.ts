// Bad input: fast-check generates invalid inputs (fixed seed) for every public writer of the client:
// a valid-looking base input with one place poisoned (a value no field accepts), or a malformed
// whole input. Each call must be refused with a CryptopiError, and a row count of every table before
// and after shows that nothing was written. No raw TypeError / RangeError may reach a caller.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, type ClientScope, createClient } from '../../src/client.js';
import { isCryptopiError } from '../../src/core/errors.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { tempDir } from '../helpers/tmp.js';
import { figures, rowCounts } from './helpers.js';

const record = figures('bad-input');
const SEED = 20260901;
/** About 400 cases per writer (55 writers). */
const RUNS = 22_000;

let db: TestDatabase;
let client: Client;
beforeAll(async () => {
  db = await startTestDatabase();
  client = createClient(
    { url: db.url },
    { encryptionKey: 'a fuzzing key of 32 characters!!', postgres: { max: 4 } },
  );
  // what the bases name must exist (symbols, assets, accounts, wallets, loads, ledger sessions, mea
  // cycles), so that a base alone is accepted and only the poison is wrong
  for (const code of ['USDT', 'BTC', 'ETH']) await client.market.upsertAsset({ code });
  await client.market.upsertSymbol({ symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT' });
  const session = await client.cinAux.openSession({ window: '1h' });
  await client.cinAux.fund({
    sessionId: session.id,
    asset: 'USDT',
    usdt: '1000',
    units: '1000',
    priceUsdt: '1',
  });
  const account = await client.wallet.createAccount({
    ownerId: id,
    venue: 'binance',
    label: 'fuzz ledger',
    baseCurrency: 'USDT',
  });
  const walletSession = await client.cinAux.openSession({ window: '1h', accountId: account.id });
  const cycle = await client.mea.startCycle({ window: '1h', engineCycle: 1, startedAt: T, coins: ['BTC'] });
  const cooled = await client.mea.startCycle({ window: '1h', engineCycle: 2, startedAt: T + 3_600_000 });
  await client.mea.coolCycle({ window: '1h', engineCycle: 2 });
  const settingsWallet = await client.settings.upsertWallet({
    label: 'fuzz wallet',
    address: 'bc1qfuzzbase',
  });
  const load = await client.ingest.startLoad({ source: 'fuzz-base', stream: 'klines' });
  const ids: Record<string, string | number> = {
    '@account': account.id,
    '@settingsWallet': settingsWallet.id,
    '@load': load.id,
    '@session': session.id,
    '@walletSession': walletSession.id,
    '@cycle': cycle.id,
    '@cooled': cooled.id,
  };
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') return ids[v] ?? v;
    if (Array.isArray(v)) return v.map(fill);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  for (const w of WRITERS) w.base = fill(w.base);
});
afterAll(async () => {
  await client.close();
  await db.close();
});

const bundleDir = tempDir('fuzz-bundle');
const T = Date.UTC(2024, 0, 1);
const id = '6f1c1f3e-8d44-4c61-9a63-2f0f5f4b2a10';
const kline = {
  symbol: 'BTCUSDT',
  window: '1m',
  openTime: T,
  closeTime: T + 59_999,
  open: 100,
  high: 101,
  low: 99,
  close: 100.5,
  volume: '1.5',
};
const restKline = [T, '100.0', '101.0', '99.0', '100.5', '1.5', T + 59_999, '150.0', 3, '0.5', '50.0', '0'];
const trade = { e: 'trade', E: T, s: 'BTCUSDT', t: 1, p: '100.5', q: '0.5', T, m: true, M: true };
const point = { seriesKey: 'fuzz:a', ts: T, value: 1.5, attrs: { run: 1 } };
const sample = {
  symbol: 'BTCUSDT',
  ts: T,
  vInner: 0.5,
  vOuter: -0.25,
  modeGeneral: 'up',
  bucketCount: 3,
  spreadAvg: 0.5,
  liquidityImbalance: 0.1,
  qualityFlags: { ok: true },
  attrs: { a: 1 },
};
/**
 * A writer of two arguments (`fn(sql, rows, options)`): its base is `[rows, options]`, so a poison
 * lands in either; a whole input of another shape is sent as both.
 */
function two(i: unknown, fn: (a: unknown, b: unknown) => Promise<unknown>): Promise<unknown> {
  return Array.isArray(i) && i.length === 2 ? fn(i[0], i[1]) : fn(i, i);
}

/** Every writer of the client, with a base input of the shape it takes (the poison makes it invalid). */
const WRITERS: {
  name: string;
  base: unknown;
  call: (c: ClientScope, input: unknown) => Promise<unknown>;
}[] = [
  {
    name: 'settings.upsertWindow',
    base: { label: '2h' },
    call: (c, i) => c.settings.upsertWindow(i as never),
  },
  {
    name: 'settings.updateParams',
    base: { samplingSeconds: 5, cycleSeconds: 60 },
    call: (c, i) => c.settings.updateParams(i as never),
  },
  {
    name: 'settings.upsertProfile',
    base: { email: 'fuzz@example.com', nickname: 'fz', params: { theme: 'dark' } },
    call: (c, i) => c.settings.upsertProfile(i as never),
  },
  {
    name: 'settings.syncCoinUniverse',
    base: { symbols: ['BTCUSDT', 'ETHUSDT'], autoDisable: false },
    call: (c, i) => c.settings.syncCoinUniverse(i as never),
  },
  {
    name: 'settings.queueUniverseBatch',
    base: { symbols: ['BTCUSDT'], autoDisable: false },
    call: (c, i) => c.settings.queueUniverseBatch(i as never),
  },
  {
    name: 'settings.upsertExternalAccount',
    base: { provider: 'binance', label: 'main', meta: { tier: 1 } },
    call: (c, i) => c.settings.upsertExternalAccount(i as never),
  },
  {
    name: 'settings.upsertWallet',
    base: { label: 'cold', network: 'bitcoin', address: 'bc1qfuzz', meta: { n: 1 } },
    call: (c, i) => c.settings.upsertWallet(i as never),
  },
  {
    name: 'settings.putWalletCredentials',
    base: {
      walletId: '@settingsWallet',
      exchange: 'binance',
      apiKey: 'fuzz-key-1',
      apiSecret: 'fuzz-secret-1',
    },
    call: (c, i) => c.settings.putWalletCredentials(i as never),
  },
  {
    name: 'settings.upsertRule',
    base: { kind: 'scr', ruleId: 'api.markets', description: 'd', ruleJson: { ttl: 5 } },
    call: (c, i) => c.settings.upsertRule(i as never),
  },
  {
    name: 'market.upsertAsset',
    base: { code: 'FUZ', name: 'Fuzz', precision: 8 },
    call: (c, i) => c.market.upsertAsset(i as never),
  },
  {
    name: 'market.upsertSymbol',
    base: { symbol: 'FUZUSDT', status: 'OFF', priceTick: '0.01', metadata: { a: 1 } },
    call: (c, i) => c.market.upsertSymbol(i as never),
  },
  { name: 'market.ingestKlineRow', base: kline, call: (c, i) => c.market.ingestKlineRow(i as never) },
  {
    name: 'market.ingestKlines',
    base: [kline, { ...kline, openTime: T + 60_000, closeTime: T + 119_999 }],
    call: (c, i) => c.market.ingestKlines(i as never),
  },
  {
    name: 'market.ingestOrderbook',
    base: { symbol: 'BTCUSDT', ts: T, bids: [[100, '1.5']], asks: [['101', 2]] },
    call: (c, i) => c.market.ingestOrderbook(i as never),
  },
  {
    name: 'documents.registerBundle',
    base: { dir: bundleDir, prefix: 'fuzz/', version: '1' },
    call: (c, i) => c.documents.registerBundle(i as never),
  },
  {
    name: 'wallet.createAccount',
    base: { ownerId: id, venue: 'binance', label: 'fuzz', baseCurrency: 'USDT' },
    call: (c, i) => c.wallet.createAccount(i as never),
  },
  {
    name: 'wallet.updateAccount',
    base: { id: '@account', label: 'fuzz 2' },
    call: (c, i) => c.wallet.updateAccount(i as never),
  },
  {
    name: 'wallet.recordMoves',
    base: {
      accountId: '@account',
      moves: [
        { kind: 'deposit', asset: 'BTC', amount: '0.5', price: '100', occurredAt: T, externalId: 'fz-1' },
      ],
    },
    call: (c, i) => c.wallet.recordMoves(i as never),
  },
  {
    name: 'wallet.takeSnapshot',
    base: { accountId: '@account', takenAt: T, balances: [{ asset: 'BTC', balance: '1' }] },
    call: (c, i) => c.wallet.takeSnapshot(i as never),
  },
  {
    name: 'matrices.ensureSeries',
    base: { key: 'fuzz:a', name: 'n', scope: 's', unit: 'u', target: { x: 1 } },
    call: (c, i) => c.matrices.ensureSeries(i as never),
  },
  { name: 'matrices.putPoint', base: point, call: (c, i) => c.matrices.putPoint(i as never) },
  {
    name: 'matrices.putPointsBulk',
    base: [point, { ...point, ts: T + 1 }],
    call: (c, i) => c.matrices.putPointsBulk(i as never),
  },
  {
    name: 'matrices.putGrid',
    base: {
      matrixType: 'id_pct',
      ts: T,
      coins: ['BTC', 'ETH'],
      values: [
        [null, 0.5],
        [-0.5, null],
      ],
    },
    call: (c, i) => c.matrices.putGrid(i as never),
  },
  {
    name: 'ingest.captureKlines',
    base: { source: 'fuzz', symbol: 'BTCUSDT', window: '1m', payloads: [restKline] },
    call: (c, i) => c.ingest.captureKlines(i as never),
  },
  {
    name: 'ingest.captureTrades',
    base: { source: 'fuzz', symbol: 'BTCUSDT', payloads: [trade] },
    call: (c, i) => c.ingest.captureTrades(i as never),
  },
  {
    name: 'ingest.startLoad',
    base: { source: 'fuzz', stream: 'klines', symbol: 'BTCUSDT' },
    call: (c, i) => c.ingest.startLoad(i as never),
  },
  {
    name: 'ingest.finishLoad',
    base: { id: '@load', status: 'failed', rowsSeen: 1, error: 'e' },
    call: (c, i) => c.ingest.finishLoad(i as never),
  },
  {
    name: 'ingest.runLoad',
    base: { source: 'fuzz', stream: 'klines', symbol: 'BTCUSDT' },
    call: (c, i) => c.ingest.runLoad(i as never, async () => 1),
  },
  {
    name: 'ingest.promoteKlines',
    base: { source: 'fuzz', symbol: 'BTCUSDT', window: '1m', from: T },
    call: (c, i) => c.ingest.promoteKlines(i as never),
  },
  // ---- strAux ----
  {
    name: 'strAux.upsertSample5s',
    base: sample,
    call: (c, i) => c.strAux.upsertSample5s(i as never),
  },
  {
    name: 'strAux.upsertSamples5s',
    base: [[sample, { ...sample, ts: T + 5_000, modeB: 'down' }], {}],
    call: (c, i) => two(i, (rows, options) => c.strAux.upsertSamples5s(rows as never, options as never)),
  },
  {
    name: 'strAux.upsertSampleModel',
    base: { symbol: 'BTCUSDT', ts: T, density: { book: [1, 2] }, stats: { n: 1 } },
    call: (c, i) => c.strAux.upsertSampleModel(i as never),
  },
  {
    name: 'strAux.rollCycle40s',
    base: { symbol: 'BTCUSDT', cycleStart: T, spec: 'default' },
    call: (c, i) => c.strAux.rollCycle40s(i as never),
  },
  {
    name: 'strAux.rollWindowFromCycles',
    base: { symbol: 'BTCUSDT', window: '5m', windowStart: T, spec: 'default' },
    call: (c, i) => c.strAux.rollWindowFromCycles(i as never),
  },
  {
    name: 'strAux.rollAllCyclesBetween',
    base: { from: T, to: T + 80_000, symbol: 'BTCUSDT', spec: 'default' },
    call: (c, i) => c.strAux.rollAllCyclesBetween(i as never),
  },
  {
    name: 'strAux.tryRollAllWindowsNow',
    base: { spec: 'default' },
    call: (c, i) => c.strAux.tryRollAllWindowsNow(i as never),
  },
  {
    name: 'strAux.backfillBetween',
    base: { from: T, to: T + 80_000, symbol: 'BTCUSDT' },
    call: (c, i) => c.strAux.backfillBetween(i as never),
  },
  {
    name: 'strAux.upsertSamplingSpec',
    base: { label: 'fuzz', baseStepSeconds: 5, cycleSeconds: 40, windows: ['5m', '1h'] },
    call: (c, i) => c.strAux.upsertSamplingSpec(i as never),
  },
  {
    name: 'strAux.setSymbolSpec',
    base: { symbol: 'BTCUSDT', spec: 'default', windows: ['5m'] },
    call: (c, i) => c.strAux.setSymbolSpec(i as never),
  },
  {
    name: 'strAux.startMetronome',
    base: { everyMs: 3_600_000, name: 'fuzz' },
    call: async (c, i) => {
      // accepted: stopped at once (the first tick is an hour away), and counted as accepted
      const m = c.strAux.startMetronome(i as never);
      await m.stop();
      return m;
    },
  },
  // ---- cinAux ----
  {
    name: 'cinAux.openSession',
    base: { window: '1h', ownerId: id, meta: { note: 'n' }, allowOverdraft: false, openedAt: T },
    call: (c, i) => c.cinAux.openSession(i as never),
  },
  { name: 'cinAux.closeSession', base: '@session', call: (c, i) => c.cinAux.closeSession(i as never) },
  {
    name: 'cinAux.fund',
    base: { sessionId: '@session', asset: 'USDT', usdt: '100', units: '100', priceUsdt: '1' },
    call: (c, i) => c.cinAux.fund(i as never),
  },
  {
    name: 'cinAux.applyMove',
    base: {
      sessionId: '@session',
      fromAsset: 'USDT',
      toAsset: 'BTC',
      executedUsdt: '10',
      feeUsdt: '0.01',
      slippageUsdt: '0',
      priceFromUsdt: '1',
      priceToUsdt: '40000',
      ts: T,
      sourceSymbol: 'BTCUSDT',
      tradeId: 'fz-1',
      side: 'buy',
      idempotencyKey: 'fz-move-1',
    },
    call: (c, i) => c.cinAux.applyMove(i as never),
  },
  {
    name: 'cinAux.addMark',
    base: { sessionId: '@session', asset: 'BTC', priceUsdt: '44000', ts: T, bulkUsdt: '10' },
    call: (c, i) => c.cinAux.addMark(i as never),
  },
  {
    name: 'cinAux.setReference',
    base: { sessionId: '@session', asset: 'USDT', refUsdt: '600' },
    call: (c, i) => c.cinAux.setReference(i as never),
  },
  {
    name: 'cinAux.setReferencesFromWallet',
    base: { sessionId: '@walletSession', at: T, prices: { BTC: '40000' } },
    call: (c, i) => c.cinAux.setReferencesFromWallet(i as never),
  },
  {
    name: 'cinAux.importMovesFromTrades',
    base: [
      [
        {
          symbol: 'BTCUSDT',
          tradeId: 7,
          isBuyer: true,
          price: '40000',
          qty: '0.001',
          commission: '0.01',
          commissionAsset: 'USDT',
          time: T,
        },
      ],
      { sessionId: '@session', prices: { BTC: '40000' } },
    ],
    call: (c, i) =>
      two(i, (trades, options) => c.cinAux.importMovesFromTrades(trades as never, options as never)),
  },
  // ---- mea ----
  {
    name: 'mea.startCycle',
    base: {
      window: '1h',
      engineCycle: 9,
      startedAt: T,
      base: 'BTC',
      quote: 'USDT',
      coins: ['BTC', 'ETH'],
      sessionId: '@session',
    },
    call: (c, i) => c.mea.startCycle(i as never),
  },
  {
    name: 'mea.coolCycle',
    base: { window: '1h', engineCycle: 1 },
    call: (c, i) => c.mea.coolCycle(i as never),
  },
  {
    name: 'mea.upsertDynamicsSnapshot',
    base: {
      cycleId: '@cooled',
      base: 'BTC',
      quote: 'USDT',
      coins: ['BTC'],
      candidates: [{ c: 1 }],
      assetIdentity: { a: 1 },
      arbitrageRows: [],
      strMeasures: { s: 1 },
      meaValue: 0.0002,
      mood: 'calm',
    },
    call: (c, i) => c.mea.upsertDynamicsSnapshot(i as never),
  },
  {
    name: 'mea.upsertMood',
    base: { mood: 'calm', formulaVersion: 'v1', buckets: [1, 2] },
    call: (c, i) => c.mea.upsertMood(i as never),
  },
  {
    name: 'mea.putMeaSymbols',
    base: [[{ symbol: 'BTC', walletValue: 1, meaValue: 0.0002, mood: 'calm' }], { cycleId: '@cycle' }],
    call: (c, i) => two(i, (rows, options) => c.mea.putMeaSymbols(rows as never, options as never)),
  },
  {
    name: 'transaction (options)',
    base: { retries: 1, isolation: 'serializable' },
    call: (c, i) => c.transaction(async (tx) => tx.settings.upsertWindow({ label: '3h' }), i as never),
  },
];

// ---- poisons: values no field of any writer accepts -------------------------------------------

function cyclic(): unknown {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
}
function deep(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { d: v };
  return v;
}
function protoWith(bad: unknown): unknown {
  const o = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
  o.bad = bad;
  return o;
}
const SQL = [
  "'; drop table settings.windows; --",
  '" or 1=1 --',
  '$$; select pg_sleep(10); $$',
  '\\x00',
  "E'\\\\'",
];

/** A string no text field accepts: SQL fragments, unicode, emoji, long or not, with a NUL or a lone surrogate in it. */
const badString = fc
  .tuple(
    fc.constantFrom(...SQL, 'ünïcødé ✓ 🚀', 'ok', ''),
    fc.constantFrom('\u0000', '\uD800', '\uDFFF', 'a\uD83D', '\u0000\u0000'),
    fc.constantFrom(0, 1, 300, 70_000, 1_100_000),
    fc.boolean(),
  )
  .map(([text, bad, pad, before]) => {
    const filler = 'x'.repeat(pad);
    return before ? `${bad}${text}${filler}` : `${text}${filler}${bad}`;
  });

type Poison = { kind: string; make: () => unknown };
const POISONS: fc.Arbitrary<Poison> = fc.oneof(
  fc.constantFrom<Poison>(
    { kind: 'NaN', make: () => Number.NaN },
    { kind: 'Infinity', make: () => Number.POSITIVE_INFINITY },
    { kind: '-Infinity', make: () => Number.NEGATIVE_INFINITY },
    { kind: 'BigInt', make: () => 10n ** 30n },
    { kind: 'cyclic object', make: cyclic },
    { kind: 'symbol', make: () => Symbol('fuzz') },
    { kind: 'function', make: () => () => 1 },
    { kind: 'invalid Date', make: () => new Date(Number.NaN) },
    { kind: 'Date in year 10000', make: () => new Date(Date.UTC(10_000, 0, 2)) },
    { kind: 'Date before year 1', make: () => new Date(Date.UTC(-1, 0, 1)) },
    { kind: 'deep JSON (5 000 levels)', make: () => deep(5_000) },
    { kind: '__proto__ key holding a BigInt', make: () => protoWith(10n) },
    { kind: 'class instance', make: () => new Map([['a', 1]]) },
  ),
  badString.map((s) => ({ kind: 'string with NUL / lone surrogate', make: () => s })),
);

/** Whole inputs that are not of any writer's shape. */
const WRONG_WHOLE: Poison[] = [
  { kind: 'whole: null', make: () => null },
  { kind: 'whole: -0', make: () => -0 },
  { kind: 'whole: NaN', make: () => Number.NaN },
  { kind: 'whole: string', make: () => "'; drop table x; --" },
  { kind: 'whole: true', make: () => true },
  { kind: 'whole: BigInt', make: () => 1n },
  { kind: 'whole: cyclic', make: cyclic },
  { kind: 'whole: Date', make: () => new Date(T) },
];

/** Every path into a value's objects and arrays (the root excluded). */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [];
  const out: (string | number)[][] = [];
  const entries: [string | number, unknown][] = Array.isArray(v)
    ? v.map((x, i) => [i, x] as [number, unknown])
    : Object.entries(v as Record<string, unknown>);
  for (const [k, x] of entries) {
    out.push([...at, k]);
    out.push(...paths(x, [...at, k]));
  }
  return out;
}
/** Fields holding free JSON (any key is valid there) or exchange payloads (extra keys allowed). */
const FREE = new Set([
  'meta',
  'params',
  'metadata',
  'ruleJson',
  'target',
  'attrs',
  'payloads',
  'qualityFlags',
  'density',
  'stats',
  'candidates',
  'assetIdentity',
  'arbitrageRows',
  'strMeasures',
  'buckets',
]);

/** Objects inside a value (the root included) where an extra key is refused: not inside free JSON. */
function objectPaths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object') return [];
  if (at.some((k) => typeof k === 'string' && FREE.has(k))) return [];
  const here = Array.isArray(v) ? [] : [at];
  const entries: [string | number, unknown][] = Array.isArray(v)
    ? v.map((x, i) => [i, x] as [number, unknown])
    : Object.entries(v as Record<string, unknown>);
  return [...here, ...entries.flatMap(([k, x]) => objectPaths(x, [...at, k]))];
}
function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root);
  let o = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path.at(-1)!] = value;
  return copy;
}
function addKey(root: unknown, path: (string | number)[], key: string): unknown {
  const copy = structuredClone(root);
  let o = copy as Record<string | number, unknown>;
  for (const k of path) o = o[k] as Record<string | number, unknown>;
  // an own "__proto__" property, as JSON.parse makes it (an assignment would set the prototype)
  Object.defineProperty(o, key, { value: 1, enumerable: true, writable: true, configurable: true });
  return copy;
}

interface Case {
  writer: number;
  how: string;
  input: () => unknown;
}

const cases: fc.Arbitrary<Case> = fc.integer({ min: 0, max: WRITERS.length - 1 }).chain((writer) => {
  const base = WRITERS[writer]!.base;
  // a writer taking one scalar (closeSession(id)): the poison replaces the whole input
  const found = paths(base);
  const ps = found.length > 0 ? found : [[]];
  const os = objectPaths(base);
  const branches = [
    {
      weight: 8,
      arbitrary: fc.tuple(fc.integer({ min: 0, max: ps.length - 1 }), POISONS).map(([p, poison]) => ({
        writer,
        how: `${poison.kind} at ${ps[p]!.join('.') || '(root)'}`,
        input: () => setAt(base, ps[p]!, poison.make()),
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...WRONG_WHOLE)
        .map((poison) => ({ writer, how: poison.kind, input: poison.make })),
    },
  ];
  // an extra key needs an object to put it in (not closeSession(id))
  if (os.length > 0)
    branches.push({
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.integer({ min: 0, max: Math.max(0, os.length - 1) }),
          fc.constantFrom('extraKey', '__proto__', 'constructor'),
        )
        .map(([p, key]) => ({
          writer,
          how: `extra key ${key} at ${(os[p] ?? []).join('.') || '(root)'}`,
          input: () => addKey(base, os[p] ?? [], key),
        })),
    });
  return fc.oneof(...branches);
});

class Rollback extends Error {}

/**
 * Defects of module code this suite found, reported to the modules' owners (not fixed here). A case
 * matching one runs in a rolled-back transaction and is listed as open in docs/reliability.md; a
 * fixed defect simply stops matching anything refused. Remove an entry once its module is fixed.
 */
const KNOWN_DEFECTS: { writer: string; how: RegExp; note: string }[] = [];

/**
 * Generated cases that are valid inputs by the spec: run where they cannot write (rolled back), not
 * counted as refusals. spec/pipeline.md: putGrid skips the diagonal and non-finite cells.
 */
const VALID_BY_SPEC: { writer: string; how: RegExp }[] = [
  { writer: 'matrices.putGrid', how: /^(NaN|Infinity|-Infinity) at values\./ },
];

describe('bad input to every writer', () => {
  it(`${RUNS.toLocaleString('en-US')} generated invalid inputs: each refused with a CryptopiError, nothing written`, async () => {
    const before = await rowCounts(db.sql);
    const generated = fc.sample(cases, { seed: SEED, numRuns: RUNS });
    const failures = new Map<string, { writer: string; how: string; got: string; times: number }>();
    const perWriter = new Map<string, number>();
    const open = new Map<string, number>();
    let valid = 0;
    for (const c of generated) {
      const w = WRITERS[c.writer]!;
      perWriter.set(w.name, (perWriter.get(w.name) ?? 0) + 1);
      // the case's kind: the path's indexes folded
      const how = c.how.replace(/\.\d+/g, '.#');
      if (VALID_BY_SPEC.some((k) => k.writer === w.name && k.how.test(how))) {
        valid++;
        continue;
      }
      const known = KNOWN_DEFECTS.find((k) => k.writer === w.name && k.how.test(how));
      let got: string | undefined;
      try {
        if (known) {
          // a defect reported to the module's owner: run it where it cannot write, and keep counting
          await client.transaction(async (tx) => {
            await w.call(tx, c.input());
            throw new Rollback();
          });
        } else {
          await w.call(client, c.input());
        }
        got = 'resolved (accepted)';
      } catch (e) {
        if (e instanceof Rollback) got = 'resolved (accepted)';
        else if (!isCryptopiError(e))
          got = `raw ${(e as Error)?.name}: ${String((e as Error)?.message).slice(0, 120)}`;
      }
      if (got === undefined) continue;
      if (known) {
        open.set(known.note, (open.get(known.note) ?? 0) + 1);
        continue;
      }
      const key = `${w.name}|${how}|${got}`;
      const f = failures.get(key);
      if (f) f.times++;
      else failures.set(key, { writer: w.name, how, got, times: 1 });
    }
    const after = await rowCounts(db.sql);
    if (process.env.CRYPTOPI_FUZZ_REPORT)
      (await import('node:fs')).writeFileSync(
        process.env.CRYPTOPI_FUZZ_REPORT,
        JSON.stringify([...failures.values()], null, 1),
      );
    const changed = Object.keys(after)
      .filter((t) => after[t] !== before[t])
      .map((t) => `${t}: ${before[t]} → ${after[t]}`);
    expect({ changed, failures: [...failures.values()] }).toEqual({ changed: [], failures: [] });
    expect([...perWriter.keys()].sort()).toEqual(WRITERS.map((w) => w.name).sort());
    record({
      id: 'bad-input.1-writers',
      area: 'bad-input',
      tried: `generated invalid inputs (seed ${SEED}) to the ${WRITERS.length} writers of the client: NaN, ±Infinity, BigInt, cyclic and 5 000-deep JSON, symbols, functions, invalid and out-of-range Dates, class instances, "__proto__"/extra keys, strings with NUL or lone surrogates (SQL fragments, unicode, up to 1.1 M characters), wrong whole inputs (null, -0, …)`,
      times: RUNS,
      held:
        `${(RUNS - valid - [...open.values()].reduce((a, b) => a + b, 0)).toLocaleString('en-US')} of ${(RUNS - valid).toLocaleString('en-US')} refused with a CryptopiError (no raw TypeError / RangeError); the row count of every table unchanged` +
        (valid === 0
          ? ''
          : ` (${valid} generated cases valid by the spec, non-finite putGrid cells that it skips, not sent)`) +
        (open.size === 0
          ? ''
          : `; open defects (accepted, run rolled back): ${[...open].map(([note, n]) => `${note} (${n}×)`).join('; ')}`),
    });
  }, 300_000);

  it('ledger amounts: every amount field of cinAux refuses bad decimals with a ValidationError naming it, nothing written', async () => {
    // numeric(38,18) holds 20 integer and 18 fractional digits; every ledger amount is >= 0 (most > 0)
    const BAD_AMOUNTS: [string, unknown][] = [
      ['negative', '-0.4'],
      ['negative number', -1e-7],
      ['19 decimal places', '1.0000000000000000001'],
      ['21 integer digits', `1${'0'.repeat(20)}`],
      ['exponent beyond the column', '1e400'],
      ['a float that lost digits (0.1 + 0.2)', 0.1 + 0.2],
      ['words', 'abc'],
      ['comma decimal', '1,5'],
      ['hex', '0x10'],
      ['empty', ''],
      ['edge space', ' 1'],
      ['"NaN"', 'NaN'],
      ['"Infinity"', 'Infinity'],
      ['NaN', Number.NaN],
      ['boolean', true],
      ['null', null],
      ['1 001-digit string', `1.${'0'.repeat(1000)}`],
    ];
    const byName = new Map(WRITERS.map((w) => [w.name, w]));
    const targets: [string, (string | number)[]][] = [
      ...['usdt', 'units', 'priceUsdt'].map((f) => ['cinAux.fund', [f]] as [string, (string | number)[]]),
      ...['executedUsdt', 'feeUsdt', 'slippageUsdt', 'priceFromUsdt', 'priceToUsdt'].map(
        (f) => ['cinAux.applyMove', [f]] as [string, (string | number)[]],
      ),
      ['cinAux.addMark', ['priceUsdt']],
      ['cinAux.addMark', ['bulkUsdt']],
      ['cinAux.setReference', ['refUsdt']],
      ['cinAux.setReferencesFromWallet', ['prices', 'BTC']],
      ...['price', 'qty', 'commission'].map(
        (f) => ['cinAux.importMovesFromTrades', [0, 0, f]] as [string, (string | number)[]],
      ),
      ['cinAux.importMovesFromTrades', [1, 'prices', 'BTC']],
    ];
    const before = await rowCounts(db.sql);
    const wrong: string[] = [];
    for (const [name, path] of targets) {
      const w = byName.get(name)!;
      for (const [kind, value] of BAD_AMOUNTS) {
        const input = setAt(w.base, path, value);
        try {
          await w.call(client, input);
          wrong.push(`${name} ${path.join('.')} ${kind}: accepted`);
        } catch (e) {
          const issues = (e as { issues?: { path: unknown[] }[] }).issues ?? [];
          // the issue names the field (a two-argument writer's path is within its rows or options)
          const named = issues.some((i) => String(i.path.at(-1)) === String(path.at(-1)));
          if ((e as Error).name !== 'ValidationError' || !named)
            wrong.push(`${name} ${path.join('.')} ${kind}: ${(e as Error).name} ${JSON.stringify(issues)}`);
        }
      }
    }
    const after = await rowCounts(db.sql);
    const changed = Object.keys(after).filter((t) => after[t] !== before[t]);
    expect({ wrong, changed }).toEqual({ wrong: [], changed: [] });
    const n = targets.length * BAD_AMOUNTS.length;
    record({
      id: 'bad-input.2-ledger-amounts',
      area: 'bad-input',
      tried: `${BAD_AMOUNTS.length} bad amounts (negative, 19 decimal places, 21 integer digits, 1e400, a JS float that lost digits, words, comma, hex, empty, edge space, "NaN", NaN, boolean, null, 1 001 digits) in each of the ${targets.length} amount fields of fund, applyMove, addMark, setReference, setReferencesFromWallet and importMovesFromTrades`,
      times: n,
      held: `${n} of ${n} refused with a ValidationError whose issue names the field; the row count of every table unchanged`,
    });
  }, 120_000);

  it('the bases are valid: each, alone, is accepted (run rolled back)', async () => {
    // each base, alone, inside a transaction rolled back: the poison is what makes the cases invalid
    const shapeRefusals: string[] = [];
    const refusedOutright: string[] = [];
    for (const w of WRITERS) {
      // the metronome needs a pool, not a transaction (its base is checked alone below)
      if (w.name.startsWith('transaction') || w.name === 'strAux.startMetronome') continue;
      await client
        .transaction(async (tx) => {
          try {
            await w.call(tx, structuredClone(w.base));
          } catch (e) {
            // the bases of the ledger, str_aux and mea name rows that exist: each is accepted outright
            if (/^(strAux|cinAux|mea)\./.test(w.name))
              refusedOutright.push(`${w.name}: ${(e as Error).message}`);
            const issues = (e as { issues?: unknown[] }).issues;
            if ((e as Error).name === 'ValidationError' && issues && !(e as { sqlstate?: string }).sqlstate)
              shapeRefusals.push(`${w.name}: ${(e as Error).message}`);
          }
          throw new Error('rollback');
        })
        .catch(() => {});
    }
    expect({ shapeRefusals, refusedOutright }).toEqual({ shapeRefusals: [], refusedOutright: [] });
  }, 120_000);
});
