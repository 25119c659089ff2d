// The terminal demo's output structure (never its timing): every section present, --json parses
// and carries the fields, bad input gives one line on stderr and a non-zero exit code.
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SECTIONS } from '../src/render/style';
import { cliCommand } from './cli-bundle';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function demoIn(initCwd: string | undefined, args: string[]): { stdout: string; stderr: string; status: number | null } {
  const env = Object.fromEntries(Object.entries({ ...process.env, NO_COLOR: '1' }).filter(([k]) => k !== 'FORCE_COLOR' && k !== 'INIT_CWD'));
  if (initCwd !== undefined) env.INIT_CWD = initCwd;
  const r = spawnSync(process.execPath, [...cliCommand(), ...args], {
    cwd: appDir,
    encoding: 'utf8',
    env,
    timeout: 120_000,
  });
  return { stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('npm warn')).join('\n'), status: r.status };
}

/** The demo as pnpm runs it from apps/demo, without INIT_CWD (paths relative to apps/demo). */
function demo(...args: string[]): { stdout: string; stderr: string; status: number | null } {
  return demoIn(undefined, args);
}

interface JsonOut {
  scenario: { name: string };
  memoryMap: { format: string; rows: { start: number; kind: string }[] };
  layout: { name: string; rows: { startHex: string; name: string }[] };
  bootSteps: { step: string }[];
  steps: { phase: string; id: string; eventCount: number; events: { kind: string }[] }[];
  zones: { zone: string; usableFrames: number; freeFrames: number }[];
  walks: { va: number; vaHex: string; levels: { levelName: string; raw: string; present: boolean }[]; pa: number | null }[];
  heap: { classes: { name: string; objectsInUse: number }[]; allocations: number };
  processes: { pid: number; state: string; killedBy: string | null }[];
  tlb: { hits: number; misses: number };
  panic: { report: { reason: string; cr2: number } } | null;
  trace: { accesses: number; faults: number } | null;
  eventCounts: Record<string, number>;
}

