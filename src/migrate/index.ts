/**
 * migrate(), plan(), status(), verify(): apply the shipped packs in numeric order, each in its own
 * transaction under one advisory lock, recorded in a ledger (see ledger.ts).
 */
import {
  ConnectionError,
  type Issue,
  isCryptopiError,
  MigrationError,
  type PackResult,
  ValidationError,
} from '../core/errors.js';
import { inTransaction, type Logger, type Queryable } from '../core/queryable.js';
import { connectionErrorOf, isPgError, mapPgError } from '../core/run.js';
import { packFailure, unitFailure } from './failure.js';
import {
  bootstrapLedger,
  LEDGER_SCHEMA,
  type LedgerEntry,
  lock,
  readLedger,
  recordApplied,
} from './ledger.js';
import { loadPacks, type Pack, type PackSelection, sdkVersion, sha256 } from './packs.js';
import { splitStatements, transactionControl } from './split.js';
import { type Step, steps as shippedSteps } from './steps.js';

export { LEDGER_SCHEMA, MIGRATE_LOCK_KEY } from './ledger.js';
export {
  defaultPacksDir,
  loadPacks,
  type Pack,
  type PackSelection,
  packageRoot,
  sdkVersion,
} from './packs.js';
export { splitStatements, type Statement } from './split.js';
export type { Step } from './steps.js';

/** A progress event: a pack or step starts, or is done (with its result). */
export type MigrationProgress =
  | { phase: 'start'; name: string; kind: 'pack' | 'step'; reason: 'new' | 'changed' }
  | { phase: 'done'; result: PackResult };

export interface MigrateOptions extends PackSelection {
  /** Folder of packs (default: the packs shipped in this package's `ddl/`). */
  packsDir?: string | undefined;
  /** One-off steps (default: the shipped `steps`). */
  steps?: readonly Step[] | undefined;
  onProgress?: ((event: MigrationProgress) => void) | undefined;
  logger?: Logger | undefined;
}

/** What `migrate()` did: one result per pack and step, in order. */
export interface MigrationReport {
  results: PackResult[];
  applied: string[];
  unchanged: string[];
  durationMs: number;
}

/** The state of one pack or step against the database. */
export interface PackStatus {
  name: string;
  kind: 'pack' | 'step';
  state: 'applied' | 'pending' | 'changed' | 'unknown';
  checksum: string | undefined;
  appliedChecksum: string | undefined;
  appliedAt: Date | undefined;
  sdkVersion: string | undefined;
}

interface Unit {
  name: string;
  kind: 'pack' | 'step';
  checksum: string;
  pack?: Pack;
  step?: Step;
}

const OPTION_KEYS = new Set(['include', 'exclude', 'packsDir', 'steps', 'onProgress', 'logger']);

/**
 * Packs in order, each followed by the steps that run after it. Every refusal (an unknown option, a
 * selection naming no pack, a bad step) is a ValidationError naming the option, before anything runs.
 */
function units(operation: string, options: MigrateOptions): Unit[] {
  if (options === null || typeof options !== 'object')
    throw new ValidationError(operation, [{ path: [], message: 'options must be an object' }]);
  const unknownKeys = Object.keys(options).filter((k) => !OPTION_KEYS.has(k));
  if (unknownKeys.length > 0)
    throw new ValidationError(
      operation,
      unknownKeys.map((k) => ({
        path: [k],
        message: `unknown option (options: ${[...OPTION_KEYS].join(', ')})`,
      })),
    );
  if (options.packsDir !== undefined && typeof options.packsDir !== 'string')
    throw new ValidationError(operation, [{ path: ['packsDir'], message: 'must be a folder path' }]);
  const packs = loadPacks(options.packsDir, options, operation);
  const all = options.steps ?? shippedSteps;
  if (!Array.isArray(all))
    throw new ValidationError(operation, [{ path: ['steps'], message: 'must be an array of steps' }]);
  const names = new Set(loadPacks(options.packsDir, {}, operation).map((p) => p.name));
  const ids = new Set<string>();
  const issues: Issue[] = [];
  all.forEach((s: Partial<Step>, i) => {
    if (typeof s?.id !== 'string' || s.id === '')
      issues.push({ path: ['steps', i, 'id'], message: 'a step needs an id' });
    else if (ids.has(s.id))
      issues.push({ path: ['steps', i, 'id'], message: `two steps have the id ${s.id}` });
    else ids.add(s.id);
    if (typeof s?.after !== 'string' || !names.has(s.after))
      issues.push({
        path: ['steps', i, 'after'],
        message: `step ${String(s?.id)} runs after unknown pack ${String(s?.after)}`,
      });
    if (typeof s?.up !== 'function') issues.push({ path: ['steps', i, 'up'], message: 'must be a function' });
    if (typeof s?.description !== 'string')
      issues.push({ path: ['steps', i, 'description'], message: 'must be a text' });
  });
  if (issues.length > 0) throw new ValidationError(operation, issues);
  const out: Unit[] = [];
  for (const pack of packs) {
    out.push({ name: pack.name, kind: 'pack', checksum: pack.checksum, pack });
    // in the order they are listed (the order they were written): '0.10.0' must not sort before '0.2.0'
    for (const step of all.filter((s) => s.after === pack.name)) {
      out.push({ name: step.id, kind: 'step', checksum: sha256(`${step.id}\n${step.description}`), step });
    }
  }
  return out;
}

