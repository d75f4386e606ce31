/**
 * str_aux specs: how symbols are sampled (step, cycle length, windows), and which spec and windows
 * a symbol uses. A window list of null means every label of settings.windows (one added later too).
 */
import { pgArray } from '../core/arrays.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseOne, parseRows, run } from '../core/run.js';
import { SamplingSpecRow, SetSymbolSpecInput, SymbolSpecRow, UpsertSamplingSpecInput } from './schemas.js';

const specColumns = `s.label, s.base_step_seconds as "baseStepSeconds", s.cycle_seconds as "cycleSeconds",
  s.window_labels as windows, util.epoch_ms(s.created_at) as "createdAt", util.epoch_ms(s.updated_at) as "updatedAt"`;

/**
 * Creates or updates a sampling spec and returns it as stored: an absent field keeps its value (a
 * new spec: 5 s steps, 40 s cycles, every window). The cycle length of a spec that has cycles cannot
 * change (they would no longer be aligned).
 *
 * Writes `str_aux.sampling_specs`.
 * @example
 * ```ts
 * await db.strAux.upsertSamplingSpec({ label: 'fast', baseStepSeconds: 5, cycleSeconds: 20, windows: ['1m', '5m'] });
 * ```
 * @throws ValidationError when the input is malformed, a window is not in settings.windows, the cycle
 * is not a multiple of the step, or the cycle length of a spec with cycles would change
 */
export async function upsertSamplingSpec(
  sql: Queryable,
  input: UpsertSamplingSpecInput,
): Promise<SamplingSpecRow> {
  const op = 'strAux.upsertSamplingSpec';
  const s = parseInput(op, UpsertSamplingSpecInput, input);
  const keep = s.windows === undefined;
  const windows = s.windows == null ? null : pgArray(s.windows);
  const rows = await run(
    op,
    sql`
      insert into str_aux.sampling_specs as s (label, base_step_seconds, cycle_seconds, window_labels)
      values (${s.label}, coalesce(${s.baseStepSeconds ?? null}::integer, 5), coalesce(${s.cycleSeconds ?? null}::integer, 40),
              ${windows}::text[])
      on conflict (label) do update set
        base_step_seconds = coalesce(${s.baseStepSeconds ?? null}::integer, s.base_step_seconds),
        cycle_seconds = coalesce(${s.cycleSeconds ?? null}::integer, s.cycle_seconds),
        window_labels = case when ${keep}::boolean then s.window_labels else ${windows}::text[] end
      returning ${sql.unsafe(specColumns)}
    `,
  );
  return parseOne('str_aux.sampling_specs', SamplingSpecRow, rows);
}

/**
 * Every sampling spec, by label.
 *
 * Reads `str_aux.sampling_specs`.
 * @example
 * ```ts
 * const specs = await db.strAux.listSamplingSpecs(); // [{ label: 'default', cycleSeconds: 40, … }]
 * ```
 * @throws IntegrityError when a row no longer matches `SamplingSpecRow`
 */
export async function listSamplingSpecs(sql: Queryable): Promise<SamplingSpecRow[]> {
  const rows = await run(
    'strAux.listSamplingSpecs',
    sql`select ${sql.unsafe(specColumns)} from str_aux.sampling_specs s order by s.label`,
  );
  return parseRows('str_aux.sampling_specs', SamplingSpecRow, rows);
}

/**
 * Sets the spec (default 'default') and the windows (null or absent: the spec's) a symbol is rolled
 * with, and returns the row.
 *
 * Writes `str_aux.symbol_specs`.
 * @example
 * ```ts
 * await db.strAux.setSymbolSpec({ symbol: 'BTCUSDT', windows: ['1m', '5m', '1h'] });
 * ```
 * @throws ValidationError when the input is malformed, the spec is unknown, a window is not in
 * settings.windows, or the symbol is not in market.symbols
 */
export async function setSymbolSpec(sql: Queryable, input: SetSymbolSpecInput): Promise<SymbolSpecRow> {
  const op = 'strAux.setSymbolSpec';
  const s = parseInput(op, SetSymbolSpecInput, input);
  const windows = s.windows == null ? null : pgArray(s.windows);
  const rows = await run(
    op,
    sql`
      insert into str_aux.symbol_specs as s (symbol, spec, window_labels)
      values (${s.symbol}, ${s.spec ?? 'default'}, ${windows}::text[])
      on conflict (symbol) do update set spec = excluded.spec, window_labels = excluded.window_labels
      returning s.symbol, s.spec, s.window_labels as windows, util.epoch_ms(s.updated_at) as "updatedAt"
    `,
  );
  return parseOne('str_aux.symbol_specs', SymbolSpecRow, rows);
}
