// Runs ```ts examples of a package README, so the example a reader copies is known to work.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where to look in the README: the first example of the file, or of a `## heading` section. */
export interface ReadmeExampleOptions {
  /** A heading line such as `## Loading ELF programs`; the first ```ts block after it is used. */
  readonly section?: string;
}

/** An example and, when the README shows one right after it ("prints" + a plain block), its output. */
export interface ReadmeExample {
  readonly code: string;
  readonly printed: string | null;
}

/** Extracts the first ```ts block of `<packageDir>/README.md` (or of one of its sections). */
export function readmeExample(packageDir: string, options: ReadmeExampleOptions = {}): ReadmeExample {
  let text = readFileSync(join(packageDir, 'README.md'), 'utf8');
  if (options.section !== undefined) {
    const start = text.indexOf(options.section);
    if (start < 0) throw new Error(`${packageDir}/README.md has no "${options.section}" section`);
    text = text.slice(start);
  }
  const match = /```ts\n([\s\S]*?)```(?:\n\nprints\n\n```\n([\s\S]*?)```)?/.exec(text);
  if (!match?.[1]) throw new Error(`${packageDir}/README.md has no \`\`\`ts example${options.section ? ` in "${options.section}"` : ''}`);
  return { code: match[1], printed: match[2] ?? null };
}

/**
 * Writes a README example into the package (so `@kmem/*` imports resolve to the sources through
 * the `@kmem/source` condition), imports it, and returns the lines it logged.
 */
export async function runReadmeExample(packageDir: string, options: ReadmeExampleOptions = {}): Promise<string[]> {
  const { code } = readmeExample(packageDir, options);
  const file = join(packageDir, 'test', `.readme-example-${process.pid}-${Date.now()}.tmp.ts`);
  writeFileSync(file, code);
  const logged: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => {
    logged.push(args.map(String).join(' '));
  };
  try {
    await import(/* @vite-ignore */ `${file}?t=${Date.now()}`);
  } finally {
    console.log = original;
    rmSync(file, { force: true });
  }
  return logged;
}
