// Inspecting a real Linux kernel: boot Debian's stock kernel under QEMU (TCG, 4-level paging,
// no KASLR) until its /init runs, stop it, take a dump-guest-memory ELF core and a raw pmemsave,
// and read the page tables the kernel built. One boot is shared by every test of the file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { virt } from '@kmem/x86-paging';
import { runInspect, type InspectCliOptions, type InspectResult } from '../src/inspect/run-inspect';
import { bootLinux, linuxBootMissing } from './qemu/boot-linux';
import type { QemuRegisters } from './qemu/qemu-machine';
import { cliCommand } from './cli-bundle';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const missing = linuxBootMissing();
if (missing !== null) console.warn(`inspect-linux.test.ts: ${missing}`);

const MEMORY_MIB = 512;
const U = 0x4;
const W = 0x2;
const options = (extra: Partial<InspectCliOptions> = {}): InspectCliOptions => ({ cpu: 0, maxphyaddr: 40, lint: false, failOn: 'error', infoMem: false, limit: 0, json: true, ...extra });

interface Shared {
  dir: string;
  elf: string;
  raw: string;
  regs: QemuRegisters;
  console: string;
  qemuInfoMem: string;
  bootMs: number;
  /** One full inspection of the ELF core (walks, lint with Linux's PAT), shared by the tests. */
  full: InspectResult;
}
let s: Shared;
const WALKS = [0x8880_0010_0000, 0x8880_0000_0000 + 0x300_0000, 0xffff_8100_0000];

