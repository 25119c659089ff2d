// Runs the examples of the README's sections and checks each prints what the README says it
// prints. (The README's first example is run by readme.test.ts and boot-readme.test.ts.)
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeExample, runReadmeExample } from '../../../test-support/readme-example';

const dir = join(import.meta.dirname, '..');

describe.each([
  { section: '## Loading ELF programs', mentions: 'rip 401000' },
  { section: '## Processes and the page-fault policy', mentions: 'cow-copy' },
  { section: '## Seed 001: the region-list frame allocator', mentions: 'bytes of nodes' },
  { section: '## Shared memory and the page cache', mentions: 'page-cache' },
  { section: '## Seed 002: the 32-bit higher-half kernel', mentions: 'relocate-stack' },
  { section: '## Swap and page replacement', mentions: 'swap entry' },
  { section: '## Replaying memory traces', mentions: 'LRU curve' },
  { section: '## Inspecting memory dumps of real kernels', mentions: 'kernel-text-writable' },
])('README: $section', ({ section, mentions }) => {
  it('runs the example and prints the output shown under it', async () => {
    const { printed } = readmeExample(dir, { section });
    expect(printed).not.toBeNull();
    const logged = await runReadmeExample(dir, { section });
    expect(logged.join('\n') + '\n').toBe(printed);
    expect(logged.join('\n')).toContain(mentions);
  });
});
