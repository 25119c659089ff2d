// Runs the example of the README's "Loading ELF programs" section and checks it prints what the
// README says it prints. (The package README's first example is run by the package's own test.)
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeExample, runReadmeExample } from '../../../test-support/readme-example';

const section = '## Loading ELF programs';

describe('README: Loading ELF programs', () => {
  it('runs the example and prints the output shown under it', async () => {
    const dir = join(import.meta.dirname, '..');
    const { printed } = readmeExample(dir, { section });
    expect(printed).not.toBeNull();
    const logged = await runReadmeExample(dir, { section });
    expect(logged.join('\n') + '\n').toBe(printed);
  });
});
