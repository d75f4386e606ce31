import type { Sql } from '../../src/core/queryable.js';

/** The assets the cin_aux tests trade (market.assets rows: the ledger's foreign keys). */
export async function seedAssets(sql: Sql, codes: readonly string[] = ['USDT', 'BTC', 'ETH', 'SOL']) {
  await sql`select market.sp_upsert_asset(c) from unnest(${codes as string[]}::text[]) c`;
}

/** Every table of a session, as text, to compare before and after a refused call. */
export async function ledgerState(sql: Sql, sessionId: string) {
  return {
    runtime:
      await sql`select asset, principal_usdt::text, profit_usdt::text, units::text from cin_aux.runtime_balances where session_id = ${sessionId} order by asset`,
    balances:
      await sql`select asset, opening_principal_usdt::text, closing_principal_usdt::text from cin_aux.balances where session_id = ${sessionId} order by asset`,
    lots: await sql`select id, asset, units_free::text from cin_aux.lots where session_id = ${sessionId} order by id`,
    moves: await sql`select id from cin_aux.moves where session_id = ${sessionId} order by id`,
    moveLots:
      await sql`select x.move_id, x.lot_id from cin_aux.move_lots x join cin_aux.moves m on m.id = x.move_id where m.session_id = ${sessionId} order by 1, 2`,
    marks:
      await sql`select asset, price_usdt::text from cin_aux.marks where session_id = ${sessionId} order by asset, ts`,
    references:
      await sql`select asset, ref_usdt::text from cin_aux."references" where session_id = ${sessionId} order by asset`,
    session: await sql`select status from cin_aux.sessions where id = ${sessionId}`,
  };
}
