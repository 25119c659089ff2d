// Per-process kernel stacks on seed 002's kernel: does every process get its own stack in the
// seed's kernel-stack region (0xff40_0000-0xffbf_ffff) with a guard page, mapped in the kernel half
// so that it shows under every page directory but only to the kernel, selected as TSS.ESP0 when
// its directory is loaded, and freed (its frames back, its slot reused) when the process exits?
import { describe, expect, it } from 'vitest';
import { Access, Mode, PageFaultErrorCode as EC, PTE } from '@kmem/x86-paging';
import { EventLog, KernelConfigError, KernelPanic, Machine, Kernel32 } from '../src/index';
import { thrown } from '../../../test-support/thrown';
import { bootKernel32, grubHandOver } from './kernel32-helpers';
import { elfFixture } from './process-helpers';

const PAGE = 4096;
const STACK_REGION_END = 0xffc0_0000;
// The relocated boot stack (4 pages) and its guard page keep the top of the region.
const FIRST_TOP = STACK_REGION_END - 5 * PAGE;

describe('Kernel32 per-process kernel stacks', () => {
  it('gives each process (exec, fork, create) its own 8 KiB stack below the boot stack, a guard page under each, with a map event', () => {
    const events = new EventLog();
    const k = bootKernel32(grubHandOver('seabios-grub-128m'), { events });
    const a = k.processes.exec(undefined, elfFixture('i386-hello-static'), ['a'])!;
    const b = k.processes.fork(a.pid)!;
    const c = k.processes.create({ name: 'c' })!;
    const stacks = [a, b, c].map((p) => k.kernelStackOf(p.pid)!);
    expect(stacks.map((s) => s.slot)).toEqual([0, 1, 2]);
    expect(stacks.map((s) => s.top)).toEqual([FIRST_TOP, FIRST_TOP - 3 * PAGE, FIRST_TOP - 6 * PAGE]);
    for (const [i, s] of stacks.entries()) {
      expect(s.bottom).toBe(s.top - 2 * PAGE);
      expect(s.guard).toBe(s.bottom - PAGE);
      expect(s.root).toBe([a, b, c][i]!.root);
      expect(s.bottom).toBeGreaterThanOrEqual(0xff40_0000);
      expect(k.mapper.translate(s.guard)).toBeNull();
    }
    expect(k.processKernelStacks.map((s) => s.pid)).toEqual([a.pid, b.pid, c.pid]);
    const maps = events.ofKind('map').filter((e) => e.what.startsWith('kernel stack of pid'));
    expect(maps.map((e) => [e.pid, e.va, e.pageCount])).toEqual(stacks.map((s) => [s.pid, s.bottom, 2]));
    expect(maps[0]!.what).toMatch(/ESP0 0xffbf_b000, guard page 0xffbf_8000/);
    // Its frames are owned 'kernel-stack' by the process (counted in its frames).
    const frame = k.mapper.translate(stacks[0]!.bottom)!.pa;
    expect(k.frames.ownerOf(frame)).toEqual({ kind: 'kernel-stack', pid: a.pid });
    k.checkInvariants();
  });

  it('maps every stack in the shared kernel half: present under every page directory, supervisor-only (SDM 4.6.1: a user access to a U/S = 0 page faults with P = 1, U/S = 1)', () => {
    const k = bootKernel32(grubHandOver('seabios-grub-128m'));
    const a = k.processes.exec(undefined, elfFixture('i386-hello-static'), ['a'])!;
    const b = k.processes.exec(undefined, elfFixture('i386-hello-static'), ['b'])!;
    const sb = k.kernelStackOf(b.pid)!;
    const cpu = k.machine.cpu;
    // Running in a's address space, the kernel writes b's stack; b's directory sees the value.
    k.processes.switchTo(a.pid);
    cpu.write32(sb.top - 4, 0x5eed_0b0b, Mode.Supervisor);
    k.processes.switchTo(b.pid);
    expect(cpu.read32(sb.top - 4, Mode.Supervisor)).toBe(0x5eed_0b0b);
    // The PTE, read through the recursive window of b's directory: P, R/W, G, not U/S.
    const pte = cpu.read32(0xffc0_0000 + (sb.bottom >>> 12) * 4, Mode.Supervisor);
    expect(pte & (PTE.Present | PTE.Writable | PTE.Global | PTE.User)).toBe(PTE.Present | PTE.Writable | PTE.Global);
    // A user-mode access faults: protection violation, user mode.
    for (const access of [Access.Read, Access.Write]) {
      const r = cpu.translate(sb.bottom, access, Mode.User);
      expect(r.fault).toBe(true);
      expect(r.errorCode & (EC.Present | EC.User)).toBe(EC.Present | EC.User);
    }
    k.checkInvariants();
  });

  it("sets TSS.ESP0 to the stack of the directory in CR3 (the boot stack's top in the kernel's own tables)", () => {
    const k = bootKernel32(grubHandOver('seabios-grub-128m'));
    const a = k.processes.create()!;
    const b = k.processes.create()!;
    k.processes.switchTo(a.pid);
    expect(k.tssEsp0).toBe(k.kernelStackOf(a.pid)!.top);
    k.processes.switchTo(b.pid);
    expect(k.tssEsp0).toBe(k.kernelStackOf(b.pid)!.top);
    k.processes.switchTo(null);
    expect(k.tssEsp0).toBe(STACK_REGION_END);
  });

  it('frees the stack on exit and on SIGSEGV: frames back, pages unmapped, an unmap event, the slot reused by the next process', () => {
    const events = new EventLog();
    const k = bootKernel32(grubHandOver('seabios-grub-128m'), { events });
    const free0 = k.pmm.freeFrames;
    const a = k.processes.create()!;
    const b = k.processes.create()!;
    const sa = k.kernelStackOf(a.pid)!;
    k.processes.exit(a.pid, 0);
    expect(k.kernelStackOf(a.pid)).toBeUndefined();
    expect(k.mapper.translate(sa.bottom)).toBeNull();
    expect(k.mapper.translate(sa.bottom + PAGE)).toBeNull();
    expect(k.frames.framesOfPid(a.pid)).toBe(0);
    const unmaps = events.ofKind('unmap').filter((e) => e.what.startsWith('kernel stack'));
    expect(unmaps.map((e) => [e.pid, e.va, e.pageCount])).toEqual([[a.pid, sa.bottom, 2]]);
    k.checkInvariants();
    // The next process takes the freed slot.
    const c = k.processes.create()!;
    expect(k.kernelStackOf(c.pid)!.slot).toBe(sa.slot);
    // A process killed by SIGSEGV gives its stack back too.
    k.processes.switchTo(b.pid);
    expect(b.touch(0x10_0000, 'read')).toBe('segv');
    expect(k.kernelStackOf(b.pid)).toBeUndefined();
    k.processes.exit(c.pid);
    expect(k.pmm.freeFrames).toBe(free0);
    expect(k.processKernelStacks).toEqual([]);
    k.checkInvariants();
  });

  it('a kernel write below a stack hits the unmapped guard page and panics with the 2-level walk', () => {
    const k = bootKernel32(grubHandOver('seabios-grub-128m'));
    const p = k.processes.create()!;
    const s = k.kernelStackOf(p.pid)!;
    const e = thrown(() => k.machine.cpu.write32(s.bottom - 4, 0, Mode.Supervisor));
    expect(e).toBeInstanceOf(KernelPanic);
    const report = (e as KernelPanic).report;
    expect(report.cr2).toBe(s.bottom - 4);
    expect(report.errorCode! & (EC.Present | EC.Write | EC.User)).toBe(EC.Write);
    expect(report.walk).toMatch(/PD {2}\[1022\].*\n {2}PT {2}\[1016\].*not present/);
  });

  it('process creation returns null with nothing allocated when stack slots or frames run out', () => {
    // Stacks of 1000 pages: two slots fit in the 8 MiB region below the boot stack.
    const k = bootKernel32(grubHandOver('seabios-grub-128m'), { processKernelStackPageCount: 1000 });
    const a = k.processes.create()!;
    const b = k.processes.create()!;
    expect([k.kernelStackOf(a.pid)!.slot, k.kernelStackOf(b.pid)!.slot]).toEqual([0, 1]);
    const free = k.pmm.freeFrames;
    expect(k.processes.create()).toBeNull();
    expect(k.pmm.freeFrames).toBe(free);
    k.checkInvariants();
    // Frames: leave two free; the directory takes one, the 2-page stack cannot be had.
    const k2 = bootKernel32(grubHandOver('seabios-grub-128m'));
    while (k2.pmm.freeFrames > 2) k2.frames.allocFrame({ kind: 'kernel-data' });
    expect(k2.processes.create()).toBeNull();
    expect(k2.pmm.freeFrames).toBe(2);
    expect(k2.processKernelStacks).toEqual([]);
    k2.checkInvariants();
  });

  it('refuses a stack size that is not a positive integer or does not fit the region, before anything changes', () => {
    const regions = grubHandOver('seabios-grub-128m').regions!;
    for (const bad of [0, -1, 1.5, Number.NaN, 2048]) {
      const machine = new Machine({ memoryMap: regions, cpuMode: 'protected' });
      expect(thrown(() => new Kernel32({ machine, processKernelStackPageCount: bad }))).toBeInstanceOf(KernelConfigError);
      expect(machine.cpu.registers.cr3Frame).toBe(0);
    }
  });
});
