// Instants are read as util.epoch_ms: exact whatever the session TimeZone, at years far from now.
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addMark, applyMove, fund, listMoves, listSessions, openSession } from '../../src/cinAux/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { seedAssets } from './helpers.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
  await seedAssets(db.sql);
});
afterAll(() => db.close());

const INSTANTS = [
  '0050-03-01T12:34:56.789Z',
  '1850-06-01T00:00:00.001Z',
  '1900-01-01T00:00:00Z',
  '1970-01-01T00:00:00Z',
  '2038-01-19T03:14:08.123Z',
  '9999-12-31T23:59:59.999Z',
];

it.each(['Europe/Amsterdam', 'Asia/Kolkata', 'America/New_York'])('exact under TimeZone %s', async (zone) => {
  const sql = postgres(db.url, { max: 1, onnotice: () => {}, connection: { TimeZone: zone } });
  try {
    for (const iso of INSTANTS) {
      const s = await openSession(sql, { window: '1m', openedAt: iso });
      await fund(sql, { sessionId: s.id, asset: 'USDT', usdt: '10' });
      const m = await applyMove(sql, {
        sessionId: s.id,
        fromAsset: 'USDT',
        toAsset: 'BTC',
        executedUsdt: '1',
        ts: iso,
      });
      const mark = await addMark(sql, { sessionId: s.id, asset: 'BTC', priceUsdt: '1', ts: iso });
      const [read] = await listSessions(sql, { sessionIds: [s.id] });
      const [move] = await listMoves(sql, { sessionIds: [s.id] });
      expect([s.openedAt, m.ts, mark.ts, read?.openedAt, move?.ts].map((d) => d?.toISOString())).toEqual(
        Array(5).fill(new Date(iso).toISOString()),
      );
    }
  } finally {
    await sql.end();
  }
});
