// Do the 32-bit kernel's page tables mean the same to a real CPU? Seed 002's Kernel32 boots on the
// memory map QEMU's PC with 128 MiB gives GRUB, runs an i386 program and a kmalloc; the simulated
// physical memory is then loaded into a QEMU guest of that size (loader device), and pgcheck
// (fixtures/real-cpu-32: a multiboot1 kernel) loads CR3 with the kernel's directory and then the
// process's, turns on 32-bit paging with CR4 as the simulated kernel set it (PSE, PGE), and reads
// virtual addresses through them: the recursive window (PDEs and PTEs), the higher half, the heap,
// the kernel stacks, the program's pages. Every word must equal what the simulated CPU reads at
// the same address (SDM vol. 3A 4.3; A and D bits in table entries are the CPU's to set, 4.8, and
// are not compared). The one change to the exported image: PDE 28 of both directories maps
// pgcheck's own 4 MiB at 0x0700_0000, identity, as a real kernel keeps its trampoline mapped.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Mode, PTE } from '@kmem/x86-paging';
import { exportRawImage } from '../src/index';
import { bootKernel32, grubModulesHandOver } from './kernel32-helpers';
import { elfFixture } from './process-helpers';

const DIR = join(import.meta.dirname, 'fixtures', 'real-cpu-32');
const IMAGE_BASE = 0x10_0000; // the image is loaded from 1 MiB up (below it: the BIOS's)
const PARAMS_PA = 0xf0_0000;
const STUB_PDE = 0x0700_0000 >>> 22;
const PAGE = 4096;

const tools = ['qemu-system-x86_64', 'gcc'];
const missing = tools.filter((t) => !['/usr/bin', '/usr/local/bin', '/bin'].some((d) => existsSync(join(d, t))));

