// Seed 000 ("Comus"): its memory functions under their own names, driven through the `comus`
// view over a booted identity-low kernel (the seed's layout); each call must do what the
// camelCase call it forwards to does, and refuse what that call refuses, changing nothing.
import { describe, expect, it } from 'vitest';
import { Access, Mode, PTE, PhysicalTableAccess, WindowTableAccess } from '@kmem/x86-paging';
import { EventLog, IDENTITY_LOW, Kernel, KernelStateError, Machine, PROT, comusView, findLayoutRegion, formatLayoutTable } from '../src/index';
import { bootKernel, smallMap } from './boot-helpers';

const PAGE = 4096;
const RW_NX = PTE.Writable | PTE.NoExecute;

describe('seed 000: the comus view (map_pages, unmap_pages, mem_map_pages_at, mem_map_addr, virtaddr_alloc, virtaddr_take)', () => {
  it('virtaddr_alloc + mem_map_pages_at give zeroed, writable kernel memory', () => {
    const kernel = bootKernel(smallMap(), 'identity-low');
    const comus = comusView(kernel);
    const va = comus.virtaddr_alloc(4 * PAGE)!;
    expect(va).not.toBeNull();
    expect(comus.mem_map_pages_at(va, 4, RW_NX)).toBe(true);
    expect(kernel.cpu.read32(va + 3 * PAGE, Mode.Supervisor)).toBe(0);
    kernel.cpu.write32(va + 3 * PAGE, 0xc0ffee, Mode.Supervisor);
    expect(kernel.cpu.read32(va + 3 * PAGE, Mode.Supervisor)).toBe(0xc0ffee);
    // The same range again: already mapped, refused by the call it forwards to.
    expect(() => comus.mem_map_pages_at(va, 1, RW_NX)).toThrow();
    kernel.checkInvariants();
  });

  it('virtaddr_take claims exactly a free range, once', () => {
    const kernel = bootKernel(smallMap(), 'identity-low');
    const comus = comusView(kernel);
    const va = comus.virtaddr_alloc(2 * PAGE)!;
    kernel.virtaddrFree(va);
    expect(comus.virtaddr_take(va, 2 * PAGE)).toBe(true);
    expect(comus.virtaddr_take(va + PAGE, PAGE)).toBe(false);
    expect(kernel.kernelSpace.blockAt(va)).toMatchObject({ start: va, end: va + 2 * PAGE, used: true });
    kernel.checkInvariants();
  });

  it('mem_map_addr maps a physical range that is not free RAM and returns the address of its first byte', () => {
    const kernel = bootKernel(smallMap(), 'identity-low');
    const comus = comusView(kernel);
    // The kernel image's first page is not free RAM: readable through the new mapping.
    const pa = kernel.image.pa;
    kernel.memory.write32(pa + 0x124, 0x1234_5678);
    const va = comus.mem_map_addr(pa + 0x124, 8, PTE.NoExecute)!;
    expect(va % PAGE).toBe(0x124);
    expect(kernel.cpu.read32(va, Mode.Supervisor)).toBe(0x1234_5678);
    kernel.checkInvariants();
  });

  it('map_pages maps given frames in the kernel tables and unmap_pages returns them', () => {
    const kernel = bootKernel(smallMap(), 'identity-low');
    const comus = comusView(kernel);
    const va = comus.virtaddr_alloc(2 * PAGE)!;
    const frames = [kernel.frames.allocFrame({ kind: 'kernel-data' })!, kernel.frames.allocFrame({ kind: 'kernel-data' })!];
    expect(comus.map_pages(va, frames[0]!, 1, RW_NX)).toBe(true);
    expect(comus.map_pages(va + PAGE, frames[1]!, 1, RW_NX)).toBe(true);
    expect(kernel.kernelMapper.translate(va + PAGE + 8)?.pa).toBe(frames[1]! + 8);
    kernel.cpu.write32(va + PAGE + 8, 0xabcd, Mode.Supervisor);
    expect(kernel.memory.read32(frames[1]! + 8)).toBe(0xabcd);
    const unmapped = comus.unmap_pages(va, 2)!;
    expect(unmapped.map((u) => u.pa)).toEqual(frames);
    expect(kernel.kernelMapper.translate(va)).toBeNull();
    expect(kernel.kernelMapper.translate(va + PAGE)).toBeNull();
    for (const f of frames) kernel.frames.freeFrame(f);
    kernel.virtaddrFree(va);
    kernel.checkInvariants();
  });

  it('every call refuses to run on a kernel that has not booted, with KernelStateError', () => {
    const kernel = new Kernel(new Machine({ memoryMap: smallMap() }), { layout: 'identity-low', events: new EventLog() });
    const comus = comusView(kernel);
    const calls = [
      () => comus.map_pages(0x20_0000, 0x20_0000, 1, RW_NX),
      () => comus.unmap_pages(0x20_0000, 1),
      () => comus.mem_map_pages_at(0x20_0000, 1, RW_NX),
      () => comus.mem_map_addr(0xa0000, PAGE, RW_NX),
      () => comus.virtaddr_alloc(PAGE),
      () => comus.virtaddr_take(0x20_0000, PAGE),
    ];
    for (const call of calls) expect(call).toThrow(KernelStateError);
  });
});

