// Runs the first ```ts block of a package README, so the example a reader copies is known to work.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Extracts the first ```ts fenced block of `<packageDir>/README.md`. */
export function readmeExample(packageDir: string): string {
  const text = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const match = /```ts\n([\s\S]*?)```/.exec(text);
  if (!match?.[1]) throw new Error(`${packageDir}/README.md has no \`\`\`ts example`);
  return match[1];
}

/**
 * Writes the README's first example into the package (so `@kmem/*` imports resolve to the
 * sources through the `@kmem/source` condition), imports it, and returns what it logged.
 */
export async function runReadmeExample(packageDir: string): Promise<string[]> {
  const file = join(packageDir, 'test', `.readme-example-${process.pid}.tmp.ts`);
  writeFileSync(file, readmeExample(packageDir));
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
