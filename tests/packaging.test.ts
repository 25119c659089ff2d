// Every public package installs alone: publint and arethetypeswrong pass, and the packed
// tarball imports from a throw-away folder outside the workspace with both `import` and `require`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { publint } from 'publint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const packagesDir = join(root, 'packages');
const publicPackages = readdirSync(packagesDir)
  .map((dir) => ({ dir: join(packagesDir, dir), json: JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')) as { name: string; private?: boolean } }))
  .filter((p) => !p.json.private);

const scratch = mkdtempSync(join(tmpdir(), 'kmem-pack-'));
const tarballs = new Map<string, string>();

beforeAll(() => {
  const packDir = join(scratch, 'tarballs');
  mkdirSync(packDir);
  for (const p of publicPackages) {
    // `pnpm pack` rewrites `workspace:` ranges to real versions, as publishing does.
    const out = pnpm(['pack', '--pack-destination', packDir], p.dir);
    const file = out.trim().split('\n').pop()!.trim();
    tarballs.set(p.json.name, file.startsWith('/') ? file : join(packDir, file));
  }
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs pnpm the way this test was started (`npx pnpm@10 test`), else through npx. */
function pnpm(args: string[], cwd: string): string {
  const exec = process.env.npm_execpath;
  const [cmd, argv] = exec?.includes('pnpm') ? [process.execPath, [exec, ...args]] : ['npx', ['-y', 'pnpm@10', ...args]];
  return execFileSync(cmd, argv, { cwd, encoding: 'utf8' });
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
