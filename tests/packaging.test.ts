// Every public package installs alone: publint and arethetypeswrong pass, and the packed
// tarball imports from a throw-away folder outside the workspace with both `import` and `require`.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { publint } from 'publint';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
/** The one repository every package names (package.json `repository`, `homepage`, `bugs`). */
const repositoryUrl = 'https://github.com/kmem-dev/kmem';
const packagesDir = join(root, 'packages');
const publicPackages = readdirSync(packagesDir)
  .map((dir) => ({ dir: join(packagesDir, dir), json: JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')) as { name: string; private?: boolean } }))
  .filter((p) => !p.json.private);

const execFileAsync = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'kmem-pack-'));
const tarballs = new Map<string, string>();

beforeAll(async () => {
  const packDir = join(scratch, 'tarballs');
  mkdirSync(packDir);
  // One pack per package, all at once: each is mostly pnpm's start-up.
  await Promise.all(
    publicPackages.map(async (p) => {
      // `pnpm pack` rewrites `workspace:` ranges to real versions, as publishing does.
      const out = await pnpm(['pack', '--pack-destination', packDir], p.dir);
      const file = out.trim().split('\n').pop()!.trim();
      tarballs.set(p.json.name, file.startsWith('/') ? file : join(packDir, file));
    }),
  );
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs pnpm the way this test was started (`npx pnpm@10 test`), else through npx. */
async function pnpm(args: string[], cwd: string): Promise<string> {
  const exec = process.env.npm_execpath;
  const [cmd, argv] = exec?.includes('pnpm') ? [process.execPath, [exec, ...args]] : ['npx', ['-y', 'pnpm@10', ...args]];
  return (await execFileAsync(cmd, argv, { cwd, encoding: 'utf8' })).stdout;
}

describe.each(publicPackages.map((p) => [p.json.name, p] as const))('%s', (name, p) => {
  it('passes publint with no errors or warnings', async () => {
    // Lint the tarball `pnpm pack` made (what users install), not the working folder.
    const tarball = readFileSync(tarballs.get(name)!);
    const { messages } = await publint({ pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) }, level: 'warning', strict: true });
    expect(messages.map((m) => `${m.code} ${m.path.join('.')}`)).toEqual([]);
  });

  it('passes arethetypeswrong in every resolution mode', async () => {
    const data = new Uint8Array(readFileSync(tarballs.get(name)!));
    const result = await checkPackage(createPackageFromTarballData(data));
    expect('problems' in result ? result.problems.map((pr) => pr.kind) : ['no types found']).toEqual([]);
  });

  it('ships only dist, README, LICENSE, CHANGELOG and package.json, and exports no source condition', () => {
    // The tarball `pnpm pack` made is what `pnpm publish` uploads: no sources, tests, benches,
    // fixtures, examples or maps of anything but the bundles (the maps carry their own
    // sourcesContent). The `@kmem/source` export condition is for the workspace only:
    // publishConfig.exports replaces `exports` in the packed package.json without it.
    const tarball = tarballs.get(name)!;
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    const unexpected = files.filter((f) => !/^(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/index\.(js|cjs|d\.ts|d\.cts|js\.map|cjs\.map))$/.test(f));
    expect(unexpected).toEqual([]);
    for (const must of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
      expect(files, must).toContain(must);
    }
    const packed = execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' });
    expect(packed).not.toContain('@kmem/source');
    expect(packed).not.toMatch(/\.\/src\//);
    // The workspace's own package.json still resolves to the sources for tests and the demo.
    expect(JSON.stringify((JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')) as { exports: unknown }).exports)).toContain('"@kmem/source":"./src/index.ts"');
  });

  it('names its repository, homepage, bug tracker, author and licence, and publishes publicly with provenance', () => {
    const json = JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const dir = `packages/${basename(p.dir)}`;
    expect(json.repository).toEqual({ type: 'git', url: `git+${repositoryUrl}.git`, directory: dir });
    expect(json.homepage).toBe(`${repositoryUrl}/tree/main/${dir}#readme`);
    expect(json.bugs).toEqual({ url: `${repositoryUrl}/issues` });
    expect(json.author).toEqual(expect.any(String));
    expect(json.keywords).toEqual(expect.arrayContaining(['kmem', 'x86_64', 'kernel', 'memory']));
    // Published: the workspace's exports without the `@kmem/source` condition (src/ is not packed).
    const { '@kmem/source': source, ...published } = (json.exports as Record<string, Record<string, unknown>>)['.']!;
    expect(source).toBe('./src/index.ts');
    expect(json.publishConfig).toEqual({ access: 'public', provenance: true, exports: { ...(json.exports as object), '.': published } });
    expect(json.license).toBe('MIT');
    expect(readFileSync(join(p.dir, 'LICENSE'), 'utf8')).toBe(readFileSync(join(root, 'LICENSE'), 'utf8'));
  });

  it('ships no runtime dependency beyond the kmem building blocks', () => {
    const json = JSON.parse(readFileSync(join(p.dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(json.dependencies ?? {})) expect(dep).toMatch(/^@kmem\//);
  });
});

describe('packed tarballs', () => {
  it('install alone outside the workspace and load with import and require', () => {
    const app = join(scratch, 'consumer');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--no-package-lock', ...tarballs.values()], {
      cwd: app,
      stdio: 'pipe',
    });
    for (const name of tarballs.keys()) {
      const esm = execFileSync(process.execPath, ['--input-type=module', '-e', `import * as m from '${name}'; console.log(Object.keys(m).length)`], { cwd: app, encoding: 'utf8' });
      const cjs = execFileSync(process.execPath, ['-e', `console.log(Object.keys(require('${name}')).length)`], { cwd: app, encoding: 'utf8' });
      expect(Number(esm), `${name} via import`).toBeGreaterThan(0);
      expect(Number(cjs), `${name} via require`).toBe(Number(esm));
    }
  });
});
