// 16 connections apply 2 000 moves at once (some overdrawing, some sent twice by two connections with
// the same idempotency key): every accepted move is recorded once, every refused one left nothing,
// the buckets and units equal what the accepted moves imply (in any order: sums commute), the
// invariant holds exactly, and no deadlock or other error reaches the caller. Then over 16 sessions.
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyMove, fund, type MoveRow, openSession } from '../../src/cinAux/index.js';
import { ValidationError } from '../../src/core/errors.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { seedAssets } from './helpers.js';

let db: TestDatabase;
let pool: postgres.Sql;
beforeAll(async () => {
  db = await startTestDatabase();
  await seedAssets(db.sql);
  pool = postgres(db.url, { max: 16, onnotice: () => {} });
});
afterAll(async () => {
  await pool.end();
  await db.close();
});

const E18 = 10n ** 18n;
const scaled = (s: string) => {
  const [i = '0', f = ''] = s.split('.');
  return BigInt(i) * E18 + BigInt(f.padEnd(18, '0'));
};
const text = (v: bigint) => {
  const a = v < 0n ? -v : v;
  const f = (a % E18).toString().padStart(18, '0').replace(/0+$/, '');
  return `${v < 0n ? '-' : ''}${a / E18}${f ? `.${f}` : ''}`;
};
const div18 = (a: bigint, b: bigint) => (2n * a * E18 + b) / (2n * b);

const ASSETS = ['USDT', 'BTC', 'ETH'] as const;
const PRICE: Record<string, string> = { USDT: '1', BTC: '40000', ETH: '2000' };

interface Planned {
  sessionId: string;
  key: string;
  from: string;
  to: string;
  exec: string;
  fee: string;
  priced: boolean;
}

