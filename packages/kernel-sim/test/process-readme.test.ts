// Runs the example of the README's "Processes and the page-fault policy" section and checks it
// prints what the README says it prints.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('README: Processes and the page-fault policy', () => {
  it('runs the example and prints the output shown under it', async () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Processes and the page-fault policy'));
    const match = /```ts\n([\s\S]*?)```\n\nprints\n\n```\n([\s\S]*?)```/.exec(section);
    expect(match).not.toBeNull();
    const file = join(import.meta.dirname, `.process-readme-example-${process.pid}.tmp.ts`);
    writeFileSync(file, match![1]!);
    const logged: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
    try {
      await import(/* @vite-ignore */ `${file}?t=${Date.now()}`);
    } finally {
      console.log = original;
      rmSync(file, { force: true });
    }
    expect(logged.join('\n') + '\n').toBe(match![2]);
    expect(logged.join('\n')).toContain('cow-copy');
  });
});
