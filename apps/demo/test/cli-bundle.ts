// Test support: the terminal demo bundled once per test file with esbuild (a worker runs several
// files and the sources may change between watch-mode runs), from the TypeScript
// sources through the `@kmem/source` condition exactly as `pnpm demo` (tsx) runs them, so each
// run of the CLI is a plain `node` process. Starting through tsx costs about 2.5 s of CPU per
// spawn (loading tsx and transforming every source file again), and five test files spawn it
// dozens of times. The bundle sits next to src/ so `import.meta.url`-relative paths (fixtures/) still hold.
import { buildSync } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The bundle and the test file it was built for. */
let bundle: { file: string; testFile: string | undefined } | null = null;

/** Whether process `pid` is still running (a bundle named after it may be in use). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line (after `node`) that runs the demo CLI: the bundle, built on the test file's first use. */
export function cliCommand(): string[] {
  const testFile = expect.getState().testPath;
  if (bundle === null || bundle.testFile !== testFile) {
    const outDir = join(appDir, '.test-cli');
    mkdirSync(outDir, { recursive: true });
    // This worker's previous bundle, and those of workers that are gone: vitest ends its workers
    // without an 'exit' event, so they cannot remove their own.
    for (const file of readdirSync(outDir)) {
      const pid = Number(/^cli-(\d+)[.-]/.exec(file)?.[1]);
      if (pid === process.pid || (pid > 0 && !alive(pid))) rmSync(join(outDir, file), { force: true });
    }
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
    bundle = { file: join(outDir, `${name}.mjs`), testFile };
  }
  return [bundle.file];
}
