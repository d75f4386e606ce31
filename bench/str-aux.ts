/**
 * `npx tsx bench/str-aux.ts`: one day of 5 s samples for 100 symbols (1.728 M samples) through
 * str_aux, against a bare COPY of the same samples, in one run, on each server:
 *
 *   (a) bare COPY of the samples (COPY text, the same rows) into an untriggered copy of
 *       str_aux.samples_5s (`create table … (like …)`: no index, constraint or trigger): the reference
 *   (b) upsertSamples5s in one call over an async iterable (streamed): validation, COPY into a
 *       temporary stage, one upsert; the sample trigger rolls every cycle (216 000) in that statement
 *   (c) backfillBetween over the day: every cycle again, every window of every label, stats and vectors
 *
 * and reports samples/s, the ratio (b + c) / (a) (target ≤ 2) and the process's peak RSS (target
 * < 400 MB). Servers: an embedded PostgreSQL started for the run, and DATABASE_URL's when set (a
 * scratch database is created on it and dropped). Writes bench/results-str-aux.md.
 *
 * BENCH_SYMBOLS and BENCH_HOURS scale it down for a quick look (default 100 and 24).
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import postgres from 'postgres';
import { migrate } from '../src/migrate/index.js';
import { backfillBetween, type Sample5sInput, upsertSamples5s } from '../src/strAux/index.js';
import { createDatabase, dropDatabase, startTestServer, type TestServer } from '../src/testing/index.js';

const SYMBOLS = Number(process.env.BENCH_SYMBOLS ?? 100);
const HOURS = Number(process.env.BENCH_HOURS ?? 24);
const STEPS = HOURS * 720; // 5 s steps
const TOTAL = SYMBOLS * STEPS;
const DAY0 = Date.parse('2025-01-01T00:00:00Z');
const symbols = Array.from({ length: SYMBOLS }, (_, i) => `SB${String(i).padStart(3, '0')}USDT`);

let peakRss = 0;
const sampleRss = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

/** The samples, time-major as a live sampler writes them, each built when asked for. */
function sample(step: number, s: number): Sample5sInput {
  const x = Math.sin(step / 97 + s) * 2;
  return {
    symbol: symbols[s]!,
    ts: DAY0 + step * 5000,
    vInner: x,
    vOuter: Math.cos(step / 53 + s),
    vSwap: (step % 7) - 3,
    vTendency: x / 3,
    disruption: (step % 11) / 10,
    amp: Math.abs(x),
    volt: step % 13 === 0 ? null : 0.5,
    inertia: (s % 5) / 4,
    bucketCount: 20 + (step % 5),
    spreadMin: 0.01,
    spreadMax: 0.03,
    spreadAvg: 0.01 + (step % 3) / 100,
    midMin: 100 + x,
    midMax: 100.5 + x,
    liquidityImbalance: Math.sin(step + s) / 2,
  };
}

async function* samples(): AsyncIterable<Sample5sInput> {
  for (let step = 0; step < STEPS; step++) {
    for (let s = 0; s < SYMBOLS; s++) yield sample(step, s);
    if (step % 720 === 0) sampleRss();
  }
}

const COPY_FIELDS = [
  'v_inner',
  'v_outer',
  'v_swap',
  'v_tendency',
  'disruption',
  'amp',
  'volt',
  'inertia',
  'bucket_count',
  'spread_min',
  'spread_max',
  'spread_avg',
  'mid_min',
  'mid_max',
  'liquidity_imbalance',
] as const;
const FIELD_OF: Record<(typeof COPY_FIELDS)[number], keyof Sample5sInput> = {
  v_inner: 'vInner',
  v_outer: 'vOuter',
  v_swap: 'vSwap',
  v_tendency: 'vTendency',
  disruption: 'disruption',
  amp: 'amp',
  volt: 'volt',
  inertia: 'inertia',
  bucket_count: 'bucketCount',
  spread_min: 'spreadMin',
  spread_max: 'spreadMax',
  spread_avg: 'spreadAvg',
  mid_min: 'midMin',
  mid_max: 'midMax',
  liquidity_imbalance: 'liquidityImbalance',
};

/** (a): the same rows as COPY text into a bare copy of the table. */
async function bareCopy(sql: postgres.Sql): Promise<void> {
  await sql`drop table if exists public.bare_samples`;
  await sql`create table public.bare_samples (like str_aux.samples_5s including defaults)`;
  const stream = (await sql
    .unsafe(`copy public.bare_samples (symbol, ts, ${COPY_FIELDS.join(', ')}) from stdin`)
    .writable()) as Writable;
  const done = finished(stream);
  let chunk = '';
  for (let step = 0; step < STEPS; step++) {
    for (let s = 0; s < SYMBOLS; s++) {
      const r = sample(step, s) as Record<string, unknown>;
      let line = `${r.symbol}\t${new Date(r.ts as number).toISOString()}`;
      for (const f of COPY_FIELDS) {
        const v = r[FIELD_OF[f]];
        line += `\t${v === null || v === undefined ? '\\N' : String(v)}`;
      }
      chunk += `${line}\n`;
    }
    if (chunk.length > 1 << 20) {
      if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
      chunk = '';
      sampleRss();
    }
  }
  stream.end(chunk);
  await done;
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [(performance.now() - t) / 1000, r];
}

