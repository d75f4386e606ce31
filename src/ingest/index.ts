/**
 * The ingest module: exchange payloads captured exactly as received, cursors that only move
 * forward, load logs, and the promotion of captured klines into `market.klines`. Built by
 * `ddl/16_ingest.sql`. Every function takes a `Queryable` first and one object input.
 * @module
 */
import { CryptopiError, ValidationError } from '../core/errors.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseMaybe, parseOne, parseRows, run } from '../core/run.js';
import { pgArray } from '../core/arrays.js';
import { loadErrorText } from './loads.js';
import {
  CaptureKlinesInput,
  CaptureKlinesResult,
  CaptureTradesInput,
  CaptureTradesResult,
  CursorInput,
  CursorRow,
  FinishLoadInput,
  KlineRawRow,
  ListCursorsFilter,
  ListKlinesRawInput,
  ListTradesRawInput,
  LoadLogRow,
  LoadLogsFilter,
  PromoteKlinesInput,
  PromoteKlinesResult,
  StartLoadInput,
  TradeRawRow,
} from './schemas.js';

export * from './schemas.js';

const cursorColumns = (sql: Queryable) => sql`
  source, stream, symbol, nullif(window_label, '') as "window", util.epoch_ms(last_time) as "lastTime",
  last_id as "lastId", util.epoch_ms(created_at) as "createdAt", util.epoch_ms(updated_at) as "updatedAt"
`;

const loadColumns = (sql: Queryable) => sql`
  id, source, stream, symbol, util.epoch_ms(started_at) as "startedAt", util.epoch_ms(finished_at) as "finishedAt",
  rows_seen as "rowsSeen", rows_inserted as "rowsInserted", status, error
`;

/**
 * Stores a batch of Binance klines of one stream (`source`, `symbol`, `window`) exactly as received,
 * and moves the stream's cursor to the latest open time, in one statement (both or neither).
 *
 * Wraps `ingest.sp_capture_klines`. One object: the stream and its batch (a REST kline names neither
 * its symbol nor its window, so they travel with the payloads). Payloads are REST klines or
 * websocket kline events, mixed freely; the whole batch is validated first (a kline must open where
 * a kline of the window opens and close 1 ms before the next one: a 1-week candle captured as `1m`
 * is refused); an empty batch (nothing new from the exchange) stores nothing and returns the cursor
 * as it is. A kline already stored with the same payload is not stored again; a changed one replaces
 * it (a final kline is never replaced by a non-final one); within a batch the last payload of an open
 * time wins. The cursor never moves back. Payloads are stored as given (never rebuilt): every key,
 * `"__proto__"` included, comes back from `listKlinesRaw`.
 * @example
 * ```ts
 * const payloads = JSON.parse(await readFile('examples/data/binance-klines-BTCUSDT-1m.json', 'utf8')) as RestKline[];
 * const r = await db.ingest.captureKlines({ source: 'binance', symbol: 'BTCUSDT', window: '1m', payloads });
 * // { seen: 3, inserted: 3, updated: 0, lastTime: Date }
 * ```
 * @throws ValidationError when the input or any payload is malformed, of another symbol or window,
 * off the window's times, or breaks the OHLC rules (every issue, path `['payloads', i, …]`; nothing is
 * written; no value is quoted in a message)
 */
export async function captureKlines(sql: Queryable, input: CaptureKlinesInput): Promise<CaptureKlinesResult> {
  const op = 'ingest.captureKlines';
  const c = parseInput(op, CaptureKlinesInput, input);
  // the payloads as given (zod's copy may differ), exactly as received: JSON-checked, so stringify is exact
  const rows = await run(
    op,
    sql`
      select seen, inserted, updated, util.epoch_ms(last_time) as "lastTime"
      from ingest.sp_capture_klines(${c.source}, ${c.symbol}, ${c.window}, ${JSON.stringify(c.payloads)}::text::jsonb)
    `,
  );
  return parseOne('ingest.sp_capture_klines', CaptureKlinesResult, rows);
}

/**
 * Stores a batch of Binance trades of one stream (`source`, `symbol`) exactly as received, and moves
 * the stream's cursor (stream `trades`) to the greatest trade id and time, in one statement (both or
 * neither).
 *
 * Wraps `ingest.sp_capture_trades`. Payloads are REST trades or websocket trade events; a trade
 * id already stored is never stored again; an empty batch stores nothing. The cursor never moves back.
 * @example
 * ```ts
 * await db.ingest.captureTrades({ source: 'binance', symbol: 'BTCUSDT', payloads: [
 *   { e: 'trade', E: 1672515782136, s: 'BTCUSDT', t: 12345, p: '16500.01', q: '0.5', T: 1672515782136, m: true, M: true },
 * ] }); // { seen: 1, inserted: 1, lastId: 12345, lastTime: Date }
 * ```
 * @throws ValidationError when the input or any payload is malformed or of another symbol (nothing is written)
 */
