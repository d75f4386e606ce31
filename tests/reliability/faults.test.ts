// Faults: the backend of every bulk writer is terminated (pg_terminate_backend) while it writes, at
// several points of its batch. Each time: nothing half-written, a typed error, and the same call
// run again stores exactly the whole batch.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, createClient } from '../../src/client.js';
import { isCryptopiError } from '../../src/core/errors.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { busyBackend, figures, terminate } from './helpers.js';

const record = figures('faults');
const APP = 'rel-faults';
/** Kill points per writer: the kill lands after 0, 1, 2… polls of 5 ms once the write is in flight. */
const POINTS = 6;

let db: TestDatabase;
let client: Client;
beforeAll(async () => {
  db = await startTestDatabase();
  client = createClient({ url: db.url }, { postgres: { max: 2, connection: { application_name: APP } } });
});
afterAll(async () => {
  await client.close();
  await db.close();
});

/** The state of what a writer stores, as one comparable value (count and content digest). */
type Probe = () => Promise<{ rows: number; digest: string | null }>;

interface Outcome {
  killed: boolean;
  result: 'resolved' | { typed: boolean; name: unknown; retryable: unknown };
}

/**
 * Starts `write`, terminates its backend after `polls` polls (5 ms apart) of it being busy in a
 * transaction, and says what the caller got. Polling stops as soon as the write settled.
 */
