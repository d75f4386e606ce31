/**
 * The documents module: schema `docs` (pack `04_documents.sql`, optional), the provenance of the
 * documentation bundles a deployment ships: a registry of files with their sha256 and a hash history.
 */
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import { NotFoundError } from '../core/errors.js';
import type { Queryable } from '../core/queryable.js';
import { isPgError, mapPgError, parseInput, parseOne, parseRows } from '../core/run.js';
import { readBundle } from './bundle.js';
import {
  DocumentHashRow,
  DocumentHistoryInput,
  DocumentRow,
  ListDocumentsOptions,
  RegisterBundleInput,
  RegisterBundleResult,
  VerifyBundleInput,
  type VerifyBundleResult,
} from './schemas.js';

export * from './schemas.js';

/**
 * What a call says on a deployment that excluded the optional pack (`migrate({ exclude: ['documents'] })`):
 * a NotFoundError whose `entity` is the schema, `'docs'`.
 */
const PACK_MISSING = 'the documents pack (04_documents.sql) is not applied: schema docs not found';

/** What a NotFoundError for an unknown path is about. */
const DOCUMENT = 'docs.document';

/**
 * `run` for this module: a missing schema, table or function of `docs` means the optional pack is
 * not applied, a NotFoundError that says so; every other error is mapped as `run` maps it.
 */
async function run<T>(operation: string, query: PromiseLike<T>): Promise<T> {
  try {
    return await query;
  } catch (e) {
    if (isPgError(e) && ['3F000', '42P01', '42883'].includes(e.code) && /\bdocs\b/.test(e.message)) {
      throw new NotFoundError(operation, 'docs', {}, { cause: e, message: PACK_MISSING });
    }
    throw mapPgError(operation, e);
  }
}

const VerdictRow = z.object({
  path: z.string(),
  verdict: z.enum(['added', 'removed', 'changed', 'unchanged']),
});

/**
 * Registers a documentation bundle: walks `dir` recursively (relative POSIX paths in Unicode NFC;
 * names starting with '.' are skipped, symbolic links are followed), hashes every file with sha256
 * (streamed: any size, any content) and upserts the registry
 * in one set-based statement. A document whose hash changed gets a new history row; a registered
 * document under the prefix that is no longer on disk is marked removed (`removedAt`), keeping its
 * row and history, and is restored if it comes back.
 *
 * Wraps `docs.sp_register_bundle` (one registration at a time: it locks the registry for writes).
 * @example
 * ```ts
 * const r = await db.documents.registerBundle({ dir: './docs', version: '1.4.0' });
 * // r: { added: 12, changed: 0, unchanged: 0, removed: 0 }
 * ```
 * @throws ValidationError when the options are malformed or `dir` is not a readable folder, or naming
 *   the file that cannot be read or registered: a broken link, a link to a parent folder, a special
 *   file, a control character in a name, two names equal once normalized (nothing is sent)
 * @throws NotFoundError when the optional documents pack is not applied (`entity` `'docs'`)
 */
export async function registerBundle(
  sql: Queryable,
  input: RegisterBundleInput,
): Promise<RegisterBundleResult> {
  const op = 'documents.registerBundle';
  const { dir, prefix = '', version = null } = parseInput(op, RegisterBundleInput, input);
  const files = await readBundle(op, dir, prefix);
  const rows = await run(
    op,
    sql`
      select added_count as added, changed_count as changed, unchanged_count as unchanged,
             removed_count as removed
      from docs.sp_register_bundle(
        ${pgArray(files.map((f) => f.path))}::text[],
        ${pgArray(files.map((f) => f.sha256))}::text[],
        ${pgArray(files.map((f) => f.sizeBytes))}::bigint[],
        ${pgArray(files.map((f) => f.title))}::text[],
        ${pgArray(files.map((f) => f.kind))}::text[],
        ${prefix}, ${version}
      )
    `,
  );
  return parseOne('docs.sp_register_bundle', RegisterBundleResult, rows);
}

/**
 * Compares a bundle on disk with the registry: which files are added, removed or changed (by
 * sha256), and how many are unchanged. Writes nothing.
 *
 * Wraps `docs.sp_verify_bundle`; the folder is walked as `registerBundle` walks it.
 * @example
 * ```ts
 * const v = await db.documents.verifyBundle({ dir: './docs' });
 * if (v.added.length + v.removed.length + v.changed.length > 0) console.warn('docs drifted', v);
 * ```
 * @throws ValidationError as `registerBundle` does (nothing is sent)
 * @throws NotFoundError when the optional documents pack is not applied (`entity` `'docs'`)
 */
