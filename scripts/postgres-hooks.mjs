// Module hooks (node:module register) applying scripts/postgres-patch.mjs to the driver's files.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { driverFile, patchPostgres } from './postgres-patch.mjs';

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!url.startsWith('file:') || driverFile(url) === undefined) return result;
  const path = fileURLToPath(url);
  const source = result.source ?? (await readFile(path));
  return { ...result, source: patchPostgres(path, String(source)) };
}
