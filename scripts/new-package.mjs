#!/usr/bin/env node
// Creates packages/<name> with the shape every kmem package shares (see CONTRIBUTING.md).
// usage: node scripts/new-package.mjs <name> "<one-line description>"
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [name, description = ''] = process.argv.slice(2);
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: node scripts/new-package.mjs <name> "<description>"  (name: lowercase, dashes)');
  process.exit(2);
}
const dir = join('packages', name);
if (existsSync(dir)) {
  console.error(`${dir} already exists`);
  process.exit(2);
}
const pkgName = `@kmem/${name}`;
const files = {
  'package.json': JSON.stringify(
    {
      name: pkgName,
      version: '0.0.0',
      description,
      license: 'MIT',
      type: 'module',
      sideEffects: false,
      engines: { node: '>=20' },
      files: ['dist', 'src', 'README.md', 'CHANGELOG.md'],
      main: './dist/index.cjs',
      module: './dist/index.js',
      types: './dist/index.d.cts',
      exports: {
        '.': {
          '@kmem/source': './src/index.ts',
          import: { types: './dist/index.d.ts', default: './dist/index.js' },
          require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
        },
        './package.json': './package.json',
      },
      scripts: {
        build: 'tsup',
        test: 'vitest run',
        lint: 'eslint .',
        typecheck: 'tsc --noEmit -p .',
        bench: 'node bench/run.mjs',
      },
      keywords: ['kmem', 'x86_64', 'kernel', 'memory', 'simulator'],
    },
    null,
    2,
  ) + '\n',
  'tsconfig.json': JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: { types: ['node'] },
      include: ['src', 'test', 'bench', '*.ts'],
    },
    null,
    2,
  ) + '\n',
  'tsup.config.ts': `import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
});
`,
  'vitest.config.ts': `import { kmemProject } from '../../vitest.shared';

export default kmemProject('${pkgName}');
`,
  'README.md': `# ${pkgName}\n\n${description}\n`,
  'CHANGELOG.md': `# ${pkgName}\n`,
  'src/index.ts': `export * from './api';\n`,
  'src/api.ts': `/**
 * Base class of every misuse error this package throws: a stable \`code\` a caller can switch on.
 * Each package declares its own (packages import nothing from each other, see DESIGN.md).
 */
export abstract class KmemError extends Error {
  /** Stable machine-readable identifier, e.g. \`E_DOUBLE_FREE\`. */
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
`,
  'bench/run.mjs': `// Runs every *.bench.ts in this folder, one per process so the JIT does not blur them.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const benches = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort();
for (const file of benches) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', \`\${here}/\${file}\`, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
`,
};
for (const [rel, text] of Object.entries(files)) {
  const path = join(dir, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}
mkdirSync(join(dir, 'test'), { recursive: true });
console.log(`created ${dir}: add src/, test/, bench/*.bench.ts, then \`pnpm install\` and a changeset`);