/** A deterministic pseudo-random sequence (the test is reproducible). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function plan(sessionIds: string[], n: number, seed: number): Planned[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const from = ASSETS[Math.floor(r() * 3)]!;
    const to = ASSETS.filter((a) => a !== from)[Math.floor(r() * 2)]!;
    // mostly small moves; one in eight asks for more than a session ever holds (refused)
    const exec = r() < 0.125 ? '5000' : `${1 + Math.floor(r() * 40)}.${Math.floor(r() * 100)}`;
    return {
      sessionId: sessionIds[Math.floor(r() * sessionIds.length)]!,
      key: `k${i}`,
      from,
      to,
      exec,
      fee: `0.0${Math.floor(r() * 10)}`,
      priced: r() < 0.5,
    };
  });
}

async function runAll(sessionIds: string[], n: number, seed: number) {
  for (const sessionId of sessionIds)
    for (const a of ASSETS) await fund(db.sql, { sessionId, asset: a, usdt: '1000', priceUsdt: PRICE[a]! });
  const moves = plan(sessionIds, n, seed);
  // one move in ten is sent twice in a row (so two connections send it at once), same key and content
  const calls = moves.flatMap((m, i) => (i % 10 === 0 ? [m, m] : [m]));
  const results = new Map<string, MoveRow[]>();
  const refused = new Set<string>();
  const unexpected: unknown[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let c = next++; c < calls.length; c = next++) {
        const m = calls[c]!;
        try {
          const row = await applyMove(pool, {
            sessionId: m.sessionId,
            fromAsset: m.from,
            toAsset: m.to,
            executedUsdt: m.exec,
            feeUsdt: m.fee,
            ...(m.priced ? { priceFromUsdt: PRICE[m.from]!, priceToUsdt: PRICE[m.to]! } : {}),
            idempotencyKey: m.key,
          });
          results.set(m.key, [...(results.get(m.key) ?? []), row]);
        } catch (e) {
          if (e instanceof ValidationError && e.issues[0]?.path[0] === 'executedUsdt') refused.add(m.key);
          else unexpected.push(e);
        }
      }
    }),
  );
  return { moves, results, refused, unexpected };
}

async function check(sessionIds: string[], n: number, seed: number) {
  const { moves, results, refused, unexpected } = await runAll(sessionIds, n, seed);
  expect(unexpected).toEqual([]);
  // every call ended accepted or refused; the calls of a key that were accepted all got the same move
  // (a key sent twice may be refused once and accepted once: a refusal leaves nothing, and the other
  // call may find the source richer by then)
  for (const m of moves) {
    const rows = results.get(m.key) ?? [];
    expect(rows.length > 0 || refused.has(m.key)).toBe(true);
    expect(new Set(rows.map((r) => r.id)).size).toBeLessThanOrEqual(1);
  }
  expect(refused.size).toBeGreaterThan(0);
  const accepted = moves.filter((m) => results.has(m.key));
  const stored = await db.sql<{ key: string; n: number }[]>`
    select idempotency_key as key, count(*)::int as n from cin_aux.moves
    where session_id = any(${sessionIds}::uuid[]) group by 1 order by 1`;
  expect(stored).toEqual(
    accepted.map((m) => ({ key: m.key, n: 1 })).sort((a, b) => (a.key < b.key ? -1 : 1)),
  );
  expect(
    await db.sql`select count(*)::int as n from cin_aux.move_lots x join cin_aux.moves m on m.id = x.move_id
                 where m.session_id = any(${sessionIds}::uuid[]) and m.price_from_usdt is null`,
  ).toEqual([{ n: 0 }]);

  // what the accepted moves imply, whatever their order
  const value = new Map<string, bigint>();
  const units = new Map<string, bigint>();
  for (const s of sessionIds)
    for (const a of ASSETS) {
      value.set(`${s}/${a}`, scaled('1000'));
      units.set(`${s}/${a}`, div18(scaled('1000'), scaled(PRICE[a]!)));
    }
  for (const m of accepted) {
    const exec = scaled(m.exec);
    const fee = scaled(m.fee);
    const f = `${m.sessionId}/${m.from}`;
    const t = `${m.sessionId}/${m.to}`;
    value.set(f, value.get(f)! - exec - fee);
    value.set(t, value.get(t)! + exec);
    if (m.priced) {
      const pf = scaled(PRICE[m.from]!);
      units.set(f, units.get(f)! - div18(exec, pf) - div18(fee, pf));
      units.set(t, units.get(t)! + div18(exec, scaled(PRICE[m.to]!)));
    }
  }
  const rows = await db.sql<{ k: string; v: string; u: string; lots: string; neg: boolean }[]>`
    select r.session_id || '/' || r.asset as k, trim_scale(r.principal_usdt + r.profit_usdt)::text as v,
           trim_scale(r.units)::text as u,
           trim_scale((select coalesce(sum(l.units_free), 0) from cin_aux.lots l where l.session_id = r.session_id and l.asset = r.asset))::text as lots,
           (r.principal_usdt < 0 or r.profit_usdt < 0 or r.units < 0) as neg
    from cin_aux.runtime_balances r where r.session_id = any(${sessionIds}::uuid[]) order by 1`;
  expect(rows).toEqual(
    [...value.keys()].sort().map((k) => ({
      k,
      v: text(value.get(k)!),
      u: text(units.get(k)!),
      lots: text(units.get(k)!),
      neg: false,
    })),
  );
  // Σ(principal + profit) = funded − Σ(fee + slippage) of the accepted moves, exactly
  const funded = scaled('1000') * BigInt(3 * sessionIds.length);
  const fees = accepted.reduce((s, m) => s + scaled(m.fee), 0n);
  const [sum] = await db.sql<{ total: string }[]>`
    select trim_scale(sum(principal_usdt + profit_usdt))::text as total from cin_aux.runtime_balances
    where session_id = any(${sessionIds}::uuid[])`;
  expect(sum?.total).toBe(text(funded - fees));
}

it('16 connections, 2 000 moves, one session', { timeout: 300_000 }, async () => {
  const s = (await openSession(db.sql, { window: '1m' })).id;
  await check([s], 2000, 1);
});

it('16 connections, 2 000 moves, 16 sessions', { timeout: 300_000 }, async () => {
  const ids: string[] = [];
  for (let i = 0; i < 16; i++) ids.push((await openSession(db.sql, { window: '1m' })).id);
  await check(ids, 2000, 2);
});
