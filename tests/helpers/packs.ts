// The packs this version ships, written out by hand: a test that compares with them fails when a
// pack is added, renamed or lost, instead of agreeing with whatever loadPacks() finds.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SHIPPED_PACKS = [
  '00_schemas',
  '01_extensions',
  '02_settings',
  '03_market',
  '04_documents',
  '05_wallet',
  '07_matrices',
  '08_str-aux',
  '09_cin-aux-core',
  '09_cin-aux-functions',
  '09_cin-aux-runtime',
  '09_str-aux_autonomy',
  '10_cin-aux-runtime',
  '11_cin-aux-functions',
  '12_mea_dynamics',
  '16_ingest',
  '18_str-aux_support',
  '20_cin_aux_views',
] as const;

export const repoRoot = join(import.meta.dirname, '..', '..');

/** sha256 (hex) of a pack file's bytes, computed here rather than by the code under test. */
export function fileSha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The sha256 of a shipped pack, by name (`02_settings`). */
export function shippedSha256(name: string): string {
  return fileSha256(join(repoRoot, 'ddl', `${name}.sql`));
}

/** This package's version, read from package.json (what the ledger must record). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}
