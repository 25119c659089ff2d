// Runs the example of the README's paging-modes section: seed 002's boot directory, then a 32-bit
// Mapper editing its tables through the recursive PDE 1023, and compares what it prints.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeExample, runReadmeExample } from '../../../test-support/readme-example';

const SECTION = '## Paging modes in the Mapper: 32-bit, PAE, 5-level';

describe('README paging-modes section', () => {
  it('runs the 32-bit recursive page directory example and prints what the README shows', async () => {
    const dir = join(import.meta.dirname, '..');
    const logged = await runReadmeExample(dir, { section: SECTION });
    expect(logged.join('\n')).toBe(readmeExample(dir, { section: SECTION }).printed!.trimEnd());
  });
});

describe('README 5-level subsection', () => {
  it('runs the 5-level example (a mapping above 2^47 and one in the upper half) and prints what the README shows', async () => {
    const dir = join(import.meta.dirname, '..');
    const section = '### 5-level paging: addresses above 2^47';
    const logged = await runReadmeExample(dir, { section });
    expect(logged.join('\n')).toBe(readmeExample(dir, { section }).printed!.trimEnd());
  });
});
