import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../src/core/errors.js';
import { documentHistory, listDocuments, registerBundle, verifyBundle } from '../src/documents/index.js';
import { startTestDatabase, type TestDatabase } from '../src/testing/index.js';

let db: TestDatabase;
let root: string;
beforeAll(async () => {
  db = await startTestDatabase();
  root = mkdtempSync(join(tmpdir(), 'cryptopi-docs-'));
});
afterAll(async () => {
  await db.close();
  rmSync(root, { recursive: true, force: true });
});

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
let bundles = 0;
/** A fresh bundle folder holding `files` (relative path → content). */
function bundle(files: Record<string, string>): string {
  const dir = join(root, `b${++bundles}`);
  mkdirSync(dir);
  for (const [path, text] of Object.entries(files)) put(dir, path, text);
  return dir;
}
function put(dir: string, path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}
/** The whole docs schema, to show that a call wrote nothing. */
const tables = async () => ({
  registry: await db.sql`select * from docs.doc_registry order by id`,
  hashes: await db.sql`select * from docs.doc_hashes order by id`,
});
const clear = () => db.sql`truncate docs.doc_registry, docs.doc_hashes`;

it('registerBundle walks a folder, hashes every file and lists them back', async () => {
  await clear();
  const readme = '# Read me\n\nHello.\n';
  const setup = '---\n\n#  Setting up  #\ntext\n';
  const dir = bundle({
    'README.md': readme,
    'guides/Setup Guide.md': setup,
    'api/spec.JSON': '{}',
    '.hidden': 'x',
  });
  mkdirSync(join(dir, '.git'));
  put(dir, '.git/HEAD', 'ref');

  expect(await registerBundle(db.sql, { dir, version: '1.0.0' })).toEqual({
    added: 3,
    changed: 0,
    unchanged: 0,
    removed: 0,
  });
  const row = (path: string, slug: string, title: string | null, kind: string, text: string) => ({
    id: expect.any(Number),
    path,
    slug,
    title,
    kind,
    version: '1.0.0',
    sha256: sha(text),
    sizeBytes: Buffer.byteLength(text),
    registeredAt: expect.any(Date),
    updatedAt: expect.any(Date),
    removedAt: null,
    meta: {},
  });
  expect(await listDocuments(db.sql)).toEqual([
    row('README.md', 'readme', 'Read me', 'md', readme),
    row('api/spec.JSON', 'api-spec', null, 'json', '{}'),
    row('guides/Setup Guide.md', 'guides-setup-guide', 'Setting up', 'md', setup),
  ]);
  expect(await documentHistory(db.sql, { paths: ['README.md'] })).toEqual([
    { path: 'README.md', algorithm: 'sha256', hash: sha(readme), computedAt: expect.any(Date) },
  ]);
});

it('verifyBundle reports exactly the changed, added and removed files, and writes nothing', async () => {
  await clear();
  const dir = bundle({ 'a.md': 'a', 'b.md': 'b', 'sub/c.txt': 'c' });
  await registerBundle(db.sql, { dir });
  const before = await tables();

  expect(await verifyBundle(db.sql, { dir })).toEqual({ added: [], removed: [], changed: [], unchanged: 3 });

  put(dir, 'b.md', 'b, edited');
  expect(await verifyBundle(db.sql, { dir })).toEqual({
    added: [],
    removed: [],
    changed: ['b.md'],
    unchanged: 2,
  });

  put(dir, 'sub/new.md', 'new');
  rmSync(join(dir, 'a.md'));
  expect(await verifyBundle(db.sql, { dir })).toEqual({
    added: ['sub/new.md'],
    removed: ['a.md'],
    changed: ['b.md'],
    unchanged: 1,
  });
  expect(await tables()).toEqual(before);
});

