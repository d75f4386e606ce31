import { defineConfig } from 'vitest/config';
import { vitePostgresPatch } from './scripts/postgres-patch.mjs';

export default defineConfig({
  // the tests run the same guarded postgres.js as dist/ (scripts/postgres-patch.mjs)
  plugins: [vitePostgresPatch()],
  test: {
    server: { deps: { inline: ['postgres'] } },
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
