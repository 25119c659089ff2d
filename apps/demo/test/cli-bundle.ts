// Test support: the terminal demo bundled once per test file with esbuild, from the TypeScript
// sources through the `@kmem/source` condition exactly as `pnpm demo` (tsx) runs them, so each
// run of the CLI is a plain `node` process. Starting through tsx costs about 2.5 s of CPU per
// spawn (loading tsx and transforming every source file again), and five test files spawn it
// dozens of times. The bundle sits next to src/ so `import.meta.url`-relative paths (fixtures/) still hold.
import { buildSync } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
let bundle: string | null = null;
let built: string[] = [];

// Removed when the test file that built it is done (vitest ends its workers without an 'exit' event,
// which left one bundle per worker behind).
afterAll(() => {
  for (const file of built) rmSync(file, { force: true });
  built = [];
  bundle = null;
});

/** The command line (after `node`) that runs the demo CLI: the bundle, built on first use. */
export function cliCommand(): string[] {
  if (bundle === null) {
    const outDir = join(appDir, '.test-cli');
    mkdirSync(outDir, { recursive: true });
    // The CLI's entry plus the chunks of what it imports lazily (the replay's SVG renderer, which
    // alone loads ECharts, so a run that draws nothing never loads it), named by this worker's pid.
    const name = `cli-${process.pid}`;
    // Third-party packages stay external (resolved from apps/demo/node_modules, as under tsx).
    const deps = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    buildSync({
      entryPoints: [join(appDir, 'src', 'cli.ts')],
      outdir: outDir,
      entryNames: name,
      chunkNames: `${name}-[name]-[hash]`,
      bundle: true,
      splitting: true,
      outExtension: { '.js': '.mjs' },
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['@kmem/source'],
      external: Object.keys(deps.dependencies).filter((pkg) => !pkg.startsWith('@kmem/')),
      logLevel: 'error',
    });
    built = readdirSync(outDir).filter((f) => f.startsWith(`${name}.`) || f.startsWith(`${name}-`)).map((f) => join(outDir, f));
    bundle = join(outDir, `${name}.mjs`);
  }
  return [bundle];
}
