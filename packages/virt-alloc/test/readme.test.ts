import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReadmeExample } from '../../../test-support/readme-example';

describe('README', () => {
  it('runs the README example and prints the block list it shows', async () => {
    const out = await runReadmeExample(join(import.meta.dirname, '..'));
    expect(out).toEqual([
      'free 0x1000 0x8_1000 ',
      'used 0x8_1000 0x10_1000 heap',
      'free 0x10_1000 0x20_0000 ',
      'used 0x20_0000 0x40_0000 lib',
      'used 0x40_0000 0x60_0000 text',
      'free 0x60_0000 0x8000_0000_0000 ',
      'lib at 0x20_0000 - used bytes: 4718592',
    ]);
  });
});
