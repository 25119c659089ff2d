// The kernel memory API (mem_map_pages_at, mem_map_addr, virtaddr_alloc / virtaddr_take,
// kmalloc / kfree): what it maps, who owns the frames, and that misuse throws a typed error
// before anything changes.
import { describe, expect, it } from 'vitest';
import { Access, Mode, PTE } from '@kmem/x86-paging';
import { Kernel, Machine, parseMemoryMap, type Kernel as KernelT } from '../src/index';
import { LAYOUT_NAMES, bootKernel, smallMap } from './boot-helpers';
import { fixture, uefiMeta } from './memory-map-helpers';

const RW_NX = PTE.Writable | PTE.NoExecute;

/** Everything misuse must leave alone. */
function snapshot(k: KernelT): string {
  return JSON.stringify({
    free: k.pmm.freeFrames,
    usage: k.frames.usageByOwner(),
    events: k.events.emitted,
    maps: k.kernelMapper.formatMappings(),
    vas: k.kernelSpace.stats(),
  });
}

/** A free kernel va with room for `pages` pages (taken from kernel space). */
function freeVa(k: KernelT, pages: number): number {
  return k.virtaddrAlloc(pages * 4096)!;
}

describe('Kernel.memMapPagesAt', () => {
  for (const layout of LAYOUT_NAMES) {
    it(`${layout}: maps zeroed frames owned kernel-data, writable and not executable`, () => {
      const k = bootKernel(smallMap(), layout);
      const va = freeVa(k, 3);
      expect(k.memMapPagesAt(va, 3, RW_NX)).toBe(true);
      for (let i = 0; i < 3; i++) {
        const t = k.kernelMapper.translate(va + i * 4096)!;
        expect(k.frames.kindOf(t.pa)).toBe('kernel-data');
        expect(k.cpu.read32(va + i * 4096 + 100)).toBe(0);
      }
      k.cpu.write32(va + 4096, 0xdeadbeef);
      expect(k.cpu.read32(va + 4096)).toBe(0xdeadbeef);
      expect(k.cpu.translate(va, Access.Execute, Mode.Supervisor).fault).toBe(true);
      expect(k.cpu.translate(va, Access.Read, Mode.User).fault).toBe(true);
      k.checkInvariants();
      k.memUnmapPages(va, 3);
      expect(k.kernelMapper.isMapped(va)).toBe(false);
      k.checkInvariants();
    });
  }

  it('maps read-only pages that a supervisor write cannot change (CR0.WP)', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const va = freeVa(k, 1);
    expect(k.memMapPagesAt(va, 1, PTE.NoExecute)).toBe(true);
    const r = k.cpu.translate(va, Access.Write, Mode.Supervisor);
    expect(r.fault).toBe(true);
    expect(r.errorCode & 3).toBe(3); // present, write
  });

  it('returns false and changes nothing when frames run out (rollback)', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const hog: number[] = [];
    while (k.pmm.freeFrames > 5) hog.push(k.frames.allocFrame({ kind: 'kernel-data' })!);
    const va = freeVa(k, 10);
    const before = snapshot(k);
    expect(k.memMapPagesAt(va, 10, RW_NX)).toBe(false);
    expect(snapshot(k).replace(/"events":\d+/, '')).toBe(before.replace(/"events":\d+/, ''));
    expect(k.kernelMapper.isMapped(va)).toBe(false);
    k.checkInvariants();
    for (const f of hog) k.frames.freeFrame(f);
    expect(k.memMapPagesAt(va, 10, RW_NX)).toBe(true);
    k.checkInvariants();
  });

  it('throws typed errors before any change', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const va = freeVa(k, 4);
    expect(k.memMapPagesAt(va, 2, RW_NX)).toBe(true);
    const before = snapshot(k);
    const cases: [() => unknown, string][] = [
      [() => k.memMapPagesAt(va + 1, 1, RW_NX), 'E_KERNEL_ADDRESS'],
      [() => k.memMapPagesAt(0x40_0000, 1, RW_NX), 'E_KERNEL_ADDRESS'],
      [() => k.memMapPagesAt(-4096, 1, RW_NX), 'E_KERNEL_ADDRESS'],
      [() => k.memMapPagesAt(va + 2 * 4096, 0, RW_NX), 'E_KERNEL_SIZE'],
      [() => k.memMapPagesAt(va + 2 * 4096, 1.5, RW_NX), 'E_KERNEL_SIZE'],
      [() => k.memMapPagesAt(va + 2 * 4096, Number.NaN, RW_NX), 'E_KERNEL_SIZE'],
      [() => k.memMapPagesAt(va + 2 * 4096, 1, RW_NX | PTE.User), 'E_KERNEL_FLAGS'],
      [() => k.memMapPagesAt(va + 2 * 4096, 1, 0x1_0000_0000), 'E_KERNEL_FLAGS'],
      [() => k.memMapPagesAt(va + 4096, 2, RW_NX), 'E_ALREADY_MAPPED'],
      [() => k.memMapPagesAt(k.image.va, 1, RW_NX), 'E_ALREADY_MAPPED'],
      [() => k.memUnmapPages(k.image.va, 1), 'E_KERNEL_ADDRESS'],
      [() => k.memUnmapPages(va + 2 * 4096, 1), 'E_KERNEL_ADDRESS'],
    ];
    for (const [f, code] of cases) {
      expect(f).toThrow(expect.objectContaining({ code }));
      expect(snapshot(k)).toBe(before);
    }
    k.checkInvariants();
  });

  it('is refused before boot and after a panic (E_KERNEL_STATE)', () => {
    const k = new Kernel(new Machine({ memoryMap: smallMap() }), { layout: 'higher-half' });
    expect(() => k.memMapPagesAt(0xffff_0000_0000, 1, RW_NX)).toThrow(expect.objectContaining({ code: 'E_KERNEL_STATE' }));
    expect(() => k.kmalloc(8)).toThrow(expect.objectContaining({ code: 'E_KERNEL_STATE' }));
    expect(() => k.pmm).toThrow(expect.objectContaining({ code: 'E_KERNEL_STATE' }));
  });
});

