// Snapshots of the catalog and of every table's rows, to compare two databases or two moments.
import type { Sql } from '../../src/core/queryable.js';

export const OURS = `n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast', 'cryptopi_migrate') and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast_temp%'`;

/** Our objects' definitions (relations, columns, functions, triggers, constraints, indexes, views, policies, types). */
export async function catalog(sql: Sql, options: { oids?: boolean } = {}) {
  const q = (text: string) => sql.unsafe(text).then((rows) => rows.map((r) => JSON.stringify(r)));
  return {
    relations:
      await q(`select n.nspname, c.relname, c.relkind, ${options.oids === false ? '' : 'c.oid::int8::text as oid,'} c.relacl::text as acl, c.relrowsecurity
      from pg_class c join pg_namespace n on n.oid = c.relnamespace where ${OURS} order by 1, 2`),
    columns:
      await q(`select n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) as type,
        a.attnotnull, a.attgenerated, a.attidentity, pg_get_expr(d.adbin, d.adrelid) as def
      from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where ${OURS} and a.attnum > 0 and not a.attisdropped order by 1, 2, 3`),
    functions:
      await q(`select n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) as args, ${options.oids === false ? '' : 'p.oid::int8::text as oid,'}
        md5(pg_get_functiondef(p.oid)) as def
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace where ${OURS} and p.prokind <> 'a' order by 1, 2, 3`),
    triggers: await q(`select n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid) as def, t.tgenabled
      from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where ${OURS} and not t.tgisinternal order by 1, 2, 3`),
    constraints:
      await q(`select n.nspname, c.conrelid::regclass::text as rel, c.conname, pg_get_constraintdef(c.oid) as def
      from pg_constraint c join pg_namespace n on n.oid = c.connamespace where ${OURS} order by 1, 2, 3`),
    indexes: await q(`select schemaname, tablename, indexname, indexdef from pg_indexes
      where schemaname not in ('pg_catalog', 'information_schema', 'cryptopi_migrate') order by 1, 2, 3`),
    views: await q(`select schemaname, viewname, md5(definition) as def from pg_views
      where schemaname not in ('pg_catalog', 'information_schema') order by 1, 2`),
    policies: await q(
      `select schemaname, tablename, policyname, permissive, roles::text, cmd, qual, with_check from pg_policies order by 1, 2, 3`,
    ),
    types:
      await q(`select n.nspname, t.typname, t.typtype from pg_type t join pg_namespace n on n.oid = t.typnamespace
      where ${OURS} and t.typtype in ('e', 'd', 'c') and not exists (select 1 from pg_class c where c.reltype = t.oid) order by 1, 2`),
    extensions: await q(`select extname from pg_extension order by 1`),
  };
}

/**
 * A hash of every table's rows. With `ignoreTimes`, timestamp columns are left out (seeded rows of
 * two databases built at different moments differ only there).
 */
export async function tableHashes(sql: Sql, options: { ignoreTimes?: boolean } = {}) {
  const tables = await sql<{ name: string; times: string[] }[]>`
    select format('%I.%I', n.nspname, c.relname) as name,
      array(select a.attname::text from pg_attribute a
            where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
              and a.atttypid in ('timestamptz'::regtype, 'timestamp'::regtype)) as times
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and ${sql.unsafe(OURS)} order by 1`;
  const out: Record<string, string> = {};
  for (const t of tables) {
    const drop =
      options.ignoreTimes && t.times.length > 0 ? ` - array[${t.times.map((c) => `'${c}'`).join(', ')}]` : '';
    const [r] = await sql.unsafe(
      `select md5(coalesce(string_agg((to_jsonb(x)${drop})::text, '|' order by (to_jsonb(x)${drop})::text), '')) as h from ${t.name} x`,
    );
    out[t.name] = String(r?.h);
  }
  return out;
}

/**
 * Our functions (extensions' left out), each with whether it pins search_path to pg_catalog first
 * (spec/README.md); of one schema when `schema` is given. A SQL-standard body (`return …` /
 * `begin atomic`) counts as pinned: its names are resolved when it is created, never at run time.
 */
export async function functionPins(sql: Sql, schema?: string) {
  return sql<{ schema: string; name: string; pinned: boolean }[]>`
    select n.nspname as schema, p.proname as name,
           (p.prosqlbody is not null
            or exists (select 1 from unnest(p.proconfig) c where c like 'search_path=pg_catalog%')) as pinned
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where ${sql.unsafe(OURS)} ${schema === undefined ? sql`` : sql`and n.nspname = ${schema}`}
      and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                        and d.deptype = 'e')
    order by 1, 2`;
}

/** Our tables with an updated_at column, each with whether util.touch_updated_at is attached to it. */
export async function updatedAtTouches(sql: Sql, schema?: string) {
  return sql<{ schema: string; table: string; touched: boolean }[]>`
    select n.nspname as schema, c.relname as table,
           exists (select 1 from pg_trigger t where t.tgrelid = c.oid and not t.tgisinternal
                     and t.tgfoid = 'util.touch_updated_at'::regproc) as touched
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'updated_at' and not a.attisdropped
    where ${sql.unsafe(OURS)} and c.relkind in ('r', 'p')
      ${schema === undefined ? sql`` : sql`and n.nspname = ${schema}`}
    order by 1, 2`;
}