it('re-registering appends a hash row for the changed file only and keeps removed documents', async () => {
  await clear();
  const dir = bundle({ 'a.md': 'a', 'b.md': 'b', 'c.md': 'c' });
  await registerBundle(db.sql, { dir });
  put(dir, 'b.md', 'b2');
  rmSync(join(dir, 'c.md'));
  put(dir, 'd.md', 'd');

  expect(await registerBundle(db.sql, { dir })).toEqual({ added: 1, changed: 1, unchanged: 1, removed: 1 });
  expect(
    await db.sql`
    select r.path, count(h.id)::int as n from docs.doc_registry r join docs.doc_hashes h on h.doc_id = r.id
    group by r.path order by r.path
  `,
  ).toEqual([
    { path: 'a.md', n: 1 },
    { path: 'b.md', n: 2 },
    { path: 'c.md', n: 1 },
    { path: 'd.md', n: 1 },
  ]);
  expect((await documentHistory(db.sql, { paths: ['b.md'] })).map((h) => h.hash)).toEqual([
    sha('b'),
    sha('b2'),
  ]);
  expect((await listDocuments(db.sql)).map((d) => d.path)).toEqual(['a.md', 'b.md', 'd.md']);
  const all = await listDocuments(db.sql, { includeRemoved: true });
  expect(all.map((d) => [d.path, d.removedAt === null])).toEqual([
    ['a.md', true],
    ['b.md', true],
    ['c.md', false],
    ['d.md', true],
  ]);
  expect(await documentHistory(db.sql, { paths: ['c.md'] })).toEqual([
    { path: 'c.md', algorithm: 'sha256', hash: sha('c'), computedAt: expect.any(Date) },
  ]);

  // the same bundle again: nothing changes, not even updated_at
  const before = await tables();
  expect(await registerBundle(db.sql, { dir })).toEqual({ added: 0, changed: 0, unchanged: 3, removed: 0 });
  expect(await tables()).toEqual(before);

  // a removed file that comes back unchanged is restored without a new hash row
  put(dir, 'c.md', 'c');
  expect(await registerBundle(db.sql, { dir })).toEqual({ added: 1, changed: 0, unchanged: 3, removed: 0 });
  expect((await listDocuments(db.sql)).map((d) => d.path)).toEqual(['a.md', 'b.md', 'c.md', 'd.md']);
  expect(await db.sql`select count(*)::int as n from docs.doc_hashes`).toEqual([{ n: 5 }]);
});

it('a prefix confines a bundle to its folder of the registry', async () => {
  await clear();
  await registerBundle(db.sql, { dir: bundle({ 'index.md': 'root' }), prefix: 'site/' });
  const api = bundle({ 'v1.yaml': 'one' });
  expect(await db.client.documents.registerBundle({ dir: api, prefix: 'api/' })).toEqual({
    added: 1,
    changed: 0,
    unchanged: 0,
    removed: 0,
  });
  rmSync(join(api, 'v1.yaml'));
  put(api, 'v2.yaml', 'two');
  expect(await db.client.documents.verifyBundle({ dir: api, prefix: 'api/' })).toEqual({
    added: ['api/v2.yaml'],
    removed: ['api/v1.yaml'],
    changed: [],
    unchanged: 0,
  });
  expect(await db.client.documents.registerBundle({ dir: api, prefix: 'api/' })).toEqual({
    added: 1,
    changed: 0,
    unchanged: 0,
    removed: 1,
  });
  expect((await db.client.documents.listDocuments()).map((d) => d.path)).toEqual([
    'api/v2.yaml',
    'site/index.md',
  ]);
  expect((await listDocuments(db.sql, { prefix: 'api/', includeRemoved: true })).map((d) => d.path)).toEqual([
    'api/v1.yaml',
    'api/v2.yaml',
  ]);
});

it('concurrent registrations of one bundle record each document and hash once', async () => {
  await clear();
  const dir = bundle({ 'a.md': 'a', 'b.md': 'b', 'c/d.md': 'd' });
  const results = await Promise.all([1, 2, 3, 4].map(() => registerBundle(db.sql, { dir })));
  expect(results.map((r) => r.added).sort()).toEqual([0, 0, 0, 3]);
  expect(results.map((r) => r.unchanged).sort()).toEqual([0, 3, 3, 3]);
  expect(
    await db.sql`select count(*)::int as docs, (select count(*)::int from docs.doc_hashes) as hashes
                      from docs.doc_registry`,
  ).toEqual([{ docs: 3, hashes: 3 }]);
});

it('refuses a missing folder and a bad prefix, and writes nothing', async () => {
  await clear();
  await registerBundle(db.sql, { dir: bundle({ 'a.md': 'a' }) });
  const before = await tables();

  const missing = await registerBundle(db.sql, { dir: join(root, 'nope') }).catch((e: unknown) => e);
  expect(missing).toBeInstanceOf(ValidationError);
  expect((missing as ValidationError).issues).toEqual([
    { path: ['dir'], message: 'is not a readable folder' },
  ]);

  const file = await verifyBundle(db.sql, { dir: join(bundle({ 'x.md': 'x' }), 'x.md') }).catch(
    (e: unknown) => e,
  );
  expect((file as ValidationError).issues).toEqual([{ path: ['dir'], message: 'is not a readable folder' }]);

  const prefix = await registerBundle(db.sql, { dir: bundle({ 'y.md': 'y' }), prefix: '/abs' }).catch(
    (e: unknown) => e,
  );
  expect(prefix).toBeInstanceOf(ValidationError);
  expect((prefix as ValidationError).issues).toEqual([
    { path: ['prefix'], message: 'expected empty or a relative folder ending with / such as "guides/"' },
  ]);
  const extra = await registerBundle(db.sql, { dir: root, version: '1', tag: 'x' } as never).catch(
    (e: unknown) => e,
  );
  expect((extra as ValidationError).issues).toEqual([{ path: [], message: 'Unrecognized key: "tag"' }]);
  expect(await tables()).toEqual(before);
});