describe('Kernel.memMapAddr', () => {
  const ovmf = (): Kernel => {
    const name = 'ovmf-128m.efi-memmap.bin';
    const regions = parseMemoryMap(fixture(name), { fileName: name, uefi: uefiMeta(name) }).regions;
    return bootKernel(regions, 'higher-half');
  };

  it('maps an ACPI table range at a free kernel address, byte offset kept', () => {
    const k = ovmf();
    const acpi = k.machine.memoryMap.find((r) => r.kind === 'acpi-reclaimable')!;
    const pa = acpi.base + 0x123;
    k.memory.writeBytes(pa, new TextEncoder().encode('RSDT'));
    const va = k.memMapAddr(pa, 36, PTE.NoExecute)!;
    expect(va % 4096).toBe(0x123);
    expect(String.fromCharCode(k.cpu.read8(va), k.cpu.read8(va + 1), k.cpu.read8(va + 2), k.cpu.read8(va + 3))).toBe('RSDT');
    expect(k.physicalMappings).toHaveLength(1);
    k.checkInvariants();
    k.memUnmapAddr(va);
    expect(k.kernelMapper.isMapped(va - 0x123)).toBe(false);
    expect(k.physicalMappings).toHaveLength(0);
    k.checkInvariants();
  });

  it('maps MMIO (no RAM behind it) uncached at a given address', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const va = 0xffff_f000_0000; // linear form of 0xffff_ffff_f000_0000
    const lapic = 0xfee0_0000;
    expect(k.memMapAddr(lapic, 4096, RW_NX | PTE.CacheDisable | PTE.WriteThrough, va)).toBe(va);
    const r = k.cpu.translate(va, Access.Write, Mode.Supervisor);
    expect(r.fault).toBe(false);
    expect(r.pa).toBe(lapic);
    expect(r.flags & PTE.CacheDisable).not.toBe(0);
    // the machine has no device there: the access itself is a bus error, not a silent zero
    expect(() => k.cpu.read32(va)).toThrow(expect.objectContaining({ code: 'E_BUS_ERROR' }));
    k.checkInvariants();
  });

  it('throws typed errors before any change', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const used = k.virtaddrAlloc(4096)!;
    const before = snapshot(k);
    const cases: [() => unknown, string][] = [
      [() => k.memMapAddr(0x200_0000, 4096, RW_NX), 'E_KERNEL_PHYSICAL_RANGE'], // free RAM
      [() => k.memMapAddr(-1, 4096, RW_NX), 'E_KERNEL_PHYSICAL_RANGE'],
      [() => k.memMapAddr(2 ** 52 - 4096, 8192, RW_NX), 'E_KERNEL_PHYSICAL_RANGE'],
      [() => k.memMapAddr(0xfee0_0000, 0, RW_NX), 'E_KERNEL_SIZE'],
      [() => k.memMapAddr(0xfee0_0000, 4096, RW_NX | PTE.User), 'E_KERNEL_FLAGS'],
      [() => k.memMapAddr(0xfee0_0000, 4096, RW_NX, used), 'E_KERNEL_ADDRESS'],
      [() => k.memMapAddr(0xfee0_0000, 4096, RW_NX, used + 1), 'E_KERNEL_ADDRESS'],
      [() => k.memMapAddr(0xfee0_0000, 4096, RW_NX, 0x1000), 'E_KERNEL_ADDRESS'],
      [() => k.memMapAddr(0xfee0_0000, 4096, RW_NX, k.image.va), 'E_ALREADY_MAPPED'],
      [() => k.memUnmapAddr(used), 'E_KERNEL_ADDRESS'],
    ];
    for (const [f, code] of cases) {
      expect(f).toThrow(expect.objectContaining({ code }));
      expect(snapshot(k)).toBe(before);
    }
  });
});

