// Every package's examples/ run as a user runs them: `.mjs` with plain `node`, `.ts` with
// `node --import tsx`, against the built package (`pnpm test` builds first; the package name
// resolves to dist/ through its own `exports`). Each file ends with a `// prints:` block, and the
// program must print exactly that. The README's first example is examples/quick-start.mjs.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const packages = readdirSync(join(root, 'packages')).filter((p) => (JSON.parse(readFileSync(join(root, 'packages', p, 'package.json'), 'utf8')) as { private?: boolean }).private !== true);

/** The program before its `// prints:` block, and the lines the block shows. */
function split(text: string): { code: string; printed: string[] } {
  const at = text.lastIndexOf('\n// prints:\n');
  if (at < 0) return { code: text, printed: [] };
  const printed = text.slice(at + '\n// prints:\n'.length).trimEnd().split('\n');
  return { code: text.slice(0, at).trimEnd() + '\n', printed: printed.map((l) => l.replace(/^\/\/ ?/, '')) };
}

describe.each(packages)('%s examples', (p) => {
  const dir = join(root, 'packages', p);
  const files = existsSync(join(dir, 'examples')) ? readdirSync(join(dir, 'examples')).filter((f) => /\.(mjs|ts)$/.test(f)).sort() : [];

  it('has a quick start in JavaScript and in TypeScript', () => {
    expect(files).toEqual(expect.arrayContaining(['quick-start.mjs', 'quick-start.ts']));
    // Every example comes in both languages.
    const stems = (ext: string) => files.filter((f) => f.endsWith(ext)).map((f) => f.slice(0, -ext.length));
    expect(stems('.ts')).toEqual(stems('.mjs'));
  });

  // Concurrent: each example is its own process, mostly Node's start-up.
  it.concurrent.for(files)('%s prints what its "// prints:" block shows', async (file, { expect }) => {
    const { printed } = split(readFileSync(join(dir, 'examples', file), 'utf8'));
    expect(printed.length, `${file} has no "// prints:" block`).toBeGreaterThan(0);
    const args = file.endsWith('.ts') ? ['--import', 'tsx', `examples/${file}`] : [`examples/${file}`];
    const { stdout } = await run(process.execPath, args, { cwd: dir, encoding: 'utf8' });
    expect(stdout.trimEnd().split('\n').map((l) => l.trimEnd())).toEqual(printed);
  });

  it("is the README's first example, which therefore runs as JavaScript", () => {
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const first = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(first).toBe(split(readFileSync(join(dir, 'examples/quick-start.mjs'), 'utf8')).code);
  });
});
