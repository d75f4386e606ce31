/** The ledger: which pack (or one-off step) was applied, with what text, by whom, when. */
import type { Queryable } from '../core/queryable.js';

/** The schema that holds the ledger; nothing else lives there. */
export const LEDGER_SCHEMA = 'cryptopi_migrate';

/**
 * Every migrating transaction takes this transaction-level advisory lock first, so that many
 * processes may call `migrate()` at once: they queue, re-read the ledger, and each pack runs once.
 */
export const MIGRATE_LOCK_KEY = 7_384_129_051_172_301n;

const BOOTSTRAP = `
create schema if not exists ${LEDGER_SCHEMA};
create table if not exists ${LEDGER_SCHEMA}.ledger (
  name        text primary key,
  kind        text not null check (kind in ('pack', 'step')),
  checksum    text not null,
  sdk_version text not null,
  applied_at  timestamptz not null default now(),
  duration_ms integer not null check (duration_ms >= 0),
  applied_by  text not null default current_user,
  apply_count integer not null default 1 check (apply_count > 0)
);
create table if not exists ${LEDGER_SCHEMA}.history (
  id          bigint generated always as identity primary key,
  name        text not null,
  kind        text not null check (kind in ('pack', 'step')),
  checksum    text not null,
  sdk_version text not null,
  reason      text not null check (reason in ('new', 'changed')),
  applied_at  timestamptz not null default now(),
  duration_ms integer not null,
  applied_by  text not null default current_user
);
`;

/** SQL text as a quoted literal (our own names, checksums and versions; never caller data). */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * SQL that records packs in the ledger as `migrate()` would after applying them (creating the
 * ledger first), under the migration lock: the tail of `export-ddl --single-file --with-ledger`.
 * A pack already recorded with the same checksum is left as it is; one recorded with another
 * checksum is recorded again (`changed`), as `migrate()` does. Run it in the transaction that
 * applied the packs (`psql -1`), so the lock is held until COMMIT.
 * @example
 * ```ts
 * const tail = ledgerSql(loadPacks(), sdkVersion());
 * ```
 */
