/**
 * Array parameters as PostgreSQL array literals ('{"a","b",NULL}'), bound as plain text and cast in SQL
 * (`${pgArray(xs)}::text[]`). Unlike `sql.array`, this does not depend on postgres.js having fetched the
 * array type oids: a pool's first concurrent queries, or a host pool with `fetch_types: false`, would
 * otherwise send 'a,b' and fail. Every module binds arrays through this one helper.
 */

/** One PostgreSQL array literal from strings, numbers, Dates (as ISO-8601) and nulls. */
export function pgArray(values: ArrayLike<string | number | Date | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) {
      out += 'NULL';
      continue;
    }
    const s = v instanceof Date ? v.toISOString() : String(v);
    out += `"${s.replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${out}}`;
}
