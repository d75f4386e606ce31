/**
 * The ingest module: exchange payloads captured exactly as received, cursors that only move
 * forward, load logs, and the promotion of captured klines into `market.klines`. Built by
 * `ddl/16_ingest.sql`.
 */
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseMaybe, parseOne, parseRows, run } from '../core/run.js';
import {
  CaptureKlinesInput,
  CaptureKlinesResult,
  CaptureTradesInput,
  CaptureTradesResult,
  CursorInput,
  CursorRow,
  FinishLoadInput,
  type KlinePayload,
  KlineRawRow,
  ListCursorsFilter,
  ListKlinesRawInput,
  ListTradesRawInput,
  LoadLogRow,
  LoadLogsFilter,
  PromoteKlinesInput,
  PromoteKlinesResult,
  StartLoadInput,
  type TradePayload,
  TradeRawRow,
} from './schemas.js';

export * from './schemas.js';

const cursorColumns = (sql: Queryable) => sql`
  source, stream, symbol, nullif(interval, '') as interval, last_time as "lastTime", last_id as "lastId",
  created_at as "createdAt", updated_at as "updatedAt"
`;

const loadColumns = (sql: Queryable) => sql`
  id, source, stream, symbol, started_at as "startedAt", finished_at as "finishedAt",
  rows_seen as "rowsSeen", rows_inserted as "rowsInserted", status, error
`;

/**
 * Stores a batch of Binance klines of one symbol and interval exactly as received, and moves the
 * stream's cursor to the latest open time, in one statement (both or neither).
 *
 * Wraps `ingest.sp_capture_klines`. Payloads are REST kline arrays or websocket kline events,
 * mixed freely; the whole batch is validated first; an empty batch (nothing new from the exchange)
 * stores nothing and returns the cursor as it is. A kline already stored with the same payload
 * is not stored again; a changed one replaces it (a final kline is never replaced by a non-final
 * one); within a batch the last payload of an open time wins. The cursor never moves back.
 * @example
 * ```ts
 * const rest = await fetch('https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=1m').then((r) => r.json());
 * const r = await db.ingest.captureKlines('binance', 'BTCUSDT', '1m', rest);
 * // { seen: 500, inserted: 500, updated: 0, lastTime: Date }
 * ```
 * @throws ValidationError when an argument or any payload is malformed, of another symbol or
 * interval, or breaks the OHLC rules (nothing is written)
 */
export async function captureKlines(
  sql: Queryable,
  source: string,
  symbol: string,
  interval: string,
  payloads: readonly (KlinePayload | unknown[])[],
): Promise<CaptureKlinesResult> {
  const op = 'ingest.captureKlines';
  const input = parseInput(op, CaptureKlinesInput, { source, symbol, interval, payloads });
  // the payloads as given (not zod's copy, which may drop fields), exactly as received
  const rows = await run(
    op,
    sql`
      select seen, inserted, updated, last_time as "lastTime"
      from ingest.sp_capture_klines(${input.source}, ${input.symbol}, ${input.interval}, ${JSON.stringify(payloads)}::text::jsonb)
    `,
  );
  return parseOne('ingest.sp_capture_klines', CaptureKlinesResult, rows);
}

/**
 * Stores a batch of Binance trades of one symbol exactly as received, and moves the stream's
 * cursor (stream `trades`) to the greatest trade id and time, in one statement (both or neither).
 *
 * Wraps `ingest.sp_capture_trades`. Payloads are REST trades or websocket trade events; a trade
 * id already stored is never stored again; an empty batch stores nothing. The cursor never moves back.
 * @example
 * ```ts
 * await db.ingest.captureTrades('binance', 'BTCUSDT', [
 *   { e: 'trade', E: 1672515782136, s: 'BTCUSDT', t: 12345, p: '16500.01', q: '0.5', T: 1672515782136, m: true, M: true },
 * ]); // { seen: 1, inserted: 1, lastId: 12345, lastTime: Date }
 * ```
 * @throws ValidationError when an argument or any payload is malformed or of another symbol (nothing is written)
 */
