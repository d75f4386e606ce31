import { appendFileSync, copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, MigrationError, ValidationError } from '../src/core/errors.js';
import {
  defaultPacksDir,
  MIGRATE_LOCK_KEY,
  migrate,
  plan,
  type Step,
  splitStatements,
  status,
  verify,
} from '../src/migrate/index.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { fileSha256, packageVersion, SHIPPED_PACKS, shippedSha256 } from './helpers/packs.js';
import { refusal } from './helpers/refusal.js';
import { tempDir } from './helpers/tmp.js';

const shipped: string[] = [...SHIPPED_PACKS];
/** The pack list a selection error names: every pack, sorted by name. */
const PACKS = [...SHIPPED_PACKS].sort().join(', ');
const open: TestDatabase[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

/** An empty database of its own (not the migrated template). */
async function empty(): Promise<TestDatabase> {
  const db = await startTestDatabase({ migrate: false });
  open.push(db);
  return db;
}

/** A copy of the shipped packs, plus extra files, in a temporary folder. */
function packsCopy(extra: Record<string, string> = {}): string {
  const dir = tempDir('packs');
  for (const f of readdirSync(defaultPacksDir())) copyFileSync(join(defaultPacksDir(), f), join(dir, f));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  return dir;
}

const ledger = (db: TestDatabase) =>
  db.sql`select name, kind, checksum, sdk_version, applied_at, apply_count from cryptopi_migrate.ledger order by name`;
const history = (db: TestDatabase) => db.sql`select name, reason from cryptopi_migrate.history order by id`;

describe('migrate', () => {
  it('applies every pack on a fresh database, in order, and records each in the ledger', async () => {
    const db = await empty();
    const events: string[] = [];
    const t0 = performance.now();
    const report = await migrate(db.sql, {
      onProgress: (e) =>
        events.push(e.phase === 'start' ? `start ${e.name}` : `${e.result.outcome} ${e.result.name}`),
    });
    const wallMs = performance.now() - t0;
    expect(report.applied).toEqual(shipped);
    expect(report.unchanged).toEqual([]);
    expect(report.results.map((r) => [r.name, r.outcome, r.reason])).toEqual(
      shipped.map((n) => [n, 'applied', 'new']),
    );
    expect(events).toEqual(shipped.flatMap((n) => [`start ${n}`, `applied ${n}`]));
    const rows = await db.sql`
      select name, kind, checksum, sdk_version, duration_ms, applied_by, apply_count
      from cryptopi_migrate.ledger order by name`;
    const user = decodeURIComponent(new URL(db.url).username);
    expect(rows.map(({ duration_ms: _, ...r }) => r)).toEqual(
      shipped.map((name) => ({
        name,
        kind: 'pack',
        checksum: shippedSha256(name),
        sdk_version: packageVersion(),
        applied_by: user,
        apply_count: 1,
      })),
    );
    // each pack's duration is whole milliseconds within the time the whole call took
    for (const r of rows) {
      expect(Number.isInteger(r.duration_ms)).toBe(true);
      expect(r.duration_ms).toBeGreaterThanOrEqual(0);
      expect(r.duration_ms).toBeLessThanOrEqual(Math.ceil(wallMs));
    }
    const results = new Map(report.results.map((r) => [r.name, r.durationMs]));
    expect(rows.every((r) => r.duration_ms <= results.get(r.name)!)).toBe(true);
    expect(
      await db.sql`select name, reason, checksum, sdk_version, applied_by from cryptopi_migrate.history order by id`,
    ).toEqual(
      shipped.map((name) => ({
        name,
        reason: 'new',
        checksum: shippedSha256(name),
        sdk_version: packageVersion(),
        applied_by: user,
      })),
    );
    const schemas =
      await db.sql`select nspname from pg_namespace where nspname in ('util', 'settings', 'market', 'debug') order by 1`;
    expect(schemas.map((r) => r.nspname)).toEqual(['debug', 'market', 'settings', 'util']);
  });

  it('a rerun applies nothing and leaves the ledger unchanged', async () => {
    const db = await empty();
    await migrate(db.sql);
    const before = await ledger(db);
    const report = await migrate(db.sql);
    expect(report.applied).toEqual([]);
    expect(report.unchanged).toEqual(shipped);
    expect(await ledger(db)).toEqual(before);
    expect(await history(db)).toHaveLength(shipped.length);
  });

  it('re-applies an edited pack, records it, and verify() reports the drift until then', async () => {
    const db = await empty();
    const dir = packsCopy();
    await migrate(db.sql, { packsDir: dir });
    appendFileSync(join(dir, '00_schemas.sql'), "\ncomment on schema util is 'edited';\n");
    expect((await status(db.sql, { packsDir: dir })).find((s) => s.name === '00_schemas')?.state).toBe(
      'changed',
    );
    const err = await verify(db.sql, { packsDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as MigrationError).pack).toBe('00_schemas');
    expect((await plan(db.sql, { packsDir: dir })).map((s) => [s.name, s.state])).toEqual([
      ['00_schemas', 'changed'],
    ]);

    const report = await migrate(db.sql, { packsDir: dir });
    expect(report.applied).toEqual(['00_schemas']);
    expect(report.results[0]).toMatchObject({ name: '00_schemas', outcome: 'applied', reason: 'changed' });
    const [row] =
      await db.sql`select checksum, apply_count from cryptopi_migrate.ledger where name = '00_schemas'`;
    expect(row).toEqual({ checksum: fileSha256(join(dir, '00_schemas.sql')), apply_count: 2 });
    expect((await history(db)).filter((h) => h.name === '00_schemas').map((h) => h.reason)).toEqual([
      'new',
      'changed',
    ]);
    const [c] = await db.sql`select obj_description('util'::regnamespace) as comment`;
    expect(c?.comment).toBe('edited');
    expect((await verify(db.sql, { packsDir: dir })).every((s) => s.state === 'applied')).toBe(true);
  });

  it('8 concurrent migrate() calls on separate connections all succeed and apply each pack once', async () => {
    const db = await empty();
    const conns = Array.from({ length: 8 }, () => postgres(db.url, { max: 1, onnotice: () => {} }));
    try {
      const reports = await Promise.all(conns.map((c) => migrate(c)));
      const appliedCounts = new Map<string, number>();
      for (const r of reports)
        for (const n of r.applied) appliedCounts.set(n, (appliedCounts.get(n) ?? 0) + 1);
      expect([...appliedCounts.entries()].sort()).toEqual(shipped.map((n) => [n, 1]));
      for (const r of reports)
        expect(r.results.every((x) => x.outcome === 'applied' || x.outcome === 'unchanged')).toBe(true);
      expect((await history(db)).map((h) => h.name)).toEqual(shipped);
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
  });

  it('concurrent migrate() calls with different selections apply each pack once', async () => {
    const db = await empty();
    const selections = [
      { include: shipped.slice(0, 3) },
      {},
      { exclude: ['documents'] },
      { include: shipped.slice(0, 5) },
      {},
    ];
    const conns = selections.map(() => postgres(db.url, { max: 1, onnotice: () => {} }));
    try {
      const reports = await Promise.all(conns.map((c, i) => migrate(c, selections[i])));
      expect(reports.flatMap((r) => r.applied).sort()).toEqual([...shipped].sort());
      // each pack once, as new (a process that excludes documents may apply a later pack before it)
      const rows = await history(db);
      expect(rows.map((h) => [h.name, h.reason]).sort()).toEqual(shipped.map((n) => [n, 'new']));
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
  });

  it('plan() on a fresh database lists every pack and executes nothing', async () => {
    const db = await empty();
    expect((await plan(db.sql)).map((s) => [s.name, s.state])).toEqual(shipped.map((n) => [n, 'pending']));
    const [r] =
      await db.sql`select to_regnamespace('cryptopi_migrate') is null as none, to_regnamespace('settings') is null as none2`;
    expect(r).toEqual({ none: true, none2: true });
  });

  it('include / exclude select packs by name or schema name', async () => {
    const db = await empty();
    expect((await migrate(db.sql, { include: ['00_schemas'] })).applied).toEqual(['00_schemas']);
    expect((await migrate(db.sql, { exclude: ['extensions'] })).applied).toEqual(
      shipped.filter((n) => n !== '00_schemas' && n !== '01_extensions'),
    );
    expect((await status(db.sql)).find((s) => s.name === '01_extensions')?.state).toBe('pending');
  });
});

describe('a failing pack', () => {
  const broken = (text: string) => packsCopy({ '02_broken.sql': text });
  const failure = async (db: TestDatabase, dir: string) => {
    const err = await migrate(db.sql, { packsDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    return err as MigrationError;
  };

  it('names the pack, statement, line and column, leaves earlier packs applied and nothing of itself', async () => {
    const db = await empty();
    const dir = broken(
      [
        '-- a pack with a typo',
        'create table util.broken_first (id int);',
        '',
        'select relname,',
        '       nope',
        '  from pg_class;',
        '',
      ].join('\n'),
    );
    const err = await failure(db, dir);
    expect({
      pack: err.pack,
      statement: err.statement,
      line: err.line,
      column: err.column,
      sqlstate: err.sqlstate,
    }).toEqual({
      pack: '02_broken',
      statement: 2,
      line: 5,
      column: 8,
      sqlstate: '42703',
    });
    expect(err.message.split('\n')).toEqual([
      '02_broken.sql statement 2, line 5 column 8: 42703 column "nope" does not exist',
      '3 | ',
      '4 | select relname,',
      '5 |        nope',
      '  |        ^',
    ]);
    const before = shipped.filter((n) => n < '02');
    const after = shipped.filter((n) => n > '02');
    expect(err.results.map((r) => [r.name, r.outcome])).toEqual([
      ...before.map((n) => [n, 'applied']),
      ['02_broken', 'failed'],
      ...after.map((n) => [n, 'not-run']),
    ]);
    expect((await ledger(db)).map((r) => r.name)).toEqual(before);
    const [t] = await db.sql`select to_regclass('util.broken_first') is null as gone`;
    expect(t?.gone).toBe(true);
  });

  it('points inside a PL/pgSQL body that does not compile', async () => {
    const db = await empty();
    const dir = broken(
      [
        'create or replace function util.bad() returns int',
        'language plpgsql as $$',
        'begin',
        '  return 1 +;',
        'end;',
        '$$;',
      ].join('\n'),
    );
    const err = await failure(db, dir);
    expect({ statement: err.statement, line: err.line, column: err.column, sqlstate: err.sqlstate }).toEqual({
      statement: 1,
      line: 4,
      column: 13,
      sqlstate: '42601',
    });
  });

  it('points at the line of a DO block that raises at run time', async () => {
    const db = await empty();
    const dir = broken(
      [
        'create table util.before_do (id int);',
        'do $$',
        'begin',
        '  perform 1;',
        "  raise exception 'boom' using errcode = '22012';",
        'end;',
        '$$;',
      ].join('\n'),
    );
    const err = await failure(db, dir);
    expect({ statement: err.statement, line: err.line, sqlstate: err.sqlstate }).toEqual({
      statement: 2,
      line: 5,
      sqlstate: '22012',
    });
    expect(err.message).toContain('boom');
    const [t] = await db.sql`select to_regclass('util.before_do') is null as gone`;
    expect(t?.gone).toBe(true);
  });
});

it('a role that may not create the ledger gets a MigrationError, and nothing is applied', async () => {
  const db = await empty();
  const role = `cryptopi_ro_${Math.random().toString(36).slice(2, 10)}`;
  await db.sql`create role ${db.sql(role)} login password 'readonly'`;
  await db.sql`revoke create on database ${db.sql(db.name)} from public`;
  const url = new URL(db.url);
  url.username = role;
  url.password = 'readonly';
  const ro = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    const err = await migrate(ro).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect({
      pack: (err as MigrationError).pack,
      sqlstate: (err as MigrationError).sqlstate,
      outcomes: new Set((err as MigrationError).results.map((r) => r.outcome)),
    }).toEqual({ pack: 'cryptopi_migrate', sqlstate: '42501', outcomes: new Set(['not-run']) });
    expect((err as MigrationError).message).toMatch(
      /^cryptopi_migrate: cannot create the migration ledger: 42501 /,
    );
  } finally {
    await ro.end();
    await db.sql`drop role ${db.sql(role)}`; // roles belong to the server, not to the database
  }
  const [r] = await db.sql`select to_regnamespace('cryptopi_migrate') is null as none`;
  expect(r?.none).toBe(true);
});

describe('one-off steps', () => {
  it('run once, after their pack, recorded as steps; a failing step leaves nothing', async () => {
    const db = await empty();
    let runs = 0;
    const steps: Step[] = [
      {
        id: '0.1.0-create-step-table',
        after: '00_schemas',
        description: 'creates util.step_table',
        up: async (tx) => {
          runs++;
          await tx`create table util.step_table (n int)`;
        },
      },
    ];
    const first = await migrate(db.sql, { steps });
    expect(first.applied).toEqual([shipped[0], '0.1.0-create-step-table', ...shipped.slice(1)]);
    expect((await migrate(db.sql, { steps })).applied).toEqual([]);
    expect(runs).toBe(1);
    const [row] =
      await db.sql`select kind from cryptopi_migrate.ledger where name = '0.1.0-create-step-table'`;
    expect(row?.kind).toBe('step');

    const failing: Step = {
      id: '0.1.1-fails',
      after: '01_extensions',
      description: 'fails half way',
      up: async (tx) => {
        await tx`create table util.half_done (n int)`;
        await tx`select 1/0`;
      },
    };
    const err = await migrate(db.sql, { steps: [...steps, failing] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect({ pack: (err as MigrationError).pack, sqlstate: (err as MigrationError).sqlstate }).toEqual({
      pack: '0.1.1-fails',
      sqlstate: '22012',
    });
    const [t] = await db.sql`select to_regclass('util.half_done') is null as gone`;
    expect(t?.gone).toBe(true);
  });

  it('steps after the same pack run in the order listed, not by id', async () => {
    const db = await empty();
    const order: string[] = [];
    const step = (id: string): Step => ({
      id,
      after: '00_schemas',
      description: id,
      up: async () => void order.push(id),
    });
    const report = await migrate(db.sql, { steps: [step('0.2.0-first'), step('0.10.0-second')] });
    expect(order).toEqual(['0.2.0-first', '0.10.0-second']);
    expect(report.applied.slice(0, 3)).toEqual([shipped[0], '0.2.0-first', '0.10.0-second']);
  });

  it('two steps with the same id are refused before anything runs', async () => {
    const db = await empty();
    const up = async () => {};
    const err = await refusal(
      migrate(db.sql, {
        steps: [
          { id: 'same', after: '00_schemas', description: '', up },
          { id: 'same', after: '01_extensions', description: '', up },
        ],
      }),
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([
      { path: ['steps', 1, 'id'], message: 'two steps have the id same' },
    ]);
    const [r] = await db.sql`select to_regnamespace('cryptopi_migrate') is null as none`;
    expect(r?.none).toBe(true);
  });

  it('a step naming an unknown pack is refused before anything runs', async () => {
    const db = await empty();
    const err = await refusal(
      migrate(db.sql, { steps: [{ id: 'x', after: '42_nothing', description: '', up: async () => {} }] }),
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues).toEqual([
      { path: ['steps', 0, 'after'], message: 'step x runs after unknown pack 42_nothing' },
    ]);
    const [r] = await db.sql`select to_regnamespace('cryptopi_migrate') is null as none`;
    expect(r?.none).toBe(true);
  });
});

describe('pack text the runner must read as PostgreSQL does', () => {
  /** A folder holding only the given packs. */
  const only = (packs: Record<string, string>) => {
    const dir = tempDir('own-packs');
    for (const [name, text] of Object.entries(packs)) writeFileSync(join(dir, name), text);
    return dir;
  };
  const failure = async (db: TestDatabase, dir: string) => {
    const err = await migrate(db.sql, { packsDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    return err as MigrationError;
  };

  it('a SQL-standard function body (BEGIN ATOMIC … END) is one statement, semicolons and CASE … END inside', async () => {
    const db = await empty();
    const dir = only({
      '00_atomic.sql': [
        'create table if not exists public.atomic_log (n int);',
        'create or replace function public.atomic_two(n int) returns int',
        'language sql',
        'begin atomic',
        '  insert into public.atomic_log values (n);',
        '  select case when n > 0 then n * 2 else 0 end;',
        'end;',
        'select public.atomic_two(21);',
      ].join('\n'),
    });
    expect((await migrate(db.sql, { packsDir: dir })).applied).toEqual(['00_atomic']);
    expect(await db.sql`select n from public.atomic_log`).toEqual([{ n: 21 }]);
    const [r] = await db.sql`select public.atomic_two(5) as v`;
    expect(r?.v).toBe(10);
  });

  it('a statement after comments is placed on its own line, not on the comment above it', async () => {
    const db = await empty();
    const dir = only({
      '00_c.sql': [
        '-- header',
        '-- more header',
        '',
        'select 1/0;',
        '/* a /* nested */ trailing comment */',
      ].join('\n'),
    });
    const err = await failure(db, dir);
    expect({ statement: err.statement, line: err.line, sqlstate: err.sqlstate }).toEqual({
      statement: 1,
      line: 4,
      sqlstate: '22012',
    });
  });

  it('a DO block under a comment that raises at run time is placed on the body line that raised', async () => {
    const db = await empty();
    const dir = only({
      '00_do.sql': [
        'select 1;',
        '-- a backfill, explained',
        'do $$',
        'begin',
        "  raise exception 'boom' using errcode = '22012';",
        'end;',
        '$$;',
      ].join('\n'),
    });
    const err = await failure(db, dir);
    expect({ statement: err.statement, line: err.line, column: err.column }).toEqual({
      statement: 2,
      line: 5,
      column: 3,
    });
  });

  it('line and column count characters, with CRLF line endings, a BOM and text outside the BMP before the error', async () => {
    const db = await empty();
    const dir = only({
      '00_crlf.sql': `\uFEFF-- pack 🚀 with CRLF\r\ncreate table if not exists public.crlf_t (id int);\r\nselect '🚀🚀', 'é',\r\n  '🚀', nope from public.crlf_t;\r\n`,
    });
    const err = await failure(db, dir);
    expect({ statement: err.statement, line: err.line, column: err.column, sqlstate: err.sqlstate }).toEqual({
      statement: 2,
      line: 4,
      column: 8,
      sqlstate: '42703',
    });
    expect(err.snippet?.split('\n')).toEqual([
      '2 | create table if not exists public.crlf_t (id int);',
      "3 | select '🚀🚀', 'é',",
      "4 |   '🚀', nope from public.crlf_t;",
      '  |        ^',
    ]);
  });

  it.each([
    ['commit;', 'commit'],
    ['begin;', 'begin'],
    ['rollback;', 'rollback'],
    ['END;', 'end'],
    ['start transaction isolation level serializable;', 'start transaction'],
  ])(
    'a pack holding transaction control (%s) is refused before it runs, and leaves nothing',
    async (stmt) => {
      const db = await empty();
      const dir = only({
        '00_ok.sql': 'create table if not exists public.tc_ok (id int);',
        '01_tc.sql': [
          'create table if not exists public.tc_first (id int);',
          stmt,
          'create table if not exists public.tc_second (id int);',
        ].join('\n'),
      });
      const err = await failure(db, dir);
      expect({ pack: err.pack, statement: err.statement, line: err.line, sqlstate: err.sqlstate }).toEqual({
        pack: '01_tc',
        statement: 2,
        line: 2,
        sqlstate: undefined,
      });
      expect(err.message).toMatch(
        /^01_tc\.sql statement 2, line 2: transaction control .* is not allowed in a pack/,
      );
      expect(err.results.map((r) => [r.name, r.outcome])).toEqual([
        ['00_ok', 'applied'],
        ['01_tc', 'failed'],
      ]);
      const [t] = await db.sql`
      select to_regclass('public.tc_ok') is not null as ok,
             to_regclass('public.tc_first') is null and to_regclass('public.tc_second') is null as gone`;
      expect(t).toEqual({ ok: true, gone: true });
    },
  );

  it('include / exclude naming no shipped pack are refused before anything runs (a typo applies nothing)', async () => {
    const db = await empty();
    const include = await refusal(migrate(db.sql, { include: ['setings'] }));
    expect(include).toBeInstanceOf(ValidationError);
    expect(include).toMatchObject({
      operation: 'migrate',
      retryable: false,
      message: `migrate: invalid input: include: names no pack: setings (packs: ${PACKS})`,
      issues: [
        {
          path: ['include'],
          message: `names no pack: setings (packs: ${PACKS})`,
        },
      ],
    });
    const exclude = await refusal(migrate(db.sql, { exclude: ['documents', 'nothing'] }));
    expect(exclude).toBeInstanceOf(ValidationError);
    expect((exclude as ValidationError).issues).toEqual([
      {
        path: ['exclude'],
        message: `names no pack: nothing (packs: ${PACKS})`,
      },
    ]);
    for (const [name, call] of [
      ['plan', () => plan(db.sql, { include: ['setings'] })],
      ['status', () => status(db.sql, { include: ['setings'] })],
      ['verify', () => verify(db.sql, { include: ['setings'] })],
    ] as const) {
      const e = await refusal(call());
      expect(e).toBeInstanceOf(ValidationError);
      expect(e).toMatchObject({ operation: name, issues: [{ path: ['include'] }] });
    }
    const [r] = await db.sql`select to_regnamespace('cryptopi_migrate') is null as none`;
    expect(r?.none).toBe(true);
  });
});

describe('a ledger written by another SDK version', () => {
  it('a pack applied by a newer SDK is not reverted: migrate() refuses and changes nothing', async () => {
    const db = await startTestDatabase(); // the migrated template
    open.push(db);
    const target = shipped[2]!;
    await db.sql`update cryptopi_migrate.ledger set checksum = 'from-the-future', sdk_version = '99.0.0'
                 where name = ${target}`;
    const before = await ledger(db);
    const err = await migrate(db.sql).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as MigrationError).pack).toBe(target);
    expect((err as MigrationError).message).toMatch(
      new RegExp(`^${target}: applied by cryptopi-db 99\\.0\\.0, newer than this [0-9.]+`),
    );
    expect(await ledger(db)).toEqual(before);
  });

  it('a pack applied by an older SDK with other text is re-applied', async () => {
    const db = await startTestDatabase();
    open.push(db);
    const target = shipped[2]!;
    await db.sql`update cryptopi_migrate.ledger set checksum = 'from-the-past', sdk_version = '0.0.1'
                 where name = ${target}`;
    expect((await migrate(db.sql)).applied).toEqual([target]);
  });
});

it('the ledger reads the same whatever transform and type parsers the host sql has', async () => {
  const db = await startTestDatabase();
  open.push(db);
  const host = postgres(db.url, {
    onnotice: () => {},
    max: 1,
    transform: postgres.camel,
    types: {
      // a host that keeps timestamps as text
      date: { to: 1184, from: [1082, 1114, 1184], serialize: (x: unknown) => x, parse: (x: string) => x },
    },
  });
  try {
    const rows = await status(host);
    expect(rows.map((s) => [s.name, s.state, s.appliedAt instanceof Date, s.sdkVersion])).toEqual(
      shipped.map((n) => [n, 'applied', true, expect.any(String)]),
    );
    expect((await migrate(host)).applied).toEqual([]);
  } finally {
    await host.end({ timeout: 5 });
  }
});

it('splitStatements keeps quoted, commented and parameter semicolons inside their statement', () => {
  const pack = [
    "select E'it\\'s; fine', 'a''b;';",
    "select '$x$;' as s, $x$ ; ' $x$;",
    '/* outer /* inner; */ still comment; */ select 1;',
    'prepare p(int) as select $1;',
    'create table "a;b" (x int);',
    'select 2 -- the last statement needs no semicolon',
    '/* a trailing /* nested */ comment */',
  ].join('\n');
  expect(splitStatements(pack).map((s) => [s.line, s.text])).toEqual([
    [1, "select E'it\\'s; fine', 'a''b;';"],
    [2, "select '$x$;' as s, $x$ ; ' $x$;"],
    [3, 'select 1;'],
    [4, 'prepare p(int) as select $1;'],
    [5, 'create table "a;b" (x int);'],
    [6, 'select 2 -- the last statement needs no semicolon\n/* a trailing /* nested */ comment */'],
  ]);
});

describe('options that cannot be right are refused before anything runs', () => {
  it('a misspelt option, a packs folder that does not exist, a selection that is not a list: ValidationError naming it', async () => {
    const db = await empty();
    const misspelt = await refusal(migrate(db.sql, { exlude: ['documents'] } as never));
    expect(misspelt).toBeInstanceOf(ValidationError);
    expect((misspelt as ValidationError).issues).toEqual([
      {
        path: ['exlude'],
        message: 'unknown option (options: include, exclude, packsDir, steps, onProgress, logger)',
      },
    ]);
    const folder = await refusal(migrate(db.sql, { packsDir: join(tempDir('gone'), 'nope') }));
    expect(folder).toBeInstanceOf(ValidationError);
    expect((folder as ValidationError).issues).toEqual([{ path: ['packsDir'], message: 'no such folder' }]);
    const notList = await refusal(migrate(db.sql, { include: 'settings' as never }));
    expect(notList).toBeInstanceOf(ValidationError);
    expect((notList as ValidationError).issues).toEqual([
      { path: ['include'], message: 'must be an array of pack names' },
    ]);
    const [r] = await db.sql`select to_regnamespace('cryptopi_migrate') is null as none`;
    expect(r?.none).toBe(true);
  });
});

it('a sql that is not a postgres.js instance gets a MigrationError naming the ledger, not a raw TypeError', async () => {
  const err = await refusal(migrate({} as never));
  expect(err).toBeInstanceOf(MigrationError);
  expect(err).toMatchObject({ pack: 'cryptopi_migrate', sqlstate: undefined, retryable: false });
  expect((err as MigrationError).message).toMatch(/^cryptopi_migrate: cannot create the migration ledger: /);
  expect((err as MigrationError).cause).toBeInstanceOf(TypeError);
});

describe('a connection that cannot be had or dies', () => {
  /** A local port where nothing listens (taken from the system, then released). */
  const deadPort = () =>
    new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => resolve(port));
      });
    });

  it('a server nothing answers at is a retryable ConnectionError (unreachable) from migrate, status, plan and verify', async () => {
    const port = await deadPort();
    const sql = postgres(`postgres://postgres@127.0.0.1:${port}/nothing`, {
      max: 1,
      connect_timeout: 5,
      onnotice: () => {},
    });
    try {
      for (const [operation, call] of [
        ['migrate', () => migrate(sql)],
        ['status', () => status(sql)],
        ['plan', () => plan(sql)],
        ['verify', () => verify(sql)],
      ] as const) {
        const err = await refusal(call());
        expect(err).toBeInstanceOf(ConnectionError);
        expect(err).toMatchObject({
          operation,
          reason: 'unreachable',
          retryable: true,
          driverCode: 'ECONNREFUSED',
          afterCommit: false,
          message: `${operation}: server unreachable (ECONNREFUSED)`,
        });
      }
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  /** Polls (pausing 20 ms, at most 10 s) for the backend of `app` waiting on a lock; its pid. */
  const waitingBackend = async (sql: postgres.Sql, app: string, what: string): Promise<number> => {
    for (let i = 0; i < 500; i++) {
      const [w] = await sql`
        select pid from pg_stat_activity where application_name = ${app} and wait_event_type in ('Lock', 'Advisory')`;
      if (w) return w.pid as number;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`migrate() never waited on ${what} (10 s)`);
  };

  it('a backend terminated in its first statement (waiting on the migration lock) is a ConnectionError; no ledger is left', async () => {
    const db = await empty();
    const app = `cryptopi-first-${Math.random().toString(36).slice(2, 10)}`;
    const holder = await db.sql.reserve();
    const victim = postgres(db.url, { max: 1, onnotice: () => {}, connection: { application_name: app } });
    try {
      await holder`select pg_advisory_lock(${MIGRATE_LOCK_KEY.toString()}::bigint)`;
      const running = refusal(migrate(victim));
      const pid = await waitingBackend(db.sql, app, 'the migration lock');
      await db.sql`select pg_terminate_backend(${pid})`;
      const err = await running;
      expect(err).toBeInstanceOf(ConnectionError);
      expect(err).toMatchObject({
        operation: 'migrate',
        reason: 'lost',
        retryable: true,
        afterCommit: false,
      });
    } finally {
      await holder`select pg_advisory_unlock(${MIGRATE_LOCK_KEY.toString()}::bigint)`;
      holder.release();
      await victim.end({ timeout: 5 });
    }
    const [r] = await db.sql`select to_regnamespace('cryptopi_migrate') is null as none`;
    expect(r?.none).toBe(true);
  });

  it('a backend terminated while a pack waits on a lock is a retryable ConnectionError (lost): the pack left nothing, a rerun completes', async () => {
    const db = await empty();
    const dir = tempDir('lost');
    writeFileSync(join(dir, '00_first.sql'), 'create table if not exists public.lost_first (id int);\n');
    writeFileSync(
      join(dir, '01_waits.sql'),
      [
        'create table if not exists public.lost_half (id int);',
        'lock table public.lost_gate in access exclusive mode;',
        'create table if not exists public.lost_after (id int);',
        '',
      ].join('\n'),
    );
    await db.sql`create table public.lost_gate (id int)`;
    const app = `cryptopi-lost-${Math.random().toString(36).slice(2, 10)}`;
    const holder = await db.sql.reserve();
    const victim = postgres(db.url, { max: 1, onnotice: () => {}, connection: { application_name: app } });
    try {
      await holder`begin`;
      await holder`lock table public.lost_gate in access exclusive mode`;
      const running = refusal(migrate(victim, { packsDir: dir }));
      const pid = await waitingBackend(db.sql, app, 'public.lost_gate');
      await db.sql`select pg_terminate_backend(${pid})`;
      const err = await running;
      expect(err).toBeInstanceOf(ConnectionError);
      expect(err).toMatchObject({
        operation: 'migrate',
        reason: 'lost',
        retryable: true,
        afterCommit: false,
      });
      expect(['57P01', 'CONNECTION_CLOSED', 'ECONNRESET']).toContain((err as ConnectionError).driverCode);
    } finally {
      await holder`rollback`.catch(() => {});
      holder.release();
    }
    const ledgerNames = async () =>
      (await db.sql`select name from cryptopi_migrate.ledger order by name`).map((r) => r.name);
    expect(await ledgerNames()).toEqual(['00_first']);
    const [t] = await db.sql`
      select to_regclass('public.lost_first') is not null as first,
             to_regclass('public.lost_half') is null as half_gone`;
    expect(t).toEqual({ first: true, half_gone: true });
    // the same pool reconnects: the rerun applies what was left
    try {
      expect((await migrate(victim, { packsDir: dir })).applied).toEqual(['01_waits']);
    } finally {
      await victim.end({ timeout: 5 });
    }
    expect(await ledgerNames()).toEqual(['00_first', '01_waits']);
  });
});
