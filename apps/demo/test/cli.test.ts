import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('pnpm demo', () => {
  it('runs, exits 0 and names every package', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--conditions=@kmem/source', 'src/cli.ts'], {
      cwd: appDir,
      encoding: 'utf8',
    });
    for (const name of ['pmm-bitmap', 'virt-alloc', 'x86-paging', 'kheap', 'kernel-sim']) {
      expect(out).toContain(`@kmem/${name}`);
    }
  });
});
