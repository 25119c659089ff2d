import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReadmeExample } from '../../../test-support/readme-example';

describe('README', () => {
  it('runs the README example', async () => {
    const out = await runReadmeExample(join(import.meta.dirname, '..'));
    expect(out[0]).toBe('100 tlsf');
    expect(out[1]).toMatch(/^redzone 100 right red zone \(0 bytes past the 100 requested\) of 0xffff_c900_0000_\w{4} \(kmalloc-128\) overwritten at offset 100$/);
    expect(out[2]).toMatch(/^\d+ pages held$/);
  });
});
