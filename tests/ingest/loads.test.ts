import { afterAll, beforeAll, expect, it } from 'vitest';
import { CryptopiError, NotFoundError, ValidationError } from '../../src/core/errors.js';
import { captureKlines, finishLoad, loadLogs, runLoad, startLoad } from '../../src/ingest/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { caught, rest } from './fixtures.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const failedLog = (symbol: string, error: string, rowsSeen = 0) => ({
  id: expect.any(Number),
  source: 'binance',
  stream: 'klines',
  symbol,
  startedAt: expect.any(Date),
  finishedAt: expect.any(Date),
  rowsSeen,
  rowsInserted: 0,
  status: 'failed',
  error,
});

it('runLoad records ok with the counts its callback added', async () => {
  const capture = (payloads: ReturnType<typeof rest>[]) =>
    captureKlines(db.sql, { source: 'binance', symbol: 'DOTUSDT', window: '1m', payloads });
  const out = await db.client.ingest.runLoad(
    { source: 'binance', stream: 'klines', symbol: 'DOTUSDT' },
    async (ctx) => {
      ctx.add(await capture([rest(0), rest(1)]));
      ctx.add(await capture([rest(1), rest(2)]));
      return 'done' as const;
    },
  );
  const typed: 'done' = out; // the client keeps runLoad's type parameter
  expect(typed).toBe('done');
  const [log] = await loadLogs(db.sql, { symbol: 'DOTUSDT', stream: 'klines' });
  expect(log).toEqual({
    id: expect.any(Number),
    source: 'binance',
    stream: 'klines',
    symbol: 'DOTUSDT',
    startedAt: expect.any(Date),
    finishedAt: expect.any(Date),
    rowsSeen: 4,
    rowsInserted: 3,
    status: 'ok',
    error: null,
  });
  expect(log!.finishedAt!.getTime()).toBeGreaterThanOrEqual(log!.startedAt.getTime());
});

it('runLoad records failed with the error text and rethrows the error', async () => {
  const boom = new Error('exchange timed out after 3 retries');
  const error = await caught(
    runLoad(db.sql, { source: 'binance', stream: 'trades', symbol: 'FAILUSDT' }, async (ctx) => {
      ctx.add({ seen: 7 });
      throw boom;
    }),
  );
  expect(error).toBe(boom);
  expect(await loadLogs(db.sql, { symbol: 'FAILUSDT', stream: 'trades' })).toEqual([
    { ...failedLog('FAILUSDT', 'Error: exchange timed out after 3 retries', 7), stream: 'trades' },
  ]);
  expect((await loadLogs(db.sql, { status: 'failed', symbol: 'FAILUSDT' })).map((l) => l.stream)).toEqual([
    'trades',
  ]);
});

it('runLoad writes the failed status whatever the error text: NUL, lone surrogates, 1 000 000 characters, no text at all', async () => {
  const throwing = {
    toString() {
      throw new Error('no text');
    },
  };
  const cases: [string, unknown, string][] = [
    ['NULAUSDT', new Error('bad\u0000byte'), 'Error: bad\uFFFDbyte'],
    [
      'SURRUSDT',
      new TypeError('half \uD83D of an emoji, and \uDE00 alone; 😀 whole'),
      'TypeError: half \uFFFD of an emoji, and \uFFFD alone; 😀 whole',
    ],
    ['HUGEUSDT', new Error('x'.repeat(1_000_000)), `Error: ${'x'.repeat(4000 - 7)}`],
    // 4 000 characters of emoji are 8 000 UTF-16 units: cut between characters, never inside one
    ['EMOJUSDT', `${'😀'.repeat(5000)}`, '😀'.repeat(4000)],
    ['NONEUSDT', throwing, 'a value that cannot be shown as text'],
    ['NULLUSDT', Object.create(null), 'a value that cannot be shown as text'],
  ];
  for (const [symbol, thrown, stored] of cases) {
    const error = await caught(
      runLoad(db.sql, { source: 'binance', stream: 'klines', symbol }, async () => {
        throw thrown;
      }),
    );
    expect(error).toBe(thrown); // the callback's own error, rethrown as it is
    expect([symbol, await loadLogs(db.sql, { symbol })]).toEqual([symbol, [failedLog(symbol, stored)]]);
  }
  expect(await loadLogs(db.sql, { status: 'running' })).toEqual([]);
});