/** `1.2.3-beta.4` as numbers and the pre-release (undefined for a release); undefined when not semver. */
function semver(v: string): { core: number[]; pre: string | undefined } | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+.*)?$/.exec(v.trim());
  return m ? { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] } : undefined;
}

/**
 * True when version `a` is newer than `b` (semver; a pre-release is older than its release).
 * @example
 * ```ts
 * isNewer('0.10.0', '0.2.0'); // true
 * isNewer('1.0.0-beta.2', '1.0.0'); // false
 * ```
 */
export function isNewer(a: string, b: string): boolean {
  const x = semver(a);
  const y = semver(b);
  if (!x || !y) return false;
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i]! > y.core[i]!;
  if (x.pre === y.pre) return false;
  if (x.pre === undefined) return true;
  if (y.pre === undefined) return false;
  const p = x.pre.split('.');
  const q = y.pre.split('.');
  for (let i = 0; i < Math.max(p.length, q.length); i++) {
    const [u, w] = [p[i], q[i]];
    if (u === w) continue;
    if (u === undefined) return false;
    if (w === undefined) return true;
    const [nu, nw] = [/^\d+$/.test(u), /^\d+$/.test(w)];
    if (nu && nw) return Number(u) > Number(w);
    if (nu !== nw) return nw; // numeric identifiers sort before alphanumeric ones
    return u > w;
  }
  return false;
}

/** pending / changed / applied, by the ledger. A step is never "changed": it ran once. */
function stateOf(unit: Unit, entry: LedgerEntry | undefined): PackStatus['state'] {
  if (!entry) return 'pending';
  if (unit.kind === 'step') return 'applied';
  return entry.checksum === unit.checksum ? 'applied' : 'changed';
}

async function applyPack(tx: Queryable, pack: Pack, results: PackResult[]): Promise<void> {
  await tx.unsafe('set local client_min_messages = warning');
  const statements = splitStatements(pack.text);
  // refused before any statement runs: a COMMIT would end the runner's transaction (and its lock) half way
  statements.forEach((stmt, i) => {
    const command = transactionControl(stmt);
    if (command !== undefined) {
      const why = `transaction control (${command}) is not allowed in a pack: migrate() gives each pack its own transaction`;
      throw packFailure(pack, stmt, i, new Error(why), results);
    }
  });
  for (let i = 0; i < statements.length; i++) {
    const stmt = statements[i]!;
    try {
      await tx.unsafe(stmt.text);
    } catch (e) {
      throw packFailure(pack, stmt, i, e, results);
    }
  }
}

/**
 * The ledger, with a lost connection as ConnectionError and any other PostgreSQL error mapped to the
 * SDK's classes (a role that may not read it is an AuthError).
 */
async function ledgerOf(operation: string, sql: Queryable): Promise<Map<string, LedgerEntry>> {
  try {
    return await readLedger(sql);
  } catch (e) {
    throw mapPgError(operation, e);
  }
}

/**
 * Applies every new or changed pack (and pending step) in order and returns a report.
 *
 * Each pack runs in its own transaction holding a transaction-level advisory lock, and re-reads the
 * ledger after taking it: many processes may migrate at once and each pack is applied exactly once.
 * A pack whose checksum changed is applied again (packs are idempotent).
 * @example
 * ```ts
 * const report = await migrate(sql, { exclude: ['documents'] });
 * report.applied; // ['00_schemas', '01_extensions', …] the first time, [] after
 * ```
 * @throws MigrationError naming the pack, statement, line and SQLSTATE; earlier packs stay applied,
 * the failed one leaves nothing behind
 * @throws ConnectionError (`retryable`) when the server cannot be reached or the connection is lost:
 * earlier packs stay applied, the interrupted one was rolled back (unless `afterCommit`: the loss
 * came while its COMMIT was under way); calling `migrate()` again completes the run
 * @throws ValidationError naming the option when the options are wrong (an unknown option, an
 * `include` / `exclude` naming no pack, a `packsDir` that does not exist, a bad step); nothing runs
 */