export async function captureTrades(
  sql: Queryable,
  source: string,
  symbol: string,
  payloads: readonly (TradePayload | Record<string, unknown>)[],
): Promise<CaptureTradesResult> {
  const op = 'ingest.captureTrades';
  const input = parseInput(op, CaptureTradesInput, { source, symbol, payloads });
  const rows = await run(
    op,
    sql`
      select seen, inserted, last_id as "lastId", last_time as "lastTime"
      from ingest.sp_capture_trades(${input.source}, ${input.symbol}, ${JSON.stringify(payloads)}::text::jsonb)
    `,
  );
  return parseOne('ingest.sp_capture_trades', CaptureTradesResult, rows);
}

/**
 * The cursor of one stream, or `null` when it has none: where a sampler resumes.
 *
 * Reads `ingest.cursors`. Captures write `klines` cursors (per interval) and `trades` cursors (no
 * interval); enabling a universe symbol seeds the cursors listed in `ingest.cursor_seeds`.
 * @example
 * ```ts
 * const c = await db.ingest.cursor('binance', 'klines', 'BTCUSDT', '1m'); // c?.lastTime: the latest open time captured
 * ```
 * @throws ValidationError when an argument is malformed (nothing is sent)
 */
export async function cursor(
  sql: Queryable,
  source: string,
  stream: string,
  symbol: string,
  interval?: string,
): Promise<CursorRow | null> {
  const op = 'ingest.cursor';
  const c = parseInput(
    op,
    CursorInput,
    interval === undefined ? { source, stream, symbol } : { source, stream, symbol, interval },
  );
  const rows = await run(
    op,
    sql`
      select ${cursorColumns(sql)} from ingest.cursors
      where source = ${c.source} and stream = ${c.stream} and symbol = ${c.symbol} and interval = ${c.interval ?? ''}
    `,
  );
  return parseMaybe('ingest.cursors', CursorRow, rows);
}

/**
 * The cursors matching the filter, by source, stream, symbol and interval.
 *
 * Reads `ingest.cursors`.
 * @example
 * ```ts
 * const all = await db.ingest.listCursors({ symbol: 'ETHUSDT' });
 * ```
 * @throws ValidationError when the filter is malformed (nothing is sent)
 */
export async function listCursors(sql: Queryable, filter: ListCursorsFilter = {}): Promise<CursorRow[]> {
  const op = 'ingest.listCursors';
  const f = parseInput(op, ListCursorsFilter, filter);
  const rows = await run(
    op,
    sql`
      select ${cursorColumns(sql)} from ingest.cursors
      where (${f.source ?? null}::text is null or source = ${f.source ?? null})
        and (${f.stream ?? null}::text is null or stream = ${f.stream ?? null})
        and (${f.symbol ?? null}::text is null or symbol = ${f.symbol ?? null})
      order by source, stream, symbol, interval
    `,
  );
  return parseRows('ingest.cursors', CursorRow, rows);
}

/**
 * Opens a load log (status `running`) and returns it.
 *
 * Wraps `ingest.sp_start_load`. Close it with `finishLoad`, or use `runLoad` which does both.
 * @example
 * ```ts
 * const load = await db.ingest.startLoad({ source: 'binance', stream: 'klines', symbol: 'BTCUSDT' });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function startLoad(sql: Queryable, input: StartLoadInput): Promise<LoadLogRow> {
  const op = 'ingest.startLoad';
  const s = parseInput(op, StartLoadInput, input);
  const rows = await run(
    op,
    sql`select ${loadColumns(sql)} from ingest.sp_start_load(${s.source}, ${s.stream}, ${s.symbol ?? null})`,
  );
  return parseOne('ingest.sp_start_load', LoadLogRow, rows);
}

/**
 * Closes a running load as `ok` or `failed` (with its error text, cut to 4 000 characters) and
 * returns it.
 *
 * Wraps `ingest.sp_finish_load`.
 * @example
 * ```ts
 * await db.ingest.finishLoad({ id: load.id, status: 'ok', rowsSeen: 500, rowsInserted: 12 });
 * ```
 * @throws ValidationError when the input is malformed or the load is already finished
 * @throws NotFoundError when there is no such load
 */
