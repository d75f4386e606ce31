/**
 * Reading a documentation bundle from disk: the files of a folder (recursively) with their sha256,
 * size, kind and title. Not exported by the module's index (the client binds only functions that
 * take a `Queryable` first).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../core/errors.js';

/** One file of a bundle as the registry stores it. */
export interface BundleFile {
  /** Relative POSIX path, the bundle prefix included (`guides/setup.md`). */
  path: string;
  sha256: string;
  sizeBytes: number;
  /** The first `# heading` of a markdown file, else null. */
  title: string | null;
  /** The extension, lower-case (`md`, `pdf`), or `file` when there is none usable. */
  kind: string;
}

const MARKDOWN = new Set(['md', 'markdown', 'mdx']);
const TITLE_SCAN_BYTES = 64 * 1024;

/** Code-unit order, the same on every machine and locale (not `localeCompare`). */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Relative POSIX paths of the regular files under `root`, in code-unit order. Entries whose name
 * starts with '.' (`.git`, `.DS_Store`) are skipped, and so are symbolic links (no cycles, no
 * files from outside the bundle).
 */
async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(join(dir, entry.name), relPath);
      else if (entry.isFile()) out.push(relPath);
    }
  };
  await walk(root, '');
  return out.sort(byCodeUnit);
}

function kindOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  return /^[a-z0-9]{1,16}$/.test(ext) ? ext : 'file';
}

function titleOf(head: Buffer): string | null {
  const m = /^#[ \t]+(.+?)[ \t#]*$/m.exec(head.toString('utf8'));
  const title = m?.[1]?.trim();
  return title ? title.slice(0, 300) : null;
}

async function hashFile(
  file: string,
  wantTitle: boolean,
): Promise<{ sha256: string; size: number; head: Buffer }> {
  const hash = createHash('sha256');
  let size = 0;
  const headParts: Buffer[] = [];
  let headSize = 0;
  for await (const chunk of createReadStream(file)) {
    const buf = chunk as Buffer;
    hash.update(buf);
    size += buf.length;
    if (wantTitle && headSize < TITLE_SCAN_BYTES) {
      headParts.push(buf);
      headSize += buf.length;
    }
  }
  return { sha256: hash.digest('hex'), size, head: Buffer.concat(headParts).subarray(0, TITLE_SCAN_BYTES) };
}

/**
 * Reads every file of the bundle folder `dir` (recursively), hashing it with sha256.
 * @throws ValidationError when `dir` is not a readable folder
 */
export async function readBundle(operation: string, dir: string, prefix: string): Promise<BundleFile[]> {
  let paths: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    paths = await listFiles(dir);
  } catch (e) {
    throw new ValidationError(operation, [{ path: ['dir'], message: 'is not a readable folder' }], {
      cause: e,
    });
  }
  const files: BundleFile[] = [];
  for (const rel of paths) {
    const kind = kindOf(rel);
    const { sha256, size, head } = await hashFile(join(dir, ...rel.split('/')), MARKDOWN.has(kind));
    files.push({ path: `${prefix}${rel}`, sha256, sizeBytes: size, title: titleOf(head), kind });
  }
  return files;
}
