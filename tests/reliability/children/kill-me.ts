// A host process for tests/reliability/crash.test.ts: opens a transaction through the SDK, says
// which backend serves it (one JSON line), waits until the test terminates that backend, then
// reports what the caller got (one JSON line) and exits by itself. A crash of the process (an
// uncaught exception from the driver) shows as a non-zero exit code.
import { createClient } from '../../../src/client.js';
import { isCryptopiError } from '../../../src/core/errors.js';

const [mode = 'transaction', url = '', countArg = '0', app = `kill-me-${mode}`, prefix = 'kill_me'] =
  process.argv.slice(2);
const say = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);

function describe(e: unknown) {
  const o = e as {
    name?: unknown;
    code?: unknown;
    reason?: unknown;
    afterCommit?: unknown;
    message?: unknown;
  };
  return {
    typed: isCryptopiError(e),
    name: o?.name,
    code: o?.code,
    reason: o?.reason,
    afterCommit: o?.afterCommit,
    message: typeof o?.message === 'string' ? o.message.slice(0, 200) : undefined,
  };
}

const db = createClient({ url }, { postgres: { max: 2, connection: { application_name: app } } });
try {
  if (mode === 'transaction') {
    await db.transaction(async (tx) => {
      const [row] = await tx.sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
      say({ pid: row?.pid });
      await tx.sql`select pg_sleep(60)`;
    });
  } else if (mode === 'bulk') {
    const n = Number(countArg);
    const base = Date.UTC(2024, 0, 1);
    const points = Array.from({ length: n }, (_, i) => ({
      seriesKey: `${prefix}:S${i % 50}`,
      ts: base + Math.floor(i / 50) * 60_000,
      value: i,
    }));
    const [row] = await db.sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    say({ ready: true, pid: row?.pid });
    await db.matrices.putPointsBulk(points);
  }
  say({ result: 'resolved' });
} catch (e) {
  say({ result: describe(e) });
}
// the pool may still hold the (dead) connection; closing must not throw either
await db.close().catch((e: unknown) => say({ close: describe(e) }));
