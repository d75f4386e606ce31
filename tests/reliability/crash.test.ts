// Issue 9, defect 1: the host process never crashes when its connection dies inside a transaction
// the SDK opens. Each run is a real host process (tsx, the SDK from src on the guarded driver: the
// same patch dist/ is built with) whose backend the test terminates mid-transaction.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { driverFile, PATCH_MARKER, patchPostgres } from '../../scripts/postgres-patch.mjs';
import { busyBackend, type ChildRun, figures, ROOT, runChild, terminate, waitFor } from './helpers.js';

const record = figures('crash');
const RUNS = 20;

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

/** Runs `fn(0)` … `fn(n - 1)`, at most 4 host processes at a time (2 cores); every run must pass. */
async function inBatches(n: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** What a child reported as the caller's result. */
function resultOf(run: ChildRun): Record<string, unknown> | undefined {
  return run.lines.find((l) => 'result' in l)?.result as Record<string, unknown> | undefined;
}

describe('the guard applies to the installed postgres.js', () => {
  it('patches both builds (ESM src/, CJS cjs/src/) of connection.js and index.js, and refuses a changed driver', () => {
    for (const build of ['src', 'cjs/src']) {
      for (const file of ['connection', 'index']) {
        const path = join(ROOT, 'node_modules', 'postgres', build, `${file}.js`);
        expect(driverFile(path)).toBe(file);
        const out = patchPostgres(path, readFileSync(path, 'utf8'));
        expect(out.startsWith(`/* ${PATCH_MARKER}`)).toBe(true);
        expect(out).toContain(
          file === 'connection' ? 'if (socket === null) {' : 'return q.reject(closedError)',
        );
      }
    }
    const connection = join(ROOT, 'node_modules', 'postgres', 'src', 'connection.js');
    const changed = readFileSync(connection, 'utf8').replace(
      'const x = socket.write(chunk, fn)',
      'const x = socket.write(chunk, fn, 1)',
    );
    expect(() => patchPostgres(connection, changed)).toThrow(/no longer applies .*nextWrite/);
    record({
      id: 'crash.0-patch',
      area: 'crash',
      tried:
        'the connection guard applied to the installed postgres.js, ESM and CJS builds (a changed driver fails the build)',
      times: 4,
      held: '4 of 4 files patched; a driver whose text changed is refused',
    });
  });

  it('the tests themselves run on the guarded driver (a terminated transaction rejects, the worker lives on)', async () => {
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const outcome = sql
        .begin(async (tx) => {
          const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
          await terminate(db.sql, row!.pid);
          await tx`select 1`;
        })
        .then(
          () => 'resolved',
          (e: { code?: string }) => e.code,
        );
      expect(['CONNECTION_CLOSED', '57P01']).toContain(await outcome);
      // the pool reconnects and serves the next query
      expect(await sql`select 2 as n`).toEqual([{ n: 2 }]);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});

describe('a host process whose backend is terminated mid-transaction', () => {
  it(`db.transaction: exits 0 with a ConnectionError, ${RUNS} times in a row`, async () => {
    await inBatches(RUNS, async (i) => {
      const run = await runChild('kill-me.ts', ['transaction', db.url], async (line) => {
        if (typeof line.pid === 'number') await terminate(db.sql, line.pid);
      });
      expect({ i, code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({
        i,
        code: 0,
        signal: null,
        stderr: '',
      });
      expect(resultOf(run)).toEqual({
        typed: true,
        name: 'ConnectionError',
        code: 'connection',
        reason: 'lost',
        afterCommit: false,
        message: expect.stringMatching(/^transaction: connection lost/),
      });
    });
    record({
      id: 'crash.1-transaction',
      area: 'crash',
      tried: 'a host process whose backend is terminated (pg_terminate_backend) inside `db.transaction`',
      times: RUNS,
      held: `${RUNS} of ${RUNS} exited 0; each caller got ConnectionError (lost, retryable, not afterCommit)`,
    });
  }, 180_000);

  it(`putPointsBulk of 60 000 points: exits 0 with a ConnectionError and nothing written, ${RUNS} times in a row`, async () => {
    const N = 60_000;
    await inBatches(RUNS, async (i) => {
      const app = `kill-me-bulk-${i}`;
      let killed = false;
      const run = await runChild(
        'kill-me.ts',
        ['bulk', db.url, String(N), app, `crash${i}`],
        async (line) => {
          if (line.ready !== true) return;
          // the kill lands at a different point of the batch each run: after i % 4 extra polls
          let seen = 0;
          const pid = await waitFor(`a busy backend of ${app}`, async () => {
            const p = await busyBackend(db.sql, app);
            if (p === undefined) return undefined;
            return seen++ >= i % 4 ? p : undefined;
          }).catch(() => undefined);
          if (pid !== undefined) killed = await terminate(db.sql, pid);
        },
      );
      expect({ i, code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({
        i,
        code: 0,
        signal: null,
        stderr: '',
      });
      const result = resultOf(run);
      const [stored] = await db.sql<{ n: string }[]>`
        select count(*)::int8::text as n from matrices.points p join matrices.series s on s.id = p.series_id
        where s.key like ${`crash${i}:%`}`;
      if (result === undefined || (result as { name?: unknown }).name === undefined) {
        // the batch committed before the kill landed: it is whole
        expect({ i, killed, result: run.lines.at(-1), stored: stored?.n }).toEqual({
          i,
          killed,
          result: { result: 'resolved' },
          stored: String(N),
        });
      } else {
        expect({ i, result, stored: stored?.n }).toEqual({
          i,
          result: {
            typed: true,
            name: 'ConnectionError',
            code: 'connection',
            reason: 'lost',
            afterCommit: false,
            message: expect.stringMatching(/^matrices\.putPointsBulk: connection lost/),
          },
          stored: '0',
        });
      }
    });
    record({
      id: 'crash.2-bulk',
      area: 'crash',
      tried:
        'a host process whose backend is terminated inside `matrices.putPointsBulk` (60 000 points: COPY in a transaction), at varying points',
      times: RUNS,
      held: `${RUNS} of ${RUNS} exited 0; each caller got ConnectionError and nothing of the batch was stored (or, when the kill came too late, the whole batch)`,
    });
  }, 240_000);
});

// CI builds dist/ before the tests: there the built package itself (the bundled, guarded driver) is tried
describe.skipIf(!existsSync(join(ROOT, 'dist', 'index.js')) || !existsSync(join(ROOT, 'dist', 'index.cjs')))(
  'the built package (dist/)',
  () => {
    it('a host process on dist/ (ESM and CJS) whose backend is terminated mid-transaction exits 0 with a ConnectionError', async () => {
      const RUNS_EACH = 5;
      for (const format of ['esm', 'cjs']) {
        for (let i = 0; i < RUNS_EACH; i++) {
          const child = spawn(
            process.execPath,
            [join(ROOT, 'tests', 'reliability', 'children', 'dist-host.mjs'), format, db.url, ROOT],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          );
          let out = '';
          let err = '';
          let killed = false;
          child.stderr.on('data', (d: Buffer) => {
            err += d.toString();
          });
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /"pid":(\d+)/.exec(out);
            if (m && !killed) {
              killed = true;
              void terminate(db.sql, Number(m[1]));
            }
          });
          const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
          const last = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { result?: unknown };
          expect({ format, i, code, err, result: last.result }).toEqual({
            format,
            i,
            code: 0,
            err: '',
            result: { typed: true, name: 'ConnectionError', reason: 'lost' },
          });
        }
      }
      record({
        id: 'crash.3-dist',
        area: 'crash',
        tried:
          'a host process on the built package (dist/, ESM and CJS) whose backend is terminated inside `db.transaction`',
        times: RUNS_EACH * 2,
        held: `${RUNS_EACH * 2} of ${RUNS_EACH * 2} exited 0 with a ConnectionError (the bundled postgres.js carries the guard)`,
      });
    }, 120_000);
  },
);
