import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '../../src/core/errors.js';
import { listWindows, type UpsertWindowInput, upsertWindow } from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const windows = () =>
  db.sql`select label, amount, unit, duration_ms, created_at from settings.windows order by label`;

it('the seeded set exists after migrate, shortest first', async () => {
  const rows = await listWindows(db.sql);
  const seeded = ['30s', '40s', '1m', '3m', '5m', '15m', '30m', '1h', '3h', '4h', '1d'];
  expect(rows.filter((w) => seeded.includes(w.label)).map((w) => [w.label, w.durationMs])).toEqual([
    ['30s', 30_000],
    ['40s', 40_000],
    ['1m', 60_000],
    ['3m', 180_000],
    ['5m', 300_000],
    ['15m', 900_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['3h', 10_800_000],
    ['4h', 14_400_000],
    ['1d', 86_400_000],
  ]);
  expect(rows.find((w) => w.label === '30s')).toEqual({
    label: '30s',
    amount: 30,
    unit: 'second',
    durationMs: 30_000,
    createdAt: expect.any(Date),
  });
});

it('upsertWindow derives amount, unit and duration from a label alone', async () => {
  const got = await Promise.all(['15m', '4h', '1d', '30s'].map((label) => upsertWindow(db.sql, { label })));
  expect(got.map(({ createdAt: _, ...w }) => w)).toEqual([
    { label: '15m', amount: 15, unit: 'minute', durationMs: 900_000 },
    { label: '4h', amount: 4, unit: 'hour', durationMs: 14_400_000 },
    { label: '1d', amount: 1, unit: 'day', durationMs: 86_400_000 },
    { label: '30s', amount: 30, unit: 'second', durationMs: 30_000 },
  ]);
});

it('upsertWindow takes any label with amount and unit (through the client)', async () => {
  expect(await db.client.settings.upsertWindow({ label: 'two-hours', amount: 2, unit: 'hour' })).toEqual({
    label: 'two-hours',
    amount: 2,
    unit: 'hour',
    durationMs: 7_200_000,
    createdAt: expect.any(Date),
  });
  expect((await listWindows(db.sql)).find((w) => w.label === 'two-hours')?.durationMs).toBe(7_200_000);
});

it('createdAt is the instant the row was stored, read exactly', async () => {
  await upsertWindow(db.sql, { label: '7m' });
  await db.sql`update settings.windows set created_at = '1850-03-01T12:34:56.789Z' where label = '7m'`;
  const w = (await listWindows(db.sql)).find((x) => x.label === '7m');
  expect(w?.createdAt.toISOString()).toBe('1850-03-01T12:34:56.789Z');
});

it("refuses '7x', an amount of 0 and an unknown unit before sending, and writes nothing", async () => {
  const before = await windows();
  const bad = (await refusal(upsertWindow(db.sql, { label: '7x' }))) as ValidationError;
  expect(bad).toBeInstanceOf(ValidationError);
  expect(bad.issues).toEqual([
    { path: ['label'], message: 'a label alone must spell its span, such as 30s, 15m, 4h or 1d' },
  ]);
  const zero = (await refusal(
    upsertWindow(db.sql, { label: 'none', amount: 0, unit: 'hour' }),
  )) as ValidationError;
  expect(zero).toBeInstanceOf(ValidationError);
  expect(zero.issues).toEqual([{ path: ['amount'], message: 'must be at least 1' }]);
  expect(zero.sqlstate).toBeUndefined(); // refused by zod: nothing was sent
  const week = (await refusal(
    upsertWindow(db.sql, { label: 'week', amount: 1, unit: 'week' as 'day' }),
  )) as ValidationError;
  expect(week.issues).toEqual([{ path: ['unit'], message: 'expected second, minute, hour or day' }]);
  const name = (await refusal(
    upsertWindow(db.sql, { label: '-x', amount: 1, unit: 'day' }),
  )) as ValidationError;
  expect(name.issues).toEqual([
    {
      path: ['label'],
      message:
        'expected a window label such as 15m (a letter or digit, then up to 31 letters, digits, _ or -)',
    },
  ]);
  expect(await windows()).toEqual(before);
});

it('a label with NUL or a lone surrogate is refused as text, before the format', async () => {
  const before = await windows();
  for (const label of ['1m\u0000', '1\uD800m']) {
    const e = (await refusal(upsertWindow(db.sql, { label, amount: 1, unit: 'minute' }))) as ValidationError;
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.issues[0]?.path).toEqual(['label']);
    expect(e.issues[0]?.message).toMatch(/^must not contain (NUL|a lone surrogate)/);
  }
  expect(await windows()).toEqual(before);
});

