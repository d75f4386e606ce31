// `node --import ./scripts/postgres-register.mjs` (or tsx --import …): a process that runs the SDK
// from src/ gets the same guarded postgres.js as dist/ and the tests (see postgres-patch.mjs).
import { register } from 'node:module';

register('./postgres-hooks.mjs', import.meta.url);