export async function captureTrades(sql: Queryable, input: CaptureTradesInput): Promise<CaptureTradesResult> {
  const op = 'ingest.captureTrades';
  const c = parseInput(op, CaptureTradesInput, input);
  const rows = await run(
    op,
    sql`
      select seen, inserted, last_id as "lastId", util.epoch_ms(last_time) as "lastTime"
      from ingest.sp_capture_trades(${c.source}, ${c.symbol}, ${JSON.stringify(c.payloads)}::text::jsonb)
    `,
  );
  return parseOne('ingest.sp_capture_trades', CaptureTradesResult, rows);
}

/**
 * The cursor of one stream, or `null` when it has none: where a sampler resumes.
 *
 * Reads `ingest.cursors`. Captures write `klines` cursors (per window) and `trades` cursors (no
 * window); enabling a universe symbol seeds the cursors listed in `ingest.cursor_seeds`. To read
 * many streams' cursors in one call, use `listCursors({ symbols })`.
 * @example
 * ```ts
 * const c = await db.ingest.cursor({ source: 'binance', stream: 'klines', symbol: 'BTCUSDT', window: '1m' });
 * // c?.lastTime: the latest open time captured
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function cursor(sql: Queryable, input: CursorInput): Promise<CursorRow | null> {
  const op = 'ingest.cursor';
  const c = parseInput(op, CursorInput, input);
  const rows = await run(
    op,
    sql`
      select ${cursorColumns(sql)} from ingest.cursors
      where source = ${c.source} and stream = ${c.stream} and symbol = ${c.symbol}
        and window_label = ${c.window ?? ''}
    `,
  );
  return parseMaybe('ingest.cursors', CursorRow, rows);
}

/**
 * The cursors matching the filter (one symbol, or many with `symbols`), by source, stream, symbol
 * and window.
 *
 * Reads `ingest.cursors`.
 * @example
 * ```ts
 * const all = await db.ingest.listCursors({ stream: 'klines', window: '1m', symbols: ['BTCUSDT', 'ETHUSDT'] });
 * ```
 * @throws ValidationError when the filter is malformed (nothing is sent)
 */
