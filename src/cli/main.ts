#!/usr/bin/env node
import { runCli } from './run.js';

/** Ends the process with `code`, even when a socket or timer left behind would keep it alive. */
function exit(code: number): void {
  process.exitCode = code;
  // output is flushed and handles closed by now in the normal case: the process ends by itself;
  // this unref'd timer only fires when something still holds it open
  setTimeout(() => process.exit(code), 1000).unref();
}

runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  untilInterrupted: () =>
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
}).then(exit, (e: unknown) => {
  process.stderr.write(`cryptopi-db: unexpected error: ${e instanceof Error ? e.message : String(e)}\n`);
  exit(1);
});
