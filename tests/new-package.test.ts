// scripts/new-package.mjs makes a package that starts green: run in a scratch copy of the repo's
// shared files, its output typechecks, its own tests pass (one of them runs the README example),
// its examples run with plain node after a build and print their `// prints:` block, and it
// carries the metadata, LICENSE and brand checks the repo-level tests ask of every package.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'kmem-scaffold-'));
const name = 'scaffold-check';
const dir = join(scratch, 'packages', name);
const bin = (tool: string) => join(root, 'node_modules', '.bin', tool);

beforeAll(async () => {
  // What a package reaches outside itself: the shared configs, test-support and the installed tools.
  for (const shared of ['node_modules', 'tsconfig.base.json', 'vitest.shared.ts', 'test-support']) symlinkSync(join(root, shared), join(scratch, shared));
  mkdirSync(join(scratch, 'packages'));
  copyFileSync(join(root, 'typedoc.json'), join(scratch, 'typedoc.json'));
  await run(process.execPath, [join(root, 'scripts/new-package.mjs'), name, 'A package the scaffold test makes.'], { cwd: scratch });
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('scripts/new-package.mjs', () => {
  it('writes the metadata, LICENSE, docs config and brand checks every package has', () => {
    const made = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const model = JSON.parse(readFileSync(join(root, 'packages/pmm-bitmap/package.json'), 'utf8').replaceAll('pmm-bitmap', name)) as Record<string, unknown>;
    for (const key of ['repository', 'homepage', 'bugs', 'author', 'license', 'publishConfig', 'files', 'exports', 'main', 'module', 'types', 'engines', 'type', 'sideEffects']) {
      expect(made[key], key).toEqual(model[key]);
    }
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toBe(readFileSync(join(root, 'LICENSE'), 'utf8'));
    // The API docs site takes it in (tests/docs.test.ts expects every public package there).
    expect(readFileSync(join(dir, 'tsconfig.docs.json'), 'utf8')).toBe(readFileSync(join(root, 'packages/pmm-bitmap/tsconfig.docs.json'), 'utf8'));
    const typedoc = JSON.parse(readFileSync(join(scratch, 'typedoc.json'), 'utf8')) as { entryPoints: string[] };
    expect(typedoc.entryPoints).toContain(`packages/${name}`);
    const brand = readFileSync(join(root, 'packages/pmm-bitmap/src/brand.ts'), 'utf8').replace("'@kmem/pmm-bitmap'", `'@kmem/${name}'`);
    expect(readFileSync(join(dir, 'src/brand.ts'), 'utf8')).toBe(brand);
  });

  it('typechecks', async () => {
    await run(bin('tsc'), ['--noEmit', '-p', '.'], { cwd: dir });
  });

  it("passes its own tests, the README example's among them", async () => {
    const { stdout } = await run(bin('vitest'), ['run', '--reporter=verbose'], { cwd: dir });
    // eslint-disable-next-line no-control-regex -- colour codes from the child's reporter
    const text = stdout.replace(/\x1b\[[0-9;]*m/g, '');
    expect(text).toContain('runs the README example');
    expect(text).toMatch(/Tests\s+2 passed \(2\)/);
  });

  it('builds, and its examples print their "// prints:" block in JavaScript and TypeScript', async () => {
    await run(bin('tsup'), ['--no-dts', '--silent'], { cwd: dir });
    const printed = ['KmemError'];
    for (const args of [['examples/quick-start.mjs'], ['--import', 'tsx', 'examples/quick-start.ts']]) {
      const { stdout } = await run(process.execPath, args, { cwd: dir, encoding: 'utf8' });
      expect(stdout.trimEnd().split('\n')).toEqual(printed);
    }
    for (const file of ['examples/quick-start.mjs', 'examples/quick-start.ts']) expect(readFileSync(join(dir, file), 'utf8')).toContain('\n// prints:\n// KmemError\n');
  });
});