export async function migrate(sql: Queryable, options: MigrateOptions = {}): Promise<MigrationReport> {
  const op = 'migrate';
  const started = performance.now();
  const plan = units(op, options);
  const version = sdkVersion();
  const results: PackResult[] = plan.map((u) => ({
    name: u.name,
    kind: u.kind,
    outcome: 'not-run',
    durationMs: 0,
  }));
  try {
    await inTransaction(sql, async (tx) => {
      await lock(tx);
      await bootstrapLedger(tx);
    });
  } catch (e) {
    const lost = connectionErrorOf(op, e);
    if (lost) throw lost;
    if (isCryptopiError(e)) throw e;
    // not PostgreSQL's: e.g. a host `sql` that is not a postgres.js instance; nothing was applied
    if (!isPgError(e))
      throw new MigrationError(
        `${LEDGER_SCHEMA}: cannot create the migration ledger: ${e instanceof Error ? e.message : String(e)}`,
        unitFailure(LEDGER_SCHEMA),
        results,
        { cause: e },
      );
    // e.g. a role that may not create the ledger's schema (42501): nothing was applied
    throw new MigrationError(
      `${LEDGER_SCHEMA}: cannot create the migration ledger: ${e.code} ${e.message}`,
      unitFailure(LEDGER_SCHEMA, e.code),
      results,
      { cause: e },
    );
  }
  // A first look without the lock; every candidate is checked again under it.
  const seen = await ledgerOf(op, sql);
  for (let i = 0; i < plan.length; i++) {
    const unit = plan[i]!;
    const result = results[i]!;
    if (stateOf(unit, seen.get(unit.name)) === 'applied') {
      result.outcome = 'unchanged';
      options.onProgress?.({ phase: 'done', result: { ...result } });
      continue;
    }
    const t0 = performance.now();
    // set once the pack's body is done: a connection lost after it was lost during COMMIT
    let committing = false;
    try {
      await inTransaction(sql, async (tx) => {
        await lock(tx);
        const entry = (await readLedger(tx, [unit.name])).get(unit.name);
        const state = stateOf(unit, entry);
        if (state === 'applied') {
          result.outcome = 'unchanged';
          return;
        }
        if (state === 'changed' && entry && isNewer(entry.sdkVersion, version)) {
          // an instance still on this version must not revert what a newer SDK applied
          throw new MigrationError(
            `${unit.name}: applied by cryptopi-db ${entry.sdkVersion}, newer than this ${version}; ` +
              'upgrade cryptopi-db here (applying this version would revert the pack)',
            unitFailure(unit.name),
            results,
          );
        }
        const reason = state === 'changed' ? 'changed' : 'new';
        options.onProgress?.({ phase: 'start', name: unit.name, kind: unit.kind, reason });
        options.logger?.info?.(`applying ${unit.name}`, { reason });
        if (unit.pack) await applyPack(tx, unit.pack, results);
        else if (unit.step) {
          try {
            await unit.step.up(tx);
          } catch (e) {
            const m = e instanceof Error ? e.message : String(e);
            throw new MigrationError(
              `step ${unit.name}: ${m}`,
              unitFailure(unit.name, (e as { code?: string }).code),
              results,
              { cause: e },
            );
          }
        }
        const durationMs = Math.round(performance.now() - t0);
        await recordApplied(tx, {
          name: unit.name,
          kind: unit.kind,
          checksum: unit.checksum,
          sdkVersion: version,
          durationMs,
          reason,
        });
        result.outcome = 'applied';
        result.reason = reason;
        committing = true;
      });
    } catch (e) {
      result.outcome = 'failed';
      result.durationMs = Math.round(performance.now() - t0);
      options.onProgress?.({ phase: 'done', result: { ...result } });
      // a statement, step or COMMIT that failed because the connection died is a ConnectionError
      const lost = connectionErrorOf(op, e instanceof MigrationError ? e.cause : e);
      if (lost)
        throw committing
          ? new ConnectionError(op, lost.reason, {
              cause: lost.cause,
              driverCode: lost.driverCode,
              afterCommit: true,
            })
          : lost;
      if (e instanceof MigrationError) throw e;
      const pack = unit.pack ?? { name: unit.name, order: 0, file: '', text: '', checksum: unit.checksum };
      throw packFailure(pack, undefined, undefined, e, results);
    }
    result.durationMs = Math.round(performance.now() - t0);
    options.onProgress?.({ phase: 'done', result: { ...result } });
  }
  return {
    results,
    applied: results.filter((r) => r.outcome === 'applied').map((r) => r.name),
    unchanged: results.filter((r) => r.outcome === 'unchanged').map((r) => r.name),
    durationMs: Math.round(performance.now() - started),
  };
}

