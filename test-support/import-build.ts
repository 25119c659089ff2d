// Loads a build of a package given by path (a bench's A/B baseline, e.g. KHEAP_BASELINE), and
// refuses one that would not load as the package's own dist does.
//
// Why: benches run under `node --import tsx`, and tsx rewrites a .js file it takes for CommonJS —
// one whose nearest package.json does not say "type": "module", such as a copy of dist/ in /tmp —
// into CommonJS, minified, with every class and function wrapped by `__name()`. V8 then runs a
// different program: the same x86-paging bundle translated issue 19's TLB mix at 34 ns from /tmp
// and at 20 ns from dist/ (2026-12-07), so an A/B against such a copy measures the rewrite.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The `type` of the nearest package.json above `file`, or undefined when there is none. */
function packageTypeOf(file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: string }).type ?? 'commonjs';
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * `import()` of the ESM build at `path` (a file path), after checking that it is an .mjs file or
 * sits under a package.json with `"type": "module"`; otherwise throws, saying what to do.
 */
export async function importBuild<T>(path: string): Promise<T> {
  const file = resolve(path);
  if (!file.endsWith('.mjs') && packageTypeOf(file) !== 'module') {
    throw new Error(
      `${file}: not under a package.json with "type": "module", so tsx would rewrite it (minified CommonJS, ` +
        `__name() wrappers) and the figures would measure the rewrite; write {"type":"module"} to a package.json in its folder`,
    );
  }
  return (await import(pathToFileURL(file).href)) as T;
}
