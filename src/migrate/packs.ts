/** Finding the shipped packs (`ddl/NN_name.sql`) relative to the installed package, and their checksums. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A pack as shipped: `02_settings` from `ddl/02_settings.sql`. */
export interface Pack {
  /** File stem, e.g. `02_settings`: the name the ledger records. */
  name: string;
  /** Numeric prefix, e.g. 2. */
  order: number;
  file: string;
  text: string;
  /** sha256 of the text, hex. */
  checksum: string;
}

const PACK_FILE = /^(\d{2,})_([\w.-]+)\.sql$/;

/** The folder of the installed cryptopi-db package (works from src/, dist/, node_modules, ESM and CJS). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'ddl'))) {
      const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name;
      if (name === 'cryptopi-db') return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cryptopi-db: cannot find the package folder holding ddl/');
    dir = up;
  }
}

/** The folder of the shipped packs. */
export function defaultPacksDir(): string {
  return join(packageRoot(), 'ddl');
}

let version: string | undefined;
/** The SDK version recorded in the ledger. */
export function sdkVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
  return version;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Which packs to consider: names (`04_documents`) or bare schema names (`documents`). */
export interface PackSelection {
  include?: readonly string[] | undefined;
  exclude?: readonly string[] | undefined;
}

function matches(pack: string, names: readonly string[]): boolean {
  const bare = pack.replace(/^\d+_/, '');
  return names.some((n) => n === pack || n === bare || n === `${pack}.sql`);
}

/**
 * Reads the packs of a folder in numeric order (then by name), filtered by `include` / `exclude`.
 * @throws Error when `include` or `exclude` names a pack the folder does not hold (a typo would
 * otherwise select nothing, or exclude nothing, silently)
 */
export function loadPacks(dir: string = defaultPacksDir(), selection: PackSelection = {}): Pack[] {
  const files = readdirSync(dir)
    .map((file) => ({ file, m: PACK_FILE.exec(file) }))
    .filter((f): f is { file: string; m: RegExpExecArray } => f.m !== null);
  const names = files.map((f) => f.file.slice(0, -4));
  for (const [option, list] of [
    ['include', selection.include],
    ['exclude', selection.exclude],
  ] as const) {
    const unknown = (list ?? []).filter((n) => !names.some((pack) => matches(pack, [n])));
    if (unknown.length > 0) {
      throw new Error(
        `cryptopi-db: ${option} names no pack: ${unknown.join(', ')} (packs: ${names.sort().join(', ')})`,
      );
    }
  }
  const packs: Pack[] = [];
  for (const { file, m } of files) {
    const name = file.slice(0, -4);
    if (selection.include && !matches(name, selection.include)) continue;
    if (selection.exclude && matches(name, selection.exclude)) continue;
    const text = readFileSync(join(dir, file), 'utf8');
    packs.push({ name, order: Number(m[1]), file: join(dir, file), text, checksum: sha256(text) });
  }
  return packs.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}
