// Can two address spaces share the kernel half, as every higher-half kernel does? The kernel's
// mapper pins its PDPTs for slots 256.., each process's PML4 copies those entries, kernel
// mappings made later show up everywhere, and a process's end frees only what it allocated.
import { describe, expect, it } from 'vitest';
import { ArrayBufferPhysicalMemory, Mapper, NotMappedError, PTE, PageAlreadyMappedError, PhysicalTableAccess, SimpleFrameAllocator, virt } from '../src/index';

const RW = PTE.Present | PTE.Writable;
const KERNEL = virt('0xffff_8000_0000_0000');

function setup(frameCount = 256): { allocator: SimpleFrameAllocator; kernel: Mapper; access: PhysicalTableAccess } {
  const memory = new ArrayBufferPhysicalMemory(4 * 1024 * 1024);
  const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount });
  const access = new PhysicalTableAccess(memory);
  const kernel = Mapper.create({ access, allocator })!;
  return { allocator, kernel, access };
}

describe('Mapper.preallocatePml4Slots', () => {
  it('creates PDPTs that stay when their mappings go', () => {
    const { kernel } = setup();
    expect(kernel.preallocatePml4Slots(256, 4)).toBe(true);
    expect(kernel.tableFrameCount).toBe(5);
    kernel.mapPages(KERNEL, 0, 3, RW);
    kernel.unmapPages(KERNEL, 3);
    expect(kernel.tableFrameCount).toBe(5);
    kernel.checkInvariants();
  });

  it('returns false and takes nothing when the allocator runs out', () => {
    const { kernel, allocator } = setup(3);
    expect(kernel.preallocatePml4Slots(256, 4)).toBe(false);
    expect(allocator.allocatedCount).toBe(1);
    expect(kernel.tableFrameCount).toBe(1);
    kernel.checkInvariants();
  });
});

describe('Mapper.sharePml4Slots', () => {
  it('shares the kernel half: later kernel mappings appear in every process', () => {
    const { kernel, allocator, access } = setup();
    kernel.preallocatePml4Slots(256, 6); // slots 256..261 (a real kernel pins all 256)
    const proc = Mapper.create({ access, allocator })!;
    proc.sharePml4Slots(kernel, 256, 6);
    kernel.mapPages(KERNEL + 0x5000, 0x77_0000, 1, RW | PTE.Global);
    expect(proc.translate(KERNEL + 0x5010)!.pa).toBe(0x77_0010);
    proc.mapPages(0x40_0000, 0x1000, 1, RW | PTE.User);
    expect(kernel.translate(0x40_0000)).toBeNull();
    proc.checkInvariants();
    kernel.checkInvariants();

    const before = allocator.allocatedCount;
    proc.unmapPages(0x40_0000, 1, { freeTables: false });
    proc.destroy();
    expect(allocator.allocatedCount).toBe(before - 4); // its PML4, PDPT, PD, PT — nothing shared
    expect(kernel.translate(KERNEL + 0x5010)!.pa).toBe(0x77_0010);
    allocator.checkInvariants();
  });

  it('refuses empty source slots and occupied target slots before copying anything', () => {
    const { kernel, allocator, access } = setup();
    kernel.preallocatePml4Slots(256, 1);
    const proc = Mapper.create({ access, allocator })!;
    expect(() => proc.sharePml4Slots(kernel, 256, 2)).toThrow(NotMappedError);
    expect(proc.leafEntry(KERNEL)).toBeNull();
    proc.mapPages(KERNEL, 0, 1, RW);
    expect(() => proc.sharePml4Slots(kernel, 256, 1)).toThrow(PageAlreadyMappedError);
  });
});

describe('Mapper.destroy', () => {
  it('gives back every table frame, root included', () => {
    const { kernel, allocator } = setup();
    kernel.mapPages(0, 0, 600, RW);
    kernel.mapPages(KERNEL, 0, 1, RW);
    kernel.destroy();
    expect(allocator.allocatedCount).toBe(0);
    allocator.checkInvariants();
  });
});
