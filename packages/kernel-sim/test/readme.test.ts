// Runs the README's first example (parse a boot log, normalise, back it with sparse RAM) and
// checks it prints what the README says under it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReadmeExample } from '../../../test-support/readme-example';

describe('README', () => {
  it('runs the README example and prints the output shown under it', async () => {
    const dir = join(import.meta.dirname, '..');
    const out = await runReadmeExample(dir);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const shown = /```ts\n[\s\S]*?```\n\nprints\n\n```\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(out.join('\n') + '\n').toBe(shown);
    expect(out.join('\n')).toContain('usable vs acpi-nvs at 0xbff0_0000: acpi-nvs');
  });
});
