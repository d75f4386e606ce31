import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createClient } from '../src/client.js';
import {
  decimal,
  decimalInput,
  float8Input,
  instant,
  int8,
  json,
  jsonObject,
  jsonObjectRow,
  recordOf,
  text,
  timestamptz,
  uuid,
} from '../src/core/codecs.js';
import {
  AuthError,
  ConflictError,
  ConnectionError,
  CryptopiError,
  IntegrityError,
  isCryptopiError,
  NotFoundError,
  ValidationError,
} from '../src/core/errors.js';
import { inTransaction } from '../src/core/queryable.js';
import { parseInput, parseOne, parseRows, run } from '../src/core/run.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';
import { refusal } from './helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
  await db.sql`create table public.parent (id int primary key, code text not null unique, qty numeric check (qty >= 0))`;
  await db.sql`create table public.child (id int primary key, parent_id int not null references public.parent (id))`;
});
afterAll(() => db.close());

describe('PostgreSQL errors map to the SDK classes, keeping the facts and the cause', () => {
  it('a unique violation is a ConflictError naming the constraint, table and columns, without the values', async () => {
    await db.sql`insert into public.parent values (1, 'secret-code', 1)`;
    const e = await refusal(
      run('test.insert', db.sql`insert into public.parent values (2, 'secret-code', 1)`),
    );
    expect(e).toBeInstanceOf(ConflictError);
    expect(e).toMatchObject({
      sqlstate: '23505',
      constraint: 'parent_code_key',
      table: 'public.parent',
      columns: ['code'],
      operation: 'test.insert',
    });
    expect((e as Error).message).toBe('test.insert: conflict (23505 on parent_code_key (code))');
    expect((e as Error).cause).toMatchObject({ name: 'PostgresError', code: '23505' });
  });

  it('foreign-key, check and not-null violations are ValidationErrors', async () => {
    const fk = await refusal(run('t', db.sql`insert into public.child values (1, 999)`));
    expect(fk).toBeInstanceOf(ValidationError);
    expect((fk as ValidationError).issues).toEqual([
      { path: ['parent_id'], message: 'refers to a row that does not exist (child_parent_id_fkey)' },
    ]);
    const check = await refusal(run('t', db.sql`insert into public.parent values (3, 'c', -1)`));
    expect(check).toMatchObject({
      sqlstate: '23514',
      constraint: 'parent_qty_check',
      issues: [{ path: [], message: 'violates check parent_qty_check' }],
    });
    const nn = await refusal(run('t', db.sql`insert into public.parent (id, code) values (4, null)`));
    expect((nn as ValidationError).issues).toEqual([{ path: ['code'], message: 'must not be null' }]);
    const bad = await refusal(run('t', db.sql`select ${'x'}::int`));
    expect(bad).toBeInstanceOf(ValidationError);
    expect((bad as ValidationError).sqlstate).toBe('22P02');
  });

  it('P0002 is NotFoundError (entity and key as data), 42501 AuthError, drift IntegrityError, the rest CryptopiError', async () => {
    const nf = await refusal(
      run('t.get', db.sql`do $$ begin raise exception 'window 9q' using errcode = 'P0002'; end $$`, {
        entity: 'settings.window',
        key: { label: '9q' },
      }),
    );
    expect(nf).toBeInstanceOf(NotFoundError);
    expect(nf).toMatchObject({ entity: 'settings.window', key: { label: '9q' }, sqlstate: 'P0002' });
    expect((nf as Error).message).toBe('t.get: settings.window not found (by label)');
    const bare = await refusal(
      run('t', db.sql`do $$ begin raise exception 'no such window' using errcode = 'P0002'; end $$`),
    );
    expect(bare).toMatchObject({ entity: 'row', key: {}, message: 't: no such window' });
    const auth = await refusal(
      run('t', db.sql`do $$ begin raise exception 'no' using errcode = '42501'; end $$`),
    );
    expect(auth).toMatchObject({ reason: 'forbidden' });
    expect(auth).toBeInstanceOf(AuthError);
    const drift = await refusal(run('t', db.sql`select * from public.nowhere`));
    expect(drift).toBeInstanceOf(IntegrityError);
    expect(drift).toMatchObject({ sqlstate: '42P01', cause: { name: 'PostgresError', code: '42P01' } });
    const other = await refusal(run('t', db.sql`select 1/0`));
    expect(other).toBeInstanceOf(ValidationError); // 22012, a data exception
    const raw = await refusal(
      run('t', db.sql`do $$ begin raise exception 'boom' using errcode = 'XX000'; end $$`),
    );
    expect(raw).toBeInstanceOf(CryptopiError);
    expect(raw).toMatchObject({ code: 'database', retryable: false, message: 't: database error XX000' });
  });

  it('serialization failures and deadlocks are retryable ConflictErrors; a unique violation is not', async () => {
    const ser = await refusal(
      run('t', db.sql`do $$ begin raise exception 'x' using errcode = '40001'; end $$`),
    );
    const dead = await refusal(
      run('t', db.sql`do $$ begin raise exception 'x' using errcode = '40P01'; end $$`),
    );
    await db.sql`insert into public.parent values (90, 'taken', 1)`;
    const dup = await refusal(run('t', db.sql`insert into public.parent values (91, 'taken', 1)`));
    expect([ser, dead, dup].map((e) => [e instanceof ConflictError, (e as ConflictError).retryable])).toEqual(
      [
        [true, true],
        [true, true],
        [true, false],
      ],
    );
  });
});

