// Property test: ≥ 200 random sequences of fund / move / mark / reference / close on a fresh session
// each. After every step, against an independent model in exact BigInt arithmetic (18 decimals):
// - each asset's principal + profit and units equal the model's; a move is refused exactly when the
//   model says the source cannot pay (value, or units when priced), and a refusal changes nothing;
// - Σ(principal + profit) = funded − Σ(fee + slippage), checked in SQL too, exactly;
// - no runtime principal, profit or units, and no lot, goes below zero; lots' free units = runtime units.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addMark, applyMove, closeSession, fund, openSession, setReference } from '../../src/cinAux/index.js';
import { ValidationError } from '../../src/core/errors.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { seedAssets } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
  await seedAssets(db.sql);
});
afterAll(() => db.close());

const ASSETS = ['USDT', 'BTC', 'ETH'] as const;
type Asset = (typeof ASSETS)[number];
const E18 = 10n ** 18n;

/** A decimal string to an integer count of 10^-18. */
function toScaled(s: string): bigint {
  const [i = '0', f = ''] = s.split('.');
  return BigInt(i) * E18 + BigInt(f.padEnd(18, '0'));
}
/** An integer count of 10^-18 as the decimal string PostgreSQL's trim_scale gives. */
function fromScaled(v: bigint): string {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const f = (a % E18).toString().padStart(18, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${a / E18}${f ? `.${f}` : ''}`;
}
/** a / b to 18 decimals, half away from zero (a, b > 0). */
const div18 = (a: bigint, b: bigint) => (2n * a * E18 + b) / (2n * b);

const amountArb = (max: number) =>
  fc.bigInt({ min: 1n, max: BigInt(max) * 1_000_000n }).map((n) => fromScaled(n * 10n ** 12n));
const costArb = fc.oneof(
  fc.constant('0'),
  fc.bigInt({ min: 1n, max: 2_000_000n }).map((n) => fromScaled(n * 10n ** 12n)),
);
const priceArb = fc.constantFrom('1', '0.5', '2.5', '40000', '0.0003', '1234.5678', '3');
const assetArb = fc.constantFrom(...ASSETS);

type Cmd =
  | { kind: 'fund'; asset: Asset; usdt: string; price: string }
  | {
      kind: 'move';
      from: Asset;
      to: Asset;
      exec: string;
      fee: string;
      slip: string;
      prices: [string, string] | null;
    }
  | { kind: 'mark'; asset: Asset; price: string }
  | { kind: 'reference'; asset: Asset; ref: string }
  | { kind: 'close' };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('fund' as const),
      asset: assetArb,
      usdt: amountArb(1000),
      price: priceArb,
    }),
  },
  {
    weight: 6,
    arbitrary: fc
      .record({
        kind: fc.constant('move' as const),
        from: assetArb,
        to: assetArb,
        exec: amountArb(600),
        fee: costArb,
        slip: costArb,
        prices: fc.option(fc.tuple(priceArb, priceArb), { nil: null }),
      })
      .filter((m) => m.from !== m.to),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('mark' as const), asset: assetArb, price: priceArb }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('reference' as const), asset: assetArb, ref: amountArb(1000) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
);

async function stateOf(sessionId: string) {
  const [row] = await db.sql<
    { balances: Record<string, [string, string]>; ok: boolean; negatives: number; lots_mismatch: number }[]
  >`
    select coalesce((select jsonb_object_agg(r.asset, jsonb_build_array(trim_scale(r.principal_usdt + r.profit_usdt)::text, trim_scale(r.units)::text))
                     from cin_aux.runtime_balances r where r.session_id = ${sessionId}), '{}') as balances,
           (select coalesce(sum(r.principal_usdt + r.profit_usdt), 0) from cin_aux.runtime_balances r where r.session_id = ${sessionId})
             = (select coalesce(sum(b.opening_principal_usdt + b.opening_profit_usdt), 0) from cin_aux.balances b where b.session_id = ${sessionId})
             - (select coalesce(sum(m.fee_usdt + m.slippage_usdt), 0) from cin_aux.moves m where m.session_id = ${sessionId}) as ok,
           (select count(*)::int from cin_aux.runtime_balances r where r.session_id = ${sessionId}
              and (r.principal_usdt < 0 or r.profit_usdt < 0 or r.units < 0))
           + (select count(*)::int from cin_aux.lots l where l.session_id = ${sessionId}
              and (l.units_free < 0 or l.units_free > l.units_total)) as negatives,
           (select count(*)::int from cin_aux.runtime_balances r where r.session_id = ${sessionId}
              and r.units <> (select coalesce(sum(l.units_free), 0) from cin_aux.lots l
                              where l.session_id = r.session_id and l.asset = r.asset)) as lots_mismatch
  `;
  return row!;
}

it('the ledger invariants hold after every step of 200 random sequences', { timeout: 600_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 12 }), async (cmds) => {
      const sessionId = (await openSession(db.sql, { window: '1m' })).id;
      const value: Record<string, bigint> = {};
      const units: Record<string, bigint> = {};
      let funded = 0n;
      let costs = 0n;
      let closed = false;
      for (const c of cmds) {
        let accepted = true;
        let expectAccepted = !closed;
        try {
          if (c.kind === 'fund') {
            await fund(db.sql, { sessionId, asset: c.asset, usdt: c.usdt, priceUsdt: c.price });
          } else if (c.kind === 'move') {
            const exec = toScaled(c.exec);
            const cost = toScaled(c.fee) + toScaled(c.slip);
            const fu = c.prices ? div18(exec, toScaled(c.prices[0])) : 0n;
            const cu = c.prices ? div18(cost, toScaled(c.prices[0])) : 0n;
            const tu = c.prices ? div18(exec, toScaled(c.prices[1])) : 1n;
            if ((value[c.from] ?? 0n) < exec + cost || (units[c.from] ?? 0n) < fu + cu || tu === 0n)
              expectAccepted = false;
            await applyMove(db.sql, {
              sessionId,
              fromAsset: c.from,
              toAsset: c.to,
              executedUsdt: c.exec,
              feeUsdt: c.fee,
              slippageUsdt: c.slip,
              ...(c.prices ? { priceFromUsdt: c.prices[0], priceToUsdt: c.prices[1] } : {}),
            });
          } else if (c.kind === 'mark') {
            await addMark(db.sql, { sessionId, asset: c.asset, priceUsdt: c.price });
          } else if (c.kind === 'reference') {
            await setReference(db.sql, { sessionId, asset: c.asset, refUsdt: c.ref });
          } else {
            await closeSession(db.sql, sessionId);
            expectAccepted = true; // closing a closed session returns its row
          }
        } catch (e) {
          if (!(e instanceof ValidationError)) throw e;
          accepted = false;
        }
        expect({ step: c, accepted }).toEqual({ step: c, accepted: expectAccepted });
        if (accepted) {
          if (c.kind === 'fund') {
            const u = toScaled(c.usdt);
            value[c.asset] = (value[c.asset] ?? 0n) + u;
            units[c.asset] = (units[c.asset] ?? 0n) + div18(u, toScaled(c.price));
            funded += u;
          } else if (c.kind === 'move') {
            const exec = toScaled(c.exec);
            const cost = toScaled(c.fee) + toScaled(c.slip);
            value[c.from] = (value[c.from] ?? 0n) - exec - cost;
            value[c.to] = (value[c.to] ?? 0n) + exec;
            costs += cost;
            if (c.prices) {
              units[c.from] =
                (units[c.from] ?? 0n) -
                div18(exec, toScaled(c.prices[0])) -
                div18(cost, toScaled(c.prices[0]));
              units[c.to] = (units[c.to] ?? 0n) + div18(exec, toScaled(c.prices[1]));
            } else {
              units[c.from] ??= 0n;
              units[c.to] ??= 0n;
            }
          } else if (c.kind === 'close') closed = true;
        }
        const s = await stateOf(sessionId);
        const model = Object.fromEntries(
          Object.keys(value).map((a) => [a, [fromScaled(value[a] ?? 0n), fromScaled(units[a] ?? 0n)]]),
        );
        expect(s).toEqual({ balances: model, ok: true, negatives: 0, lots_mismatch: 0 });
        const total = Object.values(value).reduce((x, y) => x + y, 0n);
        expect(total).toBe(funded - costs);
      }
    }),
    { numRuns: 200 },
  );
});
