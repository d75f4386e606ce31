// Shared by the reliability suite: recording what each test tried (the figures docs/reliability.md
// is generated from), waiting with bounded polls, row counts of every table, backends to terminate,
// and host processes run with tsx on the guarded driver.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { Sql } from '../../src/core/queryable.js';
import { writeReport } from './report.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIGURES_DIR = join(ROOT, 'tests', 'reliability', 'figures');

/** One line of the reliability table: what was tried, how many times, and what held each time. */
export interface Figure {
  /** Stable key (the test's own), so a file run alone updates its lines only. */
  id: string;
  area: 'faults' | 'server-kill' | 'crash' | 'transaction' | 'races' | 'bad-input' | 'round-trip';
  tried: string;
  times: number;
  held: string;
}

/**
 * The recorder of test file `file` (call at the top of the file: it registers the afterAll that
 * writes its figures). Record a figure after the test's assertions: a test that failed records
 * nothing. The file's figures are merged into tests/reliability/figures/<file>.json (a file or a
 * test run alone updates its own lines only) and docs/reliability.md is regenerated.
 */
export function figures(file: string): (figure: Figure) => void {
  const recorded = new Map<string, Figure>();
  afterAll(() => flush(file, recorded));
  return (figure) => {
    recorded.set(figure.id, figure);
  };
}

function flush(file: string, figures: Map<string, Figure>): void {
  if (figures.size === 0) return;
  mkdirSync(FIGURES_DIR, { recursive: true });
  const path = join(FIGURES_DIR, `${file}.json`);
  let old: Figure[] = [];
  try {
    old = JSON.parse(readFileSync(path, 'utf8')) as Figure[];
  } catch {
    old = [];
  }
  const merged = new Map(old.map((f) => [f.id, f]));
  for (const [id, f] of figures) merged.set(id, f);
  const rows = [...merged.values()].sort((a, b) => a.id.localeCompare(b.id));
  writeAtomically(path, `${JSON.stringify(rows, null, 2)}\n`);
  writeReport(FIGURES_DIR, join(ROOT, 'docs', 'reliability.md'));
}

/** Writes through a temporary file and a rename: test files running in parallel never read half a file. */
export function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Polls `check` every `pauseMs` until it returns a value other than undefined; fails after `tries` polls naming `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { tries = 500, pauseMs = 20 }: { tries?: number; pauseMs?: number } = {},
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  throw new Error(`gave up waiting for ${what} after ${tries} polls of ${pauseMs} ms`);
}

/** The number of rows of every table of ours (schema.table → count), to show a call wrote nothing. */
export async function rowCounts(sql: Sql): Promise<Record<string, number>> {
  const tables = await sql<{ name: string }[]>`
    select format('%I.%I', n.nspname, c.relname) as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
      and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast_temp%'
    order by 1`;
  const out: Record<string, number> = {};
  for (const t of tables) {
    const [r] = await sql.unsafe(`select count(*)::int8::text as n from ${t.name}`);
    out[t.name] = Number(r?.n);
  }
  return out;
}

/** Terminates backend `pid`; true when PostgreSQL signalled it. */
export async function terminate(admin: Sql, pid: number): Promise<boolean> {
  const [r] = await admin<{ ok: boolean }[]>`select pg_terminate_backend(${pid}) as ok`;
  return r?.ok === true;
}

/** The pid of a backend of `applicationName` that is inside a transaction (and not idle), or undefined. */
export async function busyBackend(admin: Sql, applicationName: string): Promise<number | undefined> {
  const [r] = await admin<{ pid: number }[]>`
    select pid from pg_stat_activity
    where application_name = ${applicationName} and xact_start is not null and state <> 'idle'
    order by xact_start limit 1`;
  return r?.pid;
}

/** What a child host process printed (its JSON lines) and how it ended. */
export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: Record<string, unknown>[];
  stderr: string;
}

/**
 * Runs `script` (under tests/reliability/children) with tsx and the guarded driver (the same patch
 * dist/ is built with: scripts/postgres-register.mjs). `onLine` sees each JSON line as it comes.
 */
export function runChild(
  script: string,
  args: string[],
  onLine: (line: Record<string, unknown>, child: ChildProcess) => void | Promise<void> = () => {},
  env: NodeJS.ProcessEnv = {},
): Promise<ChildRun> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './scripts/postgres-register.mjs',
      join('tests', 'reliability', 'children', script),
      ...args,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let buffered = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
      if (text.trim() === '') continue;
      try {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        void Promise.resolve(onLine(line, child)).catch((e: unknown) => {
          stderr += `\n[test onLine failed] ${String(e)}`;
        });
      } catch {
        stderr += `\n[not JSON] ${text}`;
      }
    }
  });
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, lines, stderr }));
  });
}
