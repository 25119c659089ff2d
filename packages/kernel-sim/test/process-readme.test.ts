// Runs the example of the README's "Processes and the page-fault policy" section and checks it
// prints what the README says it prints.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeExample, runReadmeExample } from '../../../test-support/readme-example';

const section = '## Processes and the page-fault policy';

describe('README: Processes and the page-fault policy', () => {
  it('runs the example and prints the output shown under it', async () => {
    const dir = join(import.meta.dirname, '..');
    const { printed } = readmeExample(dir, { section });
    expect(printed).not.toBeNull();
    const logged = await runReadmeExample(dir, { section });
    expect(logged.join('\n') + '\n').toBe(printed);
    expect(logged.join('\n')).toContain('cow-copy');
  });
});
