/**
 * Splits a pack into statements, aware of quotes ('…', E'…', "…"), dollar quotes ($$…$$, $fn$…$fn$),
 * line and nested block comments, and the BEGIN ATOMIC … END body of a SQL-standard function or
 * procedure (psql's own rule), so each statement can run (and fail) on its own.
 */

/** One statement of a pack: its text and where it starts (1-based line, 0-based offset). */
export interface Statement {
  /** From its first token (comments and blank lines above it are not part of it) to its `;`. */
  text: string;
  offset: number;
  line: number;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

/** Whitespace for the lexer; a UTF-8 byte-order mark at the start of a file counts as such. */
function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v' || c === '\uFEFF';
}

/**
 * The statements of a pack, in order, each with its text (without the comments above it) and where
 * it starts; quoted text, `$tag$` bodies, nested comments and `begin atomic … end` stay whole.
 * @example
 * ```ts
 * splitStatements("select ';';\n-- note\nselect 2").map((s) => [s.line, s.text]);
 * // [[1, "select ';';"], [3, 'select 2']]
 * ```
 */
export function splitStatements(sql: string): Statement[] {
  const out: Statement[] = [];
  const n = sql.length;
  // the current statement: where its first token starts (-1: none yet), the words that open it,
  // parenthesis depth, and BEGIN … END depth inside CREATE [OR REPLACE] FUNCTION | PROCEDURE
  let first = -1;
  let words: string[] = [];
  let parens = 0;
  let beginDepth = 0;
  const token = (at: number) => {
    if (first === -1) first = at;
  };
  const push = (end: number) => {
    if (first !== -1) {
      const text = sql.slice(first, end).trimEnd();
      out.push({ text, offset: first, line: lineAt(sql, first) });
    }
    first = -1;
    words = [];
    parens = 0;
    beginDepth = 0;
  };
  const isRoutine = () => {
    const [a, b, c, d] = words;
    return (
      a === 'create' &&
      (b === 'function' ||
        b === 'procedure' ||
        (b === 'or' && c === 'replace' && (d === 'function' || d === 'procedure')))
    );
  };
  let i = 0;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (isSpace(c)) i++;
    else if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === "'") {
      token(i);
      const escapes = i > 0 && /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? '');
      i++;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") {
          i++;
          break;
        } else i++;
      }
    } else if (c === '"') {
      token(i);
      i++;
      while (i < n) {
        if (sql[i] === '"' && sql[i + 1] === '"') i += 2;
        else if (sql[i] === '"') {
          i++;
          break;
        } else i++;
      }
    } else if (c === '$' && !/[\w$]/.test(sql[i - 1] ?? '')) {
      token(i);
      const m = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(sql.slice(i, i + 64));
      if (m) {
        const tag = m[0];
        const close = sql.indexOf(tag, i + tag.length);
        i = close === -1 ? n : close + tag.length;
      } else i++;
    } else if (WORD_START.test(c) && !/[\w$]/.test(sql[i - 1] ?? '')) {
      token(i);
      let j = i + 1;
      while (j < n && WORD_CHAR.test(sql[j]!)) j++;
      const word = sql.slice(i, j).toLowerCase();
      // only the words psql looks at to recognize CREATE [OR REPLACE] FUNCTION | PROCEDURE
      if (words.length < 4) words.push(word);
      if (parens === 0 && isRoutine()) {
        if (word === 'begin') beginDepth++;
        else if (word === 'case' && beginDepth > 0) beginDepth++;
        else if (word === 'end' && beginDepth > 0) beginDepth--;
      }
      // E'…' is one token: leave the quote to the string branch above
      i = j;
    } else if (c === '(') {
      token(i);
      parens++;
      i++;
    } else if (c === ')') {
      token(i);
      if (parens > 0) parens--;
      i++;
    } else if (c === ';') {
      if (parens === 0 && beginDepth === 0) push(i + 1);
      else token(i);
      i++;
    } else {
      token(i);
      i++;
    }
  }
  push(n);
  return out;
}

/** 1-based line of a 0-based offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The 0-based offset (UTF-16 units) of the `chars`-th character (code point) of `text`. */
export function offsetOfChar(text: string, chars: number): number {
  let offset = 0;
  for (let k = 0; k < chars && offset < text.length; k++) {
    const code = text.codePointAt(offset) ?? 0;
    offset += code > 0xffff ? 2 : 1;
  }
  return offset;
}

/** Characters (code points) between two offsets of `text`. */
export function charsBetween(text: string, from: number, to: number): number {
  let chars = 0;
  for (let i = from; i < to; ) {
    const code = text.codePointAt(i) ?? 0;
    i += code > 0xffff ? 2 : 1;
    chars++;
  }
  return chars;
}

const TRANSACTION_CONTROL =
  /^(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release|prepare\s+transaction)\b/i;

/**
 * The transaction-control command a statement is (`commit`, `begin`, …), or undefined. A pack runs
 * inside the runner's transaction: a COMMIT there would end it (and its advisory lock) half way.
 */
export function transactionControl(stmt: Statement): string | undefined {
  const m = TRANSACTION_CONTROL.exec(stmt.text);
  return m?.[1]?.toLowerCase().replace(/\s+/g, ' ');
}
