// Runs the examples of the README's sections that show what they print — the paging-modes section
// (seed 002's boot directory, then a 32-bit Mapper editing its tables through the recursive PDE
// 1023), the 5-level subsection, and seed 004's locatePage — and compares what each prints.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeExample, runReadmeExample } from '../../../test-support/readme-example';

const SECTIONS = [
  ['## Paging modes in the Mapper: 32-bit, PAE, 5-level', 'runs the 32-bit recursive page directory example'],
  ['### 5-level paging: addresses above 2^47', 'runs the 5-level example (a mapping above 2^47 and one in the upper half)'],
  ["## Locating one entry: `locatePage` (seed 004's `LocatePage`)", 'runs the locatePage example (a PTE located, its tables made, written in place)'],
] as const;

describe('README sections with printed output', () => {
  for (const [section, what] of SECTIONS) {
    it(`${what} and prints what the README shows`, async () => {
      const dir = join(import.meta.dirname, '..');
      const logged = await runReadmeExample(dir, { section });
      expect(logged.join('\n')).toBe(readmeExample(dir, { section }).printed!.trimEnd());
    });
  }
});
