// Runs the example of the README's "MMU, TLB and the page-fault trap" section (the package-wide
// README test runs only the first ```ts block, which belongs to the mapper).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SECTION = '## MMU, TLB and the page-fault trap';

function sectionExample(packageDir: string): string {
  const text = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const start = text.indexOf(SECTION);
  if (start < 0) throw new Error(`README has no "${SECTION}" section`);
  const match = /```ts\n([\s\S]*?)```/.exec(text.slice(start));
  if (!match?.[1]) throw new Error('the MMU section has no ```ts example');
  return match[1];
}

describe('README MMU section', () => {
  it('runs the MMU example: demand paging through the #PF handler, across a page boundary', async () => {
    const dir = join(import.meta.dirname, '..');
    const file = join(dir, 'test', `.readme-mmu-example-${process.pid}.tmp.ts`);
    writeFileSync(file, sectionExample(dir));
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
    expect(logged).toEqual([
      '#PF at 0x0000_0000_0040_0ffe level 4: user-mode write to a non-present page [W/R U/S]',
      '#PF at 0x0000_0000_0040_1000 level 1: user-mode write to a non-present page [W/R U/S]',
      'cafef00d faults=2 tlb hits=3',
    ]);
  });
});
