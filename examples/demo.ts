// `npm run demo`: starts an embedded PostgreSQL (or uses DATABASE_URL), migrates it with progress
// output, and prints a short tour of what the SDK built. Nothing to install but `npm install`.
import { type Client, createClient } from '../src/client.js';
import { startEmbeddedServer, type TestServer } from '../src/testing/index.js';

type Tour = (db: Client, print: (line: string) => void) => Promise<void>;
const tours: [string, () => Promise<{ tour: Tour }>][] = [
  ['settings and market', () => import('./tour/settings-market.js')],
  ['wallet', () => import('./tour/wallet.js')],
  ['matrices', () => import('./tour/matrices.js')],
  ['str_aux', () => import('./tour/str-aux.js')],
  ['cinAux and mea', () => import('./tour/cin-aux.js')],
];

const print = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  let server: TestServer | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    print('starting an embedded PostgreSQL (set DATABASE_URL to use your own server) ...');
    server = await startEmbeddedServer();
    url = server.adminUrl;
  }
  const db = createClient({ url });
  try {
    const [version] = await db.sql`select current_setting('server_version') as v`;
    print(`connected: PostgreSQL ${version?.v}`);
    print('\n== migrate ==');
    const report = await db.migrate({
      onProgress: (e) => {
        if (e.phase === 'done')
          print(`  ${e.result.outcome.padEnd(9)} ${e.result.name} (${e.result.durationMs} ms)`);
      },
    });
    print(
      `  ${report.applied.length} applied, ${report.unchanged.length} unchanged in ${report.durationMs} ms`,
    );

    print('\n== what exists ==');
    const schemas = await db.sql<{ schema: string; tables: number; views: number; functions: number }[]>`
      select n.nspname as schema,
        (select count(*)::int from pg_class c where c.relnamespace = n.oid and c.relkind in ('r', 'p')) as tables,
        (select count(*)::int from pg_class c where c.relnamespace = n.oid and c.relkind in ('v', 'm')) as views,
        (select count(*)::int from pg_proc p where p.pronamespace = n.oid) as functions
      from pg_namespace n
      where n.nspname in ('util', 'settings', 'market', 'docs', 'wallet', 'matrices', 'str_aux', 'ingest',
                          'cin_aux', 'mea_dynamics', 'mea', 'ops', 'auth', 'ext', 'strategy_aux', 'debug')
      order by n.nspname`;
    print('  schema         tables  views  functions');
    for (const s of schemas) {
      print(
        `  ${s.schema.padEnd(14)} ${String(s.tables).padStart(6)} ${String(s.views).padStart(6)} ${String(s.functions).padStart(10)}`,
      );
    }
    for (const [name, load] of tours) {
      print(`\n== ${name} ==`);
      await (await load()).tour(db, (line) => print(`  ${line}`));
    }
    const verified = await db.verify();
    print(`\nverify: ${verified.length} packs match the shipped DDL`);
  } finally {
    await db.close();
    await server?.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
