// The API docs site (`pnpm docs`, TypeDoc over the five public packages) builds without a
// warning, so a public export without a doc comment fails CI; each package's README is its
// landing page.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const typedocBin = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { entryPoints: string[] };
const publicPackages = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir, json: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as { name: string; private?: boolean } }))
  .filter((p) => !p.json.private);
const scratch = mkdtempSync(join(tmpdir(), 'kmem-docs-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs TypeDoc with the repo's typedoc.json and extra flags; returns its exit status and output. */
function typedoc(args: string[]): { status: number; output: string } {
  try {
    const output = execFileSync(process.execPath, [typedocBin, '--options', join(root, 'typedoc.json'), ...args], { cwd: root, encoding: 'utf8', stdio: 'pipe', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    return { status: 0, output };
  } catch (e) {
    const err = e as { status: number | null; stdout: string; stderr: string };
    return { status: err.status ?? 1, output: `${err.stdout}${err.stderr}` };
  }
}

describe('pnpm docs', () => {
  it('documents every public package', () => {
    expect(config.entryPoints.map((e) => e.replace(/^packages\//, '')).sort()).toEqual(publicPackages.map((p) => p.dir).sort());
  });

  it('builds the site with no warning (every public export has a doc comment), each README as its package page', () => {
    const out = join(scratch, 'site');
    const { status, output } = typedoc(['--out', out]);
    expect(output).not.toMatch(/\[warning\]|\[error\]/);
    expect(status).toBe(0);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
    for (const p of publicPackages) {
      const page = join(out, 'modules', `${p.json.name.replace('@', '_').replace('/', '_')}.html`);
      expect(existsSync(page), page).toBe(true);
      // The README's first paragraph is on the package page: its longest run of plain words.
      const paragraph = readFileSync(join(root, 'packages', p.dir, 'README.md'), 'utf8').split('\n\n')[1]!;
      const words = paragraph.match(/[A-Za-z][A-Za-z ,]+[A-Za-z]/g)!.sort((a, b) => b.length - a.length)[0];
      expect(words.length).toBeGreaterThan(20);
      expect(readFileSync(page, 'utf8')).toContain(words);
    }
  });

  it('fails on an export without a doc comment', () => {
    // A throw-away package with one documented and one undocumented export, under the same options.
    const pkg = join(scratch, 'probe');
    mkdirSync(join(pkg, 'src'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'docs-probe', version: '0.0.0', type: 'module' }));
    writeFileSync(join(pkg, 'README.md'), '# docs-probe\n');
    writeFileSync(join(pkg, 'tsconfig.docs.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'ESNext', moduleResolution: 'Bundler', target: 'ES2022', types: [] }, include: ['src'] }));
    writeFileSync(join(pkg, 'src', 'index.ts'), '/** Documented. */\nexport const documented = 1;\nexport function undocumentedProbe(): number {\n  return 2;\n}\n');
    const { status, output } = typedoc(['--entryPoints', pkg, '--readme', 'none', '--emit', 'none']);
    expect(output).toMatch(/undocumentedProbe \(\w+\).*does not have any documentation/);
    expect(status).not.toBe(0);
  });
});