interface Figures {
  server: string;
  version: string;
  copy: number;
  upsert: number;
  backfill: number;
  cycles: number;
  windows: number;
  stored: number;
}

async function runOn(label: string, server: TestServer): Promise<Figures> {
  const dbName = await createDatabase(server.adminUrl, { prefix: 'cryptopi_bench_straux' });
  const u = new URL(server.adminUrl);
  u.pathname = `/${dbName}`;
  const sql = postgres(u.toString(), { onnotice: () => {}, max: 4 });
  try {
    await migrate(sql);
    const [{ version }] = (await sql`select version()`) as unknown as [{ version: string }];
    for (const s of symbols) await sql`insert into settings.coin_universe (symbol) values (${s})`;
    console.log(`[${label}] ${version}`);
    const [copy] = await time(() => bareCopy(sql));
    console.log(`[${label}] (a) bare COPY: ${copy.toFixed(2)} s`);
    await sql`drop table public.bare_samples`;
    const [upsert, r] = await time(() => upsertSamples5s(sql, samples()));
    console.log(`[${label}] (b) upsertSamples5s: ${upsert.toFixed(2)} s`, r);
    const [backfill, b] = await time(() =>
      backfillBetween(sql, {
        from: DAY0,
        to: DAY0 + HOURS * 3_600_000,
        onProgress: (p) => {
          sampleRss();
          if (p.done % 10 === 0) console.log(`[${label}] backfill ${p.done}/${p.total}`);
        },
      }),
    );
    console.log(`[${label}] (c) backfillBetween: ${backfill.toFixed(2)} s`, b);
    const [{ n }] = (await sql`select count(*)::int as n from str_aux.samples_5s`) as unknown as [
      { n: number },
    ];
    return {
      server: label,
      version,
      copy,
      upsert,
      backfill,
      cycles: b.cycles,
      windows: b.windows,
      stored: n,
    };
  } finally {
    await sql.end();
    await dropDatabase(server.adminUrl, dbName).catch(() => {});
  }
}

async function main(): Promise<void> {
  const rssTimer = setInterval(sampleRss, 100);
  const loadStart = loadavg()[0]!.toFixed(2);
  const results: Figures[] = [];
  const embedded = await startTestServer({ provider: 'embedded' });
  try {
    results.push(await runOn('embedded', embedded));
  } finally {
    await embedded.stop();
  }
  if (process.env.DATABASE_URL) {
    const url = process.env.DATABASE_URL;
    results.push(await runOn('DATABASE_URL', { adminUrl: url, provider: 'url', stop: async () => {} }));
  }
  clearInterval(rssTimer);
  sampleRss();
  const mb = (peakRss / 1024 / 1024).toFixed(0);
  const lines = [
    '## str_aux: one day of samples (bench/str-aux.ts)',
    '',
    `Run of \`npx tsx bench/str-aux.ts\` on ${new Date().toISOString().slice(0, 10)}: ${TOTAL.toLocaleString('en-US')} samples ` +
      `(${SYMBOLS} symbols x ${STEPS.toLocaleString('en-US')} steps of 5 s = ${HOURS} h), node ${process.version}, ` +
      `${cpus().length} CPUs (load ${loadStart} at the start, ${loadavg()[0]!.toFixed(2)} at the end). One run each.`,
    '',
    '| server | (a) bare COPY s | (b) upsertSamples5s s | (c) backfillBetween s | (b) samples/s | (b + c) samples/s | (b + c) / (a) | cycles | windows |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.server}: ${r.version.split(' on ')[0]} | ${r.copy.toFixed(2)} | ${r.upsert.toFixed(2)} | ${r.backfill.toFixed(2)} | ` +
        `${Math.round(TOTAL / r.upsert).toLocaleString('en-US')} | ${Math.round(TOTAL / (r.upsert + r.backfill)).toLocaleString('en-US')} | ` +
        `${((r.upsert + r.backfill) / r.copy).toFixed(2)} | ${r.cycles.toLocaleString('en-US')} | ${r.windows.toLocaleString('en-US')} |`,
    ),
    '',
    `Peak RSS of the bench process over the whole run: **${mb} MB** (target < 400 MB: ${Number(mb) < 400 ? 'met' : 'NOT met'}).`,
    '',
    ...results.map(
      (r) =>
        `- ${r.server}: whole backfill (b + c) = ${((r.upsert + r.backfill) / r.copy).toFixed(2)} x the bare COPY ` +
        `(target ≤ 2: ${(r.upsert + r.backfill) / r.copy <= 2 ? 'met' : '**not met**'}); ${r.stored.toLocaleString('en-US')} samples stored.`,
    ),
    '',
    '(a) streams the same rows as COPY text into `create table … (like str_aux.samples_5s including defaults)` (columns, not-null and defaults; no index, check, key or trigger).',
    '(b) validates every row, streams it as COPY text into a temporary stage and merges it with one',
    'upsert statement, whose statement-level trigger rolls every touched cycle once. (c) rolls every',
    'cycle again from its samples, then every window of every label (11) with its stats and vector,',
    'one symbol per transaction.',
    '',
  ];
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results-str-aux.md');
  writeFileSync(out, lines.join('\n'));
  console.log(lines.join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