describe('Kernel.virtaddrAlloc / virtaddrTake', () => {
  it('hands out kernel addresses outside the layout regions and refuses to take a region', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const va = k.virtaddrAlloc(64 * 1024, { alignBytes: 64 * 1024, tag: 'test' })!;
    expect(va % (64 * 1024)).toBe(0);
    expect(va).toBeGreaterThanOrEqual(0x8000_0000_0000);
    for (const r of k.layout.regions) expect(va + 64 * 1024 <= r.start || va >= r.end).toBe(true);
    expect(k.kernelSpace.blockAt(va).tag).toBe('test');
    const heap = k.layout.regions.find((r) => r.role === 'kernel-heap')!;
    expect(k.virtaddrTake(heap.start, 4096)).toBe(false);
    expect(k.virtaddrTake(va + 64 * 1024, 4096)).toBe(true);
    expect(k.virtaddrFree(va)).toBe(64 * 1024);
    expect(() => k.virtaddrFree(va)).toThrow(expect.objectContaining({ code: 'E_DOUBLE_FREE' }));
    k.checkInvariants();
  });

  it('identity-low: kernel space is the first 128 MiB, below the user range', () => {
    const k = bootKernel(smallMap(), 'identity-low');
    expect(k.kernelSpaceBounds).toEqual({ start: 0x1000, end: 128 * 1024 * 1024 });
    const va = k.virtaddrAlloc(4096)!;
    expect(va).toBeLessThan(1024 * 1024);
  });
});

describe('Kernel.kmalloc / kfree', () => {
  for (const layout of LAYOUT_NAMES) {
    it(`${layout}: heap pages are mapped on demand in the heap region, owned 'heap', reached through the CPU`, () => {
      const k = bootKernel(smallMap(), layout);
      const heap = k.layout.regions.find((r) => r.role === 'kernel-heap')!;
      const ptrs: number[] = [];
      for (let i = 0; i < 200; i++) ptrs.push(k.kmalloc(24 + i * 16)!);
      const big = k.kmalloc(100_000)!;
      for (const p of [...ptrs, big]) {
        expect(p).toBeGreaterThanOrEqual(heap.start);
        expect(p).toBeLessThan(heap.end);
        expect(k.frames.kindOf(k.kernelMapper.translate(p)!.pa - (k.kernelMapper.translate(p)!.pa % 4096))).toBe('heap');
      }
      k.cpu.write32(big + 4, 0x1234_5678);
      expect(k.cpu.read32(big + 4)).toBe(0x1234_5678);
      expect(k.frames.usageByOwner().heap).toBe(k.heapBacking.pagesHeld);
      k.checkInvariants();
      for (const p of ptrs) k.kfree(p);
      k.kfree(big);
      k.heap.trim();
      k.checkInvariants();
    });
  }

  it('returns null when physical memory runs out, and works again after frames come back', () => {
    const k = bootKernel(smallMap(), 'limine-higher-half');
    const hog: number[] = [];
    for (;;) {
      const f = k.frames.allocFrame({ kind: 'kernel-data' });
      if (f === null) break;
      hog.push(f);
    }
    expect(k.kmalloc(64 * 1024)).toBeNull();
    k.checkInvariants();
    for (const f of hog) k.frames.freeFrame(f);
    expect(k.kmalloc(64 * 1024)).not.toBeNull();
    k.checkInvariants();
  });

  it('throws kheap typed errors for a bad pointer', () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const p = k.kmalloc(32)!;
    k.kfree(p);
    expect(() => k.kfree(p)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^E_/) as unknown }));
    expect(() => k.kmalloc(-1)).toThrow(expect.objectContaining({ code: 'E_INVALID_SIZE' }));
  });
});