describe('seed 000: layout identity-low as the seed wrote it', () => {
  const MiB = 1024 * 1024;

  it('reaches its page tables through its "paging page tables" (windows inside the kernel) by default, and the boot step says so', () => {
    const kernel = new Kernel(new Machine({ memoryMap: smallMap() }), { layout: 'identity-low', events: new EventLog() });
    const steps = [...kernel.bootSteps()];
    expect(kernel.tableAccess).toBeInstanceOf(WindowTableAccess);
    const win = kernel.tableAccess as WindowTableAccess;
    expect(win.base).toBe(18 * MiB);
    const step = steps.find((e) => e.summary.startsWith('page tables reached by'))!;
    expect(step.summary).toContain('window (4 window pages at 0x0000_0000_0120_1000.., each pointed at the table being edited)');
    // They work: a kernel mapping and a process, each table edited through a window.
    const before = win.remapCount;
    const va = kernel.virtaddrAlloc(4 * PAGE)!;
    expect(kernel.memMapPagesAt(va, 4, RW_NX)).toBe(true);
    const p = kernel.createProcess()!;
    expect(p.touch(p.stackTop - 8, 'write', 1)).toBe('ok');
    expect(win.remapCount).toBeGreaterThan(before);
    kernel.checkInvariants();
  });

  it("keeps physical access as an option (tableAccess: 'physical')", () => {
    const kernel = new Kernel(new Machine({ memoryMap: smallMap() }), { layout: 'identity-low', tableAccess: 'physical', events: new EventLog() });
    kernel.boot();
    expect(kernel.tableAccess).toBeInstanceOf(PhysicalTableAccess);
    kernel.checkInvariants();
  });

  it('the kernel occupies 1 MiB..129 MiB; the table says what is identity-mapped and what is not', () => {
    const table = formatLayoutTable(IDENTITY_LOW);
    expect(table).toContain('kernel-image: kernel binary (text, rodata, data, bss) (identity-mapped)');
    expect(table).toMatch(/kernel-heap: .*not identity-mapped/);
    expect(table).toMatch(/0x0000_0000_0800_0000 \| 0x0000_0000_080f_ffff .* unused: kernel space ends at 128 MiB/);
    const kernel = bootKernel(smallMap(), 'identity-low');
    // Image: va = pa. Heap: va != pa (its row says so).
    expect(kernel.kernelMapper.translate(kernel.image.va)!.pa).toBe(kernel.image.va);
    const heap = findLayoutRegion(IDENTITY_LOW, 'kernel-heap')!;
    const ptr = kernel.kmalloc(64)!;
    expect(ptr >= heap.start && ptr < heap.end).toBe(true);
    expect(kernel.kernelMapper.translate(ptr)!.pa).not.toBe(ptr);
    expect(kernel.kernelSpaceBounds).toEqual({ start: 0x1000, end: 128 * MiB });
  });

  it('user stack top is 0x7fff_ffff_ffff (the last byte below the hole); the stack is not executable there', () => {
    const kernel = bootKernel(smallMap(), 'identity-low');
    expect(IDENTITY_LOW.userStackTop - 1).toBe(0x7fff_ffff_ffff);
    const p = kernel.createProcess()!;
    expect(p.stackTop - 1).toBe(0x7fff_ffff_ffff);
    expect(p.regions().find((r) => r.kind === 'stack')).toMatchObject({ end: 2 ** 47, prot: PROT.Read | PROT.Write });
    expect(p.touch(0x7fff_ffff_fff8, 'write', 8)).toBe('ok');
    // SDM vol. 2B SYSRET: #GP in ring 0 for a non-canonical RCX; code in this page could return
    // there. The stack page is NX, so user code cannot run from it.
    kernel.switchTo(p.pid);
    expect(kernel.cpu.translate(0x7fff_ffff_f000, Access.Execute, Mode.User).fault).toBe(true);
    kernel.checkInvariants();
  });
});