it('runLoad refuses a bad count from its callback, and logs the load as failed with the counts so far', async () => {
  const error = await caught(
    runLoad(db.sql, { source: 'binance', stream: 'klines', symbol: 'CNTUSDT' }, async (ctx) => {
      ctx.add({ seen: 2, inserted: 1 });
      ctx.add({ seen: -1 });
    }),
  );
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).issues).toEqual([
    { path: ['seen'], message: 'must be a whole number ≥ 0' },
  ]);
  expect(await loadLogs(db.sql, { symbol: 'CNTUSDT' })).toEqual([
    {
      ...failedLog(
        'CNTUSDT',
        'ValidationError: ingest.runLoad: invalid input: seen: must be a whole number ≥ 0',
        2,
      ),
      rowsInserted: 1,
    },
  ]);
});

it('runLoad loses neither error when the failed log cannot be written (an aborted transaction)', async () => {
  const error = await caught(
    db.sql.begin((tx) =>
      runLoad(tx, { source: 'binance', stream: 'klines', symbol: 'UNIUSDT' }, async () => {
        await tx`select 1 / 0`;
      }),
    ),
  );
  expect(error).toBeInstanceOf(CryptopiError);
  expect(error).toMatchObject({
    code: 'load_not_logged',
    message: 'ingest.runLoad: the load failed and its log could not be closed',
  });
  const cause = (error as Error).cause;
  expect(cause).toBeInstanceOf(AggregateError);
  const [first, second] = (cause as AggregateError).errors;
  expect(first).toMatchObject({ code: '22012' }); // the callback's division by zero
  expect(second).toBeInstanceOf(CryptopiError); // the log, in the aborted transaction
  expect((second as CryptopiError).cause).toMatchObject({ code: '25P02' });
  expect(await loadLogs(db.sql, { symbol: 'UNIUSDT' })).toEqual([]); // rolled back with it
});

it('a load finishes once; an unknown load is a NotFoundError carrying its key', async () => {
  const load = await startLoad(db.sql, { source: 'binance', stream: 'klines' });
  expect(load).toMatchObject({ status: 'running', finishedAt: null, symbol: null, rowsSeen: 0 });
  expect(await finishLoad(db.sql, { id: load.id, status: 'ok', rowsSeen: 1, rowsInserted: 1 })).toMatchObject(
    {
      status: 'ok',
      rowsSeen: 1,
    },
  );
  const again = await caught(finishLoad(db.sql, { id: load.id, status: 'failed', error: 'late' }));
  expect(again).toBeInstanceOf(ValidationError);
  expect((again as ValidationError).issues).toEqual([{ path: [], message: 'the load is already finished' }]);
  const missing = await caught(db.client.ingest.finishLoad({ id: 987654, status: 'ok' }));
  expect(missing).toBeInstanceOf(NotFoundError);
  expect(missing).toMatchObject({
    entity: 'ingest.load_log',
    key: { id: 987654 },
    message: 'ingest.finishLoad: ingest.load_log not found (by id)',
  });
  const bad = await caught(finishLoad(db.sql, { id: load.id, status: 'ok', error: 'no' }));
  expect((bad as ValidationError).issues).toEqual([
    { path: ['error'], message: 'only a failed load has an error' },
  ]);
  const nul = await caught(finishLoad(db.sql, { id: load.id, status: 'failed', error: 'a\u0000b' }));
  expect((nul as ValidationError).issues).toEqual([
    { path: ['error'], message: 'must not contain NUL (U+0000)' },
  ]);
});

it('sp_start_load and sp_finish_load refuse bad values without quoting them', async () => {
  await expect(db.sql`select ingest.sp_start_load('binance', 'Bad Stream')`).rejects.toMatchObject({
    code: '22023',
    message: 'stream is not a lower-case name such as klines',
  });
  const [load] = await db.sql`select (ingest.sp_start_load('binance', 'klines')).id`;
  await expect(db.sql`select ingest.sp_finish_load(${load!.id}, 'maybe')`).rejects.toMatchObject({
    code: '22023',
    message: 'a load finishes as ok or failed',
  });
});
