// Races: many writers at once on the same rows. End states are exact: what the concurrent calls
// leave equals what hand computation says, whatever their interleaving.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, createClient } from '../../src/client.js';
import { isCryptopiError, ValidationError } from '../../src/core/errors.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { catalog } from '../helpers/catalog.js';
import { figures, runChild } from './helpers.js';

const record = figures('races');

let db: TestDatabase;
let client: Client;
beforeAll(async () => {
  db = await startTestDatabase();
  client = createClient({ url: db.url }, { postgres: { max: 10 } });
});
afterAll(async () => {
  await client.close();
  await db.close();
});

describe('races', () => {
  it('8 processes migrating one fresh database: every pack applied once, the catalog of a single migrate', async () => {
    const fresh = await startTestDatabase({ migrate: false });
    try {
      const runs = await Promise.all(Array.from({ length: 8 }, () => runChild('migrate.ts', [fresh.url])));
      expect(runs.map((r) => ({ code: r.code, stderr: r.stderr }))).toEqual(
        Array.from({ length: 8 }, () => ({ code: 0, stderr: '' })),
      );
      const reports = runs.map((r) => r.lines[0] as { applied: string[]; unchanged: string[] });
      const applied = reports.flatMap((r) => r.applied).sort();
      const all = [...reports[0]!.applied, ...reports[0]!.unchanged].sort();
      // each pack and step applied by exactly one of the 8; the others found it applied
      expect(applied).toEqual(all);
      for (const r of reports) expect([...r.applied, ...r.unchanged].sort()).toEqual(all);
      expect(await catalog(fresh.sql, { oids: false })).toEqual(await catalog(db.sql, { oids: false }));
      record({
        id: 'races.1-migrate',
        area: 'races',
        tried: '8 host processes calling `migrate()` on one fresh database at once',
        times: 8,
        held: 'all 8 exited 0; every pack applied exactly once; the catalog equals a single migrate',
      });
    } finally {
      await fresh.close();
    }
  }, 120_000);

  it('concurrent universe syncs: the enabled set is exactly one caller’s set, and market.symbols mirrors it', async () => {
    const sets = [
      ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'],
      ['ETHUSDT', 'ADAUSDT'],
      ['BTCUSDT', 'XRPUSDT', 'DOGEUSDT', 'ADAUSDT'],
      ['SOLUSDT'],
      ['ETHBTC', 'BTCUSDT'],
      ['DOTUSDT', 'LINKUSDT', 'ETHUSDT'],
    ];
    const ROUNDS = 5;
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all(sets.map((symbols) => client.settings.syncCoinUniverse(symbols)));
      expect(results.map((r) => r.enabledCount)).toEqual(sets.map((s) => s.length));
      const enabled = (
        await db.sql<
          { symbol: string }[]
        >`select symbol from settings.coin_universe where enabled order by symbol`
      ).map((r) => r.symbol);
      expect(sets.map((s) => [...s].sort())).toContainEqual(enabled);
      const trading = (
        await db.sql<
          { symbol: string }[]
        >`select symbol from market.symbols where status = 'TRADING' order by symbol`
      ).map((r) => r.symbol);
      expect(trading).toEqual(enabled);
    }
    // enabling only (autoDisable: false): the union, exactly
    await client.settings.syncCoinUniverse([]);
    await Promise.all(
      sets.map((symbols) => client.settings.syncCoinUniverse({ symbols, autoDisable: false })),
    );
    const union = [...new Set(sets.flat())].sort();
    expect(
      (
        await db.sql<
          { symbol: string }[]
        >`select symbol from settings.coin_universe where enabled order by symbol`
      ).map((r) => r.symbol),
    ).toEqual(union);
    record({
      id: 'races.2-universe',
      area: 'races',
      tried: `6 concurrent \`syncCoinUniverse\` calls with different sets, ${ROUNDS} rounds, then 6 enabling-only calls`,
      times: ROUNDS * 6 + 6,
      held: 'each round the enabled set was exactly one caller’s set and market.symbols TRADING mirrored it; enabling-only calls left exactly the union',
    });
  }, 120_000);

  it('concurrent wallet moves: replays counted once, and withdrawals racing for one balance never overdraw', async () => {
    const account = await client.wallet.createAccount({
      ownerId: randomUUID(),
      venue: 'binance',
      label: 'races',
    });
    const WRITERS = 16;
    // writer w sends moves w*10 … w*10+19: half of them overlap the next writer's (replays, same content)
    const moves = (w: number) =>
      Array.from({ length: 20 }, (_, i) => {
        const n = w * 10 + i;
        return {
          kind: 'deposit' as const,
          asset: 'ETH',
          amount: `${n + 1}`,
          occurredAt: Date.UTC(2024, 0, 1) + n * 1000,
          externalId: `race-${n}`,
        };
      });
    const results = await Promise.all(
      Array.from({ length: WRITERS }, (_, w) =>
        client.wallet.recordMoves({ accountId: account.id, moves: moves(w) }),
      ),
    );
    const distinct = WRITERS * 10 + 10; // ids 0 … 169
    expect(results.reduce((s, r) => s + r.inserted, 0)).toBe(distinct);
    expect(results.reduce((s, r) => s + r.inserted + r.skipped, 0)).toBe(WRITERS * 20);
    const [sum] = await db.sql<{ n: string; total: string }[]>`
      select count(*)::int8::text as n, sum(amount)::text as total from wallet.moves where account_id = ${account.id}`;
    // amounts 1 … 170: 170 · 171 / 2
    expect(sum).toEqual({ n: String(distinct), total: String((distinct * (distinct + 1)) / 2) });

    // 10 BTC, then 16 withdrawals of 1 BTC at once: exactly 10 pass, 6 are refused, the balance ends at 0
    await client.wallet.recordMoves({
      accountId: account.id,
      moves: [
        {
          kind: 'deposit',
          asset: 'BTC',
          amount: '10',
          occurredAt: Date.UTC(2024, 1, 1),
          externalId: 'btc-in',
        },
      ],
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: WRITERS }, (_, i) =>
        client.wallet.recordMoves({
          accountId: account.id,
          moves: [
            {
              kind: 'withdrawal',
              asset: 'BTC',
              amount: '1',
              occurredAt: Date.UTC(2024, 1, 2) + i,
              externalId: `btc-out-${i}`,
            },
          ],
        }),
      ),
    );
    const refused = outcomes
      .filter((o) => o.status === 'rejected')
      .map((o) => (o as PromiseRejectedResult).reason);
    expect(outcomes.length - refused.length).toBe(10);
    for (const e of refused) {
      expect(isCryptopiError(e)).toBe(true);
      expect(e).toBeInstanceOf(ValidationError);
    }
    const [btc] = await db.sql<{ balance: string }[]>`
      select sum(delta)::text as balance from wallet.moves where account_id = ${account.id} and asset = 'BTC'`;
    expect(btc).toEqual({ balance: '0' });
    record({
      id: 'races.3-wallet',
      area: 'races',
      tried: `${WRITERS} concurrent \`recordMoves\` batches overlapping by half (replays), then ${WRITERS} concurrent withdrawals against a balance of 10`,
      times: WRITERS * 2,
      held: 'every move stored once (170 moves, total exact); exactly 10 withdrawals passed, 6 got ValidationError, the balance ended at 0',
    });
  }, 120_000);

  it('overlapping bulk writes: putPointsBulk and ingestKlines batches sharing keys leave exactly the union', async () => {
    const prefix = `race_${randomUUID().slice(0, 8)}`;
    const T0 = Date.UTC(2024, 5, 1);
    const value = (s: number, m: number) => s * 100_000 + m;
    // writer w writes minutes w*1000 … w*1000+2999 of 10 series: each minute range overlaps two writers
    const points = (w: number) =>
      Array.from({ length: 3_000 * 10 }, (_, i) => {
        const s = i % 10;
        const m = w * 1000 + Math.floor(i / 10);
        return { seriesKey: `${prefix}:S${s}`, ts: T0 + m * 60_000, value: value(s, m) };
      });
    const WRITERS = 4;
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => client.matrices.putPointsBulk(points(w))));
    const minutes = (WRITERS - 1) * 1000 + 3000; // 0 … 5999
    const [p] = await db.sql<{ n: string; wrong: string }[]>`
      select count(*)::int8::text as n,
             count(*) filter (where p.value <> split_part(s.key, ':S', 2)::int * 100000
                                 + (util.epoch_ms(p.ts) - ${T0}) / 60000)::int8::text as wrong
      from matrices.points p join matrices.series s on s.id = p.series_id where s.key like ${`${prefix}:%`}`;
    expect(p).toEqual({ n: String(minutes * 10), wrong: '0' });

    const symbol = 'LTCUSDT';
    await client.market.upsertSymbol({ symbol });
    const candles = (w: number) =>
      Array.from({ length: 2_000 }, (_, i) => {
        const m = w * 1000 + i;
        const open = 50 + (m % 10);
        return {
          symbol,
          window: '1m',
          openTime: T0 + m * 60_000,
          closeTime: T0 + (m + 1) * 60_000 - 1,
          open,
          high: open + 1,
          low: open - 1,
          close: open,
          volume: `${m}`,
        };
      });
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => client.market.ingestKlines(candles(w))));
    const [k] = await db.sql<{ n: string; wrong: string }[]>`
      select count(*)::int8::text as n,
             count(*) filter (where volume <> ((util.epoch_ms(open_time) - ${T0}) / 60000)::numeric)::int8::text as wrong
      from market.klines where symbol = ${symbol}`;
    expect(k).toEqual({ n: String((WRITERS - 1) * 1000 + 2000), wrong: '0' });
    record({
      id: 'races.4-bulk',
      area: 'races',
      tried: `${WRITERS} concurrent \`putPointsBulk\` (30 000 points each) and ${WRITERS} concurrent \`ingestKlines\` (2 000 candles each) overlapping by key`,
      times: WRITERS * 2,
      held: 'exactly the union stored (60 000 points, 5 000 candles), every value the one all writers agreed on',
    });
  }, 120_000);
});
