// Processes on seed 002's 32-bit kernel: do real i386 programs load with demand paging on 2-level
// tables, and do brk, mmap, munmap, mprotect, fork with copy-on-write, stack growth and SIGSEGV
// work there as on the 64-bit kernels? Does every page directory keep the kernel's PDEs?
import { describe, expect, it } from 'vitest';
import { PageFaultErrorCode as EC, PTE } from '@kmem/x86-paging';
import { ElfLoadError, ElfParseError, PROT, pageContents, parseElf32 } from '../src/index';
import { thrown } from '../../../test-support/thrown';
import { bootKernel32, grubHandOver } from './kernel32-helpers';
import { bootProcessKernel, elfFixture } from './process-helpers';

const PAGE = 4096;
const MiB = 2 ** 20;
const boot = () => bootKernel32(grubHandOver('seabios-grub-128m'));

describe('Kernel32 exec (i386 programs)', () => {
  for (const name of ['i386-hello-static', 'i386-hello-static-pie', 'i386-big-bss', 'i386-libc-static']) {
    it(`loads ${name} with demand paging: nothing mapped up front, file bytes on first touch, argv on a 4-byte-word stack`, () => {
      const k = boot();
      const file = elfFixture(name);
      const free0 = k.pmm.freeFrames;
      const p = k.processes.exec(undefined, file, [name, 'arg1'], ['HOME=/'])!;
      expect(p.stackTop).toBe(0xc000_0000);
      const plan = p.image!.plan;
      expect(plan.elf.bits).toBe(32);
      if (name === 'i386-hello-static') expect(plan.imageStart).toBe(0x0804_8000);
      if (name === 'i386-hello-static-pie') expect(plan.imageStart).toBe(0x8000_0000);
      // Only the stack pages the initial stack needs (and its page table) were taken so far.
      expect(free0 - k.pmm.freeFrames).toBeLessThan(8);
      const expected = new Uint8Array(PAGE);
      k.processes.switchTo(p.pid);
      for (const [i, s] of plan.segments.entries()) {
        const got = k.processes.user.readBytes(s.start, 64);
        pageContents(plan, i, s.start, expected);
        expect([...got]).toEqual([...expected.subarray(0, 64)]);
      }
      // The initial stack: argc, then argv[0] as a 4-byte pointer to the name.
      const esp = p.image!.rsp;
      expect(esp % 16).toBe(0);
      expect(k.processes.user.read32(esp)).toBe(2);
      const argv0 = k.processes.user.read32(esp + 4);
      expect(new TextDecoder().decode(k.processes.user.readBytes(argv0, name.length))).toBe(name);
      // A 2-level walk: the leaf of the first text page is a 4 KiB PTE, user, in a user page table.
      const leaf = p.pageInfo(plan.segments[0]!.start)!;
      expect(leaf.flags & (PTE.Present | PTE.User)).toBe(PTE.Present | PTE.User);
      k.checkInvariants();
    });
  }

  it('refuses an x86_64 (ELF64) program with E_ELF_PARSE at EI_CLASS, and the 64-bit kernel an i386 one', () => {
    const k = boot();
    expect(thrown(() => k.processes.exec(undefined, elfFixture('hello-static'), ['x']))).toMatchObject({ code: 'E_ELF_PARSE', offset: 4 });
    expect(k.processes.count).toBe(0);
    const k64 = bootProcessKernel();
    const e = thrown(() => k64.exec(undefined, elfFixture('i386-hello-static'), ['x']));
    expect(e).toBeInstanceOf(ElfParseError);
    expect(e).toMatchObject({ offset: 4 });
    // An already parsed ELF32 given to the 64-bit kernel: E_ELF_LOAD.
    expect(thrown(() => k64.exec(undefined, parseElf32(elfFixture('i386-hello-static')), ['x']))).toBeInstanceOf(ElfLoadError);
  });
});