describe.skipIf(missing !== null)('inspect: a stock Linux kernel booted in QEMU', () => {
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmem-inspect-linux-'));
    const booted = await bootLinux(dir, MEMORY_MIB);
    try {
      const regs = await booted.machine.registers();
      const qemuInfoMem = await booted.machine.hmp('info mem');
      await booted.machine.dumpGuestMemory(join(dir, 'linux.elf'));
      await booted.machine.pmemsave(MEMORY_MIB * 1024 * 1024, join(dir, 'linux.raw'));
      const elf = join(dir, 'linux.elf');
      const full = runInspect(elf, options({ efer: regs.efer, walk: WALKS, lint: true, pat: [0x0007_0106, 0x0407_0506] }), appDir).result;
      s = { dir, elf, raw: join(dir, 'linux.raw'), regs, console: booted.console, qemuInfoMem, bootMs: booted.bootMs, full };
      console.log(`inspect-linux: booted to /init in ${booted.bootMs} ms; CR3=0x${regs.cr3.toString(16)} EFER=0x${regs.efer.toString(16)}`);
    } finally {
      await booted.machine.quit();
    }
  }, 180_000);
  afterAll(() => {
    if (s !== undefined) rmSync(s.dir, { recursive: true, force: true });
  });

  const inspect = (extra: Partial<InspectCliOptions> = {}, file = s.elf): InspectResult => runInspect(file, options({ efer: s.regs.efer, ...extra }), appDir).result;

  it("reads the CPU's control registers from the ELF core's QEMU note (as `info registers` prints them)", () => {
    const r = s.full;
    expect(r.dump.format).toBe('elf-core');
    expect(r.registers.cr3).toEqual({ value: `0x${s.regs.cr3.toString(16)}`, source: 'dump' });
    expect(r.registers.cr0).toEqual({ value: `0x${s.regs.cr0.toString(16)}`, source: 'dump' });
    expect(r.registers.cr4).toEqual({ value: `0x${s.regs.cr4.toString(16)}`, source: 'dump' });
    // -cpu qemu64 has no LA57: 4-level paging; the kernel turned NX on (SDM 4.1.1, Table 4-1).
    expect(s.regs.cr4 & (1 << 12)).toBe(0);
    expect(r.paging.nxe).toBe(true);
    expect(r.paging.wp).toBe(true);
    expect(s.console).toContain('NX (Execute Disable) protection: active');
  });

  it("walks Linux's direct map at 0xffff_8880_0000_0000: physical 0 + offset, supervisor-only, writable, NX", () => {
    const r = s.full;
    const [low, mid] = r.walks;
    expect(low!.pa).toBe('0x10_0000');
    expect(mid!.pa).toBe('0x300_0000');
    expect(low!.rights).toBe('-rw-');
    expect(low!.text).toContain('PML4 index 273');
    // Every byte of RAM is in the direct map; the range at its start maps physical 0.
    const first = r.mappings.find((m) => m.start === '0xffff_8880_0000_0000');
    expect(first?.pa).toBe('0x0');
    const dm = r.mappings.filter((m) => m.start.startsWith('0xffff_8880_'));
    const mappedBytes = dm.reduce((sum, m) => sum + m.sizeBytes, 0);
    expect(mappedBytes).toBeGreaterThan((MEMORY_MIB - 8) * 1024 * 1024);
    expect(dm.every((m) => m.rights[0] === '-')).toBe(true);
    expect(dm.some((m) => m.pageSize === '2M')).toBe(true);
  });

  it('walks the kernel text mapping: RIP (idle, in the kernel) is supervisor, read-only, executable; _text at 0xffff_ffff_8100_0000 maps 16 MiB', () => {
    const r = s.full;
    const w = r.walks[2]!;
    // nokaslr: the kernel image is linked at 0xffff_ffff_8100_0000 and loaded at 16 MiB.
    expect(w.pa).toBe('0x100_0000');
    expect(w.rights).toBe('-r-x');
    const text = r.mappings.filter((m) => m.start.startsWith('0xffff_ffff_8') && m.rights === '-r-x');
    expect(text.length).toBeGreaterThan(0);
  });

  it("lints the stock kernel: no W+X (the kernel's own CONFIG_DEBUG_WX check agrees), no user pages in the kernel half, no reserved bits, no writable text alias", () => {
    expect(s.console).toContain('Checked W+X mappings: passed, no W+X pages found');
    const r = s.full;
    const rules = (rule: string): number => r.lint!.findings.filter((f) => f.rule === rule).length;
    expect(rules('wx')).toBe(0);
    expect(rules('user-in-kernel-half')).toBe(0);
    expect(rules('reserved-bits')).toBe(0);
    expect(rules('kernel-text-writable')).toBe(0);
    expect(rules('table-loop')).toBe(0);
    expect(r.lint!.failed).toBe(false);
    // What a stock kernel does show, and why: espfix maps one page under many entries.
    expect(r.lint!.findings.some((f) => f.rule === 'table-shared')).toBe(true);
    for (const f of r.lint!.findings) {
      expect(f.why.length).toBeGreaterThan(10);
      if (f.start !== null && f.rule !== 'table-shared') expect(f.entries.length).toBeGreaterThan(0);
    }
  });

  it("agrees with QEMU's own `info mem` walk (effective U/S and R/W per range, SDM 4.6)", () => {
    const ours = mergeOnUserWrite(
      s.full.mappings.map((m) => ({ start: virt(m.start), end: virt(m.start) + m.sizeBytes, flags: (m.rights[0] === 'u' ? U : 0) | (m.rights[2] === 'w' ? W : 0) })),
    );
    const theirs = s.qemuInfoMem
      .split('\n')
      .map((l) => /^([0-9a-f]{16})-([0-9a-f]{16}) [0-9a-f]+ ([u-])r([w-])/.exec(l.trim()))
      .filter((m) => m !== null)
      .map((m) => ({ start: Number(BigInt(`0x${m[1]}`) & 0xffff_ffff_ffffn), end: Number(((BigInt(`0x${m[2]}`) - 1n) & 0xffff_ffff_ffffn) + 1n), uw: (m[3] === 'u' ? U : 0) | (m[4] === 'w' ? W : 0) }));
    expect(theirs.length).toBeGreaterThan(10);
    expect(ours).toEqual(theirs);
  });

  it('reads the raw pmemsave with the CR3 from `info registers` to the same mappings; the diff of the two dumps is empty', () => {
    const fromRaw = inspect({ cr3: s.regs.cr3, cr0: s.regs.cr0, cr4: s.regs.cr4, pat: [0x0007_0106, 0x0407_0506], diff: s.elf }, s.raw);
    expect(fromRaw.dump.format).toBe('raw');
    expect(fromRaw.mappings).toEqual(s.full.mappings);
    expect(fromRaw.diff!.entries).toEqual([]);
  });

  it('prints the report from the command line and exits 0 (fails with 3 when --fail-on info meets the info findings)', () => {
    const run = (...args: string[]): { stdout: string; status: number | null } => {
      const r = spawnSync(process.execPath, [...cliCommand(), 'inspect', s.elf, '--efer', `0x${s.regs.efer.toString(16)}`, '--maxphyaddr', '40', ...args], { cwd: appDir, encoding: 'utf8', timeout: 120_000 });
      return { stdout: r.stdout, status: r.status };
    };
    const ok = run('--walk', '0xffff_8880_0010_0000', '--lint', '--limit', '5');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^tables {4}\d+ \(1 PML4, \d+ PDPT, \d+ PD, \d+ PT\)/m);
    expect(ok.stdout).toContain('walk of 0xffff_8880_0010_0000');
    expect(ok.stdout).toMatch(/^lint {6}\d+ findings: 0 error/m);
    const strict = run('--lint', '--fail-on', 'info', '--limit', '1');
    expect(strict.status).toBe(3);
  });
});

/** Adjacent ranges with equal effective U/S and R/W merged, as QEMU's `info mem` prints them. */
function mergeOnUserWrite(ranges: readonly { start: number; end: number; flags: number }[]): { start: number; end: number; uw: number }[] {
  const out: { start: number; end: number; uw: number }[] = [];
  for (const r of ranges) {
    const uw = r.flags & (U | W);
    const last = out[out.length - 1];
    if (last !== undefined && last.end === r.start && last.uw === uw) last.end = r.end;
    else out.push({ start: r.start, end: r.end, uw });
  }
  return out;
}

