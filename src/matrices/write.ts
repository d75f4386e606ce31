/**
 * How a validated batch reaches `matrices.points`: series resolved in one call, the points streamed
 * by binary COPY into temporary stages, then one plain insert for the series this call created
 * (nothing can collide) and one upsert for series that existed. Internal: not re-exported.
 */
import { randomBytes } from 'node:crypto';
import { pgArray } from '../core/arrays.js';
import { copyIn } from '../core/copy.js';
import { IntegrityError } from '../core/errors.js';
import type { Queryable } from '../core/queryable.js';
import { copyChunks, orderPoints, type PointColumns } from './bulk.js';

/** Series ids of a batch's keys (`ids[k]` for `keys[k]`), and which ones this call created. */
export interface ResolvedSeries {
  ids: Float64Array;
  created: Uint8Array;
}

/**
 * Ensures every key exists (one call of `sp_ensure_series_bulk`, merging `targets` when given) and
 * returns the ids in the order of `keys`.
 */
export async function resolveSeries(
  tx: Queryable,
  keys: string[],
  targets?: string[] | undefined,
): Promise<ResolvedSeries> {
  const rows = await tx<{ id: string; key: string; created: boolean }[]>`
    select id, key, created
    from matrices.sp_ensure_series_bulk(${pgArray(keys)}::text[], ${targets ? pgArray(targets) : null}::text[]::jsonb[])
  `;
  const index = new Map<string, number>();
  for (let k = 0; k < keys.length; k++) index.set(keys[k]!, k);
  const ids = new Float64Array(keys.length).fill(Number.NaN);
  const created = new Uint8Array(keys.length);
  for (const r of rows) {
    const k = index.get(r.key);
    if (k === undefined) continue;
    ids[k] = Number(r.id);
    created[k] = r.created ? 1 : 0;
  }
  const missing = ids.findIndex((id) => !Number.isSafeInteger(id));
  if (missing >= 0) {
    // the procedure returns every key it was given: a key missing means it no longer does
    throw new IntegrityError('matrices.sp_ensure_series_bulk', [
      { path: [missing], message: 'returned no id for this series key' },
    ]);
  }
  return { ids, created };
}

/** COPYs points into a new temporary table (no constraint: only the connection can fail it); returns its name. */
async function stage(
  tx: Queryable,
  cols: PointColumns,
  ids: Float64Array,
  order: Int32Array,
): Promise<string> {
  const name = `cryptopi_points_stage_${randomBytes(6).toString('hex')}`;
  await tx`
    create temporary table ${tx(name)} (series_id bigint, ts timestamptz, value double precision, attrs jsonb)
    on commit drop
  `;
  await copyIn(
    tx,
    tx`copy ${tx(name)} (series_id, ts, value, attrs) from stdin with (format binary)`,
    copyChunks(cols, ids, order),
    'matrices.putPointsBulk',
  );
  return name;
}

/**
 * Writes a validated batch and returns its number of distinct points. Run it inside a transaction:
 * the series, the stage and the merge commit together.
 *
 * Everything is staged, then merged by plain statements, so a refusal (a constraint, a trigger)
 * surfaces with its own SQLSTATE; COPY straight into `points` measured 5 to 8 % faster for new
 * series, but a refusal during it is lost by postgres.js 3.4 (see `copyIn`).
 */
export async function writeColumns(
  tx: Queryable,
  cols: PointColumns,
  series: ResolvedSeries,
): Promise<number> {
  const order = orderPoints(cols, series.ids, series.created);
  if (order.fresh.length > 0) {
    // series this call created: no other transaction sees them, no stored point can collide
    const fresh = await stage(tx, cols, series.ids, order.fresh);
    await tx`
      insert into matrices.points (series_id, ts, value, attrs)
      select s.series_id, s.ts, s.value, s.attrs from ${tx(fresh)} s
    `;
    await tx`drop table ${tx(fresh)}`;
  }
  if (order.existing.length > 0) {
    const existing = await stage(tx, cols, series.ids, order.existing);
    // identical rows are skipped: a replay rewrites nothing (no new row versions, no index churn)
    await tx`
      insert into matrices.points as p (series_id, ts, value, attrs)
      select s.series_id, s.ts, s.value, s.attrs from ${tx(existing)} s
      on conflict (series_id, ts) do update set value = excluded.value, attrs = excluded.attrs
      where (p.value, p.attrs) is distinct from (excluded.value, excluded.attrs)
    `;
    await tx`drop table ${tx(existing)}`;
  }
  return order.distinct;
}