it('documentHistory of an unknown path is a NotFoundError naming it (entity docs.document, key { path })', async () => {
  await clear();
  await registerBundle(db.sql, { dir: bundle({ 'a.md': 'a' }) });
  for (const paths of [['nowhere.md'], ['a.md', 'nowhere.md', 'gone.md']]) {
    const error = await documentHistory(db.sql, { paths }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ entity: 'docs.document', key: { path: 'nowhere.md' } });
    expect((error as NotFoundError).message).toBe(
      'documents.documentHistory: docs.document not found (by path)',
    );
  }
});

it('documentHistory reads many documents in one call, by path in the order given, each oldest first', async () => {
  await clear();
  const dir = bundle({ 'a.md': 'a1', 'b.md': 'b1' });
  await registerBundle(db.sql, { dir });
  writeFileSync(join(dir, 'b.md'), 'b2');
  await registerBundle(db.sql, { dir });
  const history = await documentHistory(db.sql, { paths: ['b.md', 'a.md', 'b.md'] });
  expect(history.map((h) => [h.path, h.hash])).toEqual([
    ['b.md', sha('b1')],
    ['b.md', sha('b2')],
    ['a.md', sha('a1')],
  ]);
  const empty = await documentHistory(db.sql, { paths: [] }).catch((e: unknown) => e);
  expect((empty as ValidationError).issues.map((i) => i.path)).toEqual([['paths']]);
});

