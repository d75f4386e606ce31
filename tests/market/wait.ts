// A bounded poll for tests that wait on another backend (a lock waiter): it pauses between polls and
// gives up with a failure that says what it waited for.
import { setTimeout as pause } from 'node:timers/promises';

/** Polls `check` every `everyMs` until it is true; throws naming `what` after `attempts` polls. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: { everyMs?: number; attempts?: number } = {},
): Promise<void> {
  const { everyMs = 20, attempts = 500 } = options;
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await pause(everyMs);
  }
  throw new Error(`gave up waiting: ${what} (${attempts} polls, ${everyMs} ms apart)`);
}
