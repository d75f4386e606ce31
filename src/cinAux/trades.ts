/** Exchange fills turned into moves (`importMovesFromTrades`), idempotent by (symbol, trade id). */
import { z } from 'zod';
import { assetCode, instant, int8, recordOf, symbol } from '../core/codecs.js';
import { ValidationError } from '../core/errors.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseRows } from '../core/run.js';
import {
  key,
  ledgerRun,
  MOVE_ROW_SOURCE,
  nonNegativeAmount,
  positiveAmount,
  SESSION,
  sessionId,
} from './fields.js';
import { MOVE_COLUMNS } from './columns.js';
import { MoveRow } from './moves.js';

/** A refusal the procedure named `trades[i].field` as `[i, field]`, like the input's own issues. */
function tradePath(op: string, e: unknown): unknown {
  if (!(e instanceof ValidationError) || e.issues[0]?.path[0] !== 'trades') return e;
  return new ValidationError(
    op,
    e.issues.map((i) => ({ path: i.path.slice(1), message: i.message })),
    { cause: e.cause, facts: { sqlstate: e.sqlstate, detail: e.detail, constraint: e.constraint } },
  );
}

/** One exchange fill (Binance's myTrades fields, camelCase). */
export const TradeInput = z.strictObject({
  symbol,
  /** The exchange's trade id: with `symbol`, the import's idempotency key. */
  tradeId: z.union([key(100), z.int().nonnegative()]).transform(String),
  /** The buyer converts quote → base; the seller base → quote. */
  isBuyer: z.boolean(),
  /** Quote units per base unit. */
  price: positiveAmount,
  /** Base units. */
  qty: positiveAmount,
  /** Quote units (default price × qty). */
  quoteQty: positiveAmount.optional(),
  /** Charged as the move's fee, valued in USDT. */
  commission: nonNegativeAmount.optional(),
  /** The asset the commission is paid in (default the quote). */
  commissionAsset: assetCode.optional(),
  time: instant,
});
export type TradeInput = z.input<typeof TradeInput>;

/** Options of `importMovesFromTrades`. */
export const ImportOptions = z.strictObject({
  sessionId,
  /** USDT prices of non-USDT quotes and commission assets ({ BTC: '40000' }). */
  prices: recordOf(assetCode, positiveAmount).optional(),
});
export type ImportOptions = z.input<typeof ImportOptions>;

/** What `importMovesFromTrades` did: per trade (input order) its move, and how many were new. */
export const ImportResult = z.object({
  imported: z.int().nonnegative(),
  replayed: z.int().nonnegative(),
  moves: z.array(MoveRow.extend({ replayed: z.boolean() })),
});
export type ImportResult = z.infer<typeof ImportResult>;

const ImportRow = MoveRow.extend({ replayed: z.boolean(), tradeIndex: int8 });

/**
 * Imports exchange fills as moves, all or nothing: a buyer converts quote → base, a seller base →
 * quote; executed = (quoteQty ?? price × qty) × the quote's USDT price; the commission is the move's
 * fee (commission × its asset's USDT price); prices are USDT for USDT, else from `options.prices`.
 * A trade already imported (same symbol and trade id, same content) is returned as replayed.
 *
 * Wraps `cin_aux.sp_import_moves_from_trades`.
 * @example
 * ```ts
 * const r = await db.cinAux.importMovesFromTrades(trades, { sessionId, prices: { BTC: '40000' } });
 * // r.imported === trades.length the first time; r.replayed === trades.length the second
 * ```
 * @throws ValidationError when a trade is malformed (nothing is sent), a quote or commission asset
 *   has no price (`[i, 'symbol' | 'commissionAsset']`), or a move is refused (`[i, field]`)
 * @throws ConflictError when a trade id of the symbol is already imported with other content
 * @throws NotFoundError when there is no such session
 */
export async function importMovesFromTrades(
  sql: Queryable,
  trades: readonly TradeInput[],
  options: ImportOptions,
): Promise<ImportResult> {
  const op = 'cinAux.importMovesFromTrades';
  const rowsIn = parseInput(op, z.array(TradeInput).readonly(), trades);
  const o = parseInput(op, ImportOptions, options);
  const payload = rowsIn.map((t) => ({
    symbol: t.symbol,
    tradeId: t.tradeId,
    isBuyer: t.isBuyer,
    price: t.price,
    qty: t.qty,
    quoteQty: t.quoteQty ?? null,
    commission: t.commission ?? null,
    commissionAsset: t.commissionAsset ?? null,
    time: t.time.getTime(),
  }));
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select ${MOVE_COLUMNS(sql)}, x.replayed, x.trade_index as "tradeIndex"
      from cin_aux.sp_import_moves_from_trades(${o.sessionId}, ${JSON.stringify(payload)}::text::jsonb,
        ${JSON.stringify(o.prices ?? {})}::text::jsonb) x
      cross join lateral (select (x.move).*) m
      order by x.trade_index
    `,
    { entity: SESSION, key: { id: o.sessionId } },
  ).catch((e: unknown) => {
    throw tradePath(op, e);
  });
  const parsed = parseRows(MOVE_ROW_SOURCE, ImportRow, rows);
  const moves = parsed.map(({ tradeIndex: _i, ...m }) => m);
  const replayed = moves.filter((m) => m.replayed).length;
  return { imported: moves.length - replayed, replayed, moves };
}
