// Every JSON input of the module (profile params, account and wallet meta, rule ruleJson, params
// strCycles) goes through the core JSON codec: JSON values only, bounded depth, checked in place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import {
  updateParams,
  upsertExternalAccount,
  upsertProfile,
  upsertRule,
  upsertWallet,
} from '../../src/settings/index.js';
import { startTestDatabase, type TestDatabase } from '../../src/testing/index.js';
import { refusal } from '../helpers/refusal.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

/** Each JSON input: how to send a value through it, and the table(s) it would write. */
const INPUTS: { name: string; field: string; send: (v: unknown) => Promise<unknown>; tables: string[] }[] = [
  {
    name: 'upsertProfile params',
    field: 'params',
    send: (v) => upsertProfile(db.sql, { email: 'json@example.com', params: v as never }),
    tables: ['settings.profile'],
  },
  {
    name: 'upsertExternalAccount meta',
    field: 'meta',
    send: (v) => upsertExternalAccount(db.sql, { provider: 'binance', label: 'json', meta: v as never }),
    tables: ['settings.external_accounts'],
  },
  {
    name: 'upsertWallet meta',
    field: 'meta',
    send: (v) => upsertWallet(db.sql, { label: 'json', meta: v as never }),
    tables: ['settings.wallets'],
  },
  {
    name: 'upsertRule ruleJson',
    field: 'ruleJson',
    send: (v) => upsertRule(db.sql, { kind: 'scr', ruleId: 'json', ruleJson: v as never }),
    tables: ['settings.scr_rules'],
  },
  {
    name: 'updateParams strCycles',
    field: 'strCycles',
    send: (v) => updateParams(db.sql, { strCycles: v as never }),
    tables: ['settings.params'],
  },
];

function deep(levels: number): unknown {
  let v: unknown = { end: 1 };
  for (let i = 0; i < levels; i++) v = { d: v };
  return v;
}
const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;

/** A bad value, where inside it the codec must point, and what it must say. */
const BAD: { what: string; value: unknown; path: (string | number)[]; message: RegExp }[] = [
  { what: 'a BigInt', value: { '1h': 10n }, path: ['1h'], message: /BigInt/ },
  { what: 'a circular object', value: circular, path: ['self'], message: /circular/ },
  // the object 64 levels down (path of 64 keys) is the first one too deep
  {
    what: '5 000-deep nesting',
    value: deep(5000),
    path: Array.from({ length: 64 }, () => 'd'),
    message: /deeper than 64/,
  },
  { what: 'NaN', value: { '1h': Number.NaN }, path: ['1h'], message: /finite number/ },
  { what: 'Infinity', value: { '1h': Number.POSITIVE_INFINITY }, path: ['1h'], message: /finite number/ },
  { what: 'undefined', value: { '1h': undefined }, path: ['1h'], message: /undefined/ },
  { what: 'a Date', value: { '1h': new Date(0) }, path: ['1h'], message: /plain object/ },
  { what: 'an array (not an object)', value: [1], path: [], message: /expected a JSON object/ },
  {
    what: 'a lone surrogate in a key',
    value: { 'k\uD800': 1 },
    path: ['k\uD800'],
    message: /lone surrogate/,
  },
];

async function snapshot(tables: string[]) {
  return Promise.all(tables.map((t) => db.sql.unsafe(`select * from ${t} order by 1`)));
}

for (const input of INPUTS) {
  describe(input.name, () => {
    for (const bad of BAD) {
      it(`refuses ${bad.what} with a ValidationError naming the path, writing nothing`, async () => {
        const before = await snapshot(input.tables);
        const e = await refusal(input.send(bad.value));
        expect(e).toBeInstanceOf(ValidationError);
        const issues = (e as ValidationError).issues;
        expect(issues.length).toBeGreaterThanOrEqual(1);
        expect(issues[0]?.path).toEqual([input.field, ...bad.path]);
        expect(issues[0]?.message).toMatch(bad.message);
        expect(await snapshot(input.tables)).toEqual(before);
      });
    }
  });
}
