/**
 * Moves: conversions of value between two assets of a session (`applyMove`, the one writer), and
 * reads of moves, lots and the lots each move consumed.
 */
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import { assetCode, decimal, instant, int8, symbol, timestamptz, uuid } from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { MOVE_COLUMNS } from './columns.js';
import { parseInput, parseOne, parseRows } from '../core/run.js';
import { key, ledgerRun, nonNegativeAmount, positiveAmount, SESSION, sessionId } from './fields.js';

/** Which side of a trade a move records. */
export const MoveSide = z.enum(['buy', 'sell']);
export type MoveSide = z.infer<typeof MoveSide>;

/** A row of `cin_aux.moves`, as the SDK returns it (every figure an exact decimal string). */
export const MoveRow = z.object({
  id: int8,
  sessionId: uuid,
  ts: timestamptz,
  fromAsset: z.string(),
  toAsset: z.string(),
  executedUsdt: decimal,
  feeUsdt: decimal,
  slippageUsdt: decimal,
  refUsdtTarget: decimal.nullable(),
  availableUsdt: decimal.nullable(),
  /** min(refUsdtTarget ?? executed, availableUsdt ?? executed). */
  plannedUsdt: decimal,
  /** executed − planned. */
  devRefUsdt: decimal,
  /** What the source gave up from its principal (principal first) … */
  compPrincipalUsdt: decimal,
  /** … and from its profit. */
  compProfitUsdt: decimal,
  /** Fee + slippage charged to the source's profit (first) … */
  costProfitUsdt: decimal,
  /** … and to its principal. */
  costPrincipalUsdt: decimal,
  priceFromUsdt: decimal.nullable(),
  priceToUsdt: decimal.nullable(),
  bridgeAsset: z.string().nullable(),
  priceBridgeUsdt: decimal.nullable(),
  /** executed / priceFrom: the units converted (null without prices). */
  fromUnits: decimal.nullable(),
  /** (fee + slippage) / priceFrom: the source units spent on costs. */
  costUnits: decimal.nullable(),
  /** executed / priceTo: the units the destination's new lot holds. */
  toUnits: decimal.nullable(),
  /** executed − cost basis of the converted units. */
  traceUsdt: decimal.nullable(),
  profitConsumedUsdt: decimal.nullable(),
  principalHitUsdt: decimal.nullable(),
  sourceSymbol: z.string().nullable(),
  tradeId: z.string().nullable(),
  side: MoveSide.nullable(),
  idempotencyKey: z.string().nullable(),
  createdAt: timestamptz,
});
export type MoveRow = z.infer<typeof MoveRow>;

/** Input of `applyMove`: one conversion of `executedUsdt` of value from one asset to another. */
export const ApplyMoveInput = z
  .strictObject({
    sessionId,
    /** `market.assets` codes; they must differ. */
    fromAsset: assetCode,
    toAsset: assetCode,
    /** The USDT value converted (> 0). */
    executedUsdt: positiveAmount,
    /** Charged to the source (its profit first, then principal); default 0. */
    feeUsdt: nonNegativeAmount.optional(),
    slippageUsdt: nonNegativeAmount.optional(),
    /** The plan: the reference target and the available amount (`devRefUsdt` = executed − their minimum). */
    refUsdtTarget: nonNegativeAmount.optional(),
    availableUsdt: nonNegativeAmount.optional(),
    /** USDT prices of the source and destination (together): units leave the source's lots FIFO, the destination gets a lot. */
    priceFromUsdt: positiveAmount.optional(),
    priceToUsdt: positiveAmount.optional(),
    /** The asset the conversion went through (recorded as given), and its USDT price. */
    bridgeAsset: assetCode.optional(),
    priceBridgeUsdt: positiveAmount.optional(),
    /** Default now. */
    ts: instant.optional(),
    sourceSymbol: symbol.optional(),
    tradeId: key(100).optional(),
    side: MoveSide.optional(),
    /** Unique per session: the same key again returns the first move; with other content it is a ConflictError. */
    idempotencyKey: key(200).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.fromAsset === m.toAsset)
      ctx.addIssue({ code: 'custom', path: ['toAsset'], message: 'must differ from fromAsset' });
    if ((m.priceFromUsdt === undefined) !== (m.priceToUsdt === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [m.priceFromUsdt === undefined ? 'priceFromUsdt' : 'priceToUsdt'],
        message: 'priceFromUsdt and priceToUsdt come together',
      });
  });