export async function finishLoad(sql: Queryable, input: FinishLoadInput): Promise<LoadLogRow> {
  const op = 'ingest.finishLoad';
  const f = parseInput(op, FinishLoadInput, input);
  const rows = await run(
    op,
    sql`
      select ${loadColumns(sql)}
      from ingest.sp_finish_load(${f.id}, ${f.status}, ${f.rowsSeen ?? 0}, ${f.rowsInserted ?? 0}, ${f.error ?? null})
    `,
  );
  return parseOne('ingest.sp_finish_load', LoadLogRow, rows);
}

/** What `runLoad` hands its callback: the open load, and a way to count the rows it handles. */
export interface LoadContext {
  /** The load log as opened. */
  readonly load: LoadLogRow;
  /** Adds to the load's counts; a capture result (`{ seen, inserted }`) can be passed as it is. */
  add(counts: { seen?: number; inserted?: number }): void;
}

/**
 * Runs `fn` as a logged load: opens a load log, runs the callback, and closes the log as `ok`
 * with the counts the callback added, or as `failed` with the error's text, then rethrows the
 * error. Returns what the callback returns.
 *
 * Wraps `ingest.sp_start_load` and `ingest.sp_finish_load`. Run it on a pool (not inside a
 * transaction that the failure would abort): the log is written whatever the callback does. When
 * the failed log cannot be written (e.g. the callback aborted the transaction `sql` is), the error
 * is an `AggregateError` of the callback's error and the log's.
 * @example
 * ```ts
 * await db.ingest.runLoad({ source: 'binance', stream: 'klines', symbol: 'BTCUSDT' }, async (ctx) => {
 *   ctx.add(await db.ingest.captureKlines('binance', 'BTCUSDT', '1m', payloads));
 * });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent, the callback does not run)
 * @throws whatever the callback throws, after the load is logged as failed; an `AggregateError`
 * of both errors when that log cannot be written
 */
export async function runLoad<T>(
  sql: Queryable,
  input: StartLoadInput,
  fn: (ctx: LoadContext) => Promise<T>,
): Promise<T> {
  const load = await startLoad(sql, input);
  let seen = 0;
  let inserted = 0;
  const ctx: LoadContext = {
    load,
    add: (counts) => {
      seen += counts.seen ?? 0;
      inserted += counts.inserted ?? 0;
    },
  };
  let result: T;
  try {
    result = await fn(ctx);
  } catch (e) {
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    try {
      await finishLoad(sql, {
        id: load.id,
        status: 'failed',
        rowsSeen: seen,
        rowsInserted: inserted,
        error: text,
      });
    } catch (logError) {
      // neither is lost: the callback's error first, then why the log could not be closed
      throw new AggregateError(
        [e, logError],
        `ingest.runLoad: the load failed (${text.slice(0, 200)}) and its log could not be closed`,
      );
    }
    throw e;
  }
  await finishLoad(sql, { id: load.id, status: 'ok', rowsSeen: seen, rowsInserted: inserted });
  return result;
}

/**
 * The load logs matching the filter, newest first.
 *
 * Reads `ingest.load_logs`.
 * @example
 * ```ts
 * const failures = await db.ingest.loadLogs({ status: 'failed', limit: 20 });
 * ```
 * @throws ValidationError when the filter is malformed (nothing is sent)
 */
