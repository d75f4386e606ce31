/**
 * `npx tsx bench/ledger.ts`: the cin_aux ledger's moves per second, written to bench/results-ledger.md.
 *
 * Server: DATABASE_URL when set (a scratch database is created on it and dropped), else an embedded
 * PostgreSQL started for the run and stopped at the end.
 *
 *   (a) 2 000 moves, 1 client, one session          (b) 2 000 moves, 16 clients, one session
 *   (c) 2 000 moves, 1 client, 16 sessions          (d) 2 000 moves, 16 clients, 16 sessions
 *   (e) 2 000 moves applied server-side (no round trips; statements of 100 moves): what
 *       sp_apply_move itself costs
 *   (f) 2 000 moves, 1 client, on a session that already holds 100 000 moves (history built
 *       server-side with the same procedure): the cost per move must not grow with the history
 *
 * Every move is priced (lots consumed FIFO, a lot created). After each run the invariant
 * Σ(principal + profit) = funded − Σ(fee + slippage) is checked exactly, and lots' free units against
 * runtime units.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { applyMove, fund, openSession } from '../src/cinAux/index.js';
import { migrate } from '../src/migrate/index.js';
import { createDatabase, dropDatabase, startTestServer } from '../src/testing/index.js';

const MOVES = 2000;
const HISTORY = 100_000;
const PRICE: Record<string, string> = { USDT: '1', BTC: '40000', ETH: '2000' };
const ASSETS = ['USDT', 'BTC', 'ETH'] as const;

type Sql = postgres.Sql;

async function newSession(sql: Sql): Promise<string> {
  const id = (await openSession(sql, { window: '1m' })).id;
  for (const a of ASSETS) await fund(sql, { sessionId: id, asset: a, usdt: '1000', priceUsdt: PRICE[a]! });
  return id;
}

/** The i-th move of a run: a cycle USDT→BTC→ETH→USDT of small amounts, every move priced. */
function moveOf(sessionId: string, i: number) {
  const from = ASSETS[i % 3]!;
  const to = ASSETS[(i + 1) % 3]!;
  return {
    sessionId,
    fromAsset: from,
    toAsset: to,
    executedUsdt: `${10 + (i % 7)}.${String(i % 100).padStart(2, '0')}`,
    feeUsdt: '0.01',
    priceFromUsdt: PRICE[from]!,
    priceToUsdt: PRICE[to]!,
  };
}

async function run(sql: Sql, sessions: string[], clients: number): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < MOVES; i = next++)
        await applyMove(sql, moveOf(sessions[i % sessions.length]!, i));
    }),
  );
  return (performance.now() - t) / 1000;
}

async function invariant(sql: Sql, sessions: string[]): Promise<string> {
  const [r] = await sql<{ ok: boolean; lots: boolean }[]>`
    select (select sum(principal_usdt + profit_usdt) from cin_aux.runtime_balances where session_id = any(${sessions}::uuid[]))
         = (select sum(opening_principal_usdt + opening_profit_usdt) from cin_aux.balances where session_id = any(${sessions}::uuid[]))
         - (select coalesce(sum(fee_usdt + slippage_usdt), 0) from cin_aux.moves where session_id = any(${sessions}::uuid[])) as ok,
           not exists (select 1 from cin_aux.runtime_balances r where r.session_id = any(${sessions}::uuid[])
             and r.units <> (select coalesce(sum(l.units_free), 0) from cin_aux.lots l where l.session_id = r.session_id and l.asset = r.asset)) as lots`;
  if (!r?.ok || !r.lots) throw new Error('invariant broken');
  return 'holds (exact)';
}

/**
 * n moves applied server-side (no client round trips), in statements of `CHUNK` moves: each statement
 * is a transaction, and a row updated many times in one transaction leaves a chain of versions that
 * no one can prune until it commits (each later lookup walks it), so one statement of thousands of
 * moves on the same rows slows down quadratically. Short statements are how the ledger is used.
 */
const CHUNK = 100;
async function serverLoop(sql: Sql, sessionId: string, n: number, offset = 0): Promise<number> {
  const t = performance.now();
  for (let k = offset; k < offset + n; k += CHUNK)
    await serverChunk(sql, sessionId, Math.min(CHUNK, offset + n - k), k);
  return (performance.now() - t) / 1000;
}

async function serverChunk(sql: Sql, sessionId: string, n: number, offset: number): Promise<void> {
  await sql.unsafe(
    `do $$ begin for i in ${offset}..${offset + n - 1} loop
       perform cin_aux.sp_apply_move('${sessionId}', (array['USDT','BTC','ETH'])[i % 3 + 1], (array['USDT','BTC','ETH'])[(i + 1) % 3 + 1],
         (10 + i % 7)::numeric + round((i % 100) / 100.0, 2), 0.01, 0, null, null,
         (array[1, 40000, 2000])[i % 3 + 1]::numeric, (array[1, 40000, 2000])[(i + 1) % 3 + 1]::numeric);
     end loop; end $$`,
  );
}

