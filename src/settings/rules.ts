/** settings.scr_rules / settings.ccr_rules: server-side and client-side cache rules (`v_cache_rules` unites them). */
import { z } from 'zod';
import { pgArray } from '../core/arrays.js';
import { jsonObject, jsonObjectRow, text, timestamptz } from '../core/codecs.js';
import type { Queryable } from '../core/queryable.js';
import { parseInput, parseOne, parseRows, run } from '../core/run.js';
import { inputObject, intAtLeast } from './fields.js';

/** Server-side (`scr`) or client-side (`ccr`) cache rules. */
export const RuleKind = z.enum(['scr', 'ccr'], { error: 'expected scr or ccr' });
export type RuleKind = z.output<typeof RuleKind>;

/** A row of `settings.v_cache_rules` (both rule tables). */
export const RuleRow = z.object({
  kind: RuleKind,
  ruleId: z.string(),
  description: z.string().nullable(),
  enabled: z.boolean(),
  precedence: z.int(),
  ruleJson: jsonObjectRow,
  createdAt: timestamptz,
  updatedAt: timestamptz,
});
export type RuleRow = z.output<typeof RuleRow>;

/** Input of `upsertRule`: keyed by kind and rule id; a missing field keeps its value. */
export const UpsertRuleInput = inputObject({
  kind: RuleKind,
  ruleId: text().regex(
    /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/,
    'expected a rule id such as api.markets (a letter or digit, then up to 127 of letters, digits, _ . : / -)',
  ),
  description: text({ max: 500 }).optional(),
  enabled: z.boolean({ error: 'expected true or false' }).optional(),
  precedence: intAtLeast(-2_147_483_648).optional(),
  /** The rule itself: a JSON object, stored exactly (`"__proto__"` keys included). */
  ruleJson: jsonObject.optional(),
});
export type UpsertRuleInput = z.input<typeof UpsertRuleInput>;

/**
 * Input of `listRules`: one kind (`'scr'`), several (`['scr', 'ccr']`, no `as const` needed) or all,
 * optionally only enabled (or disabled) rules.
 */
export const ListRulesInput = inputObject({
  kind: z
    .union([RuleKind, z.array(RuleKind).readonly()], { error: 'expected scr, ccr or an array of them' })
    .optional(),
  enabled: z.boolean({ error: 'expected true or false' }).optional(),
});
export type ListRulesInput = z.input<typeof ListRulesInput>;

const COLUMNS = (sql: Queryable) => sql`
  kind, rule_id as "ruleId", description, enabled, precedence, rule_json as "ruleJson",
  util.epoch_ms(created_at) as "createdAt", util.epoch_ms(updated_at) as "updatedAt"
`;

/**
 * Creates or updates a server-side (`scr`) or client-side (`ccr`) cache rule; a missing field keeps its value.
 *
 * Wraps `settings.sp_upsert_rule` (tables `settings.scr_rules` / `settings.ccr_rules`).
 * @example
 * ```ts
 * await db.settings.upsertRule({ kind: 'scr', ruleId: 'api.markets', precedence: 10, ruleJson: { ttlMs: 5000 } });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function upsertRule(sql: Queryable, input: UpsertRuleInput): Promise<RuleRow> {
  const op = 'settings.upsertRule';
  const p = parseInput(op, UpsertRuleInput, input);
  const ruleJson = p.ruleJson === undefined ? null : JSON.stringify(p.ruleJson);
  const rows = await run(
    op,
    sql`
      select ${COLUMNS(sql)}
      from settings.sp_upsert_rule(${p.kind}, ${p.ruleId}, ${p.description ?? null}, ${p.enabled ?? null},
        ${p.precedence ?? null}, ${ruleJson}::text::jsonb)
    `,
  );
  return parseOne('settings.sp_upsert_rule', RuleRow, rows);
}

/**
 * Lists cache rules in the order they apply (kind, precedence, rule id).
 *
 * Reads `settings.v_cache_rules`.
 * @example
 * ```ts
 * const rules = await db.settings.listRules({ kind: 'ccr', enabled: true });
 * ```
 * @throws ValidationError when the input is malformed (nothing is sent)
 */
export async function listRules(sql: Queryable, input: ListRulesInput = {}): Promise<RuleRow[]> {
  const op = 'settings.listRules';
  const { kind, enabled = null } = parseInput(op, ListRulesInput, input);
  const kinds = kind === undefined ? null : pgArray(typeof kind === 'string' ? [kind] : kind);
  const rows = await run(
    op,
    sql`
      select ${COLUMNS(sql)}
      from settings.v_cache_rules
      where (${kinds}::text[] is null or kind = any(${kinds}::text[]))
        and (${enabled}::boolean is null or enabled = ${enabled}::boolean)
      order by kind, precedence, rule_id
    `,
  );
  return parseRows('settings.v_cache_rules', RuleRow, rows);
}
