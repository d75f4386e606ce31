/**
 * The cinAux module: schema `cin_aux` (packs `09_cin-aux-core`, `09_cin-aux-functions`,
 * `09_cin-aux-runtime`, `10_cin-aux-runtime`, `11_cin-aux-functions`, `20_cin_aux_views`): a ledger
 * that follows a trading session's capital through conversions between assets, valued in USDT, in
 * two buckets per asset (principal and profit). Every figure is an exact decimal string.
 */
export { AMOUNT_LIMITS, amount, DEADLOCK_RETRIES, EXACT_NUMBER_DIGITS } from './fields.js';
export * from './funding.js';
export * from './moves.js';
export * from './sessions.js';
export * from './trades.js';
export * from './views.js';
