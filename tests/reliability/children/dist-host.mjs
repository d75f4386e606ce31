// A host process on the BUILT package (dist/, ESM or CJS): opens a transaction, says which backend
// serves it, waits until the test terminates that backend, then reports what it caught.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [format = 'esm', url = '', root = '.'] = process.argv.slice(2);
const sdk =
  format === 'cjs'
    ? createRequire(import.meta.url)(join(root, 'dist', 'index.cjs'))
    : await import(join(root, 'dist', 'index.js'));
const say = (v) => process.stdout.write(`${JSON.stringify(v)}\n`);
const db = sdk.createClient({ url });
try {
  await db.transaction(async (tx) => {
    const [row] = await tx.sql`select pg_backend_pid() as pid`;
    say({ pid: row.pid });
    await tx.sql`select pg_sleep(60)`;
  });
  say({ result: 'resolved' });
} catch (e) {
  say({ result: { typed: sdk.isCryptopiError(e), name: e?.name, reason: e?.reason } });
}
await db.close();
