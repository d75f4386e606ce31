import { z } from 'zod';
import { int8, jsonObjectRow, text, timestamptz } from '../core/codecs.js';

/** A row of `docs.doc_registry`, as the SDK returns it. */
export const DocumentRow = z.object({
  id: int8,
  /** Relative POSIX path, unique (`guides/setup.md`). */
  path: z.string(),
  /** The path without extension, lower-case, other characters as '-' (`guides-setup`); generated. */
  slug: z.string(),
  /** The first `# heading` of a markdown file, else null. */
  title: z.string().nullable(),
  /** The file's extension, lower-case (`md`), or `file`. */
  kind: z.string(),
  /** The bundle version given at registration, if any. */
  version: z.string().nullable(),
  /** sha256 of the content, lower-case hex. */
  sha256: z.string(),
  sizeBytes: int8,
  registeredAt: timestamptz,
  updatedAt: timestamptz,
  /** When a registration last found the file missing from its bundle; null while it is present. */
  removedAt: timestamptz.nullable(),
  meta: jsonObjectRow,
});
export type DocumentRow = z.infer<typeof DocumentRow>;

/** One entry of a document's hash history (`docs.doc_hashes`), oldest first. */
export const DocumentHashRow = z.object({
  path: z.string(),
  algorithm: z.literal('sha256'),
  hash: z.string(),
  computedAt: timestamptz,
});
export type DocumentHashRow = z.infer<typeof DocumentHashRow>;

/**
 * A bundle prefix: '' (the whole registry) or a relative folder ending with '/' (`guides/`); Unicode
 * NFC like every registry path.
 */
export const BundlePrefix = text({ max: 512 })
  .regex(/^(?:[^/]+\/)*$/, 'expected empty or a relative folder ending with / such as "guides/"')
  .refine((p) => !/(^|\/)\.\.?\//.test(p), { error: 'must not contain . or .. segments' })
  .refine((p) => ![...p].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127), {
    error: 'must not contain control characters',
  })
  .transform((p) => p.normalize('NFC'));

/** The folder of a bundle on disk. */
export const BundleDir = text({ min: 1, max: 4096 });

/** Input of `registerBundle`: the bundle's folder, where it lives in the registry, its version. */
export const RegisterBundleInput = z.strictObject({
  /** The folder on disk, walked recursively. */
  dir: BundleDir,
  /**
   * Where the bundle lives in the registry: its files are registered as `prefix + relative path`,
   * and only registry rows under the prefix are compared or marked removed. Default '' (everything).
   */
  prefix: BundlePrefix.optional(),
  /** A version recorded on every document of the bundle (e.g. the app's release). */
  version: text({ min: 1, max: 64 }).optional(),
});
export type RegisterBundleInput = z.input<typeof RegisterBundleInput>;

/** What `registerBundle` did, against the registry as it was before. */
export const RegisterBundleResult = z.object({
  /** Files not in the registry, or back after having been removed. */
  added: z.int().nonnegative(),
  /** Files whose sha256 changed (each got a new history row). */
  changed: z.int().nonnegative(),
  unchanged: z.int().nonnegative(),
  /** Registry rows under the prefix whose file is gone: marked removed (row and history kept). */
  removed: z.int().nonnegative(),
});
export type RegisterBundleResult = z.infer<typeof RegisterBundleResult>;

/** Input of `verifyBundle`: the bundle's folder and where it lives in the registry. */
export const VerifyBundleInput = z.strictObject({ dir: BundleDir, prefix: BundlePrefix.optional() });
export type VerifyBundleInput = z.input<typeof VerifyBundleInput>;

/** How a bundle on disk differs from the registry (paths in code-unit order). */
export const VerifyBundleResult = z.object({
  /** On disk, not registered (or registered as removed). */
  added: z.array(z.string()),
  /** Registered, not on disk. */
  removed: z.array(z.string()),
  /** On disk and registered with another sha256. */
  changed: z.array(z.string()),
  /** How many files are registered with the same sha256. */
  unchanged: z.int().nonnegative(),
});
export type VerifyBundleResult = z.infer<typeof VerifyBundleResult>;

/** Options of `listDocuments`. */
export const ListDocumentsOptions = z.strictObject({
  /** Only documents whose path starts with this prefix. */
  prefix: BundlePrefix.optional(),
  /** Include documents marked removed (default false). */
  includeRemoved: z.boolean().optional(),
});
export type ListDocumentsOptions = z.input<typeof ListDocumentsOptions>;

/** A registered path (`guides/setup.md`); Unicode NFC like every registry path. */
export const DocumentPath = text({ min: 1, max: 1024 }).transform((p) => p.normalize('NFC'));

/** Up to this many paths in one read. */
export const MAX_PATHS = 10_000;

/** Input of `documentHistory`: the documents whose hash history to read. */
export const DocumentHistoryInput = z.strictObject({
  paths: z.array(DocumentPath).min(1).max(MAX_PATHS).readonly(),
});
export type DocumentHistoryInput = z.input<typeof DocumentHistoryInput>;
