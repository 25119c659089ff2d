// `pnpm demo inspect` on bad input: one line on stderr with the error's code, exit status 2,
// whatever the dump (no QEMU needed: the dumps are written here).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cliCommand } from './cli-bundle';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'kmem-inspect-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function inspect(...args: string[]): { stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [...cliCommand(), 'inspect', ...args], { cwd: appDir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, INIT_CWD: dir } });
  return { stderr: r.stderr.trim(), status: r.status };
}

describe('pnpm demo inspect (bad input)', () => {
  it('names the problem with a stable code and exits 2: truncated, wrong architecture, CR3 outside, no CR3, unknown option', () => {
    writeFileSync(join(dir, 'short.raw'), new Uint8Array(5000));
    writeFileSync(join(dir, 'ok.raw'), new Uint8Array(8192));
    const arm = new Uint8Array(64);
    arm.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    arm[16] = 4;
    arm[18] = 183; // EM_AARCH64
    writeFileSync(join(dir, 'arm.elf'), arm);
    const cases: [string[], string][] = [
      [['short.raw', '--cr3', '0x1000'], 'E_DUMP_TRUNCATED'],
      [['arm.elf'], 'E_DUMP_ARCH'],
      [['ok.raw', '--cr3', '0x10_0000'], 'E_CR3_OUTSIDE_DUMP'],
      [['ok.raw'], 'E_INVALID_REGISTER'],
    ];
    for (const [args, code] of cases) {
      const r = inspect(...args);
      expect(r.stderr, args.join(' ')).toMatch(new RegExp(`^kmem-demo inspect: ${code}: `));
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.status).toBe(2);
    }
    expect(inspect('ok.raw', '--bogus').status).toBe(2);
  });
});