export type ApplyMoveInput = Omit<z.input<typeof ApplyMoveInput>, 'side'> & {
  side?: MoveSide | (string & {}) | undefined;
};

/**
 * Applies one move, all or nothing, and returns it (`cin_aux.sp_apply_move`; the rules are in
 * docs/cin-aux.md): the source gives up `executedUsdt` principal first, fee and slippage are charged
 * to its profit first, the destination gains what the source gave; with prices, units leave the
 * source's lots FIFO (trace = executed − their cost basis) and the destination gets a new lot. The
 * session row is locked FOR SHARE and the two balance rows FOR UPDATE in asset order, so concurrent
 * moves never lose an update; a deadlock or serialization failure on a pool is retried.
 * @example
 * ```ts
 * const m = await db.cinAux.applyMove({
 *   sessionId, fromAsset: 'USDT', toAsset: 'BTC', executedUsdt: '400', feeUsdt: '0.4',
 *   priceFromUsdt: '1', priceToUsdt: '40000', idempotencyKey: 'buy-1',
 * }); // m.toUnits === '0.01'
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent); when the source holds less
 *   than executed + fee + slippage (`['executedUsdt']`, nothing written) unless the session allows
 *   overdraft; when an asset is unknown or the session is closed
 * @throws ConflictError when the idempotency key names a move with other content (23505,
 *   `moves_idempotency_key`)
 * @throws NotFoundError when there is no such session (`entity` `'cin_aux.session'`, `key` `{ id }`)
 */
export async function applyMove(sql: Queryable, input: ApplyMoveInput): Promise<MoveRow> {
  const op = 'cinAux.applyMove';
  const i = parseInput(op, ApplyMoveInput, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select ${MOVE_COLUMNS(sql)}
      from cin_aux.sp_apply_move(
        ${i.sessionId}, ${i.fromAsset}, ${i.toAsset}, ${i.executedUsdt}::numeric, ${i.feeUsdt ?? '0'}::numeric,
        ${i.slippageUsdt ?? '0'}::numeric, ${i.refUsdtTarget ?? null}::numeric, ${i.availableUsdt ?? null}::numeric,
        ${i.priceFromUsdt ?? null}::numeric, ${i.priceToUsdt ?? null}::numeric, ${i.bridgeAsset ?? null},
        ${i.priceBridgeUsdt ?? null}::numeric, ${i.ts ?? null}::timestamptz, ${i.sourceSymbol ?? null},
        ${i.tradeId ?? null}, ${i.side ?? null}, ${i.idempotencyKey ?? null}
      ) m
    `,
    { entity: SESSION, key: { id: i.sessionId } },
  );
  return parseOne('cin_aux.sp_apply_move', MoveRow, rows);
}

/** Input of `listMoves`: the sessions' moves, oldest first. */
export const ListMovesInput = z.strictObject({
  sessionIds: z.array(sessionId).min(1).max(10_000).readonly(),
  /** Moves from or to this asset. */
  asset: assetCode.optional(),
  /** At most this many moves (default all). */
  limit: z.int().min(1).max(1_000_000).optional(),
});
export type ListMovesInput = z.input<typeof ListMovesInput>;

/**
 * The moves of one or more sessions, in the order they were applied; each row names its session.
 *
 * Reads `cin_aux.moves`.
 * @example
 * ```ts
 * const moves = await db.cinAux.listMoves({ sessionIds: [sessionId] });
 * ```
 * @throws ValidationError when an id or a filter is malformed (nothing is sent)
 */
export async function listMoves(sql: Queryable, input: ListMovesInput): Promise<MoveRow[]> {
  const op = 'cinAux.listMoves';
  const q = parseInput(op, ListMovesInput, input);
  const none = sql``;
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select ${MOVE_COLUMNS(sql)} from cin_aux.moves m
      where m.session_id = any(${pgArray(q.sessionIds)}::uuid[])
        ${q.asset !== undefined ? sql`and (m.from_asset = ${q.asset} or m.to_asset = ${q.asset})` : none}
      order by m.id
      ${q.limit !== undefined ? sql`limit ${q.limit}` : none}
    `,
  );
  return parseRows('cin_aux.moves', MoveRow, rows);
}

