#!/usr/bin/env node
// Creates packages/<name> (under the working folder) with the shape every kmem package shares
// (see CONTRIBUTING.md), green from the start: a unit test, a README whose first example is
// examples/quick-start.mjs (run by test/readme.test.ts and by tests/examples.test.ts), the
// package metadata, LICENSE and src/brand.ts the repo-level tests expect of every package.
// usage: node scripts/new-package.mjs <name> "<one-line description>"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The repository every package names (tests/packaging.test.ts checks the same value). */
const REPOSITORY = 'https://github.com/kmem-dev/kmem';
const repoRoot = join(import.meta.dirname, '..');

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
// The first example: plain JavaScript (valid TypeScript too), in the README and in examples/.
const quickStart = `import { KmemError } from '${pkgName}';

// Replace with ten lines that show what ${pkgName} is for; keep it plain JavaScript.
console.log(KmemError.name);
`;
const files = {
  'package.json': JSON.stringify(
    {
      name: pkgName,
      version: '0.0.0',
      description,
      keywords: ['kmem', 'x86_64', 'kernel', 'memory', 'simulator'],
      homepage: `${REPOSITORY}/tree/main/packages/${name}#readme`,
      bugs: { url: `${REPOSITORY}/issues` },
      repository: { type: 'git', url: `git+${REPOSITORY}.git`, directory: `packages/${name}` },
      license: 'MIT',
      author: 'kmem contributors',
      type: 'module',
      sideEffects: false,
      engines: { node: '>=20' },
      files: ['dist', 'README.md', 'CHANGELOG.md'],
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
      // The published exports: the same without the `@kmem/source` condition (src/ is not packed).
      publishConfig: {
        access: 'public',
        provenance: true,
        exports: {
          '.': {
            import: { types: './dist/index.d.ts', default: './dist/index.js' },
            require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
          },
          './package.json': './package.json',
        },
      },
    },
    null,
    2,
  ) + '\n',
  'tsconfig.json': JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: { types: ['node'] },
      include: ['src', 'test', 'bench', 'examples', '*.ts'],
    },
    null,
    2,
  ) + '\n',
  // The API docs site (typedoc.json) documents src/ only.
  'tsconfig.docs.json': readFileSync(join(repoRoot, 'packages/pmm-bitmap/tsconfig.docs.json'), 'utf8'),
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
  'README.md': `# ${pkgName}

${description}

The example below is plain JavaScript (and valid TypeScript): it is [\`examples/quick-start.mjs\`](examples/quick-start.mjs)
(\`node examples/quick-start.mjs\` after \`pnpm build\`), with a typed version beside it in
[\`examples/quick-start.ts\`](examples/quick-start.ts).

\`\`\`ts
${quickStart}\`\`\`
`,
  'CHANGELOG.md': `# ${pkgName}\n`,
  LICENSE: readFileSync(join(repoRoot, 'LICENSE'), 'utf8'),
  'examples/quick-start.mjs': `${quickStart}\n// prints:\n// KmemError\n`,
  'examples/quick-start.ts': `import { KmemError } from '${pkgName}';

const base: abstract new (message: string) => KmemError = KmemError;
console.log(base.name);

// prints:
// KmemError
`,
  'test/readme.test.ts': `import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReadmeExample } from '../../../test-support/readme-example';

describe('README', () => {
  it('runs the README example', async () => {
    const out = await runReadmeExample(join(import.meta.dirname, '..'));
    expect(out).toEqual(['KmemError']);
  });
});
`,
  'test/api.test.ts': `import { describe, expect, it } from 'vitest';
import { KmemError } from '../src/index';

class ExampleError extends KmemError {
  readonly code = 'E_EXAMPLE';
}

describe('KmemError', () => {
  it('gives each misuse error its class name, a stable code and its message', () => {
    const e = new ExampleError('frame 0x1001 is not 4 KiB aligned');
    expect(e).toBeInstanceOf(KmemError);
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.message]).toEqual(['ExampleError', 'E_EXAMPLE', 'frame 0x1001 is not 4 KiB aligned']);
  });
});
`,
  'src/brand.ts': readFileSync(join(repoRoot, 'packages/pmm-bitmap/src/brand.ts'), 'utf8').replace("const PACKAGE = '@kmem/pmm-bitmap';", `const PACKAGE = '${pkgName}';`),
  'src/index.ts': `export * from './api';\n`,
  'src/api.ts': `import { brandErrors, markErrorClasses } from './brand';

/**
 * Base class of every misuse error this package throws: a stable \`code\` a caller can switch on.
 * Each package declares its own (packages import nothing from each other, see DESIGN.md).
 */
export abstract class KmemError extends Error {
  // \`instanceof\` holds for an error thrown by the other copy of this package (import vs require).
  static {
    brandErrors(this);
  }
  /** Stable machine-readable identifier, e.g. \`E_DOUBLE_FREE\`. */
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
    markErrorClasses(new.target);
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
// Register the package with the API docs site, which documents every public package.
if (existsSync('typedoc.json')) {
  const typedoc = JSON.parse(readFileSync('typedoc.json', 'utf8'));
  typedoc.entryPoints = [...new Set([...typedoc.entryPoints, `packages/${name}`])];
  writeFileSync('typedoc.json', JSON.stringify(typedoc, null, 2) + '\n');
}
console.log(`created ${dir}: \`pnpm install\`, then write src/, test/, the README example, bench/*.bench.ts and a changeset`);
