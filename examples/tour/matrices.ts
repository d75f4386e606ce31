// Demo tour of the matrices module: one grid per cycle, read back; a day of points in one bulk write.
import type { Client } from '../../src/client.js';

export async function tour(db: Client, print: (line: string) => void): Promise<void> {
  const coins = ['BTC', 'ETH', 'USDT'];
  const ts = new Date('2025-01-01T00:00:40Z');
  const written = await db.matrices.putGrid({
    matrixType: 'id_pct',
    ts,
    coins,
    values: [
      [null, 0.12, 0.31],
      [-0.12, null, 0.2],
      [-0.31, -0.2, null],
    ],
  });
  print(`putGrid id_pct at ${ts.toISOString()}: ${written.points} points`);
  const grid = await db.matrices.getGrid({ matrixType: 'id_pct' });
  if (grid) {
    print(`getGrid: ${grid.coins.join(' ')}`);
    grid.values.forEach((row, i) => {
      print(
        `  ${grid.coins[i]!.padEnd(5)} ${row.map((v) => (v === null ? '   -' : v.toFixed(2).padStart(5))).join(' ')}`,
      );
    });
  }
  const start = Date.parse('2025-01-01T00:00:00Z');
  const points = ['BTC', 'ETH'].flatMap((coin, i) =>
    Array.from({ length: 1440 }, (_, m) => ({
      seriesKey: `mood:${coin}`,
      ts: start + m * 60_000,
      value: i + m / 1440,
    })),
  );
  const count = await db.matrices.putPointsBulk(points);
  const again = await db.matrices.putPointsBulk(points);
  print(`putPointsBulk: ${count} points over 2 series; replayed: ${again} (idempotent)`);
  for (const p of await db.matrices.latestPoints({ keyPrefix: 'mood:' })) {
    print(`latest ${p.key} at ${p.ts.toISOString()} = ${p.value.toFixed(4)}`);
  }
}
