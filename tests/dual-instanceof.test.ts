// Mixing `import` and `require` of one package loads two copies of it (dist/index.js and
// dist/index.cjs). Brand checks (src/brand.ts in each package) make `instanceof` hold across the
// copies, both ways, for the main classes and for every error class. Runs on the built packages
// (`pnpm test` builds them first), in a plain Node process, as a user's program would load them.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const packages = readdirSync(join(root, 'packages'));

describe('instanceof across the import and require copies', () => {
  it('holds both ways for main objects and thrown errors, and matches nothing else', () => {
    // From kernel-sim every @kmem package resolves by name; `-e` resolves from the working folder.
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', readFileSync(join(import.meta.dirname, 'support/dual-instanceof.mjs'), 'utf8')], {
      cwd: join(root, 'packages/kernel-sim'),
      encoding: 'utf8',
    });
    const { checks, failures } = JSON.parse(out) as { checks: number; failures: string[] };
    expect(failures).toEqual([]);
    expect(checks).toBeGreaterThan(200);
  });

  it('uses one brand.ts in every package, differing only in the package name', () => {
    const normalised = packages.map((p) => readFileSync(join(root, 'packages', p, 'src/brand.ts'), 'utf8').replace(`const PACKAGE = '@kmem/${p}';`, "const PACKAGE = '<package>';"));
    for (const text of normalised) expect(text).toBe(normalised[0]);
    expect(normalised[0]).toContain("const PACKAGE = '<package>';");
  });
});
