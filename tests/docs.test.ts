// Every guide's runnable example runs as a user would copy it: extracted from the markdown, its
// `cryptopi-db` imports pointed at src/, run by tsx in a child process against a fresh, empty
// database of its own (the examples migrate it themselves), and must exit 0 having printed what
// its comments promise.
//
// Which block is the example (one rule for every guide):
// - README.md: the section `## Quick start`; docs/<guide>.md: the section `## Example`. A section
//   runs from its heading to the next `## ` heading; its first ```ts block is the example (later
//   ones may be fragments).
// - Every docs/*.md must have that section unless it is listed in NO_EXAMPLE with the reason, and
//   every guide with an example must be listed in EXPECTED: a new guide fails here until it has a
//   runnable example (or a stated reason not to).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDatabase } from '../src/testing/index.js';

const root = join(import.meta.dirname, '..');
const tsx = join(root, 'node_modules/.bin/tsx');

const NO_EXAMPLE: Record<string, string> = {
  'docs/migrations.md': 'reference of packs, ledger and CLI; its snippets are fragments',
  'docs/types.md': 'the type mapping table; no code to run',
  'docs/testing.md': 'its snippets are a vitest file and a global setup, not scripts (tests/testing.test.ts)',
};

// The ingest example fetches klines from Binance (BINANCE_API); a local server stands in for it.
const t0 = Date.UTC(2025, 0, 1);
const klines = Array.from({ length: 3 }, (_, i) => {
  const open = t0 + i * 60_000;
  return [open, '100.0', '101.0', '99.0', '100.5', '12.5', open + 59_999, '1256.25', 42, '6', '603', '0'];
});
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** What each example must print (the values its comments state); a string is a substring of stdout. */
const EXPECTED: Record<string, (string | RegExp)[]> = {
  'README.md': ["label: '4h'", 'durationMs: 14400000', "path: [ 'label' ]"],
  'docs/settings.md': [
    'durationMs: 7200000',
    '{ enabledCount: 2, disabledCount: 0 }',
    '{ enabledCount: 2, disabledCount: 1 }',
    "[ 'ETHUSDT', 'SOLUSDT' ]",
    /^my-api-key$/m,
  ],
  'docs/market.md': [
    "{ base: 'BTC', quote: 'FDUSD' }",
    /received: 1000,\s+distinct: 1000,\s+inserted: 1000,\s+updated: 0,\s+unchanged: 0/,
    /^2024-01-01T16:39:00\.000Z$/m,
    "[ { price: 99.5, qty: '2' } ]",
  ],
  'docs/documents.md': [
    '{ added: 2, changed: 0, unchanged: 0, removed: 0 }',
    /added: \[\],\s+removed: \[\],\s+changed: \[ 'guides\/setup\.md' \],\s+unchanged: 1/,
    '{ added: 0, changed: 1, unchanged: 1, removed: 0 }',
    // the history: the first content's hash, then the edited one's
    new RegExp(
      `hash: '${sha256('# Setup\n\nRun npm install.\n')}'.*hash: '${sha256('# Setup\n\nRun npm ci.\n')}'`,
      's',
    ),
  ],
  'docs/wallet.md': [
    '{ inserted: 2, skipped: 0, skippedExternalIds: [] }',
    "{ inserted: 0, skipped: 2, skippedExternalIds: [ 'dep-1', 'fee-1' ] }",
    /asset: 'BTC',\s+balance: '0\.4999',[\s\S]*movesAfter: 2,/,
    'overdraw refused: the BTC balance of account',
  ],
  'docs/matrices.md': ['{ points: 6 }', /^4320$/m, "[ 'id_pct:BTC/USDT = 0.31' ]", /^61$/m],
  'docs/ingest.md': [
    '{ promoted: 3 }',
    // the latest of the three candles the stand-in served, promoted into market.klines
    /openTime: 2025-01-01T00:02:00\.000Z,\s+closeTime: 2025-01-01T00:02:59\.999Z/,
  ],
};

