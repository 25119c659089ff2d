import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReadmeExample } from '../../../test-support/readme-example';

describe('README', () => {
  it('runs the README example', async () => {
    const out = await runReadmeExample(join(import.meta.dirname, '..'));
    expect(out).toEqual(['100000 200000 31966', 'E_FREE_RESERVED']);
  });
});