describe('Kernel32 process memory', () => {
  it('grows brk below 0x4000_0000 and places mmap from 0x4000_0000 upwards (the legacy i386 layout); munmap frees', () => {
    const k = boot();
    const p = k.processes.exec(undefined, elfFixture('i386-libc-static'), ['libc'])!;
    const start = p.brkStart;
    expect(start).toBeLessThan(0x4000_0000);
    expect(p.sbrk(3 * PAGE)).toBe(start);
    expect(p.touchRange(start, 3 * PAGE, 'write', 7)).toBe('ok');
    const a = p.mmap({ lengthBytes: 2 * PAGE })!;
    expect(a).toBe(0x4000_0000);
    const b = p.mmap({ lengthBytes: PAGE })!;
    expect(b).toBe(0x4000_2000);
    expect(p.touch(a, 'write', 1)).toBe('ok');
    const free = k.pmm.freeFrames;
    expect(p.munmap(a, 2 * PAGE)).toBe(1);
    expect(k.pmm.freeFrames).toBeGreaterThan(free);
    k.checkInvariants();
  });

  it('mprotect to read-only makes a write a SIGSEGV record (P=1 W=1 U=1)', () => {
    const k = boot();
    const p = k.processes.create()!;
    const a = p.mmap({ lengthBytes: PAGE })!;
    expect(p.touch(a, 'write', 1)).toBe('ok');
    p.mprotect(a, PAGE, PROT.Read);
    expect(p.touch(a, 'write', 2)).toBe('segv');
    expect(p.killed).toMatchObject({ signal: 'SIGSEGV', reason: 'write-to-read-only', errorCode: EC.Present | EC.Write | EC.User });
    k.checkInvariants();
  });

  it('grows the stack down within the 8 MiB limit with its guard gap, and kills an overflow', () => {
    const k = boot();
    const p = k.processes.create()!;
    const stack = p.regions().find((r) => r.kind === 'stack')!;
    expect(stack.end).toBe(0xc000_0000);
    expect(p.limits.stackLimitBytes).toBe(8 * MiB);
    expect(p.touch(stack.start - 100 * PAGE, 'write', 1)).toBe('ok');
    expect(p.stats.stackGrowth).toBe(100);
    expect(p.touch(0xc000_0000 - 8 * MiB - 8, 'write', 1)).toBe('segv');
    expect(p.killed).toMatchObject({ reason: 'stack-limit' });
    k.checkInvariants();
  });

  it('forks with copy-on-write on 2-level tables: shared frames until the first write', () => {
    const k = boot();
    const parent = k.processes.exec(undefined, elfFixture('i386-big-bss'), ['bss'])!;
    const a = parent.mmap({ lengthBytes: PAGE })!;
    expect(parent.touch(a, 'write', 0x11)).toBe('ok');
    const child = parent.fork()!;
    const frame = parent.translate(a) - (parent.translate(a) % PAGE);
    expect(child.translate(a) - (child.translate(a) % PAGE)).toBe(frame);
    expect(k.frames.refCount(frame)).toBe(2);
    expect(child.touch(a, 'write', 0x22)).toBe('ok');
    expect(child.translate(a) - (child.translate(a) % PAGE)).not.toBe(frame);
    k.processes.switchTo(parent.pid);
    expect(k.processes.user.read8(a)).toBe(0x11);
    k.processes.switchTo(child.pid);
    expect(k.processes.user.read8(a)).toBe(0x22);
    k.checkInvariants();
    child.exit();
    parent.exit();
    k.checkInvariants();
    expect(k.addressSpaceRoots()).toEqual([]);
  });

  it('sees a kmalloc made after the processes exist under every process CR3 (PDEs 768-1022 shared)', () => {
    const k = boot();
    const ps = [k.processes.create()!, k.processes.create()!, k.processes.exec(undefined, elfFixture('i386-hello-static'), ['h'])!];
    const va = k.kmalloc(256 * 1024)!;
    k.machine.cpu.write32(va + 255 * 1024, 0xfeed_0032);
    for (const p of ps) {
      k.processes.switchTo(p.pid);
      expect(k.machine.cpu.read32(va + 255 * 1024, 0)).toBe(0xfeed_0032);
    }
    k.checkInvariants();
  });

  it('panics on a kernel fault with the 2-level walk', () => {
    const k = boot();
    const e = thrown(() => k.machine.cpu.read32(0xd000_0000, 0));
    expect(e).toMatchObject({ code: 'E_KERNEL_PANIC' });
    expect((e as { report: { walk: string } }).report.walk).toMatch(/walk of 0xd000_0000 \(32-bit paging\)/);
  });
});
