// The metronome: two instances on two clients tick once per period between them; stop() waits for
// a running tick and leaves no timer or query behind.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import { type MetronomeTick, startMetronome } from '../../src/strAux/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `done` every 20 ms; fails naming `what` after `tries`. */
async function until(what: string, done: () => boolean | Promise<boolean>, tries = 1500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await done()) return;
    await pause(20);
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Records the timers the metronome module creates (Node's Timeout objects). */
function metronomeTimers() {
  const made: NodeJS.Timeout[] = [];
  const real = globalThis.setTimeout;
  const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((
    fn: (...a: unknown[]) => void,
    ms?: number,
    ...args: unknown[]
  ) => {
    const handle = real(fn, ms, ...args);
    // called by the metronome itself (its caller's frame), not by the driver beneath it
    const caller = new Error().stack
      ?.split('\n')
      .slice(1)
      .find((l) => !l.includes('metronome.test.ts') && !/vitest|tinyspy/.test(l));
    if (caller?.includes('src/strAux/metronome')) made.push(handle);
    return handle;
  }) as typeof setTimeout);
  return {
    made,
    /** Timers neither fired nor cleared. */
    live: () => made.filter((h) => !(h as unknown as { _destroyed: boolean })._destroyed).length,
    restore: () => spy.mockRestore(),
  };
}

describe('startMetronome', () => {
  it('two metronomes on two clients tick exactly once per period between them', {
    timeout: 120_000,
  }, async () => {
    const timers = metronomeTimers();
    const pool = (name: string) =>
      postgres(db.url, { onnotice: () => {}, max: 2, connection: { application_name: name } });
    const pa = pool('metro-a');
    const pb = pool('metro-b');
    const ticks: (MetronomeTick & { by: string })[] = [];
    const errors: unknown[] = [];
    try {
      const a = startMetronome(pa, {
        everyMs: 150,
        name: 'pair',
        onTick: (t) => ticks.push({ ...t, by: 'a' }),
        onError: (e) => errors.push(e),
      });
      const b = startMetronome(pb, {
        everyMs: 150,
        name: 'pair',
        onTick: (t) => ticks.push({ ...t, by: 'b' }),
        onError: (e) => errors.push(e),
      });
      // until both have heard at least 8 periods each
      await until('8 periods heard by each metronome', () =>
        ['a', 'b'].every((by) => ticks.filter((t) => t.by === by).length >= 8),
      );
      await Promise.all([a.stop(), b.stop()]);
      // stopped: no query of theirs is running
      const active = await db.sql`
        select 1 from pg_stat_activity where application_name in ('metro-a', 'metro-b') and state <> 'idle'`;
      expect(active.length).toBe(0);
      // and no timer of theirs is left
      expect(timers.made.length).toBeGreaterThanOrEqual(16);
      expect(timers.live()).toBe(0);
    } finally {
      timers.restore();
      await Promise.all([pa.end(), pb.end()]);
    }
    expect(errors).toEqual([]);
    const heard = new Set(ticks.map((t) => t.period));
    const ticked = ticks.filter((t) => !t.skipped).map((t) => t.period);
    // every period either instance heard was ticked by exactly one of them
    expect([...ticked].sort()).toEqual([...heard].sort());
    expect(ticks.filter((t) => t.skipped).length).toBeGreaterThan(0);
    for (const t of ticks) if (t.skipped) expect(['locked', 'done']).toContain(t.reason);
    const [row] =
      await db.sql`select last_period::float8 as p from str_aux.metronome_periods where name = 'pair'`;
    expect(row).toEqual({ p: Math.max(...ticked) });
  });

  it('stop() waits for a running tick', { timeout: 60_000 }, async () => {
    const other = postgres(db.url, {
      onnotice: () => {},
      max: 2,
      connection: { application_name: 'metro-c' },
    });
    const ticks: MetronomeTick[] = [];
    const blocker = await db.sql.reserve();
    try {
      // hold a lock tick_all needs, so the first tick blocks inside it
      await blocker`begin`;
      await blocker`lock table str_aux.pending_cycles in access exclusive mode`;
      const m = startMetronome(other, { everyMs: 100, name: 'blocked', onTick: (t) => ticks.push(t) });
      await until('the tick to wait on the lock', async () => {
        const w =
          await db.sql`select 1 from pg_stat_activity where application_name = 'metro-c' and wait_event_type = 'Lock'`;
        return w.length > 0;
      });
      let stopped = false;
      const stopping = m.stop().then(() => {
        stopped = true;
      });
      await pause(50);
      expect(stopped).toBe(false); // the tick still runs
      await blocker`rollback`;
      await stopping;
      expect(ticks.map((t) => t.skipped)).toEqual([false]);
    } finally {
      blocker.release();
      await other.end();
    }
  });

  it('refuses bad options and a transaction', async () => {
    const e = await refusal(Promise.resolve().then(() => startMetronome(db.sql, { everyMs: 0 })));
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).issues).toEqual([{ path: ['everyMs'], message: 'must be at least 10' }]);
    await db.sql.begin(async (tx) => {
      const f = await refusal(Promise.resolve().then(() => startMetronome(tx, { everyMs: 100 })));
      expect((f as ValidationError).issues).toEqual([
        { path: [], message: 'needs a pool (with begin), not a transaction' },
      ]);
    });
  });
});
