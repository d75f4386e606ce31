/**
 * How a validated batch reaches `matrices.points`: series resolved in one call, then binary COPY
 * straight into `points` for series this call created (nothing can collide), and COPY into a
 * temporary stage merged by one upsert for series that existed. Internal: not re-exported.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { PendingQuery, Row } from 'postgres';
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
    from matrices.sp_ensure_series_bulk(${tx.array(keys, 25)}, ${targets ? tx.array(targets, 25) : null}::text[]::jsonb[])
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
  if (missing >= 0) throw new Error(`matrices: series ${keys[missing]} was not resolved`);
  return { ids, created };
}

/**
 * Streams chunks into a `copy … from stdin` query, with backpressure. postgres.js 3.4 never settles
 * the stream when the server fails a COPY after its end (porsager/postgres#1173), so a query is
 * queued behind it: it fails in the aborted transaction instead of leaving us waiting forever.
 */
export async function copyIn(
  tx: Queryable,
  query: PendingQuery<Row[]>,
  chunks: Iterable<Buffer>,
): Promise<void> {
  const stream = (await query.writable()) as Writable & { _final(cb: (e?: Error | null) => void): void };
  const done = finished(stream);
  // The sentinel may only be sent once CopyDone is (postgres.js refuses queries until then), which
  // is when the stream's `_final` runs: signal it.
  const final = stream._final;
  const ended = new Promise<void>((resolve) => {
    stream._final = (cb) => {
      final.call(stream, cb);
      resolve();
    };
  });
  for (const chunk of chunks) {
    if (stream.errored) throw stream.errored;
    if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), done]);
  }
  stream.end();
  await Promise.race([ended, done]);
  await Promise.all([done, tx`select 1`]);
}

/**
 * Writes a validated batch and returns its number of distinct points. Run it inside a transaction:
 * the series, the COPY and the merge commit together.
 */
export async function writeColumns(
  tx: Queryable,
  cols: PointColumns,
  series: ResolvedSeries,
): Promise<number> {
  const order = orderPoints(cols, series.ids, series.created);
  if (order.fresh.length > 0) {
    await copyIn(
      tx,
      tx`copy matrices.points (series_id, ts, value, attrs) from stdin with (format binary)`,
      copyChunks(cols, series.ids, order.fresh),
    );
  }
  if (order.existing.length > 0) {
    const stage = `cryptopi_points_stage_${randomBytes(6).toString('hex')}`;
    await tx`
      create temporary table ${tx(stage)} (
        series_id bigint, ts timestamptz, value double precision, attrs jsonb
      ) on commit drop
    `;
    await copyIn(
      tx,
      tx`copy ${tx(stage)} (series_id, ts, value, attrs) from stdin with (format binary)`,
      copyChunks(cols, series.ids, order.existing),
    );
    // identical rows are skipped: a replay rewrites nothing (no new row versions, no index churn)
    await tx`
      insert into matrices.points as p (series_id, ts, value, attrs)
      select s.series_id, s.ts, s.value, s.attrs from ${tx(stage)} s
      on conflict (series_id, ts) do update set value = excluded.value, attrs = excluded.attrs
      where (p.value, p.attrs) is distinct from (excluded.value, excluded.attrs)
    `;
    await tx`drop table ${tx(stage)}`;
  }
  return order.distinct;
}