async function main() {
  const loadStart = loadavg()[0]!.toFixed(2);
  const server = await startTestServer();
  const dbName = await createDatabase(server.adminUrl, { prefix: 'cryptopi_bench_ledger' });
  const u = new URL(server.adminUrl);
  u.pathname = `/${dbName}`;
  const sql = postgres(u.toString(), { onnotice: () => {}, max: 16 });
  try {
    await migrate(sql);
    await sql`select market.sp_upsert_asset(c) from unnest(array['USDT','BTC','ETH']) c`;
    const [{ version } = { version: '?' }] = await sql<{ version: string }[]>`select version()`;
    const rows: [string, number, string][] = [];
    const one = [await newSession(sql)];
    rows.push(['(a) 1 client, one session', await run(sql, one, 1), await invariant(sql, one)]);
    const one2 = [await newSession(sql)];
    rows.push(['(b) 16 clients, one session', await run(sql, one2, 16), await invariant(sql, one2)]);
    const many: string[] = [];
    for (let i = 0; i < 16; i++) many.push(await newSession(sql));
    rows.push(['(c) 1 client, 16 sessions', await run(sql, many, 1), await invariant(sql, many)]);
    const many2: string[] = [];
    for (let i = 0; i < 16; i++) many2.push(await newSession(sql));
    rows.push(['(d) 16 clients, 16 sessions', await run(sql, many2, 16), await invariant(sql, many2)]);
    const loop = await newSession(sql);
    rows.push([
      '(e) server-side, 100 moves per statement, one session',
      await serverLoop(sql, loop, MOVES),
      await invariant(sql, [loop]),
    ]);

    // (f): a session with 100 000 moves of history, built server-side in 100-move statements
    const old = await newSession(sql);
    const historySeconds = await serverLoop(sql, old, HISTORY);
    await sql`vacuum analyze cin_aux.lots, cin_aux.moves, cin_aux.runtime_balances`;
    const fresh = [await newSession(sql)];
    const freshSeconds = await run(sql, fresh, 1);
    const oldSeconds = await run(sql, [old], 1);
    await invariant(sql, [old]);
    rows.push(['(f) 1 client, fresh session (same run as below)', freshSeconds, await invariant(sql, fresh)]);
    rows.push([
      `(f) 1 client, session with ${HISTORY.toLocaleString('en-US')} moves`,
      oldSeconds,
      'holds (exact)',
    ]);
    const [counts] = await sql<{ moves: number; lots: number; open: number }[]>`
      select (select count(*)::int from cin_aux.moves where session_id = ${old}) as moves,
             (select count(*)::int from cin_aux.lots where session_id = ${old}) as lots,
             (select count(*)::int from cin_aux.lots where session_id = ${old} and units_free > 0) as open`;
    const [cursor] = await sql<{ open: string }[]>`
      select open_lot_id::text as open from cin_aux.runtime_balances where session_id = ${old} and asset = 'BTC'`;
    const plan = await sql<{ 'QUERY PLAN': string }[]>`
      explain (analyze, costs off, timing off, summary off)
      select l.id, l.units_free, l.entry_price_usdt from cin_aux.lots l
      where l.session_id = ${old} and l.asset = 'BTC' and l.id >= ${cursor?.open ?? '0'}::bigint and l.units_free > 0
      order by l.id limit 2`;

    const table = rows
      .map(
        ([name, s, inv]) =>
          `| ${name} | ${s.toFixed(2)} | ${Math.round(MOVES / s).toLocaleString('en-US')} | ${((s / MOVES) * 1000).toFixed(2)} | ${inv} |`,
      )
      .join('\n');
    const md = `# Ledger benchmark (cin_aux moves)

Run of \`npx tsx bench/ledger.ts\` on ${new Date().toISOString().slice(0, 10)}: ${MOVES.toLocaleString('en-US')} priced moves per run
(FIFO lot consumption and a new lot each), ${version.split(',')[0]}; node ${process.version}.
Machine: ${cpus().length} CPUs, shared (load average ${loadStart} at the start, ${loadavg()[0]!.toFixed(2)} at the end).

| run | seconds | moves/s | ms/move | invariant at the end |
|---|---:|---:|---:|---|
${table}

History for (f): ${counts?.moves.toLocaleString('en-US')} moves, ${counts?.lots.toLocaleString('en-US')} lots (${counts?.open} with free units; the BTC cursor open_lot_id at ${cursor?.open}),
built server-side in ${historySeconds.toFixed(1)} s (${Math.round(HISTORY / historySeconds).toLocaleString('en-US')} moves/s). The lot scan of a move on it:

\`\`\`
${plan.map((p) => p['QUERY PLAN']).join('\n')}
\`\`\`
`;
    const out = join(dirname(fileURLToPath(import.meta.url)), 'results-ledger.md');
    // the hand-written analysis after the marker is kept across runs
    const marker = '<!-- analysis (kept by bench/ledger.ts) -->';
    const previous = existsSync(out) ? readFileSync(out, 'utf8') : '';
    const kept = previous.includes(marker) ? previous.slice(previous.indexOf(marker) + marker.length) : '\n';
    writeFileSync(out, `${md}\n${marker}${kept}`);
    console.log(md);
  } finally {
    await sql.end();
    await dropDatabase(server.adminUrl, dbName);
    await server.stop();
  }
}

await main();