export async function loadLogs(sql: Queryable, filter: LoadLogsFilter = {}): Promise<LoadLogRow[]> {
  const op = 'ingest.loadLogs';
  const f = parseInput(op, LoadLogsFilter, filter);
  const rows = await run(
    op,
    sql`
      select ${loadColumns(sql)} from ingest.load_logs
      where (${f.source ?? null}::text is null or source = ${f.source ?? null})
        and (${f.stream ?? null}::text is null or stream = ${f.stream ?? null})
        and (${f.symbol ?? null}::text is null or symbol = ${f.symbol ?? null})
        and (${f.status ?? null}::text is null or status = ${f.status ?? null})
      order by started_at desc, id desc
      limit ${f.limit ?? 100}
    `,
  );
  return parseRows('ingest.load_logs', LoadLogRow, rows);
}

/**
 * Promotes captured klines of one stream into `market.klines` with the same values, normalized
 * (prices as double precision, volumes as exact numeric, times as timestamptz), in one statement.
 * The symbol (and its assets) and the window are created when missing; an unchanged candle is not
 * rewritten. Returns the candles inserted or changed.
 *
 * Wraps `ingest.sp_promote_klines`.
 * @example
 * ```ts
 * await db.ingest.promoteKlines({ source: 'binance', symbol: 'BTCUSDT', interval: '1m' }); // { promoted: 500 }
 * ```
 * @throws ValidationError when the input is malformed, or the interval is not a window
 * `settings.windows` can hold (e.g. `1w`, `1M` must be created there first)
 */
export async function promoteKlines(sql: Queryable, input: PromoteKlinesInput): Promise<PromoteKlinesResult> {
  const op = 'ingest.promoteKlines';
  const p = parseInput(op, PromoteKlinesInput, input);
  const rows = await run(
    op,
    sql`
      select ingest.sp_promote_klines(${p.source}, ${p.symbol}, ${p.interval}, ${p.from ?? null}, ${p.to ?? null})
        as promoted
    `,
  );
  return parseOne('ingest.sp_promote_klines', PromoteKlinesResult, rows);
}

/**
 * The captured klines of one stream (optionally within [from, to] by open time), oldest first,
 * with their payloads exactly as stored.
 *
 * Reads `ingest.klines_raw`.
 * @example
 * ```ts
 * const raw = await db.ingest.listKlinesRaw({ source: 'binance', symbol: 'BTCUSDT', interval: '1m', limit: 10 });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function listKlinesRaw(sql: Queryable, input: ListKlinesRawInput): Promise<KlineRawRow[]> {
  const op = 'ingest.listKlinesRaw';
  const q = parseInput(op, ListKlinesRawInput, input);
  const rows = await run(
    op,
    sql`
      select source, symbol, interval, open_time as "openTime", payload, closed, received_at as "receivedAt"
      from ingest.klines_raw
      where source = ${q.source} and symbol = ${q.symbol} and interval = ${q.interval}
        and (${q.from ?? null}::timestamptz is null or open_time >= ${q.from ?? null})
        and (${q.to ?? null}::timestamptz is null or open_time <= ${q.to ?? null})
      order by open_time
      limit ${q.limit ?? 1000}
    `,
  );
  return parseRows('ingest.klines_raw', KlineRawRow, rows);
}

/**
 * The captured trades of one stream from a trade id on, by trade id, with their payloads exactly as stored.
 *
 * Reads `ingest.trades_raw`.
 * @example
 * ```ts
 * const raw = await db.ingest.listTradesRaw({ source: 'binance', symbol: 'BTCUSDT', fromId: 12000 });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function listTradesRaw(sql: Queryable, input: ListTradesRawInput): Promise<TradeRawRow[]> {
  const op = 'ingest.listTradesRaw';
  const q = parseInput(op, ListTradesRawInput, input);
  const rows = await run(
    op,
    sql`
      select source, symbol, trade_id as "tradeId", trade_time as "tradeTime", payload, received_at as "receivedAt"
      from ingest.trades_raw
      where source = ${q.source} and symbol = ${q.symbol} and trade_id >= ${q.fromId ?? 0}
      order by trade_id
      limit ${q.limit ?? 1000}
    `,
  );
  return parseRows('ingest.trades_raw', TradeRawRow, rows);
}
