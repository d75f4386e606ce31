import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createClient } from '../src/client.js';
import { decimal, decimalInput, instant, int8, timestamptz } from '../src/core/codecs.js';
import {
  AuthError,
  ConflictError,
  IntegrityError,
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

  it('P0002 is NotFoundError, 42501 AuthError, anything else passes through untouched', async () => {
    const nf = await refusal(
      run('t', db.sql`do $$ begin raise exception 'window 9q' using errcode = 'P0002'; end $$`),
    );
    expect(nf).toBeInstanceOf(NotFoundError);
    expect((nf as NotFoundError).key).toBe('window 9q');
    const auth = await refusal(
      run('t', db.sql`do $$ begin raise exception 'no' using errcode = '42501'; end $$`),
    );
    expect(auth).toMatchObject({ reason: 'forbidden' });
    expect(auth).toBeInstanceOf(AuthError);
    const other = await refusal(run('t', db.sql`select * from public.nowhere`));
    expect(other).toMatchObject({ name: 'PostgresError', code: '42P01' });
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
      await db.sql`select 9007199254740991::int8 as id, 12.500::numeric as qty, timestamptz '2024-01-02T03:04:05.678Z' as at`;
    expect(parseOne('src', Row, rows)).toEqual({
      id: 9007199254740991,
      qty: '12.500',
      at: new Date('2024-01-02T03:04:05.678Z'),
    });
    const big = await db.sql`select 9007199254740993::int8 as id, 1::numeric as qty, now() as at`;
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
    expect(instant.safeParse('2024-05-01').success).toBe(false);
    // below the millisecond: zeros are fine, anything else would be cut off silently by a Date
    expect(instant.parse('2024-05-01T00:00:00.123000Z')).toEqual(new Date('2024-05-01T00:00:00.123Z'));
    expect(instant.safeParse('2024-05-01T00:00:00.1234Z').error?.issues.map((i) => i.message)).toEqual([
      'expected an instant in whole milliseconds',
    ]);
    expect(decimalInput.parse('0.10')).toBe('0.10');
    expect(decimalInput.parse(0.1)).toBe('0.1');
    expect(decimalInput.safeParse('1,5').success).toBe(false);
    expect(decimalInput.safeParse(Number.NaN).success).toBe(false);
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
    const ids = await db.sql`select id from public.parent where id >= 10 order by id`;
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