describe('pnpm demo (terminal)', () => {
  it('prints every section of the tour, each boot step and each scenario step', () => {
    const { stdout, stderr, status } = demo('--no-color');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    for (const title of Object.values(SECTIONS)) {
      if (title === SECTIONS.trace || title === SECTIONS.swap) continue; // only the trace and swap scenarios print these
      expect(stdout).toContain(title);
    }
    for (const step of ['read the firmware memory map', 'build the frame allocator', 'build the kernel page tables', 'move to the kernel stack']) expect(stdout).toContain(step);
    expect(stdout).toMatch(/lazy-file/);
    expect(stdout).toMatch(/stack-growth/);
    expect(stdout).toMatch(/cow-copy/);
    expect(stdout).toMatch(/SIGSEGV/);
    expect(stdout).toMatch(/Kernel panic - not syncing/);
    // Walk rows name all four levels; the layout table prints canonical addresses.
    for (const level of ['PML4', 'PDPT', 'PD ', 'PT ']) expect(stdout).toContain(`│ ${level}`);
    expect(stdout).toContain('0xffff_8000_0000_0000');
    // --no-color (and a pipe) means no ANSI escapes.
    expect(stdout.includes(String.fromCharCode(27))).toBe(false);
  });

  it('--json prints one document with every section as data', () => {
    const { stdout, status } = demo('--json', '--layout', 'identity-low');
    expect(status).toBe(0);
    const j = JSON.parse(stdout) as JsonOut;
    expect(j.scenario.name).toBe('tour');
    expect(j.memoryMap.format).toBe('e820-log');
    expect(j.memoryMap.rows.length).toBeGreaterThan(3);
    expect(j.layout.name).toBe('identity-low');
    expect(j.bootSteps.map((b) => b.step)).toEqual(['memory-map', 'frame-allocator', 'bootstrap-tables', 'table-access', 'kernel-vas', 'remap-kernel', 'kernel-heap', 'kernel-stack']);
    expect(j.zones.map((z) => z.zone)).toEqual(['dma', 'dma32', 'normal']);
    expect(j.walks.length).toBeGreaterThan(0);
    const userWalk = j.walks[0]!;
    expect(userWalk.levels.map((l) => l.levelName)).toEqual(['PML4', 'PDPT', 'PD', 'PT']);
    expect(userWalk.pa).not.toBeNull();
    expect(j.heap.classes.map((c) => c.name)).toContain('kmalloc-64');
    expect(j.heap.allocations).toBeGreaterThan(0);
    expect(j.processes.some((p) => p.killedBy?.startsWith('SIGSEGV') === true)).toBe(true);
    expect(j.panic?.report.reason).toMatch(/page fault/);
    expect(j.tlb.hits + j.tlb.misses).toBeGreaterThan(0);
    const kinds = new Set(j.steps.flatMap((s) => s.events.map((e) => e.kind)));
    for (const k of ['process-exec', 'page-fault', 'fork', 'segfault', 'panic']) expect(kinds).toContain(k);
    expect(j.trace).toBeNull();
  });

  it.each(['demand-paging', 'cow-fork', 'segfault', 'panic'])('--scenario %s runs and reports as JSON', (name) => {
    const { stdout, status } = demo('--json', '--scenario', name, '--layout', 'limine-higher-half');
    expect(status).toBe(0);
    const j = JSON.parse(stdout) as JsonOut;
    expect(j.scenario.name).toBe(name);
    expect(j.layout.name).toBe('limine-higher-half');
    const resolutions = new Set(j.steps.flatMap((s) => s.events.flatMap((e) => (e.kind === 'page-fault' ? [(e as unknown as { resolution: string }).resolution] : []))));
    if (name === 'demand-paging') expect([...resolutions]).toEqual(expect.arrayContaining(['lazy-file', 'lazy-zero', 'stack-growth']));
    if (name === 'cow-fork') expect([...resolutions]).toEqual(expect.arrayContaining(['cow-copy']));
    if (name === 'segfault') expect(j.processes.filter((p) => p.state === 'killed').length).toBe(4);
    if (name === 'panic') expect(j.panic).not.toBeNull();
  });

  it('--scenario trace replays the trace and prints its figures', () => {
    const { stdout, status } = demo('--scenario', 'trace', '--trace-accesses', '20000', '--no-color');
    expect(status).toBe(0);
    expect(stdout).toContain(SECTIONS.trace);
    expect(stdout).toMatch(/accesses replayed\s+│\s+20000/);
  });

  it('--memmap reads other firmware formats (UEFI with its descriptor-size sidecar, multiboot2)', () => {
    for (const [file, format] of [
      ['fixtures/ovmf-5g.efi-memmap.bin', 'uefi'],
      ['fixtures/seabios-q35-grub-5g.mb2.bin', 'multiboot2-tag'],
    ] as const) {
      const { stdout, status } = demo('--json', '--scenario', 'panic', '--memmap', file);
      expect(status).toBe(0);
      expect((JSON.parse(stdout) as JsonOut).memoryMap.format).toBe(format);
    }
  });

  it('--memmap detects a sysfs memmap dump and a Limine memmap (JSON) by their content', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmem-demo-maps-'));
    const sysfs = join(dir, 'machine-a.txt');
    writeFileSync(sysfs, ['0 0 9fbff System RAM', '1 9fc00 9ffff Reserved', '2 100000 7fdefff System RAM', '3 7fdf000 7ffffff Reserved', ''].join('\n'));
    const limine = join(dir, 'machine-b.json');
    writeFileSync(limine, JSON.stringify([
      { base: '0x0', length: '0x9f000', type: 'LIMINE_MEMMAP_USABLE' },
      { base: '0x100000', length: '0x7ee0000', type: 'LIMINE_MEMMAP_USABLE' },
      { base: '0x7fe0000', length: '0x20000', type: 'LIMINE_MEMMAP_RESERVED' },
      // Seed 003: the older name of type 6 (Limine renamed it ..._EXECUTABLE_AND_MODULES).
      { base: '0x8000000', length: '0x200000', type: 'LIMINE_MEMMAP_KERNEL_AND_MODULES' },
    ]));
    for (const [file, format] of [
      [sysfs, 'sysfs-memmap'],
      [limine, 'limine-json'],
    ] as const) {
      const { stdout, status } = demo('--json', '--scenario', 'panic', '--memmap', file);
      expect(status).toBe(0);
      const j = JSON.parse(stdout) as JsonOut;
      expect(j.memoryMap.format).toBe(format);
      expect(j.memoryMap.rows.filter((r) => r.kind === 'usable').length).toBe(2);
      if (format === 'limine-json') expect(j.memoryMap.rows.filter((r) => r.kind === 'kernel-and-modules').map((r) => r.start)).toEqual([0x800_0000]);
    }
  });

  it('--walk shows the walk of the address asked for', () => {
    // The worker (pid 2) mmaps 64 KiB at 0x2aaa_aaaa_a000 and touches its first 8 pages.
    const { stdout, status } = demo('--json', '--scenario', 'demand-paging', '--pid', '2', '--walk', '0x2aaa_aaaa_a123', '--walk', '0x2aaa_aaab_9000');
    expect(status).toBe(0);
    const j = JSON.parse(stdout) as JsonOut;
    expect(j.walks.map((w) => w.vaHex)).toEqual(['0x0000_2aaa_aaaa_a123', '0x0000_2aaa_aaab_9000']);
    expect(j.walks[0]!.pa! % 4096).toBe(0x123);
    expect(j.walks[0]!.levels.every((l) => l.present)).toBe(true);
    expect(j.walks[1]!.pa).toBeNull(); // never touched: no frame yet
    const kernel = JSON.parse(demo('--json', '--scenario', 'panic', '--walk', '0xffff_8400_0000_1000').stdout) as JsonOut;
    expect(kernel.walks[0]!.pa).toBe(0x1000); // the direct map: pa = va - its base
  });

  it("--layout higher-half-3g shows seed 002's 32-bit kernel: boot steps, recursive window, an i386 program, 2-level walks", () => {
    const { stdout, status } = demo('--layout', 'higher-half-3g');
    expect(status).toBe(0);
    for (const step of ['boot-tables-4mib', 'pmm-from-multiboot', 'lock-kernel-frames', 'lock-module-frames', 'vmm-init', 'remap-higher-half', 'relocate-stack']) expect(stdout).toContain(step);
    expect(stdout).toMatch(/0xffff_f000 \| 0xffff_ffff +\| +4 KiB \| page-directory/);
    expect(stdout).toContain('program i386-hello-static: entry 0x0804_9000');
    expect(stdout).toContain('walk of 0x0804_9000 (32-bit paging)');
    expect(stdout).toContain('2 GiB of RAM above 4 GiB ignored');
    expect(stdout).toContain('same bytes everywhere');
    const json = JSON.parse(demo('--layout', 'higher-half-3g', '--json').stdout) as { bootSteps: { step: string }[]; program: { entry: number } };
    expect(json.bootSteps).toHaveLength(7);
    expect(json.program.entry).toBe(0x0804_9000);
    // An x86_64 program is refused by the 32-bit kernel: one line, exit code 2.
    const bad = demo('--layout', 'higher-half-3g', '--program', join(appDir, 'fixtures', 'hello-static'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/ELFCLASS64/);
  });

  it('--help explains every option and lists the scenarios', () => {
    const { stdout, status } = demo('--help');
    expect(status).toBe(0);
    for (const opt of ['--memmap', '--layout', '--scenario', '--program', '--walk', '--pid', '--trace-accesses', '--json', '--no-color', '--no-progress', '--help']) expect(stdout).toContain(opt);
    for (const name of ['tour', 'demand-paging', 'cow-fork', 'segfault', 'panic', 'trace']) expect(stdout).toContain(name);
  });

  it('resolves relative --memmap and --program paths from where the user ran pnpm (INIT_CWD)', () => {
    const repo = join(appDir, '..', '..');
    const { stdout, status, stderr } = demoIn(repo, ['--scenario', 'panic', '--json', '--memmap', 'apps/demo/fixtures/ovmf-5g.efi-memmap.bin', '--program', 'apps/demo/fixtures/hello-static-pie']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect((JSON.parse(stdout) as JsonOut).memoryMap.format).toMatch(/uefi/i);
    const missing = demoIn(tmpdir(), ['--memmap', 'fixtures/ovmf-5g.efi-memmap.bin']);
    expect(missing.stderr).toBe(`kmem-demo: E_FILE_UNREADABLE: cannot read memory map ${join(tmpdir(), 'fixtures/ovmf-5g.efi-memmap.bin')}: no such file`);
  });

  it("--help's examples use npx pnpm@10, and --json through pnpm with --silent", () => {
    const { stdout } = demo('--help');
    expect(stdout).toContain('npx pnpm@10 --silent demo --json | jq .walks');
    expect(stdout).not.toMatch(/^ {2}pnpm demo/m);
  });

  describe('bad input: one line on stderr, non-zero exit, no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmem-demo-'));
    const garbage = join(dir, 'garbage.bin');
    writeFileSync(garbage, Uint8Array.from({ length: 37 }, (_, i) => (i * 151 + 7) & 0xff));
    const noRam = join(dir, 'no-ram.e820.txt');
    writeFileSync(noRam, '[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] reserved\n');
    it.each([
      ['a missing file', ['--memmap', join(dir, 'nope.e820.txt')], /cannot read memory map .*no such file/],
      ['an unrecognised memory map', ['--memmap', garbage], /memory map .*unrecognised memory map format/],
      ['a map without RAM', ['--memmap', noRam], /no RAM|E_KERNEL_CONFIG/],
      ['an unknown layout', ['--layout', 'lower-half'], /layout.*lower-half.*invalid/],
      ['an unknown scenario', ['--scenario', 'nope'], /scenario.*nope.*invalid/],
      ['a program that is not ELF', ['--program', noRam], /program .*E_ELF_PARSE|program .*ELF/i],
      ['a program that does not fit the layout', ['--layout', 'identity-low', '--program', 'fixtures/hello-static'], /E_ELF_LOAD: .*outside user space/],
      ['a non-canonical address', ['--walk', '0x0000_8000_0000_0000'], /--walk.*canonical/],
      ['an unknown option', ['--frobnicate'], /unknown option/],
      ['--memmap followed by another option, not a file', ['--memmap', '--json'], /E_ARG: .*--memmap.*expected a file, got the option --json/],
      ['--memmap without a value', ['--memmap'], /E_ARG: .*--memmap.*argument missing/],
      ['--walk with a pid that does not exist: no report printed first', ['--scenario', 'segfault', '--pid', '99', '--walk', '0x5555_5555_5000'], /E_WALK: .*pid 99/],
    ])('%s', (_what, args, message) => {
      const { stdout, stderr, status } = demo(...args);
      expect(status).toBe(2);
      expect(stderr).toMatch(/^kmem-demo: E_[A-Z0-9_]+: /);
      expect(stdout).toBe('');
      expect(stderr.split('\n')).toHaveLength(1);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/\bat .*\.ts:\d+/);
    });
  });
});
