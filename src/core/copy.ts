/**
 * COPY FROM STDIN, shared by every bulk writer: chunks streamed into a `copy … from stdin` query with
 * backpressure, and an end that settles. Internal to the modules.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { PendingQuery, Row } from 'postgres';
import { CryptopiError } from './errors.js';
import type { Queryable } from './queryable.js';
import { connectionErrorOf } from './run.js';

/** How many bytes of COPY data may wait for the socket before the writer pauses (about 4 chunks). */
const IN_FLIGHT_BYTES = 4 << 20;

/** An open COPY: `write` each chunk (awaiting backpressure), then `end` once. */
export interface CopyStream {
  write(chunk: string | Buffer): Promise<void>;
  end(): Promise<void>;
}

/**
 * Opens `query` (a `copy … from stdin`) for writing. postgres.js 3.4 never settles the stream when
 * the server fails a COPY after its end (porsager/postgres#1173), and drops that error: a query
 * queued behind the COPY fails then (25P02, in the aborted transaction), so `end` throws a
 * CryptopiError instead of waiting forever; a lost connection is passed on for `run()` to map.
 */
export async function openCopy(
  tx: Queryable,
  query: PendingQuery<Row[]>,
  operation: string,
): Promise<CopyStream> {
  const stream = (await query.writable()) as Writable & { _final(cb: (e?: Error | null) => void): void };
  const done = finished(stream);
  done.catch(() => {}); // observed by write / end
  // The sentinel may only be sent once CopyDone is (postgres.js refuses queries until then), which
  // is when the stream's `_final` runs: signal it.
  const final = stream._final;
  const ended = new Promise<void>((resolve) => {
    stream._final = (cb) => {
      final.call(stream, cb);
      resolve();
    };
  });
  return {
    async write(chunk) {
      if (stream.errored) throw stream.errored;
      // keep a few chunks in flight: encode the next ones while the socket sends these
      if (!stream.write(chunk) && stream.writableLength >= IN_FLIGHT_BYTES) {
        await Promise.race([once(stream, 'drain'), done]);
      }
    },
    async end() {
      stream.end();
      await Promise.race([ended, done]);
      await Promise.all([
        done,
        tx`select 1`.catch((e: unknown) => {
          if (connectionErrorOf(operation, e)) throw e;
          throw new CryptopiError(
            'database',
            `${operation}: COPY failed; postgres.js 3.4 lost the server error (porsager/postgres#1173)`,
            { cause: e },
          );
        }),
      ]);
    },
  };
}

/** Streams `chunks` through `openCopy` and ends the COPY. */
export async function copyIn(
  tx: Queryable,
  query: PendingQuery<Row[]>,
  chunks: Iterable<Buffer | string>,
  operation: string,
): Promise<void> {
  const copy = await openCopy(tx, query, operation);
  for (const chunk of chunks) await copy.write(chunk);
  await copy.end();
}
