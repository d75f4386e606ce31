// Demo tour of the wallet module: an account, an idempotent import of moves, balances, a refused overdraw.
import { randomUUID } from 'node:crypto';
import type { Client } from '../../src/client.js';
import { ValidationError } from '../../src/core/errors.js';

export async function tour(db: Client, print: (line: string) => void): Promise<void> {
  const account = await db.wallet.createAccount({
    ownerId: randomUUID(),
    venue: 'binance',
    label: 'demo spot',
  });
  print(`account ${account.label} at ${account.venue} (base ${account.baseCurrency})`);
  const moves = [
    {
      kind: 'deposit',
      asset: 'USDT',
      amount: '1000',
      occurredAt: '2025-01-01T00:00:00Z',
      externalId: 'dep-1',
    },
    {
      kind: 'trade_out',
      asset: 'USDT',
      amount: '250.50',
      occurredAt: '2025-01-01T00:01:00Z',
      externalId: 'trade-1-out',
    },
    {
      kind: 'trade_in',
      asset: 'BTC',
      amount: '0.0025',
      occurredAt: '2025-01-01T00:01:00Z',
      externalId: 'trade-1-in',
    },
  ];
  const first = await db.wallet.recordMoves({ accountId: account.id, moves });
  const again = await db.wallet.recordMoves({ accountId: account.id, moves });
  print(
    `import: ${first.inserted} inserted; the same import again: ${again.inserted} inserted, ${again.skipped} skipped`,
  );
  for (const b of await db.wallet.balances({ accountIds: [account.id] }))
    print(`balance ${b.asset.padEnd(5)} ${b.balance}`);
  const refused = await db.wallet
    .recordMoves({
      accountId: account.id,
      moves: [{ kind: 'withdrawal', asset: 'BTC', amount: '1', occurredAt: '2025-01-02T00:00:00Z' }],
    })
    .catch((e: unknown) => e);
  if (refused instanceof ValidationError) print(`withdrawing 1 BTC: refused (${refused.issues[0]?.message})`);
}
