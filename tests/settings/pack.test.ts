import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { functionPins, updatedAtTouches } from '../helpers/catalog.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

it('every settings function pins search_path; every settings table with updated_at is touched', async () => {
  const functions = await functionPins(db.sql, 'settings');
  expect(functions.map((f) => f.name)).toEqual([
    'coin_universe_derive',
    'coin_universe_sync',
    'coin_universe_truncate',
    'external_accounts_linked_at',
    'mirror_symbols_to_market',
    'sp_get_wallet_credentials',
    'sp_mirror_universe_to_market',
    'sp_put_wallet_credentials',
    'sp_sync_coin_universe',
    'sp_update_params',
    'sp_upsert_external_account',
    'sp_upsert_profile',
    'sp_upsert_rule',
    'sp_upsert_wallet',
    'sp_upsert_window',
    'universe_batch_apply',
  ]);
  expect(functions.filter((f) => !f.pinned)).toEqual([]);
  expect(
    (await updatedAtTouches(db.sql, 'settings')).map((t) => ({ table: t.table, touched: t.touched })),
  ).toEqual(
    [
      'ccr_rules',
      'coin_universe',
      'external_accounts',
      'params',
      'profile',
      'scr_rules',
      'wallet_credentials',
      'wallets',
    ].map((table) => ({ table, touched: true })),
  );
});

it('the pack describes the schema as it is: no shim for databases of unreleased versions', async () => {
  const pack = await readFile(join(import.meta.dirname, '../../ddl/02_settings.sql'), 'utf8');
  const code = pack.replace(/--.*$/gm, ''); // comments may name what is not there
  expect(code).not.toMatch(/drop\s+constraint\s+if\s+exists/i);
  expect(code).not.toMatch(/add\s+column\s+if\s+not\s+exists/i);
  expect(code).not.toMatch(/ensure_constraint/i);
  expect(code).not.toMatch(/^\s*do\s+\$/im);
  // what those shims added is in the tables themselves
  expect(
    await db.sql`select conname, pg_get_constraintdef(oid) as def from pg_constraint
                 where conrelid = 'settings.windows'::regclass and conname = 'windows_duration_ms_safe'`,
  ).toEqual([
    { conname: 'windows_duration_ms_safe', def: "CHECK ((duration_ms <= '9007199254740991'::bigint))" },
  ]);
  expect(
    await db.sql`select column_name, data_type, is_nullable from information_schema.columns
                 where table_schema = 'settings' and table_name = 'windows' order by ordinal_position`,
  ).toEqual([
    { column_name: 'label', data_type: 'text', is_nullable: 'NO' },
    { column_name: 'amount', data_type: 'integer', is_nullable: 'NO' },
    { column_name: 'unit', data_type: 'text', is_nullable: 'NO' },
    { column_name: 'duration_ms', data_type: 'bigint', is_nullable: 'YES' },
    { column_name: 'created_at', data_type: 'timestamp with time zone', is_nullable: 'NO' },
  ]);
});