export function ledgerSql(packs: readonly { name: string; checksum: string }[], sdkVersion: string): string {
  const lines = [
    `-- ==== the ${LEDGER_SCHEMA} ledger: these packs, as migrate() records them ====`,
    `do $$ begin perform pg_advisory_xact_lock(${MIGRATE_LOCK_KEY}); end $$;`,
    BOOTSTRAP.trim(),
  ];
  if (packs.length > 0) {
    const values = packs
      .map(
        (p, i) =>
          `  (${i + 1}, ${literal(p.name)}, 'pack', ${literal(p.checksum)}, ${literal(sdkVersion)}, 0)`,
      )
      .join(',\n');
    lines.push(
      `with shipped (ord, name, kind, checksum, sdk_version, duration_ms) as (values\n${values}\n),`,
      `todo as (`,
      `  select s.*, case when l.name is null then 'new' else 'changed' end as reason`,
      `  from shipped s left join ${LEDGER_SCHEMA}.ledger l on l.name = s.name`,
      `  where l.checksum is distinct from s.checksum`,
      `),`,
      `logged as (`,
      `  insert into ${LEDGER_SCHEMA}.history (name, kind, checksum, sdk_version, reason, duration_ms)`,
      `  select name, kind, checksum, sdk_version, reason, duration_ms from todo order by ord`,
      `)`,
      `insert into ${LEDGER_SCHEMA}.ledger as l (name, kind, checksum, sdk_version, duration_ms)`,
      `select name, kind, checksum, sdk_version, duration_ms from todo order by ord`,
      `on conflict (name) do update set checksum = excluded.checksum, sdk_version = excluded.sdk_version,`,
      `  applied_at = now(), duration_ms = excluded.duration_ms, applied_by = current_user,`,
      `  apply_count = l.apply_count + 1;`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A ledger row as the SDK reads it. */
export interface LedgerEntry {
  name: string;
  kind: 'pack' | 'step';
  checksum: string;
  sdkVersion: string;
  appliedAt: Date;
  durationMs: number;
  appliedBy: string;
  applyCount: number;
}

/**
 * Takes the migration lock for the rest of the transaction `tx` (waits while another holds it).
 * @example
 * ```ts
 * await sql.begin(async (tx) => { await lock(tx); … });
 * ```
 * @throws the driver's error when the connection fails (migrate() maps it to ConnectionError)
 */
export async function lock(tx: Queryable): Promise<void> {
  await tx`select pg_advisory_xact_lock(${MIGRATE_LOCK_KEY.toString()}::bigint)`;
}

/**
 * Creates the ledger when missing (inside the caller's locked transaction).
 * @example
 * ```ts
 * await sql.begin(async (tx) => { await lock(tx); await bootstrapLedger(tx); });
 * ```
 * @throws the driver's error (a role that may not create the schema: 42501; migrate() maps it)
 */
export async function bootstrapLedger(tx: Queryable): Promise<void> {
  await tx.unsafe('set local client_min_messages = warning');
  await tx.unsafe(BOOTSTRAP);
}

/**
 * True when the ledger table exists.
 * @example
 * ```ts
 * if (!(await ledgerExists(sql))) console.log('never migrated');
 * ```
 * @throws the driver's error when the connection fails
 */
export async function ledgerExists(sql: Queryable): Promise<boolean> {
  const [row] = await sql`select to_regclass(${`${LEDGER_SCHEMA}.ledger`}) is not null`.values();
  return row?.[0] === true;
}

const KINDS = new Set(['pack', 'step']);

/**
 * Every ledger row by name; empty when the ledger does not exist yet. Read as text by position, so
 * a host `sql` with its own `transform` or type parsers (dates kept as strings…) reads it the same.
 * @example
 * ```ts
 * (await readLedger(sql, ['02_settings'])).get('02_settings')?.checksum;
 * ```
 * @throws the driver's error when the connection fails (status() maps it to ConnectionError)
 */
export async function readLedger(
  sql: Queryable,
  names?: readonly string[],
): Promise<Map<string, LedgerEntry>> {
  if (!(await ledgerExists(sql))) return new Map();
  const rows = await sql`
    select name, kind, checksum, sdk_version,
           to_char(applied_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           duration_ms::text, applied_by, apply_count::text
    from ${sql(LEDGER_SCHEMA)}.ledger
    ${names ? sql`where name = any(${sql.array(names as string[])})` : sql``}
    order by name`.values();
  const out = new Map<string, LedgerEntry>();
  for (const r of rows as unknown as string[][]) {
    const [name, kind, checksum, sdkVersion, appliedAt, durationMs, appliedBy, applyCount] = r;
    if (name === undefined || !KINDS.has(kind ?? '')) continue;
    out.set(name, {
      name,
      kind: kind as LedgerEntry['kind'],
      checksum: checksum ?? '',
      sdkVersion: sdkVersion ?? '',
      appliedAt: new Date(appliedAt ?? Number.NaN),
      durationMs: Number(durationMs),
      appliedBy: appliedBy ?? '',
      applyCount: Number(applyCount),
    });
  }
  return out;
}

/**
 * Records a pack or step as applied (ledger row upserted, history row appended), inside the
 * transaction that applied it.
 * @example
 * ```ts
 * await recordApplied(tx, { name: '02_settings', kind: 'pack', checksum, sdkVersion: '0.1.0', durationMs: 12, reason: 'new' });
 * ```
 * @throws the driver's error when the write fails
 */
export async function recordApplied(
  tx: Queryable,
  entry: {
    name: string;
    kind: 'pack' | 'step';
    checksum: string;
    sdkVersion: string;
    durationMs: number;
    reason: 'new' | 'changed';
  },
): Promise<void> {
  const { name, kind, checksum, sdkVersion, durationMs, reason } = entry;
  await tx`
    insert into ${tx(LEDGER_SCHEMA)}.ledger as l (name, kind, checksum, sdk_version, duration_ms)
    values (${name}, ${kind}, ${checksum}, ${sdkVersion}, ${durationMs})
    on conflict (name) do update set checksum = excluded.checksum, sdk_version = excluded.sdk_version,
      applied_at = now(), duration_ms = excluded.duration_ms, applied_by = current_user,
      apply_count = l.apply_count + 1`;
  await tx`
    insert into ${tx(LEDGER_SCHEMA)}.history (name, kind, checksum, sdk_version, reason, duration_ms)
    values (${name}, ${kind}, ${checksum}, ${sdkVersion}, ${reason}, ${durationMs})`;
}