/** A row of `cin_aux.lots`: a FIFO acquisition lot. */
export const LotRow = z.object({
  id: int8,
  sessionId: uuid,
  asset: z.string(),
  /** The move that bought it (null: funding). */
  moveId: int8.nullable(),
  entryPriceUsdt: decimal,
  unitsTotal: decimal,
  unitsFree: decimal,
});
export type LotRow = z.infer<typeof LotRow>;

/** Input of `listLots`. */
export const ListLotsInput = z.strictObject({
  sessionIds: z.array(sessionId).min(1).max(10_000).readonly(),
  asset: assetCode.optional(),
  /** Only lots with free units (default false: every lot). */
  openOnly: z.boolean().optional(),
});
export type ListLotsInput = z.input<typeof ListLotsInput>;

/**
 * The lots of one or more sessions, oldest first.
 *
 * Reads `cin_aux.lots`.
 * @example
 * ```ts
 * const lots = await db.cinAux.listLots({ sessionIds: [sessionId], asset: 'BTC' });
 * ```
 * @throws ValidationError when an id or a filter is malformed (nothing is sent)
 */
export async function listLots(sql: Queryable, input: ListLotsInput): Promise<LotRow[]> {
  const op = 'cinAux.listLots';
  const q = parseInput(op, ListLotsInput, input);
  const none = sql``;
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select l.id, l.session_id as "sessionId", l.asset, l.move_id as "moveId",
             trim_scale(l.entry_price_usdt)::text as "entryPriceUsdt", trim_scale(l.units_total)::text as "unitsTotal",
             trim_scale(l.units_free)::text as "unitsFree"
      from cin_aux.lots l
      where l.session_id = any(${pgArray(q.sessionIds)}::uuid[])
        ${q.asset !== undefined ? sql`and l.asset = ${q.asset}` : none}
        ${q.openOnly ? sql`and l.units_free > 0` : none}
      order by l.id
    `,
  );
  return parseRows('cin_aux.lots', LotRow, rows);
}

/** A row of `cin_aux.move_lots`: units a move took from a lot, at the lot's entry price. */
export const MoveLotRow = z.object({
  moveId: int8,
  lotId: int8,
  units: decimal,
  entryPriceUsdt: decimal,
});
export type MoveLotRow = z.infer<typeof MoveLotRow>;

/** Input of `listMoveLots`. */
export const ListMoveLotsInput = z.strictObject({
  moveIds: z.array(z.int().positive()).min(1).max(10_000).readonly(),
});
export type ListMoveLotsInput = z.input<typeof ListMoveLotsInput>;

/**
 * Which lots the given moves consumed (converted and cost units together), by move then lot.
 *
 * Reads `cin_aux.move_lots`.
 * @example
 * ```ts
 * const taken = await db.cinAux.listMoveLots({ moveIds: [move.id] });
 * ```
 * @throws ValidationError when an id is malformed (nothing is sent)
 */
export async function listMoveLots(sql: Queryable, input: ListMoveLotsInput): Promise<MoveLotRow[]> {
  const op = 'cinAux.listMoveLots';
  const q = parseInput(op, ListMoveLotsInput, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select x.move_id as "moveId", x.lot_id as "lotId", trim_scale(x.units)::text as units,
             trim_scale(x.entry_price_usdt)::text as "entryPriceUsdt"
      from cin_aux.move_lots x
      where x.move_id = any(${pgArray(q.moveIds)}::bigint[])
      order by x.move_id, x.lot_id
    `,
  );
  return parseRows('cin_aux.move_lots', MoveLotRow, rows);
}
