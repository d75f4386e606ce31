// The guard postgres.js 3.4.9 lacks (its issues 1154 / 1208, pull requests 1168 / 1209 / 1215, not
// released): a write scheduled for a connection whose socket already closed throws from a
// setImmediate callback (`nextWrite`: "Cannot read properties of null (reading 'write')") and ends
// the host process; and a transaction whose connection closed keeps sending its queries (its
// ROLLBACK, or the rest of its callback) to whatever that connection becomes next.
//
// One transform, applied to the driver's source wherever the SDK is built or run: by tsup (an
// esbuild plugin, so dist/ carries the guarded driver, ESM and CJS), by vitest (a vite plugin), and
// by scripts/postgres-register.mjs for processes run with tsx. Each replacement must match the
// driver's text exactly as often as expected: a driver whose text changed FAILS the build instead
// of shipping unguarded.

/** Marker every patched file carries (tests and the build check it is there). */
export const PATCH_MARKER = 'cryptopi-db: guarded driver';

/** The postgres.js versions the patch was written against. */
export const PATCHED_VERSIONS = ['3.4.9'];

const closedError = "Errors.connection('CONNECTION_CLOSED', options, socket)";

/** [what, expected count, search, replacement] for src/connection.js (ESM) and cjs/src/connection.js. */
const CONNECTION = [
  [
    'nextWrite settles, not throws, when the socket is gone',
    1,
    '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)\n',
    `  function nextWrite(fn) {
    if (socket === null) {
      // ${PATCH_MARKER}: the connection closed before this write ran; reject what waits on it
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      const err = ${closedError}
      error(err)
      query = null
      fn && fn(err)
      return true
    }
    const x = socket.write(chunk, fn)
`,
  ],
  [
    'a cancelled write timer is forgotten with its bytes (else no later write is ever scheduled)',
    2,
    '    clearImmediate(nextWriteTimer)\n',
    '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n',
  ],
  [
    'a closed connection settles everything sent to it, then forgets the dead backend',
    1,
    "    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n",
    // after a socket error, queries sent between the 'error' and the 'close' events were left
    // pending forever (and `end()` waited for them); a COPY ended just before waited for its CopyDone
    `    if (query || sent.length || final) {
      const err = ${closedError}
      error(err)
      final && (final(err), final = null)
    }
    query = errorResponse = null
    result = new Result()
    rows = 0
`,
  ],
  [
    'COPY data written after the close fails the stream',
    2,
    '        socket.write(b().d().raw(chunk).end(), callback)\n',
    `        socket ? socket.write(b().d().raw(chunk).end(), callback) : callback(${closedError})\n`,
  ],
  [
    'COPY abort after the close writes nothing',
    2,
    '        socket.write(b().f().str(error + b.N).end())\n',
    '        socket && socket.write(b().f().str(error + b.N).end())\n',
  ],
  [
    'COPY end after the close fails the stream',
    2,
    '      final(callback) {\n        socket.write(b().c().end())\n',
    `      final(callback) {\n        if (!socket) return callback(${closedError})\n        socket.write(b().c().end())\n`,
  ],
];

/** The same for src/index.js and cjs/src/index.js: `begin` stops its callback's queries once its connection closed. */
const INDEX = [
  [
    'begin remembers that its connection closed',
    1,
    '      , connection\n      , prepare = null\n',
    '      , connection\n      , prepare = null\n      , closedError = null\n',
  ],
  [
    'begin rejects its queued queries when its connection closes',
    1,
    '        new Promise((_, reject) => connection.onclose = reject)\n',
    `        new Promise((_, reject) => connection.onclose = e => {
          // ${PATCH_MARKER}: nothing of this transaction may run on the connection's next session
          closedError = e
          while (queries.length) queries.shift().reject(e)
          reject(e)
        })\n`,
  ],
  [
    'a query through a transaction whose connection closed is refused, not sent (its ROLLBACK / COMMIT too)',
    1,
    '        q.catch(e => uncaughtError || (uncaughtError = e))\n        c.queue === full\n',
    '        q.catch(e => uncaughtError || (uncaughtError = e))\n        if (closedError)\n          return q.reject(closedError)\n        c.queue === full\n',
  ],
];

/** Which driver file a module path is, or undefined when it is none the patch touches. */
export function driverFile(path) {
  const p = String(path).replace(/\\/g, '/').split('?')[0];
  const m = /\/node_modules\/postgres\/(?:cjs\/)?src\/(connection|index)\.js$/.exec(p);
  return m ? m[1] : undefined;
}

/**
 * The driver source with the guard applied. Throws (naming the step) when a replacement does not
 * match exactly as often as expected, or when `code` already carries another patch.
 * @param {string} path the file's path (node_modules/postgres/{src,cjs/src}/{connection,index}.js)
 * @param {string} code its text
 * @returns {string} the patched text, or `code` unchanged for any other file
 */
export function patchPostgres(path, code) {
  const file = driverFile(path);
  if (file === undefined) return code;
  if (code.includes(PATCH_MARKER)) return code;
  let out = code.replace(/\r\n/g, '\n');
  for (const [what, count, search, replacement] of file === 'connection' ? CONNECTION : INDEX) {
    const found = out.split(search).length - 1;
    if (found !== count) {
      throw new Error(
        `cryptopi-db: the postgres.js guard no longer applies to ${path} (step "${what}": expected ${count} match(es), found ${found}). ` +
          `The driver changed (patch written for postgres ${PATCHED_VERSIONS.join(', ')}): check whether upstream fixed it and update scripts/postgres-patch.mjs.`,
      );
    }
    out = out.split(search).join(replacement);
  }
  return `/* ${PATCH_MARKER} (scripts/postgres-patch.mjs) */\n${out}`;
}

/**
 * An esbuild plugin (tsup's `esbuildPlugins`) that applies the patch to the bundled driver and
 * fails the build when a driver file it must patch was not met (the driver left the bundle).
 */
export function esbuildPostgresPatch() {
  return {
    name: 'cryptopi-postgres-patch',
    setup(build) {
      const seen = new Set();
      build.onStart(() => seen.clear());
      build.onLoad(
        { filter: /[\\/]node_modules[\\/]postgres[\\/](cjs[\\/])?src[\\/](connection|index)\.js$/ },
        async (args) => {
          const { readFile } = await import('node:fs/promises');
          const code = await readFile(args.path, 'utf8');
          seen.add(driverFile(args.path));
          return { contents: patchPostgres(args.path, code), loader: 'js' };
        },
      );
      build.onEnd((result) => {
        if (result.errors.length > 0) return;
        for (const f of ['connection', 'index']) {
          if (!seen.has(f)) {
            result.errors.push({
              text: `cryptopi-db: postgres.js ${f}.js was not bundled, so the connection guard is missing (is postgres external?)`,
            });
          }
        }
      });
    },
  };
}

/** A vite plugin (vitest.config.ts): the tests run the same guarded driver as dist/. */
export function vitePostgresPatch() {
  return {
    name: 'cryptopi-postgres-patch',
    enforce: 'pre',
    transform(code, id) {
      if (driverFile(id) === undefined) return null;
      return { code: patchPostgres(id, code), map: null };
    },
  };
}
