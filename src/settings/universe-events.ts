/**
 * Universe change events: one NOTIFY on `settings_universe_changed` per statement that changes the
 * coin universe (sent by the `trg_coin_universe_sync*` triggers), parsed and delivered to a callback.
 */
import { z } from 'zod';
import { IntegrityError, ValidationError } from '../core/errors.js';
import { canListen, type Queryable } from '../core/queryable.js';
import { parseRow, run } from '../core/run.js';

/** The NOTIFY channel of universe changes (payload: `UniverseChangedEvent` as JSON). */
const UNIVERSE_CHANNEL = 'settings_universe_changed';

/**
 * The payload of a `settings_universe_changed` notification: one per statement that changed the
 * universe. `symbols` lists at most 200 (then `truncated` is true); `count` is the full number;
 * `seq` numbers the changing statements of one transaction (1, 2, …), so that two equal changes in
 * one transaction stay two events (PostgreSQL folds identical payloads of a transaction into one).
 */
export const UniverseChangedEvent = z.strictObject({
  op: z.enum(['insert', 'update', 'delete']),
  symbols: z.array(z.string()),
  count: z.int().nonnegative(),
  truncated: z.boolean(),
  seq: z.int().positive(),
});
export type UniverseChangedEvent = z.output<typeof UniverseChangedEvent>;

/** Options of `onUniverseChanged`. */
export interface UniverseListenerOptions {
  /** Receives a payload that fails its schema (an IntegrityError) or an error thrown by the callback. */
  onError?: ((error: unknown) => void) | undefined;
  /**
   * Called each time the listening connection was lost and is listening again (postgres.js reconnects
   * by itself). Events sent while it was down are lost: re-read what you need (`listCoinUniverse`).
   */
  onReconnect?: (() => void) | undefined;
}

/**
 * Calls `callback` with one parsed event per statement that changes the universe, until unsubscribed.
 *
 * LISTENs on `settings_universe_changed` (sent by the `trg_coin_universe_sync*` triggers): it needs a
 * pool (the client's `db.sql`), not a transaction. Resolves once listening; returns the unsubscribe.
 * @example
 * ```ts
 * const stop = await db.settings.onUniverseChanged((e) => console.log(e.op, e.symbols));
 * await stop();
 * ```
 * @throws ValidationError when `sql` is a transaction (it cannot LISTEN)
 */
export async function onUniverseChanged(
  sql: Queryable,
  callback: (event: UniverseChangedEvent) => void | Promise<void>,
  options: UniverseListenerOptions = {},
): Promise<() => Promise<void>> {
  const op = 'settings.onUniverseChanged';
  if (!canListen(sql)) {
    throw new ValidationError(op, [{ path: [], message: 'LISTEN needs a pool (db.sql), not a transaction' }]);
  }
  if (typeof callback !== 'function') {
    throw new ValidationError(op, [{ path: ['callback'], message: 'expected a function' }]);
  }
  const report = (e: unknown) => options.onError?.(e);
  let active = true;
  let listens = 0;
  // postgres.js calls this once listening, and again after every reconnect
  const onListen = () => {
    listens++;
    if (listens > 1 && active && options.onReconnect) {
      try {
        options.onReconnect();
      } catch (e) {
        report(e);
      }
    }
  };
  const listening = await run(
    op,
    sql.listen(
      UNIVERSE_CHANNEL,
      (payload) => {
        if (!active) return;
        let event: UniverseChangedEvent;
        try {
          let data: unknown;
          try {
            data = JSON.parse(payload);
          } catch {
            throw new IntegrityError(UNIVERSE_CHANNEL, [{ path: [], message: 'payload is not JSON' }]);
          }
          event = parseRow(UNIVERSE_CHANNEL, UniverseChangedEvent, data);
        } catch (e) {
          report(e);
          return;
        }
        Promise.resolve()
          .then(() => callback(event))
          .catch(report);
      },
      onListen,
    ),
  );
  return async () => {
    if (!active) return;
    active = false;
    await listening.unlisten();
  };
}
