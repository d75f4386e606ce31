/**
 * Where a Binance kline of a window opens and closes: the rule `ingest.window_close_ms` holds in SQL,
 * written once here for the SDK. Pure helpers, not re-exported by the module's index.
 *
 * Binance's klines are UTC. Seconds, minutes and hours open at multiples of their span since
 * 1970-01-01 (every Binance span of those units divides the day); days open at 00:00, weeks on
 * Monday 00:00, months on the first of a calendar month 00:00. A kline closes 1 ms before the next
 * one of its window opens (a month lasts 28 to 31 days).
 */

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };
const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05T00:00:00Z, a Monday. */
const FIRST_MONDAY_MS = 4 * DAY_MS;

/**
 * The close time (epoch ms) of a kline of `window` (`1m`, `4h`, `1w`, `1M`…) opening at `openMs`, or
 * undefined when no kline of the window opens then.
 * @example
 * ```ts
 * windowCloseMs('1M', Date.UTC(2024, 1, 1)); // Date.UTC(2024, 2, 1) - 1: February 2024 has 29 days
 * windowCloseMs('1w', Date.UTC(2024, 0, 2)); // undefined: a Tuesday
 * ```
 * @throws never (a malformed window or time is undefined)
 */
export function windowCloseMs(window: string, openMs: number): number | undefined {
  const m = /^([1-9][0-9]{0,3})([smhdwM])$/.exec(window);
  if (!m || !Number.isSafeInteger(openMs) || openMs < 0) return undefined;
  const n = Number(m[1]);
  const unit = m[2]!;
  switch (unit) {
    case 'M': {
      const d = new Date(openMs);
      const first = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      if (first !== openMs) return undefined;
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1) - 1;
    }
    case 'w':
      return (openMs - FIRST_MONDAY_MS) % WEEK_MS === 0 ? openMs + n * WEEK_MS - 1 : undefined;
    case 'd':
      return openMs % DAY_MS === 0 ? openMs + n * DAY_MS - 1 : undefined;
    default: {
      const span = n * UNIT_MS[unit]!;
      return openMs % span === 0 ? openMs + span - 1 : undefined;
    }
  }
}

/**
 * Why a kline of `window` cannot open at `openMs` and close at `closeMs`, or undefined when it can.
 * @example
 * ```ts
 * klineSpanProblem('1m', 1499040000000, 1499644799999); // 'does not close 1 ms before the next kline of the window opens'
 * ```
 * @throws never
 */
export function klineSpanProblem(window: string, openMs: number, closeMs: number): string | undefined {
  const close = windowCloseMs(window, openMs);
  if (close === undefined) return 'opens at a time where no kline of the window opens';
  if (close !== closeMs) return 'does not close 1 ms before the next kline of the window opens';
  return undefined;
}