it('text inputs go through the text codec: a NUL or a lone surrogate is refused before anything is read', async () => {
  const before = await tables();
  const error = await registerBundle(db.sql, {
    dir: `${root}\u0000`,
    prefix: 'caf\uD800/',
    version: 'v\uDC00',
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).issues).toEqual([
    { path: ['dir'], message: 'must not contain NUL (U+0000)' },
    { path: ['prefix'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
    { path: ['version'], message: 'must not contain a lone surrogate (ill-formed UTF-16)' },
  ]);
  const history = await documentHistory(db.sql, { paths: ['a\u0000.md'] }).catch((e: unknown) => e);
  expect((history as ValidationError).issues).toEqual([
    { path: ['paths', 0], message: 'must not contain NUL (U+0000)' },
  ]);
  expect(await tables()).toEqual(before);
});

it('times read back exactly whatever the session TimeZone', async () => {
  await clear();
  await registerBundle(db.sql, { dir: bundle({ 'a.md': 'a' }) });
  // an old instant with a local-mean-time offset (+00:19:32 in Amsterdam in 1850) too
  await db.sql`update docs.doc_registry set removed_at = '1850-06-01T12:34:56.789Z' where path = 'a.md'`;
  const utc = await listDocuments(db.sql, { includeRemoved: true });
  expect(utc.map((d) => d.removedAt?.toISOString())).toEqual(['1850-06-01T12:34:56.789Z']);
  const utcHistory = await documentHistory(db.sql, { paths: ['a.md'] });
  for (const zone of ['Europe/Amsterdam', 'Asia/Kolkata', 'America/New_York']) {
    const sql = postgres(db.url, { max: 1, onnotice: () => {}, connection: { TimeZone: zone } });
    try {
      const [tz] = await sql<{ tz: string }[]>`select current_setting('TimeZone') as tz`;
      expect(tz?.tz).toBe(zone);
      expect(await listDocuments(sql, { includeRemoved: true })).toEqual(utc);
      expect(await documentHistory(sql, { paths: ['a.md'] })).toEqual(utcHistory);
    } finally {
      await sql.end();
    }
  }
});

it('the database refuses bad registrations too when the SDK is bypassed', async () => {
  await clear();
  const h = sha('x');
  await expect(
    db.sql`select * from docs.sp_register_bundle('{a.md,a.md}', ${[h, h]}, '{1,1}', '{null,null}', '{md,md}')`,
  ).rejects.toMatchObject({ code: '22023' });
  await expect(
    db.sql`select * from docs.sp_register_bundle('{a.md}', ${[h]}, '{1}', '{null}', '{md}', '/abs/')`,
  ).rejects.toMatchObject({ code: '22023' });
  await expect(
    db.sql`select * from docs.sp_register_bundle('{b.md}', ${[h]}, '{1}', '{null}', '{md}', 'site/')`,
  ).rejects.toMatchObject({ code: '22023' });
  await expect(
    db.sql`select * from docs.sp_register_bundle('{../a.md}', ${[h]}, '{1}', '{null}', '{md}')`,
  ).rejects.toMatchObject({ code: '23514', constraint_name: 'doc_registry_path_check' });
  await expect(
    db.sql`select * from docs.sp_register_bundle('{a.md}', '{nothex}', '{1}', '{null}', '{md}')`,
  ).rejects.toMatchObject({ code: '23514' });
  await expect(db.sql`select * from docs.sp_verify_bundle('{a.md}', '{}')`).rejects.toMatchObject({
    code: '22023',
  });
  expect((await tables()).registry).toEqual([]);
});

it('a deployment can exclude the documents pack', async () => {
  const bare = await startTestDatabase({ migrations: { exclude: ['documents'] } });
  try {
    expect(
      await bare.sql`select to_regclass('docs.doc_registry') as t, to_regclass('wallet.moves')::text as w`,
    ).toEqual([{ t: null, w: 'wallet.moves' }]);
    // the module's functions say so with a typed error, not a raw PostgreSQL one
    const dir = bundle({ 'a.md': 'a' });
    for (const call of [
      () => registerBundle(bare.sql, { dir }),
      () => verifyBundle(bare.sql, { dir }),
      () => listDocuments(bare.sql),
      () => documentHistory(bare.sql, { paths: ['a.md'] }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ entity: 'docs', key: {} });
      expect((error as NotFoundError).message).toMatch(
        /^documents\.\w+: the documents pack \(04_documents\.sql\) is not applied: schema docs not found$/,
      );
    }
  } finally {
    await bare.close();
  }
});

it('binary files and large files are hashed exactly; a binary markdown file gets no title', async () => {
  await clear();
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  // a file of many read chunks, its heading within the first 64 KiB (the part scanned for a title)
  const big = `${'x'.repeat(30_000)}\n# Late heading\n${'y'.repeat(3_000_000)}`;
  const dir = bundle({ 'big.md': big });
  writeFileSync(join(dir, 'logo.png'), bytes);
  writeFileSync(join(dir, 'odd.md'), Buffer.from('# A\u0000B\n\u00ff', 'latin1'));
  writeFileSync(join(dir, 'tabs.md'), '# Tab\tand\u0007bell\r\n');
  writeFileSync(join(dir, 'empty.txt'), '');
  expect(await registerBundle(db.sql, { dir })).toMatchObject({ added: 5 });
  expect(
    (await listDocuments(db.sql)).map((d) => ({
      path: d.path,
      title: d.title,
      sha256: d.sha256,
      size: d.sizeBytes,
    })),
  ).toEqual([
    { path: 'big.md', title: 'Late heading', sha256: sha(big), size: Buffer.byteLength(big) },
    { path: 'empty.txt', title: null, sha256: sha(''), size: 0 },
    {
      path: 'logo.png',
      title: null,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: 256,
    },
    {
      path: 'odd.md',
      title: null,
      sha256: createHash('sha256').update(Buffer.from('# A\u0000B\n\u00ff', 'latin1')).digest('hex'),
      size: 7,
    },
    { path: 'tabs.md', title: 'Tab and bell', sha256: sha('# Tab\tand\u0007bell\r\n'), size: 16 },
  ]);
  expect(await verifyBundle(db.sql, { dir })).toEqual({ added: [], removed: [], changed: [], unchanged: 5 });
});

it('symbolic links are followed: a linked file or folder is part of the bundle, a broken one is refused', async () => {
  await clear();
  const outside = bundle({ 'shared.md': '# Shared\n' });
  const dir = bundle({ 'a.md': 'a', 'sub/b.md': 'b' });
  symlinkSync('a.md', join(dir, 'alias.md'));
  symlinkSync(join(outside, 'shared.md'), join(dir, 'shared.md'));
  symlinkSync(outside, join(dir, 'linked'));
  expect(await registerBundle(db.sql, { dir })).toMatchObject({ added: 5 });
  expect((await listDocuments(db.sql)).map((d) => [d.path, d.sha256])).toEqual([
    ['a.md', sha('a')],
    ['alias.md', sha('a')],
    ['linked/shared.md', sha('# Shared\n')],
    ['shared.md', sha('# Shared\n')],
    ['sub/b.md', sha('b')],
  ]);

  // a file replaced by a link to other content is changed, not removed (and so is its alias)
  rmSync(join(dir, 'a.md'));
  symlinkSync(join(outside, 'shared.md'), join(dir, 'a.md'));
  expect(await verifyBundle(db.sql, { dir })).toEqual({
    added: [],
    removed: [],
    changed: ['a.md', 'alias.md'],
    unchanged: 3,
  });

  const before = await tables();
  symlinkSync('nowhere.md', join(dir, 'sub/dangling.md'));
  const broken = await registerBundle(db.sql, { dir }).catch((e: unknown) => e);
  expect(broken).toBeInstanceOf(ValidationError);
  expect((broken as ValidationError).issues).toEqual([
    { path: ['dir'], message: 'sub/dangling.md is a broken symbolic link' },
  ]);
  rmSync(join(dir, 'sub/dangling.md'));
  symlinkSync('..', join(dir, 'sub/up'));
  const loop = await verifyBundle(db.sql, { dir }).catch((e: unknown) => e);
  expect((loop as ValidationError).issues).toEqual([
    { path: ['dir'], message: 'sub/up is a symbolic link to one of its own parent folders' },
  ]);
  expect(await tables()).toEqual(before);
});

it('paths are Unicode-normalized (NFC), so a bundle copied between file systems is unchanged', async () => {
  await clear();
  const nfd = 'cafe\u0301.md';
  const nfc = 'caf\u00e9.md';
  await registerBundle(db.sql, { dir: bundle({ [nfd]: 'menu' }) });
  expect((await listDocuments(db.sql)).map((d) => d.path)).toEqual([nfc]);
  expect(await verifyBundle(db.sql, { dir: bundle({ [nfc]: 'menu' }) })).toEqual({
    added: [],
    removed: [],
    changed: [],
    unchanged: 1,
  });
  // a path or prefix typed in the other spelling finds the same rows
  expect((await documentHistory(db.sql, { paths: [nfd] })).map((h) => h.path)).toEqual([nfc]);
  await registerBundle(db.sql, { dir: bundle({ [nfd]: 'carte' }), prefix: 'cafe\u0301/' });
  expect((await listDocuments(db.sql, { prefix: 'caf\u00e9/' })).map((d) => d.path)).toEqual([
    `caf\u00e9/${nfc}`,
  ]);
  // the two spellings side by side would be one path twice: refused, nothing written
  const before = await tables();
  const both = await registerBundle(db.sql, { dir: bundle({ [nfd]: 'one', [nfc]: 'two' }) }).catch(
    (e: unknown) => e,
  );
  expect(both).toBeInstanceOf(ValidationError);
  expect((both as ValidationError).issues).toEqual([
    { path: ['dir'], message: `${nfc} is the name of two files once Unicode-normalized (NFC)` },
  ]);
  expect(await tables()).toEqual(before);
});

it('a file name the registry cannot hold is refused by name, before anything is sent', async () => {
  await clear();
  const before = await tables();
  const dir = bundle({ 'ok.md': 'ok', 'bad\nname.md': 'x' });
  const error = await registerBundle(db.sql, { dir }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).issues).toEqual([
    { path: ['dir'], message: '"bad\\nname.md" has a control character in its name' },
  ]);
  expect(await tables()).toEqual(before);
});

it('works on a host pool that does not fetch array types (fetch_types: false)', async () => {
  await clear();
  const raw = postgres(db.url, { fetch_types: false, max: 2, onnotice: () => {} });
  try {
    const dir = bundle({ 'a,b "c".md': '# Quoted\n', 'd.md': 'd' });
    expect(await registerBundle(raw, { dir, version: '2.0' })).toEqual({
      added: 2,
      changed: 0,
      unchanged: 0,
      removed: 0,
    });
    expect(await verifyBundle(raw, { dir })).toEqual({ added: [], removed: [], changed: [], unchanged: 2 });
    expect((await listDocuments(raw)).map((d) => [d.path, d.title])).toEqual([
      ['a,b "c".md', 'Quoted'],
      ['d.md', null],
    ]);
  } finally {
    await raw.end();
  }
});

it('a markdown file saved with a byte order mark still gets its title', async () => {
  await clear();
  const text = '\uFEFF# Setup guide\r\n\r\nSteps.\r\n';
  const dir = bundle({ 'setup.md': text });
  expect(await registerBundle(db.sql, { dir })).toMatchObject({ added: 1 });
  expect((await listDocuments(db.sql)).map((d) => [d.path, d.title, d.sha256])).toEqual([
    ['setup.md', 'Setup guide', sha(text)],
  ]);
});
