// Round trip: text with SQL metacharacters, unicode, emoji and long runs in every free-text field,
// and instants at the edges of the accepted range (years 1 and 9999, and 0050), written through the
// client and read back exactly (through the module's own reads and straight from the table).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, createClient } from '../../src/client.js';
import { ValidationError } from '../../src/core/errors.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { figures } from './helpers.js';

const record = figures('round-trip');

let db: TestDatabase;
let client: Client;
beforeAll(async () => {
  db = await startTestDatabase();
  client = createClient({ url: db.url });
});
afterAll(async () => {
  await client.close();
  await db.close();
});

/** Text PostgreSQL must store as given: metacharacters of SQL, of LIKE, of format strings, of JSON… */
const TEXTS = [
  `it's "quoted" \\ back\\slash; drop table settings.windows; --`,
  `$1 $$ $tag$ %s %% _ ${'$'}{x} {} [] <> & | ~ ^ \` ?`,
  'ünïcødé ÆØÅ ß 中文 日本語 العربية עברית Ελληνικά',
  'emoji 🚀🇳🇱👩‍👩‍👧 ✓ 𝄞 (astral)',
  'inner\ttab and\nnew line and \u2028 separator',
  'NULL',
  '😀'.repeat(20),
];

/** `s` cut to at most `max` UTF-16 units without splitting a surrogate pair, then trimmed (fields refuse edge whitespace). */
function fitTo(s: string, max: number): string {
  let out = '';
  for (const ch of s) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out.trim();
}
/** The texts for a field of at most `max` characters, plus one that fills it (astral characters included). */
function textsFor(max: number): string[] {
  const long = fitTo(`${'ab🚀'.repeat(Math.ceil(max / 4))}`, max);
  return [...TEXTS.map((t) => fitTo(t, max)), long];
}