export async function verifyBundle(sql: Queryable, input: VerifyBundleInput): Promise<VerifyBundleResult> {
  const op = 'documents.verifyBundle';
  const { dir, prefix = '' } = parseInput(op, VerifyBundleInput, input);
  const files = await readBundle(op, dir, prefix);
  const rows = await run(
    op,
    sql`
      select doc_path as path, verdict
      from docs.sp_verify_bundle(
        ${pgArray(files.map((f) => f.path))}::text[],
        ${pgArray(files.map((f) => f.sha256))}::text[],
        ${prefix}
      )
    `,
  );
  const result: VerifyBundleResult = { added: [], removed: [], changed: [], unchanged: 0 };
  for (const row of parseRows('docs.sp_verify_bundle', VerdictRow, rows)) {
    if (row.verdict === 'unchanged') result.unchanged++;
    else result[row.verdict].push(row.path);
  }
  for (const list of [result.added, result.removed, result.changed])
    list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return result;
}

/**
 * Lists registered documents by path (code-unit order), present ones only unless `includeRemoved`.
 *
 * Reads `docs.doc_registry`.
 * @example
 * ```ts
 * const guides = await db.documents.listDocuments({ prefix: 'guides/' });
 * ```
 * @throws ValidationError when the options are malformed (nothing is sent)
 * @throws NotFoundError when the optional documents pack is not applied (`entity` `'docs'`)
 */
export async function listDocuments(
  sql: Queryable,
  options: ListDocumentsOptions = {},
): Promise<DocumentRow[]> {
  const op = 'documents.listDocuments';
  const { prefix = '', includeRemoved = false } = parseInput(op, ListDocumentsOptions, options);
  const rows = await run(
    op,
    sql`
      select id, path, slug, title, kind, version, sha256, size_bytes as "sizeBytes",
             util.epoch_ms(registered_at) as "registeredAt", util.epoch_ms(updated_at) as "updatedAt",
             util.epoch_ms(removed_at) as "removedAt", meta
      from docs.doc_registry
      where starts_with(path, ${prefix}) and (${includeRemoved} or removed_at is null)
      order by path collate "C"
    `,
  );
  return parseRows('docs.doc_registry', DocumentRow, rows);
}

/**
 * The hash history of one or more documents, in one round trip: by document in the order given,
 * each oldest first (one entry at its first registration and one each time its sha256 changed);
 * every entry names its path. Kept for removed documents too.
 *
 * Reads `docs.v_document_hashes`.
 * @example
 * ```ts
 * const history = await db.documents.documentHistory({ paths: ['guides/setup.md'] });
 * // [{ path: 'guides/setup.md', algorithm: 'sha256', hash: '9f86…', computedAt: Date }, …]
 * ```
 * @throws ValidationError when a path is empty or too long (nothing is sent)
 * @throws NotFoundError when a path is not registered (`entity` `'docs.document'`, `key` `{ path }`:
 *   the first such path given), or the optional documents pack is not applied (`entity` `'docs'`)
 */
export async function documentHistory(
  sql: Queryable,
  input: DocumentHistoryInput,
): Promise<DocumentHashRow[]> {
  const op = 'documents.documentHistory';
  const paths = [...new Set(parseInput(op, DocumentHistoryInput, input).paths)];
  const rows = await run(
    op,
    sql`
      select k.path, h.algorithm, h.hash, util.epoch_ms(h.computed_at) as "computedAt",
             r.path is not null as registered
      from unnest(${pgArray(paths)}::text[]) with ordinality as k (path, ord)
      left join docs.doc_registry r on r.path = k.path
      left join docs.v_document_hashes h on h.path = r.path
      order by k.ord, h.computed_at, h.id
    `,
  );
  const missing = rows.find((r) => !r.registered);
  if (missing) throw new NotFoundError(op, DOCUMENT, { path: missing.path as string });
  return parseRows(
    'docs.v_document_hashes',
    DocumentHashRow,
    rows.map(({ registered: _, ...row }) => row),
  );
}
