// Test support: the terminal demo bundled once per test file with esbuild, from the TypeScript
// sources through the `@kmem/source` condition exactly as `pnpm demo` (tsx) runs them, so each
// run of the CLI is a plain `node` process. Starting through tsx costs about 2.5 s of CPU per
// spawn (loading tsx and transforming every source file again), and five test files spawn it
// dozens of times. The bundle sits next to src/ so `import.meta.url`-relative paths (fixtures/) still hold.
import { buildSync } from 'esbuild';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
let bundle: string | null = null;

/** The command line (after `node`) that runs the demo CLI: the bundle, built on first use. */
export function cliCommand(): string[] {
  if (bundle === null) {
    const outDir = join(appDir, '.test-cli');
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, `cli-${process.pid}.mjs`);
    // Third-party packages stay external (resolved from apps/demo/node_modules, as under tsx).
    const deps = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    buildSync({
      entryPoints: [join(appDir, 'src', 'cli.ts')],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['@kmem/source'],
      external: Object.keys(deps.dependencies).filter((name) => !name.startsWith('@kmem/')),
      logLevel: 'error',
    });
    process.once('exit', () => rmSync(out, { force: true }));
    bundle = out;
  }
  return [bundle];
}
