/**
 * cin_aux sessions: opening one (on a settings.windows label, optionally bound to a wallet account),
 * reading it, and closing it into its imprint/luggage row.
 */
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import { decimal, instant, jsonObject, jsonObjectRow, timestamptz, uuid } from '../core/codecs.js';
import { NotFoundError } from '../core/errors.js';
import type { Queryable } from '../core/queryable.js';
import { IMPRINT_COLUMNS } from './columns.js';
import { parseInput, parseOne, parseRows } from '../core/run.js';
import { ledgerRun, SESSION, sessionId, windowLabel } from './fields.js';

/** A session's status: a closed session refuses every write. */
export const SessionStatus = z.enum(['open', 'closed']);
export type SessionStatus = z.infer<typeof SessionStatus>;

/** A row of `cin_aux.sessions`, as the SDK returns it. */
export const SessionRow = z.object({
  id: uuid,
  ownerId: uuid.nullable(),
  /** The wallet account the session trades from (`setReferencesFromWallet` reads its balances). */
  accountId: uuid.nullable(),
  window: z.string(),
  status: SessionStatus,
  allowOverdraft: z.boolean(),
  openedAt: timestamptz,
  closedAt: timestamptz.nullable(),
  meta: jsonObjectRow,
});
export type SessionRow = z.infer<typeof SessionRow>;

/** Input of `openSession`. */
export const OpenSessionInput = z.strictObject({
  /** A `settings.windows` label ('1h'). */
  window: windowLabel,
  ownerId: uuid.optional(),
  /** A `wallet.accounts` id. */
  accountId: uuid.optional(),
  meta: jsonObject.optional(),
  /** Let a move take more than its source holds (default false: refused). */
  allowOverdraft: z.boolean().optional(),
  /** Default now. */
  openedAt: instant.optional(),
});
export type OpenSessionInput = z.input<typeof OpenSessionInput>;

/** The row `closeSession` returns: one per closed session (`cin_aux.imprint_luggage`). */
export const ImprintLuggageRow = z.object({
  sessionId: uuid,
  /** Σ comp_principal over the session's moves. */
  principalChurnUsdt: decimal,
  /** Σ comp_profit. */
  profitChurnUsdt: decimal,
  /** Σ closing profit − Σ opening profit − Σ(fee + slippage). */
  generatedProfitUsdt: decimal,
  traceSumUsdt: decimal,
  devRefSumUsdt: decimal,
  /** Σ closing principal: what the session carries out as principal. */
  luggagePrincipalUsdt: decimal,
  /** Σ closing profit. */
  luggageProfitUsdt: decimal,
  imprintUsdt: decimal,
  luggageUsdt: decimal,
  tauUsdt: decimal,
  closedAt: timestamptz,
});
export type ImprintLuggageRow = z.infer<typeof ImprintLuggageRow>;

const SESSION_COLUMNS = (sql: Queryable) => sql`
  s.id, s.owner_id as "ownerId", s.account_id as "accountId", s.window_label as "window", s.status,
  s.allow_overdraft as "allowOverdraft", util.epoch_ms(s.opened_at) as "openedAt",
  util.epoch_ms(s.closed_at) as "closedAt", s.meta
`;

/**
 * Opens a session on a window and returns it.
 *
 * Wraps `cin_aux.sp_open_session`.
 * @example
 * ```ts
 * const s = await db.cinAux.openSession({ window: '1h', meta: { strategy: 'demo' } }); // s.status === 'open'
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent), the window is not a
 *   `settings.windows` label (`['window']`) or the account does not exist (`['accountId']`)
 */
export async function openSession(sql: Queryable, input: OpenSessionInput): Promise<SessionRow> {
  const op = 'cinAux.openSession';
  const i = parseInput(op, OpenSessionInput, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select ${SESSION_COLUMNS(sql)}
      from cin_aux.sp_open_session(${i.window}, ${i.ownerId ?? null}, ${i.accountId ?? null},
        ${JSON.stringify(i.meta ?? {})}::text::jsonb, ${i.allowOverdraft ?? false}, ${i.openedAt ?? null}) s
    `,
  );
  return parseOne('cin_aux.sp_open_session', SessionRow, rows);
}

/** Input of `listSessions`: the sessions by id. */
export const ListSessionsInput = z.strictObject({
  sessionIds: z.array(sessionId).min(1).max(10_000).readonly(),
});
export type ListSessionsInput = z.input<typeof ListSessionsInput>;

/**
 * One session by id, or null.
 *
 * Reads `cin_aux.sessions`.
 * @example
 * ```ts
 * const s = await db.cinAux.getSession(sessionId);
 * ```
 * @throws ValidationError when `id` is not a uuid (nothing is sent)
 */
export async function getSession(sql: Queryable, id: string): Promise<SessionRow | null> {
  const rows = await listSessions(sql, { sessionIds: [id] });
  return rows[0] ?? null;
}

/**
 * Sessions by id (the ones that exist), in the order given.
 *
 * Reads `cin_aux.sessions`.
 * @example
 * ```ts
 * const [a, b] = await db.cinAux.listSessions({ sessionIds: [idA, idB] });
 * ```
 * @throws ValidationError when an id is not a uuid (nothing is sent)
 */
export async function listSessions(sql: Queryable, input: ListSessionsInput): Promise<SessionRow[]> {
  const op = 'cinAux.listSessions';
  const { sessionIds } = parseInput(op, ListSessionsInput, input);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`
      select ${SESSION_COLUMNS(sql)}
      from unnest(${pgArray(sessionIds)}::uuid[]) with ordinality k(id, ord)
      join cin_aux.sessions s on s.id = k.id
      order by k.ord
    `,
  );
  return parseRows('cin_aux.sessions', SessionRow, rows);
}

/**
 * Closes a session: sets its closing buckets, stores and returns its imprint/luggage row; later
 * moves, funding, marks and references are refused. Closing a closed session returns its row.
 *
 * Wraps `cin_aux.sp_close_session`. Closing profit = units held × the last mark's price − principal
 * when the asset has marks, else the runtime profit.
 * @example
 * ```ts
 * const row = await db.cinAux.closeSession(sessionId); // row.generatedProfitUsdt === '39.38'
 * ```
 * @throws ValidationError when `id` is not a uuid (nothing is sent)
 * @throws NotFoundError when there is no such session (`entity` `'cin_aux.session'`, `key` `{ id }`)
 */
export async function closeSession(sql: Queryable, id: string): Promise<ImprintLuggageRow> {
  const op = 'cinAux.closeSession';
  const sid = parseInput(op, sessionId, id);
  const rows = await ledgerRun(
    op,
    sql,
    () => sql`select ${IMPRINT_COLUMNS(sql)} from cin_aux.sp_close_session(${sid}) i`,
    { entity: SESSION, key: { id: sid } },
  );
  if (rows.length === 1 && (rows[0] as { sessionId: unknown }).sessionId === null)
    throw new NotFoundError(op, SESSION, { id: sid });
  return parseOne('cin_aux.sp_close_session', ImprintLuggageRow, rows);
}
