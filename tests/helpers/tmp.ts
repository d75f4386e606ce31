// Temporary folders for a test file, removed after its last test (importing this registers the hook).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new empty folder `cryptopi-<name>-…` under the system's temporary folder. */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cryptopi-${name}-`));
  made.push(dir);
  return dir;
}