describe('text round trip', () => {
  it('every free-text field stores and returns text exactly (or refuses it with a ValidationError)', async () => {
    let exact = 0;
    let refused = 0;
    let fields = 0;
    const check = async (
      field: string,
      max: number,
      write: (t: string, i: number) => Promise<unknown>,
      read: (i: number) => Promise<unknown>,
    ) => {
      fields++;
      const texts = textsFor(max);
      for (let i = 0; i < texts.length; i++) {
        const t = texts[i]!;
        try {
          await write(t, i);
        } catch (e) {
          expect({ field, t, e }).toEqual({ field, t, e: expect.any(ValidationError) });
          refused++;
          continue;
        }
        expect({ field, i, back: await read(i) }).toEqual({ field, i, back: t });
        exact++;
      }
    };
    const run = randomUUID().slice(0, 8);

    const profiles: string[] = [];
    await check(
      'settings profile nickname',
      64,
      async (t, i) => {
        const p = await client.settings.upsertProfile({ email: `rt-${run}-${i}@example.com`, nickname: t });
        profiles[i] = (p as { id: string }).id;
      },
      async (i) =>
        ((await client.settings.getProfile({ id: profiles[i]! })) as { nickname: string } | null)?.nickname,
    );

    await check(
      'settings wallet address',
      256,
      async (t, i) => {
        await client.settings.upsertWallet({ label: `rt ${run} ${i}`, address: t });
      },
      async (i) =>
        (await db.sql`select address from settings.wallets where label = ${`rt ${run} ${i}`}`)[0]?.address,
    );

    await check(
      'market asset name',
      128,
      async (t, i) => {
        await client.market.upsertAsset({
          code: `RT${i}${run.replace(/[^0-9]/g, '').slice(0, 3)}`.slice(0, 20).toUpperCase(),
          name: t,
        });
      },
      async (i) =>
        (
          await db.sql`select name from market.assets where code = ${`RT${i}${run.replace(/[^0-9]/g, '').slice(0, 3)}`.slice(0, 20).toUpperCase()}`
        )[0]?.name,
    );

    for (const [field, max] of [
      ['name', 200],
      ['scope', 100],
      ['unit', 50],
    ] as const) {
      await check(
        `matrices series ${field}`,
        max,
        async (t, i) => {
          await client.matrices.ensureSeries({ key: `rt_${run}_${field}:${i}`, [field]: t });
        },
        async (i) =>
          ((await client.matrices.getSeries(`rt_${run}_${field}:${i}`)) as Record<string, unknown> | null)?.[
            field
          ],
      );
    }

    await check(
      'matrices point attrs (jsonb string)',
      5_000,
      async (t, i) => {
        await client.matrices.putPoint({
          seriesKey: `rt_${run}_attrs:${i}`,
          ts: Date.UTC(2024, 0, 1),
          value: 1,
          attrs: { [t]: t },
        });
      },
      async (i) => {
        const rows = (await client.matrices.pointsBetween({ seriesKeys: [`rt_${run}_attrs:${i}`] })) as {
          attrs: Record<string, string> | null;
        }[];
        const attrs = rows[0]?.attrs ?? {};
        const [k] = Object.keys(attrs);
        return k !== undefined && attrs[k] === k ? k : attrs;
      },
    );

    const account = await client.wallet.createAccount({
      ownerId: randomUUID(),
      venue: 'binance',
      label: `rt ${run}`,
    });
    await check(
      'wallet account label',
      100,
      async (t, i) => {
        await client.wallet.createAccount({ ownerId: account.ownerId, venue: `rt-venue-${i}`, label: t });
      },
      async (i) =>
        (
          await db.sql`select label from wallet.accounts where owner_id = ${account.ownerId} and venue = ${`rt-venue-${i}`}`
        )[0]?.label,
    );

    await check(
      'wallet move externalId',
      200,
      async (t, i) => {
        await client.wallet.recordMoves({
          accountId: account.id,
          moves: [
            {
              kind: 'deposit',
              asset: 'BTC',
              amount: '1',
              occurredAt: Date.UTC(2024, 0, 1) + i,
              externalId: t,
            },
          ],
        });
      },
      async (i) => {
        const moves = (await client.wallet.listMoves({ accountIds: [account.id] })) as {
          externalId: string | null;
          occurredAt: Date;
        }[];
        return moves.find((m) => m.occurredAt.getTime() === Date.UTC(2024, 0, 1) + i)?.externalId;
      },
    );

    const loads: number[] = [];
    await check(
      'ingest load error (kept up to 4 000 characters)',
      4_000,
      async (t, i) => {
        const load = (await client.ingest.startLoad({ source: `rt-${run}`, stream: 'klines' })) as {
          id: number;
        };
        loads[i] = load.id;
        await client.ingest.finishLoad({ id: load.id, status: 'failed', error: t });
      },
      async (i) => (await db.sql`select error from ingest.load_logs where id = ${loads[i]!}`)[0]?.error,
    );

    // ---- str_aux: a sample's closing modes, and its cycle's closes (one sample per 40 s cycle)
    const sym = `RT${run
      .replace(/[^0-9]/g, '')
      .padEnd(4, '7')
      .slice(0, 4)}USDT`;
    await client.market.upsertSymbol({ symbol: sym });
    const T = Date.UTC(2024, 0, 1);
    for (const [field, close] of [
      ['modeGeneral', 'modeGeneralClose'],
      ['modeB', 'modeBClose'],
    ] as const) {
      const at = (i: number) => T + (field === 'modeB' ? 3_600_000 : 0) + i * 40_000;
      await check(
        `str_aux sample ${field}`,
        64,
        async (t, i) => {
          await client.strAux.upsertSample5s({ symbol: sym, ts: at(i), vInner: 1, [field]: t });
        },
        async (i) =>
          (await client.strAux.samplesBetween({ symbols: [sym], from: at(i), to: at(i) + 1 }))[0]?.[field],
      );
      await check(
        `str_aux cycle ${close} (rolled from the sample)`,
        64,
        async (t, i) => {
          await client.strAux.upsertSamples5s([{ symbol: sym, ts: at(i) + 20_000_000, [field]: t }]);
        },
        async (i) =>
          (
            await client.strAux.cyclesBetween({
              symbols: [sym],
              from: at(i) + 20_000_000,
              to: at(i) + 20_000_001,
            })
          )[0]?.[close],
      );
    }

    // ---- cin_aux: session meta (keys and values), a move's tradeId and idempotencyKey
    for (const code of ['USDT', 'BTC']) await client.market.upsertAsset({ code });
    const sessions: string[] = [];
    await check(
      'cin_aux session meta (jsonb key and value)',
      5_000,
      async (t, i) => {
        sessions[i] = (await client.cinAux.openSession({ window: '1h', meta: { [t]: t } })).id;
      },
      async (i) => {
        const meta = (await client.cinAux.getSession(sessions[i]!))?.meta ?? {};
        const [k] = Object.keys(meta);
        return k !== undefined && meta[k] === k ? k : meta;
      },
    );
    const ledger = await client.cinAux.openSession({ window: '1h' });
    await client.cinAux.fund({ sessionId: ledger.id, asset: 'USDT', usdt: '1000' });
    for (const [field, max] of [
      ['tradeId', 100],
      ['idempotencyKey', 200],
    ] as const) {
      const at = (i: number) => T + (field === 'tradeId' ? 0 : 1_000_000) + i;
      await check(
        `cin_aux move ${field}`,
        max,
        async (t, i) => {
          await client.cinAux.applyMove({
            sessionId: ledger.id,
            fromAsset: 'USDT',
            toAsset: 'BTC',
            executedUsdt: '1',
            ts: at(i),
            [field]: t,
          });
        },
        async (i) =>
          (await client.cinAux.listMoves({ sessionIds: [ledger.id] })).find(
            (m) => m.ts.getTime() === at(i),
          )?.[field],
      );
    }

    // ---- mea: a mood's name and formula version, a coin's mood
    await check(
      'mea mood formulaVersion',
      64,
      async (t) => {
        await client.mea.upsertMood({ mood: `rt-${run}`, formulaVersion: t });
      },
      async (i) => {
        const moods = await client.mea.listMoods();
        return moods.find((m) => m.mood === `rt-${run}` && m.formulaVersion === textsFor(64)[i])
          ?.formulaVersion;
      },
    );
    await check(
      'mea mood name',
      64,
      async (t) => {
        await client.mea.upsertMood({ mood: t, formulaVersion: `rt-${run}` });
      },
      async (i) =>
        (await client.mea.listMoods()).find(
          (m) => m.formulaVersion === `rt-${run}` && m.mood === textsFor(64)[i],
        )?.mood,
    );
    const cycle = await client.mea.startCycle({ window: '1h', engineCycle: Number.parseInt(run, 16) });
    const coinOf = (i: number) => `RT${run.replace(/[^0-9]/g, '').slice(0, 4)}C${i}`;
    await check(
      'mea symbol mood',
      64,
      async (t, i) => {
        await client.mea.putMeaSymbols([{ symbol: coinOf(i), meaValue: 0.0001, mood: t }], {
          cycleId: cycle.id,
        });
      },
      async (i) => (await client.mea.meaLatestPerSymbol({ symbols: [coinOf(i)] }))[0]?.mood,
    );

    expect(exact).toBeGreaterThan(refused);
    record({
      id: 'round-trip.1-text',
      area: 'round-trip',
      tried: `SQL metacharacters, unicode (RTL, combining, astral), emoji sequences, tabs and line breaks, and field-filling runs in ${fields} free-text fields (profile, wallet, asset, series, point attrs, account, move, load log; str_aux sample modes and their cycle closes; cin_aux session meta, move tradeId and idempotencyKey; mea mood name, formula version and coin mood)`,
      times: exact + refused,
      held: `${exact} read back exactly (module reads and the tables); ${refused} refused by a field's own rule with a ValidationError, nothing altered`,
    });
  }, 120_000);
});

