// Runs the example of the README's "Paging modes in the MMU, TLB and Cpu" section: a 32-bit
// recursive page directory, a 4 MiB page, the 4 GiB segment limit and an illegal CR0 write.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReadmeExample } from '../../../test-support/readme-example';

describe('README paging-modes (MMU) section', () => {
  it('runs the 32-bit example and prints what the README shows', async () => {
    const logged = await runReadmeExample(join(import.meta.dirname, '..'), { section: '## Paging modes in the MMU, TLB and Cpu' });
    expect(logged).toEqual(['true cafe', 'e3', '#GP(0): supervisor read at an offset beyond the 4 GiB segment limit 0xffffffff', 'CR0 = 0x8000_0000: #GP(0): CR0.PG = 1 requires CR0.PE = 1']);
  });
});
