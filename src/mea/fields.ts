/** Input fields the mea concepts share (internal: not re-exported by the index). */
import { z } from 'zod';
import { text } from '../core/codecs.js';

/** A `settings.windows` label. */
export const windowLabel = text().regex(
  /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/,
  'expected a window label such as 15m (a letter or digit, then up to 31 letters, digits, _ or -)',
);
/** A coin or symbol as the engine names it ('BTC', 'BTCUSDT'). */
export const coin = z.string().regex(/^[A-Z0-9]{1,30}$/, 'expected an upper-case coin such as BTC');
