/**
 * Reading a documentation bundle from disk: the files of a folder (recursively) with their sha256,
 * size, kind and title. Not exported by the module's index (the client binds only functions that
 * take a `Queryable` first).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../core/errors.js';

/** One file of a bundle as the registry stores it. */
export interface BundleFile {
  /** Relative POSIX path, the bundle prefix included, Unicode NFC (`guides/setup.md`). */
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
const MAX_PATH = 1024; // docs.doc_registry_path_check
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
const CONTROL = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
const CONTROL_RUNS = /[\u0000-\u001f\u007f]+/g;

/** Code-unit order, the same on every machine and locale (not `localeCompare`). */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A file to read: its registry path (NFC) and where it is on disk. */
interface Found {
  path: string;
  file: string;
}

/** A refusal about one file of the bundle, named by its relative path. */
function refuse(operation: string, message: string, cause?: unknown): ValidationError {
  return new ValidationError(operation, [{ path: ['dir'], message }], { cause });
}

/** The error code of a Node file-system error (`EACCES`), else the error's class. */
function fsCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : e instanceof Error ? e.name : 'error';
}

/**
 * The files under `root`, recursively, in code-unit order of their relative POSIX paths. Entries
 * whose name starts with '.' (`.git`, `.DS_Store`) are skipped. Symbolic links are followed (the
 * bundle is what a reader of the folder sees); anything else that is not a file or a folder, a broken
 * link, a link back to a parent folder (a cycle) or a name the registry cannot hold is refused by
 * name rather than skipped. Paths are Unicode NFC, so the same bundle read on macOS (NFD names) and
 * Linux gives the same paths.
 */
async function listFiles(operation: string, root: string, prefix: string): Promise<Found[]> {
  const out: Found[] = [];
  const walk = async (dir: string, rel: string, parents: ReadonlySet<string>): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      throw refuse(operation, `${rel || '.'} cannot be read (${fsCode(e)})`, e);
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const full = join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await stat(full).catch(() => null);
        if (!target) throw refuse(operation, `${relPath} is a broken symbolic link`);
        isDir = target.isDirectory();
        isFile = target.isFile();
      }
      if (isDir) {
        const real = await realpath(full);
        if (parents.has(real)) {
          throw refuse(operation, `${relPath} is a symbolic link to one of its own parent folders`);
        }
        await walk(full, relPath, new Set([...parents, real]));
      } else if (isFile) {
        out.push({ path: relPath.normalize('NFC'), file: full });
      } else {
        throw refuse(operation, `${relPath} is neither a file nor a folder`);
      }
    }
  };
  await walk(root, '', new Set([await realpath(root)]));
  out.sort((a, b) => byCodeUnit(a.path, b.path));
  for (let i = 0; i < out.length; i++) {
    const { path } = out[i] as Found;
    if (CONTROL.test(path))
      throw refuse(operation, `${JSON.stringify(path)} has a control character in its name`);
    if ((prefix + path).length > MAX_PATH) {
      throw refuse(operation, `${path} makes a registry path longer than ${MAX_PATH} characters`);
    }
    if (i > 0 && out[i - 1]?.path === path) {
      throw refuse(operation, `${path} is the name of two files once Unicode-normalized (NFC)`);
    }
  }
  return out;
}

function kindOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  return /^[a-z0-9]{1,16}$/.test(ext) ? ext : 'file';
}

/**
 * The first `# heading` of a markdown head, at most 300 characters, control characters as spaces.
 * A head holding a NUL byte is binary, not markdown: no title. A leading byte order mark (editors
 * on Windows write one) is not part of the first line.
 */
function titleOf(head: Buffer): string | null {
  if (head.includes(0)) return null;
  const m = /^#[ \t]+(.+?)[ \t#]*$/m.exec(head.toString('utf8').replace(/^\uFEFF/, ''));
  const title = m?.[1]?.replace(CONTROL_RUNS, ' ').trim();
  return title ? Array.from(title).slice(0, 300).join('').trim() : null;
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
 * Reads every file of the bundle folder `dir` (recursively), hashing it with sha256 as a stream
 * (any size, any content).
 * @throws ValidationError when `dir` is not a readable folder, or naming the file that cannot be
 *   read or registered (broken link, cycle, special file, bad or duplicate name)
 */
export async function readBundle(operation: string, dir: string, prefix: string): Promise<BundleFile[]> {
  const found = await stat(dir).catch((e: unknown) => {
    throw refuse(operation, 'is not a readable folder', e);
  });
  if (!found.isDirectory()) throw refuse(operation, 'is not a readable folder');
  const files: BundleFile[] = [];
  for (const { path, file } of await listFiles(operation, dir, prefix)) {
    const kind = kindOf(path);
    let read: Awaited<ReturnType<typeof hashFile>>;
    try {
      read = await hashFile(file, MARKDOWN.has(kind));
    } catch (e) {
      throw refuse(operation, `${path} cannot be read (${fsCode(e)})`, e);
    }
    files.push({
      path: `${prefix}${path}`,
      sha256: read.sha256,
      sizeBytes: read.size,
      title: titleOf(read.head),
      kind,
    });
  }
  return files;
}