it('sp_upsert_window refuses them too when the SDK is bypassed, without quoting the value', async () => {
  await expect(db.sql`select settings.sp_upsert_window('7x')`).rejects.toMatchObject({
    code: '22023',
    message: 'a window needs an amount and a unit, or a label that spells its span (such as 15m)',
    detail: "label '7x'",
  });
  await expect(db.sql`select settings.sp_upsert_window('none', 0, 'hour')`).rejects.toMatchObject({
    code: '22023',
    message: 'a window needs a positive amount',
  });
  await expect(db.sql`select settings.sp_upsert_window('none', 2, 'week')`).rejects.toMatchObject({
    code: '22023',
    message: 'a window unit is second, minute, hour or day',
  });
  await expect(db.sql`select settings.sp_upsert_window('-x', 2, 'hour')`).rejects.toMatchObject({
    code: '22023',
    message: 'a window label is a letter or digit, then up to 31 letters, digits, _ or - (such as 15m)',
  });
  await expect(
    db.sql`insert into settings.windows (label, amount, unit) values ('z', 0, 'hour')`,
  ).rejects.toMatchObject({ code: '23514' });
});

it('a label that spells a span cannot name another, and a window past 2^53 - 1 ms is refused', async () => {
  const before = await windows();
  const other = (await refusal(
    upsertWindow(db.sql, { label: '15m', amount: 2, unit: 'hour' }),
  )) as ValidationError;
  expect(other).toBeInstanceOf(ValidationError);
  expect(other.issues).toEqual([
    { path: ['label'], message: 'a label that spells a span (such as 15m) cannot name another span' },
  ]);
  const long = (await refusal(upsertWindow(db.sql, { label: '999999999d' }))) as ValidationError;
  expect(long.issues).toEqual([
    { path: ['amount'], message: 'a window is at most 2^53 - 1 milliseconds long' },
  ]);
  const longNamed = (await refusal(
    upsertWindow(db.sql, { label: 'forever', amount: 2_000_000_000, unit: 'day' }),
  )) as ValidationError;
  expect(longNamed.issues).toEqual([
    { path: ['amount'], message: 'a window is at most 2^53 - 1 milliseconds long' },
  ]);
  expect(await windows()).toEqual(before);
  // the same span spelled and given is fine
  expect(await upsertWindow(db.sql, { label: '15m', amount: 15, unit: 'minute' })).toMatchObject({
    label: '15m',
    durationMs: 900_000,
  });
});

it('sp_upsert_window and the table refuse them too, so listWindows can always read the table', async () => {
  const before = await listWindows(db.sql);
  await expect(db.sql`select settings.sp_upsert_window('15m', 2, 'hour')`).rejects.toMatchObject({
    code: '22023',
    message: 'a window label that spells a span (such as 15m) cannot name another span',
    detail: "label '15m', amount 2, unit hour",
  });
  await expect(db.sql`select settings.sp_upsert_window('999999999d')`).rejects.toMatchObject({
    code: '22023',
    message: 'a window is at most 2^53 - 1 milliseconds long',
  });
  await expect(
    db.sql`insert into settings.windows (label, amount, unit) values ('forever', 2000000000, 'day')`,
  ).rejects.toMatchObject({ code: '23514', constraint_name: 'windows_duration_ms_safe' });
  expect(await listWindows(db.sql)).toEqual(before);
});

it('a span already held by another label is a ConflictError naming the constraint', async () => {
  await upsertWindow(db.sql, { label: '1h' });
  const before = await windows();
  const e = await refusal(upsertWindow(db.sql, { label: 'hour', amount: 1, unit: 'hour' }));
  expect(e).toBeInstanceOf(ConflictError);
  expect(e).toMatchObject({
    sqlstate: '23505',
    constraint: 'windows_amount_unit_key',
    columns: ['amount', 'unit'],
  });
  expect(await windows()).toEqual(before);
});

it('the unit accepts a literal typed as the exported input, no `as const` needed', async () => {
  const input: UpsertWindowInput = { label: 'six-hours', amount: 6, unit: 'hour' };
  expect((await upsertWindow(db.sql, input)).durationMs).toBe(21_600_000);
});

it('listWindows reads only the labels asked for, in one call; unknown labels are absent', async () => {
  await upsertWindow(db.sql, { label: '2d' });
  expect(
    (await db.client.settings.listWindows({ labels: ['2d', '1m', 'nope'] })).map((w) => [
      w.label,
      w.durationMs,
    ]),
  ).toEqual([
    ['1m', 60_000],
    ['2d', 172_800_000],
  ]);
  expect(await listWindows(db.sql, { labels: [] })).toEqual([]);
  const bad = (await refusal(listWindows(db.sql, { labels: ['1m\u0000'] }))) as ValidationError;
  expect(bad.issues).toEqual([
    { path: ['labels', 0], message: 'must not contain NUL (U+0000)' },
    {
      path: ['labels', 0],
      message:
        'expected a window label such as 15m (a letter or digit, then up to 31 letters, digits, _ or -)',
    },
  ]);
});

it('an input that is not an object, or has a key the input does not know, is refused naming the rule', async () => {
  const before = await windows();
  const none = (await refusal(upsertWindow(db.sql, null as never))) as ValidationError;
  expect(none.issues).toEqual([{ path: [], message: 'expected an object' }]);
  const extra = (await refusal(
    upsertWindow(db.sql, { label: '1m', lable: '1m' } as never),
  )) as ValidationError;
  expect(extra.issues).toEqual([{ path: [], message: 'unknown key: lable' }]);
  expect(await windows()).toEqual(before);
});