describe('instant round trip', () => {
  /** Epoch ms of a UTC instant of year `y` (Date.UTC reads years 0–99 as 1900–1999). */
  const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) => {
    const t = new Date(Date.UTC(2000, mo, d, h, mi, s, ms));
    t.setUTCFullYear(y);
    return t.getTime();
  };
  const INSTANTS = [
    at(1, 0, 1),
    at(1, 0, 1, 0, 0, 0, 1),
    at(50, 5, 1, 12, 30, 15, 250),
    at(99, 11, 31, 23, 59, 59, 999),
    at(1850, 6, 1, 12),
    at(1970, 0, 1),
    at(2038, 0, 19, 3, 14, 8),
    at(9999, 11, 31, 23, 59, 59, 999),
  ];

  it('points and moves at years 1, 0050, 0099, 1850, 1970, 2038 and 9999 read back to the millisecond', async () => {
    const run = randomUUID().slice(0, 8);
    const key = `rt_${run}_ts:a`;
    for (const [i, ts] of INSTANTS.entries())
      await client.matrices.putPoint({ seriesKey: key, ts, value: i });
    const points = (await client.matrices.pointsBetween({ seriesKeys: [key] })) as {
      ts: Date;
      value: number;
    }[];
    expect(points.map((p) => [p.ts.getTime(), p.value])).toEqual(INSTANTS.map((t, i) => [t, i]));
    // the same instants sent as ISO strings with an offset, and as Dates
    const iso = `rt_${run}_iso:a`;
    await client.matrices.putPointsBulk(
      INSTANTS.map((t, i) => ({
        seriesKey: iso,
        ts: i % 2 ? new Date(t) : new Date(t).toISOString(),
        value: i,
      })),
    );
    const isoBack = (await client.matrices.pointsBetween({ seriesKeys: [iso] })) as { ts: Date }[];
    expect(isoBack.map((p) => p.ts.getTime())).toEqual(INSTANTS);

    const account = await client.wallet.createAccount({
      ownerId: randomUUID(),
      venue: 'binance',
      label: `rt ts ${run}`,
    });
    await client.wallet.recordMoves({
      accountId: account.id,
      moves: INSTANTS.map((t, i) => ({
        kind: 'deposit' as const,
        asset: 'ETH',
        amount: '1',
        occurredAt: t,
        externalId: `ts-${i}`,
      })),
    });
    const moves = (await client.wallet.listMoves({ accountIds: [account.id] })) as {
      occurredAt: Date;
      externalId: string;
    }[];
    expect(moves.map((m) => [m.externalId, m.occurredAt.getTime()])).toEqual(
      INSTANTS.map((t, i) => [`ts-${i}`, t]),
    );

    // a stored instant is the same instant in SQL (epoch ms computed by PostgreSQL)
    const sqlMs = await db.sql<{ ms: string }[]>`
      select util.epoch_ms(occurred_at)::text as ms from wallet.moves where account_id = ${account.id} order by occurred_at`;
    expect(sqlMs.map((r) => Number(r.ms))).toEqual(INSTANTS);

    // just outside the range: refused, nothing stored
    for (const outside of [at(0, 11, 31, 23, 59, 59, 999), at(10_000, 0, 1)]) {
      await expect(
        client.matrices.putPoint({ seriesKey: key, ts: outside, value: 0 }),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    expect(((await client.matrices.pointsBetween({ seriesKeys: [key] })) as unknown[]).length).toBe(
      INSTANTS.length,
    );
    record({
      id: 'round-trip.2-instants',
      area: 'round-trip',
      tried:
        'instants at years 1, 0050, 0099, 1850, 1970, 2038 and 9999 (ms precision) as epoch ms, Date and ISO string, through putPoint, putPointsBulk and recordMoves',
      times: INSTANTS.length * 3,
      held: `${INSTANTS.length * 3} of ${INSTANTS.length * 3} read back to the millisecond (module reads and util.epoch_ms in SQL); year 0 and 10000 refused with a ValidationError`,
    });
  }, 120_000);

  it('str_aux samples and cycles, cin_aux sessions and moves, mea cycles at years 1, 0050 and 9999 read back to the millisecond', async () => {
    const run = randomUUID().slice(0, 8);
    const digits = run
      .replace(/[^0-9]/g, '')
      .padEnd(4, '7')
      .slice(0, 4);
    // samplesBetween reads [from, to) with to at most 9999-12-31T23:59:59.999: the last sample is 1 ms before it
    const LAST = INSTANTS.at(-1)!;
    const samples = INSTANTS.map((t) => (t === LAST ? t - 1 : t));
    const sym = `RT${digits}TSUSDT`;
    await client.market.upsertSymbol({ symbol: sym });
    await client.strAux.upsertSamples5s(samples.map((ts, i) => ({ symbol: sym, ts, vInner: i })));
    const back = await client.strAux.samplesBetween({ symbols: [sym], from: INSTANTS[0]!, to: LAST });
    expect(back.map((r) => [r.ts.getTime(), r.vInner])).toEqual(samples.map((t, i) => [t, i]));
    // each sample's cycle starts at the epoch multiple of 40 s at or before it (by hand: floor)
    const starts = [...new Set(samples.map((t) => Math.floor(t / 40_000) * 40_000))];
    const cycles = await client.strAux.cyclesBetween({ symbols: [sym], from: INSTANTS[0]!, to: LAST });
    expect(cycles.map((c) => c.cycleStart.getTime())).toEqual(starts);
    // the same instants one at a time (the small path)
    const one = `RT${digits}T1USDT`;
    await client.market.upsertSymbol({ symbol: one });
    for (const [i, ts] of samples.entries())
      await client.strAux.upsertSample5s({ symbol: one, ts, vOuter: i });
    const oneBack = await client.strAux.samplesBetween({ symbols: [one], from: INSTANTS[0]!, to: LAST });
    expect(oneBack.map((r) => r.ts.getTime())).toEqual(samples);

    // cin_aux: sessions opened and moves applied at each instant
    for (const code of ['USDT', 'ETH']) await client.market.upsertAsset({ code });
    const opened: number[] = [];
    for (const openedAt of INSTANTS) {
      const s = await client.cinAux.openSession({ window: '1h', openedAt });
      opened.push((await client.cinAux.getSession(s.id))!.openedAt.getTime());
    }
    expect(opened).toEqual(INSTANTS);
    const ledger = await client.cinAux.openSession({ window: '1h' });
    await client.cinAux.fund({ sessionId: ledger.id, asset: 'USDT', usdt: '100' });
    for (const [i, ts] of INSTANTS.entries())
      await client.cinAux.applyMove({
        sessionId: ledger.id,
        fromAsset: 'USDT',
        toAsset: 'ETH',
        executedUsdt: '1',
        ts,
        idempotencyKey: `ts-${i}`,
      });
    const moves = await client.cinAux.listMoves({ sessionIds: [ledger.id] });
    expect(moves.map((m) => [m.idempotencyKey, m.ts.getTime()])).toEqual(
      INSTANTS.map((t, i) => [`ts-${i}`, t]),
    );

    // mea: cycles started at each instant (startCycle again returns the stored row)
    const base = Number.parseInt(run, 16);
    const started: number[] = [];
    for (const [i, startedAt] of INSTANTS.entries()) {
      await client.mea.startCycle({ window: '1h', engineCycle: base + i, startedAt });
      started.push(
        (await client.mea.startCycle({ window: '1h', engineCycle: base + i })).startedAt.getTime(),
      );
    }
    expect(started).toEqual(INSTANTS);
    record({
      id: 'round-trip.3-instants-ledger-str-aux',
      area: 'round-trip',
      tried:
        'instants at years 1, 0050, 0099, 1850, 1970, 2038 and 9999 (ms precision) through strAux.upsertSamples5s / upsertSample5s (and the cycles they roll), cinAux.openSession / applyMove and mea.startCycle',
      times: INSTANTS.length * 5 + starts.length,
      held: `${INSTANTS.length * 5 + starts.length} of ${INSTANTS.length * 5 + starts.length} read back to the millisecond through samplesBetween, cyclesBetween (cycle starts the hand-computed 40 s floors), getSession, listMoves and startCycle; the str_aux sample at 9999-12-31T23:59:59.999 is sent 1 ms earlier (samplesBetween's exclusive end cannot pass it)`,
    });
  }, 120_000);
});
