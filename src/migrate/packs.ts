/** Finding the shipped packs (`ddl/NN_name.sql`) relative to the installed package, and their checksums. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CryptopiError, ValidationError } from '../core/errors.js';

/** A pack as shipped: `02_settings` from `ddl/02_settings.sql`. */
export interface Pack {
  /** File stem, e.g. `02_settings`: the name the ledger records. */
  name: string;
  /** Numeric prefix, e.g. 2. */
  order: number;
  file: string;
  text: string;
  /** sha256 of the file's bytes, hex (the text is those bytes read as UTF-8). */
  checksum: string;
}

const PACK_FILE = /^(\d{2,})_([\w.-]+)\.sql$/;

/**
 * The folder of the installed cryptopi-db package (works from src/, dist/, node_modules, ESM and CJS).
 * @example
 * ```ts
 * const ddl = join(packageRoot(), 'ddl');
 * ```
 * @throws CryptopiError (code `package`) when no parent folder holds cryptopi-db's package.json and ddl/
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'ddl'))) {
      const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name;
      if (name === 'cryptopi-db') return dir;
    }
    const up = dirname(dir);
    if (up === dir)
      throw new CryptopiError('package', 'cryptopi-db: cannot find the package folder holding ddl/');
    dir = up;
  }
}

/**
 * The folder of the shipped packs.
 * @example
 * ```ts
 * loadPacks(defaultPacksDir()); // the same as loadPacks()
 * ```
 * @throws CryptopiError (code `package`) when the package folder cannot be found
 */
export function defaultPacksDir(): string {
  return join(packageRoot(), 'ddl');
}

let version: string | undefined;
/**
 * The SDK version recorded in the ledger (this package's `version`).
 * @example
 * ```ts
 * sdkVersion(); // '0.1.0'
 * ```
 * @throws CryptopiError (code `package`) when the package folder cannot be found
 */
export function sdkVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
  return version;
}

/** sha256 in hex of a text (as UTF-8) or of bytes: what the ledger records as a pack's checksum. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
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

/** The file names of a packs folder; a missing or unreadable folder is a ValidationError on `packsDir`. */
function listFolder(operation: string, dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const why =
      code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : `cannot be read (${code})`;
    throw new ValidationError(operation, [{ path: ['packsDir'], message: why }], { cause: e });
  }
}

/**
 * Reads the packs of a folder in numeric order (then by name), filtered by `include` / `exclude`.
 * `operation` names the caller in a refusal (`migrate`, `status`…).
 * @example
 * ```ts
 * loadPacks(undefined, { exclude: ['documents'] }).map((p) => p.name); // ['00_schemas', '01_extensions', …]
 * ```
 * @throws ValidationError (path `include` / `exclude`) when a selection names a pack the folder does
 * not hold (a typo would otherwise select nothing, or exclude nothing, silently); (path `packsDir`)
 * when the folder does not exist or cannot be read
 */
export function loadPacks(
  dir: string = defaultPacksDir(),
  selection: PackSelection = {},
  operation = 'loadPacks',
): Pack[] {
  const files = listFolder(operation, dir)
    .map((file) => ({ file, m: PACK_FILE.exec(file) }))
    .filter((f): f is { file: string; m: RegExpExecArray } => f.m !== null);
  const names = files.map((f) => f.file.slice(0, -4));
  const issues: { path: string[]; message: string }[] = [];
  for (const [option, list] of [
    ['include', selection.include],
    ['exclude', selection.exclude],
  ] as const) {
    if (list !== undefined && !Array.isArray(list)) {
      issues.push({ path: [option], message: 'must be an array of pack names' });
      continue;
    }
    const bad = (list ?? []).filter((n) => typeof n !== 'string');
    if (bad.length > 0) {
      issues.push({ path: [option], message: 'must hold pack names (strings)' });
      continue;
    }
    // pack names are the SDK's own vocabulary, not the caller's data: naming the typo is the point
    const unknown = (list ?? []).filter((n) => !names.some((pack) => matches(pack, [n])));
    if (unknown.length > 0)
      issues.push({
        path: [option],
        message: `names no pack: ${unknown.join(', ')} (packs: ${[...names].sort().join(', ')})`,
      });
  }
  if (issues.length > 0) throw new ValidationError(operation, issues);
  const packs: Pack[] = [];
  for (const { file, m } of files) {
    const name = file.slice(0, -4);
    if (selection.include && !matches(name, selection.include)) continue;
    if (selection.exclude && matches(name, selection.exclude)) continue;
    const bytes = readFileSync(join(dir, file));
    packs.push({
      name,
      order: Number(m[1]),
      file: join(dir, file),
      text: bytes.toString('utf8'),
      checksum: sha256(bytes),
    });
  }
  return packs.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}
