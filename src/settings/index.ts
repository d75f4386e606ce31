/**
 * Schema `settings` (pack ddl/02_settings.sql): windows, engine params, the owner's profile, the coin
 * universe and its change events, external accounts, wallets and their encrypted credentials, cache
 * rules and universe batches. One file per concept, re-exported here; every function takes a
 * `Queryable` first (the client binds every lower-camel function this index exports).
 * @module
 */
export * from './accounts.js';
export * from './credentials.js';
export * from './params.js';
export * from './profile.js';
export * from './rules.js';
export * from './universe.js';
export * from './universe-events.js';
export * from './wallets.js';
export * from './windows.js';
