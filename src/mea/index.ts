/**
 * The mea module: schema `mea_dynamics` (pack `12_mea_dynamics`; schema `mea` keeps read-only
 * compatibility views over it): what the MEA/mood engine produced per cycle (each coin's value and
 * tier, one dynamics snapshot per cooled cycle), and the engine's rules as pure functions
 * (`tierFor`, `moodCoefficient`, `allocationWeight`).
 */
export * from './cycles.js';
export * from './dynamics.js';
export * from './moods.js';
export * from './rules.js';
export * from './symbols.js';
