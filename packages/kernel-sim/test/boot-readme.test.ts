// The README's first example boots a kernel: does it still, with the output shown?
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReadmeExample } from '../../../test-support/readme-example';

describe('README boot example', () => {
  it('boots the higher-half kernel on the example map and lists the eight steps', async () => {
    const out = (await runReadmeExample(join(import.meta.dirname, '..'))).join('\n');
    for (const step of ['1. memory-map', '3. bootstrap-tables', '6. remap-kernel', '8. kernel-stack']) expect(out).toContain(step);
    expect(out).toContain('kmalloc(64) = 0xffff_8000_4000_0040');
  });
});