async function killDuring(write: () => Promise<unknown>, polls: number): Promise<Outcome> {
  let settled = false;
  const outcome = write().then(
    (): Outcome['result'] => 'resolved',
    (e: unknown) => ({
      typed: isCryptopiError(e),
      name: (e as { name?: unknown })?.name,
      retryable: (e as { retryable?: unknown })?.retryable,
    }),
  );
  void outcome.finally(() => {
    settled = true;
  });
  let killed = false;
  let seen = 0;
  for (let i = 0; i < 4000 && !settled; i++) {
    const pid = await busyBackend(db.sql, APP);
    if (pid !== undefined && seen++ >= polls) {
      killed = await terminate(db.sql, pid);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { killed, result: await outcome };
}

/** One writer's batch on a scope of its own (`scope` makes the names of its rows), and how to read it back. */
interface Scenario {
  write: () => Promise<unknown>;
  /** Count and digest of the scope's rows; the digest leaves the scope's own names out (scopes compare). */
  probe: Probe;
}

/**
 * Attacks one writer at POINTS kill points, each on a fresh scope: after the kill the scope holds
 * no row (or, if the write committed first, the whole batch); the same call again gives exactly
 * what an undisturbed call gives (scope 0).
 */
async function attack(name: string, scenario: (scope: number) => Promise<Scenario>) {
  const baseline = await scenario(0);
  await baseline.write();
  const whole = await baseline.probe();
  expect(whole.rows).toBeGreaterThan(0);
  const empty = { rows: 0, digest: null };
  let interrupted = 0;
  for (let p = 0; p < POINTS; p++) {
    const { write, probe } = await scenario(p + 1);
    const { result } = await killDuring(write, p);
    const after = await probe();
    if (result === 'resolved') {
      expect({ name, p, after }).toEqual({ name, p, after: whole });
    } else {
      interrupted++;
      expect({ name, p, result, after }).toEqual({
        name,
        p,
        result: { typed: true, name: 'ConnectionError', retryable: true },
        after: empty,
      });
    }
    // the same call again, on the same client (it reconnects by itself): exactly the whole batch
    await write();
    expect({ name, p, retried: await probe() }).toEqual({ name, p, retried: whole });
  }
  // the kill must have landed at least once, or the test proves nothing
  expect(interrupted).toBeGreaterThan(0);
  record({
    id: `faults.${name}`,
    area: 'faults',
    tried: `\`${name}\`: its backend terminated mid-batch at ${POINTS} points`,
    times: POINTS,
    held: `${POINTS} of ${POINTS}: nothing half-written (a ConnectionError and no row, or the whole batch when it committed first); the retry stored exactly the whole batch`,
  });
}

const T0 = Date.UTC(2023, 0, 1);
const MINUTE = 60_000;

const run = randomUUID().slice(0, 8);

describe('bulk writers under a terminated backend', () => {
  it('matrices.putPointsBulk (30 000 points: COPY in a transaction)', async () => {
    await attack('matrices.putPointsBulk', async (scope) => {
      const prefix = `faults_${run}_${scope}`;
      const points = Array.from({ length: 30_000 }, (_, i) => ({
        seriesKey: `${prefix}:S${i % 30}`,
        ts: T0 + Math.floor(i / 30) * MINUTE,
        value: i / 4,
      }));
      return {
        write: () => client.matrices.putPointsBulk(points),
        probe: async () => {
          const [r] = await db.sql<{ rows: string; digest: string | null }[]>`
            select count(*)::int8::text as rows,
                   md5(string_agg(split_part(s.key, ':', 2) || util.epoch_ms(p.ts)::text || p.value::text, ','
                                  order by s.key, p.ts)) as digest
            from matrices.points p join matrices.series s on s.id = p.series_id where s.key like ${`${prefix}:%`}`;
          return { rows: Number(r?.rows), digest: r?.digest ?? null };
        },
      };
    });
  }, 120_000);

  it('market.ingestKlines (5 000 candles in one statement)', async () => {
    await attack('market.ingestKlines', async (scope) => {
      // a symbol per scope (market.symbols holds it: upserted first)
      const symbol = `F${run.replace(/[^0-9]/g, '').slice(0, 4)}${scope}USDT`.toUpperCase();
      await client.market.upsertSymbol({ symbol });
      const candles = Array.from({ length: 5_000 }, (_, i) => {
        const open = 100 + (i % 50);
        const close = open + ((i % 7) - 3) * 0.25;
        return {
          symbol,
          window: '1m',
          openTime: T0 + i * MINUTE,
          closeTime: T0 + (i + 1) * MINUTE - 1,
          open,
          high: Math.max(open, close) + 0.5,
          low: Math.min(open, close) - 0.5,
          close,
          volume: `${(i % 13) + 1}.5`,
        };
      });
      return {
        write: () => client.market.ingestKlines(candles),
        probe: async () => {
          const [r] = await db.sql<{ rows: string; digest: string | null }[]>`
            select count(*)::int8::text as rows,
                   md5(string_agg(util.epoch_ms(open_time)::text || close::text || volume::text, ',' order by open_time)) as digest
            from market.klines where symbol = ${symbol}`;
          return { rows: Number(r?.rows), digest: r?.digest ?? null };
        },
      };
    });
  }, 120_000);

  it('ingest.captureKlines (400 REST klines in one statement)', async () => {
    await attack('ingest.captureKlines', async (scope) => {
      const source = `faults-${run}-${scope}`;
      const payloads = Array.from({ length: 400 }, (_, m) => [
        T0 + m * MINUTE,
        '100.00000000',
        '102.25000000',
        '99.75000000',
        `${100 + (m % 2)}.50000000`,
        '12.34567890',
        T0 + m * MINUTE + MINUTE - 1,
        '1251.00000001',
        42 + m,
        '6.00000000',
        '608.12345678',
        '0',
      ]);
      const input = { source, symbol: 'ETHUSDT', window: '1m', payloads };
      return {
        write: () => client.ingest.captureKlines(input as never),
        probe: async () => {
          const [r] = await db.sql<{ rows: string; digest: string | null }[]>`
            select (select count(*) from ingest.klines_raw where source = ${source})::int8::text as rows,
                   (select md5(string_agg(payload::text, ',' order by open_time)) from ingest.klines_raw where source = ${source})
                   || ':' || coalesce((select util.epoch_ms(last_time)::text from ingest.cursors where source = ${source}), '-') as digest`;
          const rows = Number(r?.rows);
          return { rows, digest: rows === 0 ? null : (r?.digest ?? null) };
        },
      };
    });
  }, 120_000);

  it('wallet.recordMoves (5 000 moves in one statement)', async () => {
    await attack('wallet.recordMoves', async (scope) => {
      const account = await client.wallet.createAccount({
        ownerId: randomUUID(),
        venue: 'binance',
        label: `faults ${run} ${scope}`,
      });
      const moves = Array.from({ length: 5_000 }, (_, i) => ({
        kind: 'deposit' as const,
        asset: 'BTC',
        amount: `0.${String(i + 1).padStart(8, '0')}`,
        occurredAt: T0 + i * 1000,
        externalId: `faults-${i}`,
      }));
      return {
        write: () => client.wallet.recordMoves({ accountId: account.id, moves }),
        probe: async () => {
          const [r] = await db.sql<{ rows: string; digest: string | null }[]>`
            select count(*)::int8::text as rows,
                   sum(amount)::text || ':' || md5(string_agg(external_id, ',' order by external_id)) as digest
            from wallet.moves where account_id = ${account.id}`;
          return { rows: Number(r?.rows), digest: r?.digest ?? null };
        },
      };
    });
  }, 120_000);
});

/** Digits of the run id (a symbol's name holds letters and digits only). */
const runDigits = run
  .replace(/[^0-9]/g, '')
  .padEnd(4, '7')
  .slice(0, 4);

describe('str_aux and ledger writers under a terminated backend', () => {
  beforeAll(async () => {
    // the ledger's assets are market.assets rows; trades name a symbol with its base and quote
    for (const code of ['USDT', 'BTC']) await client.market.upsertAsset({ code });
    await client.market.upsertSymbol({ symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT' });
  });

  it('strAux.upsertSamples5s (16 000 samples: several COPY chunks of 1 MiB, the cycles rolled by the trigger)', async () => {
    // the batch spans several COPY chunks of 1 MiB (counted by onProgress below)
    let chunks = 0;
    await attack('strAux.upsertSamples5s', async (scope) => {
      const symbols = ['A', 'B', 'C', 'D'].map((s) => `F${runDigits}${s}${scope}USDT`);
      for (const symbol of symbols) await client.market.upsertSymbol({ symbol });
      const samples = Array.from({ length: 16_000 }, (_, i) => {
        const n = Math.floor(i / 4);
        return {
          symbol: symbols[i % 4]!,
          ts: T0 + n * 5_000,
          vInner: (n % 17) / 8,
          vOuter: -(n % 11) / 4,
          vSwap: (n % 5) - 2,
          spreadAvg: (n % 3) / 4,
          midMin: 100 + (n % 9),
          midMax: 101 + (n % 9),
          modeGeneral: n % 2 ? 'up-trend ✓' : 'down-trend',
          attrs: { n, note: `fault injection sample ${'·'.repeat(120)}` },
        };
      });
      return {
        write: () =>
          client.strAux.upsertSamples5s(samples, {
            onProgress: () => {
              if (scope === 0) chunks++;
            },
          }),
        probe: async () => {
          // samples, their cycles (rolled at once) and the cycles marked for the windows
          const [r] = await db.sql<
            {
              rows: string;
              samples: string | null;
              cycles: string;
              cyclesDigest: string | null;
              pending: string;
            }[]
          >`
            select (select count(*) from str_aux.samples_5s where symbol = any(${symbols}))::int8::text as rows,
                   (select md5(string_agg(substr(symbol, 6, 1) || util.epoch_ms(ts)::text || v_inner::text || v_outer::text
                                          || mode_general || attrs::text, ',' order by symbol, ts))
                    from str_aux.samples_5s where symbol = any(${symbols})) as samples,
                   (select count(*)::text from str_aux.cycles_40s where symbol = any(${symbols})) as cycles,
                   (select md5(string_agg(substr(symbol, 6, 1) || util.epoch_ms(cycle_start)::text
                                          || samples_count::text || v_inner_avg::text || v_outer_min::text
                                          || coalesce(spread_avg::text, '-') || mode_general_close, ',' order by symbol, cycle_start))
                    from str_aux.cycles_40s where symbol = any(${symbols})) as "cyclesDigest",
                   (select count(*)::text from str_aux.pending_cycles where symbol = any(${symbols})) as pending`;
          const rows = Number(r?.rows);
          // no sample: neither may a cycle or a pending mark be there
          if (rows === 0)
            return {
              rows,
              digest:
                r?.cycles === '0' && r?.pending === '0' ? null : `cycles ${r?.cycles} pending ${r?.pending}`,
            };
          return { rows, digest: `${r?.samples}|${r?.cycles}:${r?.cyclesDigest}|${r?.pending}` };
        },
      };
    });
    expect(chunks).toBeGreaterThanOrEqual(3);
  }, 180_000);

  /** A session per scope, funded with 1 000 000 USDT, and a probe of its moves, lots and balances. */
  async function ledgerScope(scope: number, label: string) {
    const session = await client.cinAux.openSession({ window: '1h', meta: { run, scope, label } });
    await client.cinAux.fund({
      sessionId: session.id,
      asset: 'USDT',
      usdt: '1000000',
      units: '1000000',
      priceUsdt: '1',
    });
    const state = async () => {
      const [r] = await db.sql<{ rows: string; moves: string | null; lots: string; balances: string }[]>`
        select (select count(*) from cin_aux.moves where session_id = ${session.id})::int8::text as rows,
               (select md5(string_agg(concat_ws(':', util.epoch_ms(ts), from_asset, to_asset, executed_usdt, fee_usdt,
                                                from_units, to_units, trace_usdt, idempotency_key, trade_id), ','
                                      order by ts, id))
                from cin_aux.moves where session_id = ${session.id}) as moves,
               (select count(*)::text || ':' || coalesce(sum(units_free)::text, '-')
                from cin_aux.lots where session_id = ${session.id}) || '/' ||
               (select count(*)::text || ':' || coalesce(sum(units)::text, '-')
                from cin_aux.move_lots where session_id = ${session.id}) as lots,
               (select string_agg(asset || '=' || principal_usdt::text || ':' || profit_usdt::text || ':' || units::text, ','
                                  order by asset)
                from cin_aux.runtime_balances where session_id = ${session.id}) as balances`;
      return { rows: Number(r?.rows), moves: r?.moves ?? null, lots: r?.lots, balances: r?.balances };
    };
    const funded = await state();
    expect(funded).toEqual({
      rows: 0,
      moves: null,
      lots: expect.stringMatching(/^1:1000000(\.0+)?\/0:-$/),
      balances: expect.stringMatching(/^USDT=1000000/),
    });
    const probe: Probe = async () => {
      const now = await state();
      // no move: the session is exactly as funded (its lot and balance), nothing half-applied
      if (now.rows === 0) {
        const untouched = now.lots === funded.lots && now.balances === funded.balances;
        return { rows: 0, digest: untouched ? null : `lots ${now.lots} balances ${now.balances}` };
      }
      return { rows: now.rows, digest: `${now.moves}|${now.lots}|${now.balances}` };
    };
    return { sessionId: session.id, probe };
  }

  it('cinAux.applyMove × 300 in one db.transaction (each with an idempotency key)', async () => {
    await attack('cinAux.applyMove (300 in db.transaction)', async (scope) => {
      const { sessionId, probe } = await ledgerScope(scope, 'moves');
      const moves = Array.from({ length: 300 }, (_, i) =>
        i % 2 === 0
          ? {
              sessionId,
              fromAsset: 'USDT',
              toAsset: 'BTC',
              executedUsdt: `${10 + (i % 7)}`,
              feeUsdt: '0.01',
              priceFromUsdt: '1',
              priceToUsdt: `${40_000 + i}`,
              ts: T0 + i * 1000,
              idempotencyKey: `move-${i}`,
            }
          : {
              sessionId,
              fromAsset: 'BTC',
              toAsset: 'USDT',
              executedUsdt: '5',
              priceFromUsdt: `${40_000 + i}`,
              priceToUsdt: '1',
              ts: T0 + i * 1000,
              idempotencyKey: `move-${i}`,
            },
      );
      return {
        write: () =>
          client.transaction(async (tx) => {
            for (const m of moves) await tx.cinAux.applyMove(m);
          }),
        probe,
      };
    });
  }, 180_000);

  it('cinAux.importMovesFromTrades (600 trades in one statement)', async () => {
    await attack('cinAux.importMovesFromTrades', async (scope) => {
      const { sessionId, probe } = await ledgerScope(scope, 'trades');
      const trades = Array.from({ length: 600 }, (_, i) => ({
        symbol: 'BTCUSDT',
        tradeId: 1_000 + i,
        isBuyer: i % 2 === 0,
        price: `${40_000 + i}`,
        qty: i % 2 === 0 ? '0.0002' : '0.0001',
        commission: '0.001',
        commissionAsset: 'USDT',
        time: T0 + i * 1000,
      }));
      return { write: () => client.cinAux.importMovesFromTrades(trades, { sessionId }), probe };
    });
  }, 180_000);
});
