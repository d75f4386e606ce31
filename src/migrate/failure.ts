/** Turning a PostgreSQL error inside a pack into a MigrationError: pack, statement, line, column, snippet, caret. */
import { MigrationError, type MigrationFailure, type PackResult } from '../core/errors.js';
import { isPgError } from '../core/run.js';
import type { Pack } from './packs.js';
import { charsBetween, lineAt, offsetOfChar, type Statement } from './split.js';

interface PgPosition {
  code?: string;
  position?: string | number;
  where?: string;
  message: string;
}

/** Where in the statement the error points: a 0-based offset into `stmt.text`, when PostgreSQL says. */
function offsetInStatement(stmt: Statement, e: PgPosition): number | undefined {
  if (e.position !== undefined && e.position !== '') {
    const p = Number(e.position);
    // PostgreSQL counts characters; a JS string counts UTF-16 units (two for a character outside the BMP)
    if (Number.isInteger(p) && p > 0) return offsetOfChar(stmt.text, p - 1);
  }
  // A runtime error inside a DO block: PostgreSQL names the body's line ("inline_code_block line 4").
  const m = e.where ? /inline_code_block line (\d+)/.exec(e.where) : null;
  if (m && /^do\b/i.test(stmt.text)) {
    const open = /\$[A-Za-z_0-9]*\$/.exec(stmt.text);
    if (open) {
      let offset = open.index + open[0].length;
      for (let line = 1; line < Number(m[1]); line++) {
        const nl = stmt.text.indexOf('\n', offset);
        if (nl === -1) break;
        offset = nl + 1;
      }
      while (stmt.text[offset] === ' ' || stmt.text[offset] === '\t') offset++;
      return offset;
    }
  }
  return undefined;
}

/** Two lines of context, the failing line, and a caret under the column. */
function snippet(text: string, line: number, column: number | undefined): string {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, '').replace(/^\uFEFF/, ''));
  const from = Math.max(1, line - 2);
  const width = String(line).length;
  const out: string[] = [];
  for (let n = from; n <= line && n <= lines.length; n++)
    out.push(`${String(n).padStart(width)} | ${lines[n - 1]}`);
  if (column !== undefined) out.push(`${' '.repeat(width)} | ${' '.repeat(column - 1)}^`);
  return out.join('\n');
}

/** Builds the MigrationError for statement `index` (0-based) of `pack` failing with `cause`. */
export function packFailure(
  pack: Pack,
  stmt: Statement | undefined,
  index: number | undefined,
  cause: unknown,
  results: PackResult[],
): MigrationError {
  const e: PgPosition = isPgError(cause)
    ? (cause as unknown as PgPosition)
    : { message: String((cause as Error)?.message ?? cause) };
  let line: number | undefined;
  let column: number | undefined;
  let snip: string | undefined;
  if (stmt) {
    const at = offsetInStatement(stmt, e);
    const abs = stmt.offset + (at ?? 0);
    line = lineAt(pack.text, abs);
    // the column in characters, as an editor shows it
    if (at !== undefined) {
      let lineStart = pack.text.lastIndexOf('\n', abs - 1) + 1;
      if (lineStart === 0 && pack.text.startsWith('\uFEFF')) lineStart = 1; // a byte-order mark is no column
      column = charsBetween(pack.text, lineStart, abs) + 1;
    }
    snip = snippet(pack.text, line, column);
  }
  const failure: MigrationFailure = {
    pack: pack.name,
    statement: index === undefined ? undefined : index + 1,
    line,
    column,
    sqlstate: e.code,
    snippet: snip,
  };
  const where = [
    index === undefined ? undefined : `statement ${index + 1}`,
    line === undefined ? undefined : `line ${line}${column === undefined ? '' : ` column ${column}`}`,
  ]
    .filter(Boolean)
    .join(', ');
  const head = `${pack.name}.sql${where ? ` ${where}` : ''}: ${e.code ? `${e.code} ` : ''}${e.message}`;
  return new MigrationError(snip ? `${head}\n${snip}` : head, failure, results, { cause });
}

/** What a MigrationError names when a whole pack or step failed, with no statement to point at. */
export function unitFailure(pack: string, sqlstate?: string): MigrationFailure {
  return { pack, statement: undefined, line: undefined, column: undefined, sqlstate, snippet: undefined };
}
