/**
 * One-off steps: changes that cannot be written as an idempotent pack (a data backfill, a rename
 * that must happen once). Each runs once, in its own locked transaction, right after the pack it
 * names, and is recorded in the same ledger (kind `step`). A step is never re-run, even if edited:
 * write a new one. Ids are versioned and unique; steps after the same pack run in the order listed.
 */
import type { Queryable } from '../core/queryable.js';

export interface Step {
  /** Unique, versioned id, e.g. `0.2.0-backfill-series-target`. */
  id: string;
  /** The pack after which it runs (e.g. `07_matrices`); it is skipped when that pack is not selected. */
  after: string;
  /** What it does, for `plan()` and the ledger. */
  description: string;
  up(tx: Queryable): Promise<void>;
}

/** The steps this SDK version ships. None yet: every change so far could be written idempotently. */
export const steps: readonly Step[] = [];