export async function listCursors(sql: Queryable, filter: ListCursorsFilter = {}): Promise<CursorRow[]> {
  const op = 'ingest.listCursors';
  const f = parseInput(op, ListCursorsFilter, filter);
  const list = f.symbols ?? (f.symbol === undefined ? undefined : [f.symbol]);
  const symbols = list === undefined ? null : pgArray(list);
  const rows = await run(
    op,
    sql`
      select ${cursorColumns(sql)} from ingest.cursors
      where (${f.source ?? null}::text is null or source = ${f.source ?? null})
        and (${f.stream ?? null}::text is null or stream = ${f.stream ?? null})
        and (${symbols}::text[] is null or symbol = any(${symbols}::text[]))
        and (${f.window ?? null}::text is null or window_label = ${f.window ?? null})
      order by source, stream, symbol, window_label
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
 * @throws ValidationError when the input is malformed (an error text with NUL or a lone surrogate
 * too) or the load is already finished
 * @throws NotFoundError (entity `ingest.load_log`, key `{ id }`) when there is no such load
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
    { entity: 'ingest.load_log', key: { id: f.id } },
  );
  return parseOne('ingest.sp_finish_load', LoadLogRow, rows);
}

/** What `runLoad` hands its callback: the open load, and a way to count the rows it handles. */
export interface LoadContext {
  /** The load log as opened. */
  readonly load: LoadLogRow;
  /**
   * Adds to the load's counts; a capture result (`{ seen, inserted }`) can be passed as it is.
   * @throws ValidationError when a count is not a whole number ≥ 0 (the counts are left as they were)
   */
  add(counts: { seen?: number; inserted?: number }): void;
}

/**
 * Runs `fn` as a logged load: opens a load log, runs the callback, and closes the log as `ok`
 * with the counts the callback added, or as `failed` with the error's text, then rethrows the
 * error. Returns what the callback returns.
 *
 * Wraps `ingest.sp_start_load` and `ingest.sp_finish_load`. Run it on a pool (not inside a
 * transaction that the failure would abort): the log is written whatever the callback throws (its
 * text is made storable first: NUL and lone surrogates replaced, cut to 4 000 characters). When the
 * failed log cannot be written (e.g. the callback aborted the transaction `sql` is), the error is a
 * `CryptopiError` with code `load_not_logged` whose `cause` is an `AggregateError` of the callback's
 * error and the log's.
 * @example
 * ```ts
 * await db.ingest.runLoad({ source: 'binance', stream: 'klines', symbol: 'BTCUSDT' }, async (ctx) => {
 *   ctx.add(await db.ingest.captureKlines({ source: 'binance', symbol: 'BTCUSDT', window: '1m', payloads }));
 * });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent, the callback does not run)
 * @throws whatever the callback throws, after the load is logged as failed; a CryptopiError
 * (`load_not_logged`) when that log cannot be written
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
      const s = counts?.seen ?? 0;
      const i = counts?.inserted ?? 0;
      const bad = (n: unknown) => !Number.isSafeInteger(n) || (n as number) < 0;
      if (bad(s) || bad(i) || !Number.isSafeInteger(seen + s) || !Number.isSafeInteger(inserted + i)) {
        throw new ValidationError('ingest.runLoad', [
          { path: bad(s) ? ['seen'] : ['inserted'], message: 'must be a whole number ≥ 0' },
        ]);
      }
      seen += s;
      inserted += i;
    },
  };
  let result: T;
  try {
    result = await fn(ctx);
  } catch (e) {
    try {
      await finishLoad(sql, {
        id: load.id,
        status: 'failed',
        rowsSeen: seen,
        rowsInserted: inserted,
        error: loadErrorText(e),
      });
    } catch (logError) {
      // neither is lost: the callback's error first, then why the log could not be closed
      throw new CryptopiError(
        'load_not_logged',
        'ingest.runLoad: the load failed and its log could not be closed',
        {
          cause: new AggregateError(
            [e, logError],
            'ingest.runLoad: the load failed and its log could not be closed',
          ),
        },
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
 * await db.ingest.promoteKlines({ source: 'binance', symbol: 'BTCUSDT', window: '1m' }); // { promoted: 500 }
 * ```
 * @throws ValidationError when the input is malformed, or the window is not one `settings.windows`
 * can derive from its label (e.g. `1w`, `1M` must be created there first) or another label holds its span
 */
export async function promoteKlines(sql: Queryable, input: PromoteKlinesInput): Promise<PromoteKlinesResult> {
  const op = 'ingest.promoteKlines';
  const p = parseInput(op, PromoteKlinesInput, input);
  const rows = await run(
    op,
    sql`
      select ingest.sp_promote_klines(${p.source}, ${p.symbol}, ${p.window}, ${p.from ?? null}, ${p.to ?? null})
        as promoted
    `,
  );
  return parseOne('ingest.sp_promote_klines', PromoteKlinesResult, rows);
}

/**
 * The captured klines of one stream (optionally within [from, to) by open time (`to` exclusive)), oldest first,
 * with their payloads exactly as stored.
 *
 * Reads `ingest.klines_raw`.
 * @example
 * ```ts
 * const raw = await db.ingest.listKlinesRaw({ source: 'binance', symbol: 'BTCUSDT', window: '1m', limit: 10 });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function listKlinesRaw(sql: Queryable, input: ListKlinesRawInput): Promise<KlineRawRow[]> {
  const op = 'ingest.listKlinesRaw';
  const q = parseInput(op, ListKlinesRawInput, input);
  const rows = await run(
    op,
    sql`
      select source, symbol, window_label as "window", util.epoch_ms(open_time) as "openTime", payload, closed,
             util.epoch_ms(received_at) as "receivedAt"
      from ingest.klines_raw
      where source = ${q.source} and symbol = ${q.symbol} and window_label = ${q.window}
        and (${q.from ?? null}::timestamptz is null or open_time >= ${q.from ?? null})
        and (${q.to ?? null}::timestamptz is null or open_time < ${q.to ?? null})
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
      select source, symbol, trade_id as "tradeId", util.epoch_ms(trade_time) as "tradeTime", payload,
             util.epoch_ms(received_at) as "receivedAt"
      from ingest.trades_raw
      where source = ${q.source} and symbol = ${q.symbol} and trade_id >= ${q.fromId ?? 0}
      order by trade_id
      limit ${q.limit ?? 1000}
    `,
  );
  return parseRows('ingest.trades_raw', TradeRawRow, rows);
}