/** The first ```ts block of the section under `heading`; throws when there is none. */
function extractExample(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`no ${heading} section`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  const section = lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
  const blocks = [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  if (!blocks[0]) throw new Error(`${heading} holds no \`\`\`ts block`);
  return blocks[0];
}

/** `from 'cryptopi-db'` → src/index.ts, `from 'cryptopi-db/<sub>'` → src/<sub>/index.ts. */
function pointAtSources(code: string): string {
  const rewritten = code.replace(
    /from (['"])cryptopi-db(?:\/([a-z-]+))?\1/g,
    (_, q: string, sub?: string) => {
      const path = sub ? join(root, 'src', sub, 'index.ts') : join(root, 'src/index.ts');
      return `from ${q}${path}${q}`;
    },
  );
  if (/['"]cryptopi-db/.test(rewritten)) throw new Error('an import of cryptopi-db was not rewritten');
  return rewritten;
}

async function guides(): Promise<string[]> {
  const docs = (await readdir(join(root, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  return ['README.md', ...docs.sort()];
}

/** The guide's example, its imports pointing at src/, as a file name and its text. */
async function exampleOf(guide: string): Promise<{ name: string; code: string }> {
  const markdown = await readFile(join(root, guide), 'utf8');
  const code = extractExample(markdown, guide === 'README.md' ? '## Quick start' : '## Example');
  // .mts: an ES module (top-level await) wherever the temporary folder is
  return { name: `${guide.replace(/\W/g, '_')}.mts`, code: pointAtSources(code) };
}

function execute(command: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      const options = {
        cwd: workDir,
        encoding: 'utf8',
        timeout: 90_000,
        env: { ...process.env, ...env },
      } as const;
      execFile(command, args, options, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, signal: error?.signal ?? null, stdout, stderr });
      });
    },
  );
}

let binance: Server;
let binanceUrl: string;
let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'cryptopi-docs-'));
  binance = createServer((req, res) => {
    if (req.url?.startsWith('/api/v3/klines?')) res.writeHead(200, { 'content-type': 'application/json' });
    else res.writeHead(404);
    res.end(res.statusCode === 200 ? JSON.stringify(klines) : undefined);
  });
  await new Promise<void>((resolve) => binance.listen(0, '127.0.0.1', resolve));
  binanceUrl = `http://127.0.0.1:${(binance.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => binance.close(resolve));
  await rm(workDir, { recursive: true, force: true });
});

it('every guide has a runnable example, or a stated reason not to', async () => {
  const all = await guides();
  expect(
    Object.keys(NO_EXAMPLE).filter((g) => !all.includes(g)),
    'NO_EXAMPLE names no guide',
  ).toEqual([]);
  expect(Object.keys(EXPECTED).sort()).toEqual(all.filter((g) => !(g in NO_EXAMPLE)).sort());
});

describe.concurrent('guide examples', () => {
  for (const [guide, printed] of Object.entries(EXPECTED)) {
    it(`${guide} runs on a fresh database and prints what its comments say`, {
      timeout: 120_000,
    }, async () => {
      const { name, code } = await exampleOf(guide);
      const file = join(workDir, name);
      await writeFile(file, code);
      // empty, not migrated: every example migrates it itself
      const db = await startTestDatabase({ migrate: false });
      try {
        const r = await execute(tsx, [file], {
          DATABASE_URL: db.url,
          CREDENTIALS_KEY: 'docs-test-credentials-key',
          BINANCE_API: binanceUrl,
        });
        expect(r.stderr, r.stdout).toBe('');
        expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
        for (const line of printed) {
          if (typeof line === 'string') expect(r.stdout).toContain(line);
          else expect(r.stdout).toMatch(line);
        }
      } finally {
        await db.close();
      }
    });
  }

  // tsx strips types without checking them; a user's compiler would not.
  it("every example type-checks under the project's strict options", { timeout: 120_000 }, async () => {
    const dir = join(workDir, 'typecheck');
    await mkdir(dir);
    for (const guide of Object.keys(EXPECTED)) {
      const { name, code } = await exampleOf(guide);
      await writeFile(join(dir, name), code);
    }
    const compilerOptions = {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: true,
      noEmit: true,
      allowImportingTsExtensions: true,
    };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.mts'] }));
    const r = await execute(join(root, 'node_modules/.bin/tsc'), ['-p', join(dir, 'tsconfig.json')]);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
