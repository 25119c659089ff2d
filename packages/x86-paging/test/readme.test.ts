import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReadmeExample } from '../../../test-support/readme-example';

describe('README', () => {
  it('runs the README example', async () => {
    const out = await runReadmeExample(join(import.meta.dirname, '..'));
    const text = out.join('\n');
    expect(text).toContain('0xffff_8000_0000_0000-0xffff_8000_0040_0000 0x40_0000 -rw- 2M -> 0x20_0000');
    expect(text).toContain('PT  [  0] @0x10_5000 = 0x0000_0000_0000_9007 -> 4K page 0x9000  P RW US');
    expect(text).toContain('unmapped 0xffff_8000_0000_1000 -> 0x20_1000, tables: 7');
  });
});
