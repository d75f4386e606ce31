// Demo tour of the cinAux ledger and the mea store: fund a session, a priced move through FIFO lots,
// a replay, a refused overdraw, close; then an mea cycle and its tiers.
import type { Client } from '../../src/client.js';
import { ValidationError } from '../../src/core/errors.js';

export async function tour(db: Client, print: (line: string) => void): Promise<void> {
  for (const code of ['USDT', 'BTC', 'ETH']) await db.market.upsertAsset({ code });
  const { id: sessionId } = await db.cinAux.openSession({ window: '1h' });
  await db.cinAux.fund({ sessionId, asset: 'USDT', usdt: '1000', units: '1000', priceUsdt: '1' });
  const move = {
    sessionId,
    fromAsset: 'USDT',
    toAsset: 'BTC',
    executedUsdt: '400',
    feeUsdt: '0.4',
    priceFromUsdt: '1',
    priceToUsdt: '40000',
    idempotencyKey: 'demo-buy',
  };
  const buy = await db.cinAux.applyMove(move);
  const again = await db.cinAux.applyMove(move);
  print(
    `USDT→BTC: ${buy.toUnits} BTC for ${buy.executedUsdt} USDT, fee ${buy.feeUsdt}; replayed: same move ${again.id === buy.id}`,
  );
  await db.cinAux.addMark({ sessionId, asset: 'BTC', priceUsdt: '44000' });
  const swap = await db.cinAux.applyMove({
    sessionId,
    fromAsset: 'BTC',
    toAsset: 'ETH',
    executedUsdt: '220',
    feeUsdt: '0.22',
    priceFromUsdt: '44000',
    priceToUsdt: '2200',
  });
  print(`BTC→ETH: ${swap.fromUnits} BTC at cost 200 sold for 220: trace ${swap.traceUsdt}`);
  try {
    await db.cinAux.applyMove({ sessionId, fromAsset: 'ETH', toAsset: 'USDT', executedUsdt: '500' });
  } catch (e) {
    if (e instanceof ValidationError)
      print(`overdraw refused: ${e.issues[0]?.path.join('.')}: ${e.issues[0]?.message}`);
  }
  const closed = await db.cinAux.closeSession(sessionId);
  print(`closed: generated profit ${closed.generatedProfitUsdt} USDT, tau ${closed.tauUsdt}`);

  const cycle = await db.mea.startCycle({ window: '1h', engineCycle: 1, coins: ['BTC', 'ETH'] });
  await db.mea.putMeaSymbols(
    [
      { symbol: 'BTC', meaValue: 0.0005 },
      { symbol: 'ETH', meaValue: 0.0002 },
    ],
    { cycleId: cycle.id },
  );
  const tiers = (await db.mea.meaLatestPerSymbol({ windows: ['1h'] })).map((r) => `${r.symbol} ${r.tier}`);
  print(`mea tiers: ${tiers.join(', ')} (tierFor(0.00016) = ${db.mea.tierFor(0.00016)})`);
}