/** `status()` for the operation that asks (`status`, `plan`, `verify`). */
async function statusOf(
  operation: string,
  sql: Queryable,
  options: Omit<MigrateOptions, 'onProgress'>,
): Promise<PackStatus[]> {
  const plan = units(operation, options);
  const ledger = await ledgerOf(operation, sql);
  const out: PackStatus[] = plan.map((u) => {
    const e = ledger.get(u.name);
    return {
      name: u.name,
      kind: u.kind,
      state: stateOf(u, e),
      checksum: u.checksum,
      appliedChecksum: e?.checksum,
      appliedAt: e?.appliedAt,
      sdkVersion: e?.sdkVersion,
    };
  });
  const shipped = new Set(
    units(operation, { ...options, include: undefined, exclude: undefined }).map((u) => u.name),
  );
  for (const e of ledger.values()) {
    if (!shipped.has(e.name)) {
      out.push({
        name: e.name,
        kind: e.kind,
        state: 'unknown',
        checksum: undefined,
        appliedChecksum: e.checksum,
        appliedAt: e.appliedAt,
        sdkVersion: e.sdkVersion,
      });
    }
  }
  return out;
}

/**
 * Every shipped pack and step against the ledger (`applied`, `pending`, `changed`), plus ledger
 * entries this SDK no longer ships (`unknown`). Executes nothing.
 * @example
 * ```ts
 * (await status(sql)).filter((s) => s.state !== 'applied'); // what is not applied yet
 * ```
 * @throws ValidationError naming the option when the options are wrong (nothing is sent)
 * @throws ConnectionError (`retryable`) when the server cannot be reached or the connection is lost
 */
export async function status(
  sql: Queryable,
  options: Omit<MigrateOptions, 'onProgress'> = {},
): Promise<PackStatus[]> {
  return statusOf('status', sql, options);
}

/**
 * What `migrate()` would run now (pending and changed packs and steps), executing nothing.
 * @example
 * ```ts
 * (await plan(sql)).map((s) => s.name); // [] when the database is up to date
 * ```
 * @throws ValidationError naming the option when the options are wrong (nothing is sent)
 * @throws ConnectionError (`retryable`) when the server cannot be reached or the connection is lost
 */
export async function plan(
  sql: Queryable,
  options: Omit<MigrateOptions, 'onProgress'> = {},
): Promise<PackStatus[]> {
  return (await statusOf('plan', sql, options)).filter((s) => s.state === 'pending' || s.state === 'changed');
}

/**
 * Checks that the database holds exactly the shipped DDL: returns the status when it does.
 * @example
 * ```ts
 * await verify(sql); // throws unless every shipped pack is applied with its shipped checksum
 * ```
 * @throws MigrationError when a pack's applied checksum differs from the shipped one, or a pack is pending
 * @throws ValidationError naming the option when the options are wrong (nothing is sent)
 * @throws ConnectionError (`retryable`) when the server cannot be reached or the connection is lost
 */
export async function verify(
  sql: Queryable,
  options: Omit<MigrateOptions, 'onProgress'> = {},
): Promise<PackStatus[]> {
  const all = await statusOf('verify', sql, options);
  const bad = all.filter((s) => s.state === 'changed' || s.state === 'pending');
  if (bad.length > 0) {
    const first = bad[0]!;
    const list = bad.map((s) => `${s.name} (${s.state})`).join(', ');
    const results: PackResult[] = all
      .filter((s) => s.state !== 'unknown')
      .map((s) => ({
        name: s.name,
        kind: s.kind,
        outcome: s.state === 'applied' ? 'unchanged' : 'not-run',
        durationMs: 0,
      }));
    throw new MigrationError(
      `verify: the database does not match the shipped DDL: ${list}`,
      unitFailure(first.name),
      results,
    );
  }
  return all;
}