describe('Kernel32 page tables on a real CPU (QEMU)', () => {
  it.skipIf(missing.length > 0)(`a QEMU guest reads every address through them as the simulated CPU does (needs ${tools.join(', ')}; missing here: ${missing.join(', ') || 'none'})`, () => {
    const k = bootKernel32(grubModulesHandOver('128m'));
    const cpu = k.machine.cpu;
    const p = k.processes.exec(undefined, elfFixture('i386-hello-static'), ['hello'])!;
    k.processes.switchTo(p.pid);
    const text = p.image!.plan.entry;
    expect(k.processes.user.read32(text)).toBeGreaterThanOrEqual(0); // demand-faults the text page in
    const heap = k.kmalloc(64 * 1024)!;
    cpu.write32(heap + 60 * 1024, 0x5eed_0002, Mode.Supervisor);
    const stack = k.kernelStackOf(p.pid)!;
    cpu.write32(stack.top - 4, 0x57ac_0001, Mode.Supervisor);
    const data = k.image.va + k.image.sections.find((s) => s.name === 'data')!.start;
    cpu.write32(data, 0xda7a_0032, Mode.Supervisor);

    const kernelVas = [
      0xffff_f000 + 768 * 4, 0xffff_f000 + 1000 * 4, 0xffff_f000 + 1022 * 4, 0xffff_f000 + 1023 * 4, // PDEs through PDE 1023
      0xffc0_0000 + 768 * PAGE + 256 * 4, 0xffc0_0000 + (heap >>> 22) * PAGE + ((heap >>> 12) & 1023) * 4, // PTEs through it
      data, heap + 60 * 1024, stack.top - 4, k.stack.newEsp, k.stack.newEsp + 4, // data through 4 KiB kernel pages
    ];
    const userVas = [text, text + 4, p.image!.rsp, p.image!.rsp + 4, 0xffff_f000 + (text >>> 22) * 4, 0xffc0_0000 + (text >>> 22) * PAGE + ((text >>> 12) & 1023) * 4, heap + 60 * 1024, stack.top - 4];
    const groups: [number, number[]][] = [
      [k.kernelRoot, kernelVas],
      [p.root, userVas],
    ];
    const inWindow = (va: number): boolean => va >= 0xffc0_0000;
    const mask = (va: number, v: number): number => (inWindow(va) ? (v & ~(PTE.Accessed | PTE.Dirty)) >>> 0 : v >>> 0);
    const expected: string[] = [];
    for (const [root, vas] of groups) {
      k.processes.switchTo(root === p.root ? p.pid : null);
      for (const va of vas) expected.push(`${root} ${va} ${mask(va, cpu.read32(va, Mode.Supervisor))}`);
    }
    k.processes.switchTo(null);
    k.checkInvariants();

    const image = exportRawImage(k.machine.memory).slice(IMAGE_BASE);
    const view = new DataView(image.buffer);
    for (const [root] of groups) {
      expect(view.getUint32(root - IMAGE_BASE + STUB_PDE * 4, true)).toBe(0); // nothing of the kernel's there
      view.setUint32(root - IMAGE_BASE + STUB_PDE * 4, (STUB_PDE << 22) | PTE.Present | PTE.Writable | PTE.HugePage, true);
    }
    const words = [0x4b4d_454d, cpu.registers.cr4 >>> 0, groups.length, ...groups.flatMap(([root, vas]) => [root, vas.length, ...vas])];
    const params = new Uint8Array(new Uint32Array(words).buffer);
    expect(IMAGE_BASE + image.length).toBeLessThan(PARAMS_PA);

    const out = mkdtempSync(join(tmpdir(), 'kmem-realcpu32-'));
    try {
      execFileSync('gcc', ['-m32', '-O2', '-ffreestanding', '-fno-pie', '-no-pie', '-nostdlib', '-fno-stack-protector', '-fno-asynchronous-unwind-tables', '-fcf-protection=none', '-fno-ident', '-Wl,--build-id=none', '-Wl,--no-warn-rwx-segments', '-T', join(DIR, 'pgcheck.ld'), '-o', join(out, 'pgcheck'), join(DIR, 'pgcheck.c')]);
      writeFileSync(join(out, 'image.bin'), image);
      writeFileSync(join(out, 'params.bin'), params);
      try {
        execFileSync('qemu-system-x86_64', ['-machine', 'pc', '-accel', 'tcg', '-m', '128M', '-kernel', join(out, 'pgcheck'), '-device', `loader,file=${join(out, 'image.bin')},addr=0x${IMAGE_BASE.toString(16)},force-raw=on`, '-device', `loader,file=${join(out, 'params.bin')},addr=0x${PARAMS_PA.toString(16)},force-raw=on`, '-nic', 'none', '-display', 'none', '-serial', `file:${join(out, 'serial.log')}`, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-no-reboot'], { stdio: 'pipe', timeout: 60_000 });
      } catch (e) {
        // isa-debug-exit: pgcheck writes 0x10, QEMU exits with (0x10 << 1) | 1 = 33.
        if ((e as { status?: number }).status !== 33) throw e;
      }
      const log = readFileSync(join(out, 'serial.log'), 'latin1');
      expect(log).toMatch(/END\n$/);
      const got = log
        .split('\n')
        .filter((l) => l.startsWith('READ '))
        .map((l) => {
          const [, cr3, va, v] = l.split(' ').map((x) => parseInt(x, 16));
          return `${cr3} ${va} ${mask(va!, v!)}`;
        });
      expect(got).toEqual(expected);
      // Spot checks of what the values are.
      expect(got).toContain(`${k.kernelRoot} ${0xffff_f000 + 1023 * 4} ${(k.kernelRoot | PTE.Present | PTE.Writable) >>> 0}`);
      expect(got).toContain(`${p.root} ${heap + 60 * 1024} ${0x5eed_0002}`);
      expect(got).toContain(`${p.root} ${stack.top - 4} ${0x57ac_0001}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
