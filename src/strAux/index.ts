/**
 * Schema `str_aux` (packs ddl/08_str-aux.sql, 09_str-aux_autonomy.sql, 18_str-aux_support.sql): the
 * sampling pipeline. 5 s samples roll into 40 s cycles, cycles into windows (labels from
 * settings.windows), windows get stats and vectors; a metronome keeps it rolling. Every function
 * takes a `Queryable` first.
 * @module
 */
export * from './metronome.js';
export * from './reads.js';
export * from './rolls.js';
export * from './samples.js';
export * from './schemas.js';
export * from './specs.js';
