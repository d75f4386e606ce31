/** mea_dynamics.dynamics_snapshot: one snapshot per cooled cycle; the latest per window. */
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import {
  assetCode,
  float8Input,
  int8,
  json,
  jsonObject,
  jsonRow,
  text,
  timestamptz,
  uuid,
} from '../core/codecs.js';
import { ValidationError } from '../core/errors.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseOne, parseRows, run } from '../core/run.js';
import { WindowsInput } from './cycles.js';
import { coin } from './fields.js';
import { Tier } from './rules.js';

/** A row of `mea_dynamics.dynamics_snapshot` (with its cycle's window and engine cycle). */
export const DynamicsSnapshotRow = z.object({
  cycleId: uuid,
  window: z.string(),
  engineCycle: int8,
  base: z.string().nullable(),
  quote: z.string().nullable(),
  coins: z.array(z.string()),
  candidates: jsonRow,
  assetIdentity: jsonRow,
  arbitrageRows: jsonRow,
  strMeasures: jsonRow,
  meaValue: z.number().nullable(),
  /** tierFor(meaValue) (checked by the database). */
  meaTier: Tier.nullable(),
  mood: z.string().nullable(),
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type DynamicsSnapshotRow = z.infer<typeof DynamicsSnapshotRow>;

const SNAPSHOT_COLUMNS = (sql: Queryable) => sql`
  d.cycle_id as "cycleId", c.window_label as "window", c.engine_cycle as "engineCycle", d.base, d.quote,
  to_jsonb(d.coins) as coins, d.candidates, d.asset_identity as "assetIdentity", d.arbitrage_rows as "arbitrageRows",
  d.str_measures as "strMeasures", d.mea_value as "meaValue", d.mea_tier as "meaTier", d.mood,
  util.epoch_ms(d.created_at) as "createdAt", util.epoch_ms(d.updated_at) as "updatedAt"
`;

/** Input of `upsertDynamicsSnapshot`. */
export const DynamicsSnapshotInput = z.strictObject({
  cycleId: uuid,
  base: assetCode.optional(),
  quote: assetCode.optional(),
  coins: z.array(coin).max(10_000).readonly().optional(),
  candidates: json.optional(),
  assetIdentity: jsonObject.optional(),
  arbitrageRows: json.optional(),
  strMeasures: jsonObject.optional(),
  /** Its tier is stored as tierFor(meaValue). */
  meaValue: float8Input.optional(),
  mood: text({ min: 1, max: 64 }).optional(),
});
export type DynamicsSnapshotInput = z.input<typeof DynamicsSnapshotInput>;

const jsonText = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

/**
 * Stores (or replaces) the dynamics snapshot of a cooled cycle and returns it.
 *
 * Wraps `mea_dynamics.sp_upsert_dynamics_snapshot`.
 * @example
 * ```ts
 * await db.mea.upsertDynamicsSnapshot({ cycleId, base: 'BTC', quote: 'USDT', meaValue: 0.0005 });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent) or the cycle is not cooled (`['cycleId']`)
 * @throws NotFoundError when there is no such cycle (`entity` `'mea_dynamics.cycle'`, `key` `{ id }`)
 */
export async function upsertDynamicsSnapshot(
  sql: Queryable,
  input: DynamicsSnapshotInput,
): Promise<DynamicsSnapshotRow> {
  const op = 'mea.upsertDynamicsSnapshot';
  const i = parseInput(op, DynamicsSnapshotInput, input);
  const rows = await run(
    op,
    sql`
      select ${SNAPSHOT_COLUMNS(sql)}
      from mea_dynamics.sp_upsert_dynamics_snapshot(${i.cycleId}, ${i.base ?? null}, ${i.quote ?? null},
        ${i.coins ? pgArray(i.coins) : null}::text[], ${jsonText(i.candidates)}::text::jsonb,
        ${jsonText(i.assetIdentity)}::text::jsonb, ${jsonText(i.arbitrageRows)}::text::jsonb,
        ${jsonText(i.strMeasures)}::text::jsonb, ${i.meaValue ?? null}::float8, ${i.mood ?? null}) d
      join mea_dynamics.cycles c on c.id = d.cycle_id
    `,
    { entity: 'mea_dynamics.cycle', key: { id: i.cycleId } },
  ).catch((e: unknown) => {
    throw notCooled(op, e);
  });
  return parseOne('mea_dynamics.sp_upsert_dynamics_snapshot', DynamicsSnapshotRow, rows);
}

/** The 22023 `cycleId: …` refusal as an issue on `cycleId`. */
function notCooled(op: string, e: unknown): unknown {
  if (!(e instanceof ValidationError) || e.sqlstate !== '22023') return e;
  const m = /^cycleId: (.+)$/s.exec(e.issues[0]?.message ?? '');
  if (!m) return e;
  return new ValidationError(op, [{ path: ['cycleId'], message: m[1] as string }], {
    cause: e.cause,
    facts: { sqlstate: e.sqlstate, detail: e.detail, constraint: e.constraint },
  });
}

/**
 * The snapshot of each window's latest cycle that has one, by window.
 *
 * Reads `mea_dynamics.dynamics_latest`.
 * @example
 * ```ts
 * const [d] = await db.mea.dynamicsLatest({ windows: ['1h'] });
 * ```
 * @throws ValidationError when a window label is malformed (nothing is sent)
 */
export async function dynamicsLatest(
  sql: Queryable,
  input: WindowsInput = {},
): Promise<DynamicsSnapshotRow[]> {
  const op = 'mea.dynamicsLatest';
  const i = parseInput(op, WindowsInput, input);
  const rows = await run(
    op,
    sql`
      select ${SNAPSHOT_COLUMNS(sql)}
      from mea_dynamics.dynamics_latest v
      join mea_dynamics.dynamics_snapshot d on d.cycle_id = v.cycle_id
      join mea_dynamics.cycles c on c.id = d.cycle_id
      where ${i.windows ? sql`c.window_label = any(${pgArray(i.windows)}::text[])` : sql`true`}
      order by c.window_label
    `,
  );
  return parseRows('mea_dynamics.dynamics_latest', DynamicsSnapshotRow, rows);
}