describe('connection loss is a retryable ConnectionError', () => {
  it('an unreachable server', async () => {
    const sql = postgres('postgres://postgres@127.0.0.1:1/postgres', { connect_timeout: 2, max: 1 });
    try {
      const e = await refusal(run('t.connect', sql`select 1`));
      expect(e).toBeInstanceOf(ConnectionError);
      expect(e).toMatchObject({ reason: 'unreachable', retryable: true, driverCode: 'ECONNREFUSED' });
      expect((e as Error).message).toBe('t.connect: server unreachable (ECONNREFUSED)');
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  it('a backend terminated under a running query', async () => {
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const [me] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
      const query = run('t.sleep', sql`select pg_sleep(30)`);
      const caught = refusal(query);
      for (let i = 0; i < 250; i++) {
        const [r] = await db.sql<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity where pid = ${me?.pid ?? 0} and query like '%pg_sleep%'`;
        if (r?.n === 1) break;
        if (i === 249) throw new Error(`backend ${me?.pid} never started its pg_sleep`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await db.sql`select pg_terminate_backend(${me?.pid ?? 0})`;
      const e = await caught;
      expect(e).toBeInstanceOf(ConnectionError);
      expect(e).toMatchObject({ reason: 'lost', retryable: true });
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});

describe('errors are branded: instanceof holds across copies of the SDK', () => {
  it("a second copy of the error module (as an ESM and a CJS build would be) recognises the first one's errors", async () => {
    vi.resetModules();
    // the query string makes vitest load a second instance of the module; tsc does not know the path
    // @ts-expect-error TS2307
    const copy = (await import('../src/core/errors.js?copy')) as typeof import('../src/core/errors.js');
    expect(copy.ValidationError).not.toBe(ValidationError);
    const mine = new ValidationError('op', [{ path: ['a'], message: 'bad' }]);
    const theirs = new copy.NotFoundError('op', 'wallet.account', { id: 'x' });
    expect([
      mine instanceof copy.ValidationError,
      mine instanceof copy.CryptopiError,
      mine instanceof copy.NotFoundError,
      theirs instanceof NotFoundError,
      theirs instanceof CryptopiError,
      theirs instanceof ValidationError,
      theirs instanceof Error,
      isCryptopiError(theirs),
      copy.isCryptopiError(mine),
      isCryptopiError(new Error('plain')),
      new Error('plain') instanceof CryptopiError,
      (null as unknown as object) instanceof CryptopiError,
    ]).toEqual([true, true, false, true, true, false, true, true, true, false, false, false]);
    expect(theirs.name).toBe('NotFoundError');
  });
});

describe('errors carry facts, not data', () => {
  it('a data exception names what is wrong, not the value that was sent', async () => {
    const secret = 'tok_live_51secret';
    for (const [query, sqlstate] of [
      [db.sql`select ${secret}::uuid`, '22P02'],
      [db.sql`select ${'9999999999999'}::int`, '22003'],
      [db.sql`select ${`${secret}T`}::text::timestamptz`, '22007'],
    ] as const) {
      const e = await refusal(run('t', query));
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).sqlstate).toBe(sqlstate);
      expect((e as Error).message).not.toMatch(/tok_live|9999999999999/);
      expect(JSON.stringify((e as ValidationError).issues)).not.toMatch(/tok_live|9999999999999/);
      expect((e as Error).cause).toMatchObject({ name: 'PostgresError', code: sqlstate });
    }
    const e = await refusal(run('t', db.sql`select ${secret}::uuid`));
    expect((e as Error).message).toBe('t: invalid input: invalid input syntax for type uuid');
  });

  it('every mapped PostgreSQL error keeps its SQLSTATE, detail and constraint', async () => {
    const fk = await refusal(run('t', db.sql`insert into public.child values (2, 998)`));
    expect(fk).toMatchObject({
      sqlstate: '23503',
      constraint: 'child_parent_id_fkey',
      detail: 'Key (parent_id)=(998) is not present in table "parent".',
    });
    const nf = await refusal(
      run('t', db.sql`do $$ begin raise exception 'gone' using errcode = 'P0002', detail = 'd1'; end $$`),
    );
    expect(nf).toMatchObject({ sqlstate: 'P0002', detail: 'd1' });
    const auth = await refusal(
      run('t', db.sql`do $$ begin raise exception 'no' using errcode = '42501', detail = 'd2'; end $$`),
    );
    expect(auth).toMatchObject({ sqlstate: '42501', detail: 'd2' });
  });
});

describe('inputs and rows', () => {
  const Input = z.strictObject({ label: z.string().min(1), amount: z.int().positive() });
  it('parseInput lists every issue with its path', () => {
    const e = (() => {
      try {
        parseInput('op', Input, { label: '', amount: 0, extra: 1 });
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues.map((i) => i.path)).toEqual([['label'], ['amount'], []]);
    expect((e as ValidationError).message).toMatch(/^op: invalid input: label: .* \(\+2 more\)$/);
  });

  const Row = z.object({ id: int8, qty: decimal, at: timestamptz });
  it('rows are parsed with the type policy; a drifted row is an IntegrityError naming column and value', async () => {
    const rows =
      await db.sql`select 9007199254740991::int8 as id, 12.500::numeric as qty, util.epoch_ms(timestamptz '2024-01-02T03:04:05.678Z') as at`;
    expect(parseOne('src', Row, rows)).toEqual({
      id: 9007199254740991,
      qty: '12.500',
      at: new Date('2024-01-02T03:04:05.678Z'),
    });
    const big =
      await db.sql`select 9007199254740993::int8 as id, 1::numeric as qty, util.epoch_ms(now()) as at`;
    const e = (() => {
      try {
        parseRows('v_big', Row, big);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(IntegrityError);
    expect((e as IntegrityError).issues).toEqual([
      {
        path: [0, 'id'],
        message: 'row 0: expected a safe integer, got 9007199254740993 (value "9007199254740993")',
      },
    ]);
    expect(() => parseOne('sp_x', Row, [])).toThrow(
      'sp_x: row does not match its schema: expected exactly one row, got 0',
    );
  });

  it('instants accept Date, epoch ms and ISO strings with an offset; decimals stay exact strings', () => {
    const d = new Date('2024-05-01T00:00:00Z');
    expect([d, d.getTime(), '2024-05-01T02:00:00+02:00'].map((v) => instant.parse(v))).toEqual([d, d, d]);
    const messages = (v: unknown) => instant.safeParse(v).error?.issues.map((i) => i.message);
    expect(messages('2024-05-01')).toEqual([
      'needs an offset (Z or ±hh:mm): a time without one means different instants on different servers',
    ]);
    expect(messages('2025-01-01T00:00:00')).toEqual(messages('2024-05-01'));
    expect(messages('2025-02-30T00:00:00Z')).toEqual(['is not a calendar date and time']);
    expect(messages('2023-02-29T00:00:00Z')).toEqual(['is not a calendar date and time']);
    expect(messages('yesterday')).toEqual([
      'expected an ISO-8601 instant with an offset, such as 2025-01-01T00:00:00Z',
    ]);
    expect(messages(new Date(Number.NaN))).toEqual(['expected a valid instant']);
    expect(messages(Date.UTC(10000, 0, 1))).toEqual(['must be between years 1 and 9999']);
    expect(messages(-62_135_596_800_001)).toEqual(['must be between years 1 and 9999']);
    expect(messages(1.5)).toEqual(['expected an instant in whole milliseconds']);
    // years below 100 are exact (new Date('0050-06-01 00:00:00+00') is 1950), leap days too
    expect(instant.parse('0050-06-01T00:00:00Z').getTime()).toBe(-60_576_249_600_000);
    expect(instant.parse('0001-01-01T00:00:00Z').getTime()).toBe(-62_135_596_800_000);
    expect(instant.parse('9999-12-31T23:59:59.999Z').getTime()).toBe(253_402_300_799_999);
    expect(instant.parse('2024-02-29T12:00:00-03:30').toISOString()).toBe('2024-02-29T15:30:00.000Z');
    // below the millisecond: zeros are fine, anything else would be cut off silently by a Date
    expect(instant.parse('2024-05-01T00:00:00.123000Z')).toEqual(new Date('2024-05-01T00:00:00.123Z'));
    expect(instant.safeParse('2024-05-01T00:00:00.1234Z').error?.issues.map((i) => i.message)).toEqual([
      'expected an instant in whole milliseconds',
    ]);
    expect(decimalInput.parse('0.10')).toBe('0.10');
    expect(decimalInput.parse(0.1)).toBe('0.1');
    expect(decimalInput.safeParse('1,5').success).toBe(false);
    expect(decimalInput.safeParse(Number.NaN).success).toBe(false);
    expect(decimalInput.parse(-0)).toBe('0');
    expect(float8Input.parse(-0)).toBe(0);
    expect(Object.is(float8Input.parse(-0), -0)).toBe(false);
    expect(float8Input.safeParse(Number.POSITIVE_INFINITY).success).toBe(false);
    expect(uuid.safeParse('not-a-uuid').error?.issues.map((i) => i.message)).toEqual(['not a uuid']);
  });

  it('text refuses NUL and lone surrogates (the driver would send U+FFFD and merge distinct keys)', () => {
    const t = text({ min: 1, max: 5 });
    const messages = (v: unknown) => t.safeParse(v).error?.issues.map((i) => i.message);
    expect(t.parse('a😀b')).toBe('a😀b');
    expect(messages('a\u0000')).toEqual(['must not contain NUL (U+0000)']);
    expect(messages('a\ud800')).toEqual(['must not contain a lone surrogate (ill-formed UTF-16)']);
    expect(messages('\udc00a')).toEqual(['must not contain a lone surrogate (ill-formed UTF-16)']);
    expect(messages('')).toEqual(['must be at least 1 character']);
    expect(messages('abcdef')).toEqual(['must be at most 5 characters']);
  });

  it('recordOf refuses an own "__proto__" key (a bare z.record drops it without an error)', () => {
    const prices = recordOf(z.string().regex(/^[A-Z]+$/), z.string());
    expect(prices.parse({ BTC: '1' })).toEqual({ BTC: '1' });
    expect(
      prices.safeParse(JSON.parse('{"BTC": "1", "__proto__": "2"}')).error?.issues.map((i) => i.message),
    ).toEqual(['unknown key: __proto__']);
    expect(z.record(z.string(), z.string()).safeParse(JSON.parse('{"__proto__": "2"}')).success).toBe(true);
  });

  it('JSON inputs are JSON values only, checked in place: the value is passed on unchanged', () => {
    const withProto = JSON.parse('{"__proto__": {"polluted": true}, "a": [1, "x", null]}');
    const r = jsonObject.parse(withProto);
    expect(r).toBe(withProto);
    expect(JSON.stringify(r)).toBe('{"__proto__":{"polluted":true},"a":[1,"x",null]}');
    const issues = (v: unknown) =>
      json.safeParse(v).error?.issues.map((i) => ({ path: i.path, message: i.message }));
    const cyclic: Record<string, unknown> = { a: {} };
    (cyclic.a as Record<string, unknown>).self = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = [deep];
    expect(issues({ a: [1, Number.NaN] })).toEqual([
      { path: ['a', 1], message: 'must be a finite number (JSON has no NaN or Infinity)' },
    ]);
    expect(issues({ big: 1n })).toEqual([
      { path: ['big'], message: 'must not be a BigInt (send it as a string)' },
    ]);
    expect(issues({ u: undefined })).toEqual([
      { path: ['u'], message: 'must not be undefined (JSON has no undefined)' },
    ]);
    expect(issues({ at: new Date(0) })).toEqual([
      { path: ['at'], message: 'must be a plain object, array or primitive (send a Date as an ISO string)' },
    ]);
    expect(issues(cyclic)).toEqual([{ path: ['a', 'self'], message: 'is circular (contains itself)' }]);
    expect(issues(deep)?.[0]?.message).toBe('nests deeper than 64 levels');
    expect(issues({ 'k\u0000': 1 })).toEqual([
      { path: ['k\u0000'], message: 'key must not contain NUL (U+0000)' },
    ]);
    expect(issues('x'.repeat(1_000_001))?.[0]?.message).toBe('is longer than 1000000 characters as JSON');
    expect(jsonObject.safeParse([1]).error?.issues.map((i) => i.message)).toEqual(['expected a JSON object']);
    const row = JSON.parse('{"__proto__": 1}');
    expect(jsonObjectRow.parse(row)).toBe(row);
  });

  it('util.epoch_ms reads instants exactly whatever the session TimeZone, for years 1 to 9999', async () => {
    const instants = [
      '0001-01-01T00:00:00.000Z',
      '0050-06-01T00:00:00.000Z',
      '1850-01-01T00:00:00.123Z',
      '1900-01-01T00:00:00.000Z',
      '1970-01-01T00:00:00.000Z',
      '2038-01-19T03:14:08.000Z',
      '9999-12-31T23:59:59.999Z',
    ];
    const Read = z.object({ at: timestamptz });
    for (const zone of ['Europe/Amsterdam', 'Asia/Kolkata', 'America/New_York']) {
      const sql = postgres(db.url, { max: 1, connection: { TimeZone: zone }, onnotice: () => {} });
      try {
        for (const iso of instants) {
          const rows = await sql`select util.epoch_ms(${iso}::timestamptz) as at`;
          expect([zone, parseOne('t', Read, rows).at.toISOString()]).toEqual([zone, iso]);
        }
      } finally {
        await sql.end();
      }
    }
  });
});

describe('client', () => {
  it('routes PostgreSQL notices to the logger, never the console', async () => {
    const debug = vi.fn();
    const log = vi.spyOn(console, 'log');
    const client = createClient({ url: db.url }, { logger: { debug } });
    try {
      await client.sql`do $$ begin raise notice 'hello from postgres'; end $$`;
      expect(debug).toHaveBeenCalledWith('postgres notice: hello from postgres', { code: '00000' });
      expect(log).not.toHaveBeenCalled();
    } finally {
      log.mockRestore();
      await client.close();
    }
  });

  it('routes PostgreSQL warnings to logger.warn (notices to debug)', async () => {
    const debug = vi.fn();
    const warn = vi.fn();
    const client = createClient({ url: db.url }, { logger: { debug, warn } });
    try {
      await client.sql`do $$ begin raise warning 'careful'; end $$`;
      expect(warn).toHaveBeenCalledWith('postgres warning: careful', { code: '01000' });
      expect(debug).not.toHaveBeenCalled();
    } finally {
      await client.close();
    }
  });

  it('transaction() commits on success, rolls back on error, and nests as a savepoint', async () => {
    const client = createClient({ sql: db.sql });
    await client.transaction(async (tx) => {
      await tx.sql`insert into public.parent values (10, 'ten', 1)`;
    });
    await expect(
      client.transaction(async (tx) => {
        await tx.sql`insert into public.parent values (11, 'eleven', 1)`;
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await client.transaction(async (tx) => {
      await tx.sql`insert into public.parent values (12, 'twelve', 1)`;
      await tx
        .transaction(async (inner) => {
          await inner.sql`insert into public.parent values (13, 'thirteen', 1)`;
          throw new Error('inner only');
        })
        .catch(() => {});
    });
    const ids = await db.sql`select id from public.parent where id between 10 and 13 order by id`;
    expect(ids.map((r) => r.id)).toEqual([10, 12]);
    await client.close(); // a pool passed in stays open for its owner
    expect(await db.sql`select 1 as one`).toEqual([{ one: 1 }]);
  });

  it('inTransaction is atomic on a pool and inside a transaction', async () => {
    await expect(
      inTransaction(db.sql, async (tx) => {
        await tx`insert into public.parent values (20, 'twenty', 1)`;
        await tx`insert into public.parent values (21, 'twenty', 1)`;
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await db.sql`select id from public.parent where id in (20, 21)`).toEqual([]);
  });

  it('a client on its own pool closes it', async () => {
    const client = createClient({ url: db.url });
    await client.sql`select 1`;
    await client.close();
    await expect(client.sql`select 1`).rejects.toMatchObject({ code: 'CONNECTION_ENDED' });
  });
});

it('postgres.js TransactionSql is a Queryable (compile-time check)', async () => {
  const sql = postgres(db.url, { max: 1 });
  const n = await sql.begin((tx) => inTransaction(tx, async (q) => (await q`select 2 as n`)[0]?.n));
  expect(n).toBe(2);
  await sql.end();
});
