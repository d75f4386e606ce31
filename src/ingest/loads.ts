/**
 * What a load log keeps of a failed load's error. Pure helper, not re-exported by the module's index
 * (the client binds every function the index exports).
 */
import { LOAD_ERROR_MAX } from './schemas.js';

const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The text a load log keeps of what a callback threw: `name: message`, whatever was thrown (an
 * object whose `toString` throws too), with NUL and lone surrogates replaced by U+FFFD and cut to
 * 4 000 characters without splitting a character, so that the failed status can always be written.
 * @example
 * ```ts
 * loadErrorText(new Error('bad\u0000byte')); // 'Error: bad\uFFFDbyte'
 * ```
 * @throws never
 */
export function loadErrorText(e: unknown): string {
  let raw: string;
  try {
    raw = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  } catch {
    raw = 'a value that cannot be shown as text';
  }
  if (typeof raw !== 'string') raw = 'a value that cannot be shown as text';
  // at most 4 000 code points need at most 8 000 UTF-16 units: cut first, so a huge message costs nothing
  const head = raw.slice(0, 2 * LOAD_ERROR_MAX + 1);
  const clean = head.replace(LONE_SURROGATES, '\uFFFD').replaceAll('\u0000', '\uFFFD');
  const chars = Array.from(clean);
  const text = chars.length > LOAD_ERROR_MAX ? chars.slice(0, LOAD_ERROR_MAX).join('') : clean;
  return text.length === 0 ? 'failed' : text;
}
