// Demo tour of str_aux: samples roll into 40 s cycles at once; tickAll rolls windows with stats.
import type { Client } from '../../src/client.js';

export async function tour(db: Client, print: (line: string) => void): Promise<void> {
  await db.settings.syncCoinUniverse({ symbols: ['BTCUSDT'], autoDisable: false });
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  const rows = Array.from({ length: 60 }, (_, i) => ({
    symbol: 'BTCUSDT',
    ts: t0 + i * 5000,
    vInner: Math.sin(i / 5),
    spreadAvg: 0.01 + (i % 3) / 100,
  }));
  print(`upsertSamples5s: ${(await db.strAux.upsertSamples5s(rows)).inserted} samples`);
  const cycles = await db.strAux.cyclesBetween({ symbols: ['BTCUSDT'], from: t0, to: t0 + 300_000 });
  print(`cycles of 40 s: ${cycles.length}`);
  const tick = await db.strAux.tickAll();
  print(`tickAll: ${tick.windows} windows, ${tick.computed} with stats`);
  const [st] = await db.strAux.windowStats({ symbols: ['BTCUSDT'], windows: ['5m'], from: t0, to: t0 + 1 });
  if (st) print(`5m: variance ${st.vInnerVariance?.toFixed(4)}, spread p95 ${st.spreadP95}`);
}
