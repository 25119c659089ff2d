// Runs the example of the README's "MMU, TLB and the page-fault trap" section (the package-wide
// README test runs only the first ```ts block, which belongs to the mapper).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReadmeExample } from '../../../test-support/readme-example';

describe('README MMU section', () => {
  it('runs the MMU example: demand paging through the #PF handler, across a page boundary', async () => {
    const logged = await runReadmeExample(join(import.meta.dirname, '..'), { section: '## MMU, TLB and the page-fault trap' });
    expect(logged).toEqual([
      '#PF at 0x0000_0000_0040_0ffe level 4: user-mode write to a non-present page [W/R U/S]',
      '#PF at 0x0000_0000_0040_1000 level 1: user-mode write to a non-present page [W/R U/S]',
      'cafef00d faults=2 tlb hits=3',
    ]);
  });
});
