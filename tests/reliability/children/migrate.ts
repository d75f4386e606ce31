// One of many host processes migrating the same fresh database at once (tests/reliability/races.test.ts):
// prints its report (one JSON line), or its error, and exits by itself.
import { createClient } from '../../../src/client.js';
import { isCryptopiError } from '../../../src/core/errors.js';

const [url = ''] = process.argv.slice(2);
const db = createClient({ url });
try {
  const report = await db.migrate();
  process.stdout.write(`${JSON.stringify({ applied: report.applied, unchanged: report.unchanged })}\n`);
} catch (e) {
  process.stdout.write(
    `${JSON.stringify({ error: { typed: isCryptopiError(e), name: (e as Error)?.name, message: String((e as Error)?.message) } })}\n`,
  );
  process.exitCode = 2;
} finally {
  await db.close();
}
