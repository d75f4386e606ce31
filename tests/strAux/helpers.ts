// Shared set-up of the str_aux tests: symbols of their own in the universe (mirrored to market.symbols).
import type { Sql } from '../../src/core/queryable.js';

/** 2025-01-01T00:00:00Z: an epoch multiple of 40 s, 5 min, 1 h and 1 d. */
export const T0 = Date.parse('2025-01-01T00:00:00Z');
export const S = 1000;

/** Adds the symbols (quote USDT) to settings.coin_universe, enabled; the universe trigger mirrors them to market.symbols. */
export async function addSymbols(sql: Sql, symbols: string[]): Promise<void> {
  for (const symbol of symbols) {
    await sql`insert into settings.coin_universe (symbol) values (${symbol}) on conflict (symbol) do update set enabled = true`;
  }
}

/** Row counts of every str_aux table (to assert a refusal wrote nothing). */
export async function counts(sql: Sql): Promise<Record<string, number>> {
  const [r] = await sql<Record<string, number>[]>`
    select (select count(*)::int from str_aux.samples_5s) as samples,
           (select count(*)::int from str_aux.samples_5s_model) as models,
           (select count(*)::int from str_aux.cycles_40s) as cycles,
           (select count(*)::int from str_aux.windows) as windows,
           (select count(*)::int from str_aux.window_stats) as stats,
           (select count(*)::int from str_aux.window_vectors) as vectors,
           (select count(*)::int from str_aux.sampling_specs) as specs,
           (select count(*)::int from str_aux.symbol_specs) as "symbolSpecs"
  `;
  return r!;
}
