/**
 * The metronome: calls `str_aux.tick_all()` once per period. Many app instances may run one: each
 * tick takes a transaction-level try advisory lock and claims its period in
 * `str_aux.metronome_periods`, so one instance ticks each period and the others skip.
 */
import { ValidationError } from '../core/errors.js';
import type { Queryable, Sql } from '../core/queryable.js';
import { parseInput, parseOne, run } from '../core/run.js';
import { type Metronome, MetronomeOptions, type MetronomeTick, TickResult } from './schemas.js';

/**
 * The advisory lock class of metronome ticks. The key is hashtext of `<name>:<period>`: instances
 * ticking the same period exclude each other, while one still busy with an earlier period does not
 * make another skip (and lose) the next one.
 */
const LOCK_CLASS = 1937011554;

/**
 * Starts a metronome that calls `tickAll` once per period of `everyMs`, at wall-clock multiples of
 * `everyMs` (so instances on several hosts tick at the same boundaries). Each tick runs in one
 * transaction: `pg_try_advisory_xact_lock` on the period (busy: skipped, reason 'locked'), then the period is
 * claimed in `str_aux.metronome_periods` (already ticked by another instance: skipped, reason
 * 'done'), then `str_aux.tick_all()`. `onTick` hears every tick, ticked or skipped; `onError` every
 * failure (a failed tick is not retried; the next period ticks again). A tick that overruns its
 * period delays the next one to the following boundary.
 *
 * Needs a pool (the client's `sql`), not a transaction.
 * @example
 * ```ts
 * const m = db.strAux.startMetronome({ everyMs: 5000, onTick: (t) => t.skipped || console.log(t.result) });
 * // … later
 * await m.stop(); // waits for a running tick; no timer is left
 * ```
 * @throws ValidationError when the options are malformed or `sql` is a transaction
 */
export function startMetronome(sql: Queryable, options: MetronomeOptions): Metronome {
  const op = 'strAux.startMetronome';
  const o = parseInput(op, MetronomeOptions, options);
  if (typeof (sql as Partial<Sql>).begin !== 'function') {
    throw new ValidationError(op, [{ path: [], message: 'needs a pool (with begin), not a transaction' }]);
  }
  const pool = sql as Sql;
  const everyMs = o.everyMs;
  const name = o.name ?? 'tick_all';
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const tick = async (period: number): Promise<void> => {
    const at = new Date(period * everyMs);
    try {
      const outcome = await run(
        op,
        pool.begin(async (tx) => {
          const [lock] = await tx<{ locked: boolean }[]>`
            select pg_try_advisory_xact_lock(${LOCK_CLASS}, hashtext(${`${name}:${period}`})) as locked
          `;
          if (!lock?.locked) return { skipped: true as const, reason: 'locked' as const };
          const claimed = await tx`
            insert into str_aux.metronome_periods as p (name, period_ms, last_period)
            values (${name}, ${everyMs}, ${period})
            on conflict (name) do update set
              period_ms = excluded.period_ms, last_period = excluded.last_period, ticked_at = now()
            where p.last_period < excluded.last_period or p.period_ms <> excluded.period_ms
            returning 1
          `;
          if (claimed.length === 0) return { skipped: true as const, reason: 'done' as const };
          const rows = await tx`
            select pending_cycles as "pendingCycles", windows, computed from str_aux.tick_all()
          `;
          return { skipped: false as const, result: parseOne('str_aux.tick_all', TickResult, rows) };
        }),
      );
      const t: MetronomeTick = { ...outcome, period, at };
      o.onTick?.(t);
    } catch (e) {
      try {
        o.onError?.(e);
      } catch {
        // a throwing onError must not stop the metronome
      }
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    const now = Date.now();
    const period = Math.floor(now / everyMs) + 1;
    timer = setTimeout(
      () => {
        timer = undefined;
        if (stopped) return;
        running = tick(period).finally(() => {
          running = undefined;
          schedule();
        });
      },
      period * everyMs - now,
    );
  };
  schedule();

  return {
    async stop(): Promise<void> {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
