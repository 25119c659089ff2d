// test-support/import-build.ts: a bench's baseline build loads only as the package's own dist does.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importBuild } from '../test-support/import-build';

const root = mkdtempSync(join(tmpdir(), 'kmem-import-build-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function build(folder: string, manifest: object | null, file = 'index.js'): string {
  const dir = join(root, folder);
  mkdirSync(dir, { recursive: true });
  if (manifest !== null) writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, file), `export const answer = 42;\n`);
  return join(dir, file);
}

describe('importBuild', () => {
  it('loads a .js build under a package.json with "type": "module", and an .mjs one anywhere', async () => {
    expect((await importBuild<{ answer: number }>(build('esm', { type: 'module' }))).answer).toBe(42);
    expect((await importBuild<{ answer: number }>(build('loose-mjs', null, 'index.mjs'))).answer).toBe(42);
  });

  it('refuses a .js build that tsx would take for CommonJS and rewrite, saying what to do', async () => {
    await expect(importBuild(build('cjs', { name: 'x' }))).rejects.toThrow(/"type": "module"/);
    await expect(importBuild(build('commonjs', { type: 'commonjs' }))).rejects.toThrow(/would measure the rewrite/);
  });
});
