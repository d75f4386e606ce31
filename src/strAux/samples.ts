/**
 * str_aux samples: one 5 s sample at a time, many in bulk (streamed), and the book model behind a
 * sample. Writing a sample rolls its cycle (the statement-level triggers of ddl/08_str-aux.sql).
 */
import type { Queryable } from '../core/queryable.js';
import { inTransaction } from '../core/queryable.js';
import { parseInput, parseOne, run } from '../core/run.js';
import { stageAndUpsert } from './bulk.js';
import { sampleColumns } from './columns.js';
import {
  Sample5sInput,
  Sample5sRow,
  SampleModelInput,
  SampleModelRow,
  UpsertSamplesOptions,
  type UpsertSamplesResult,
} from './schemas.js';

/**
 * Writes one sample (a second write of the same symbol and ts replaces it) and returns it as stored;
 * its cycle is rolled again at once (and marked pending for the windows `tickAll` rolls).
 *
 * Wraps `str_aux.upsert_sample_5s`.
 * @example
 * ```ts
 * const s = await db.strAux.upsertSample5s({ symbol: 'BTCUSDT', ts: '2025-01-01T00:00:05Z', vInner: 0.4, spreadAvg: 0.01 });
 * // s.vInner === 0.4; an absent signal is null
 * ```
 * @throws ValidationError when the input is malformed (a non-finite signal, a negative spread or
 * bucket count, liquidityImbalance outside [-1, 1], an instant outside years 1-9999 or below the
 * millisecond: nothing is sent) or the symbol is not in market.symbols
 */
export async function upsertSample5s(sql: Queryable, input: Sample5sInput): Promise<Sample5sRow> {
  const op = 'strAux.upsertSample5s';
  const s = parseInput(op, Sample5sInput, input);
  const n = (v: number | null | undefined) => v ?? null;
  const jsonText = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));
  const rows = await run(
    op,
    sql`
      select ${sql.unsafe(sampleColumns('s'))}
      from str_aux.upsert_sample_5s(
        ${s.symbol}, ${s.ts}, ${n(s.vInner)}, ${n(s.vOuter)}, ${n(s.vSwap)}, ${n(s.vTendency)},
        ${n(s.disruption)}, ${n(s.amp)}, ${n(s.volt)}, ${n(s.inertia)}, ${s.modeGeneral ?? null},
        ${s.modeB ?? null}, ${n(s.bucketCount)}::integer, ${n(s.tickMsMin)}, ${n(s.tickMsMax)}, ${n(s.tickMsAvg)},
        ${n(s.spreadMin)}, ${n(s.spreadMax)}, ${n(s.spreadAvg)}, ${n(s.midMin)}, ${n(s.midMax)},
        ${n(s.liquidityImbalance)}, ${jsonText(s.qualityFlags)}::text::jsonb, ${jsonText(s.attrs)}::text::jsonb
      ) s
    `,
  );
  return parseOne('str_aux.upsert_sample_5s', Sample5sRow, rows);
}

/**
 * Writes many samples in one transaction and returns what it did. `rows` is an array or an async
 * iterable (streamed: each row is validated and sent as it comes, so memory stays flat). Every row
 * is COPYed into a temporary stage, then ONE upsert statement writes them: a (symbol, ts) given
 * twice keeps its last row, a row stored exactly so is not rewritten, and each touched cycle is
 * rolled once (the triggers fire once for the statement).
 *
 * Atomic: a bad row (its issues are reported with its index, the first 100 of the batch) or a symbol missing from
 * market.symbols (named in the error) writes nothing. Inside a transaction it runs in a savepoint
 * and the COPY holds the connection.
 * @example
 * ```ts
 * const r = await db.strAux.upsertSamples5s([
 *   { symbol: 'BTCUSDT', ts: 1735689600000, vInner: 0.1 },
 *   { symbol: 'BTCUSDT', ts: 1735689605000, vInner: 0.2 },
 * ]); // { received: 2, distinct: 2, inserted: 2, updated: 0, unchanged: 0 }
 * ```
 * @throws ValidationError when a row is malformed or names a symbol market.symbols does not hold
 */
export async function upsertSamples5s(
  sql: Queryable,
  rows: readonly Sample5sInput[] | AsyncIterable<Sample5sInput> | Iterable<Sample5sInput>,
  options: UpsertSamplesOptions = {},
): Promise<UpsertSamplesResult> {
  const op = 'strAux.upsertSamples5s';
  const o = parseInput(op, UpsertSamplesOptions, options);
  return run(
    op,
    inTransaction(sql, (tx) => stageAndUpsert(op, tx, rows, o.onProgress)),
  );
}

/**
 * Writes the book model of one sample (density of book, mid, bid/ask, spread, volumes; stats) and
 * returns it as stored; an absent field keeps its stored value (a new row: `{}`).
 *
 * Writes `str_aux.samples_5s_model`.
 * @example
 * ```ts
 * await db.strAux.upsertSampleModel({ symbol: 'BTCUSDT', ts: 1735689600000, density: { book: [1, 2] } });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent) or the symbol is not in market.symbols
 */
export async function upsertSampleModel(sql: Queryable, input: SampleModelInput): Promise<SampleModelRow> {
  const op = 'strAux.upsertSampleModel';
  const m = parseInput(op, SampleModelInput, input);
  const density = m.density === undefined ? null : JSON.stringify(m.density);
  const stats = m.stats === undefined ? null : JSON.stringify(m.stats);
  const rows = await run(
    op,
    sql`
      insert into str_aux.samples_5s_model as m (symbol, ts, density, stats)
      values (${m.symbol}, ${m.ts}, coalesce(${density}::text::jsonb, '{}'), coalesce(${stats}::text::jsonb, '{}'))
      on conflict (symbol, ts) do update set
        density = coalesce(${density}::text::jsonb, m.density), stats = coalesce(${stats}::text::jsonb, m.stats)
      returning m.symbol, util.epoch_ms(m.ts) as ts, m.density, m.stats, util.epoch_ms(m.updated_at) as "updatedAt"
    `,
  );
  return parseOne('str_aux.samples_5s_model', SampleModelRow, rows);
}
