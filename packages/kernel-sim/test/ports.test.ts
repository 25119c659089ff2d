// Does each building block fit each port it is plugged into? The `satisfies` lines are checked by
// `tsc --noEmit -p .` (this file is in the program); the tests then plug the parts together for
// real. The blocks import nothing from each other: only shapes meet here (DESIGN.md).
import { describe, expect, it } from 'vitest';
import { BitmapFrameAllocator, type MemoryRegion as PmmRegion } from '@kmem/pmm-bitmap';
import { KernelHeap, type HeapBacking } from '@kmem/kheap';
import { VirtualAllocator, type AddressFormatter } from '@kmem/virt-alloc';
import { DirectMapTableAccess, Mapper, PTE, PhysicalTableAccess, type Cpu, type FrameAllocator, type PhysicalMemory, type TableAccess, type TlbInvalidator } from '@kmem/x86-paging';
import type { KernelHeapBacking } from '../src/index';
import { RegionListFrameAllocator, SparsePhysicalMemory, SwitchableTableAccess, formatCanonical, type OwnedFrameAllocator, type PhysicalMemoryPort } from '../src/index';
import { bootKernel, smallMap } from './boot-helpers';

const MiB = 1024 * 1024;

describe('ports', () => {
  it('BitmapFrameAllocator satisfies x86-paging FrameAllocator; SparsePhysicalMemory satisfies PhysicalMemory', () => {
    const regions = smallMap();
    // kernel-sim's normalised regions are pmm-bitmap's MemoryRegion (same eight kinds).
    const forPmm: readonly PmmRegion[] = regions satisfies readonly PmmRegion[];
    const pmm = BitmapFrameAllocator.fromMemoryMap(forPmm);
    const allocator: FrameAllocator = pmm satisfies FrameAllocator;
    const memory = SparsePhysicalMemory.fromMemoryMap(regions);
    const physical: PhysicalMemory = memory satisfies PhysicalMemory;
    // kernel-sim's own copy of the port and x86-paging's are the same shape both ways.
    const port: PhysicalMemoryPort = physical satisfies PhysicalMemoryPort;
    const mapper = Mapper.create({ access: new PhysicalTableAccess(port), allocator })!;
    expect(mapper.mapAllocated(0x40_0000, 4, PTE.Writable)).toBe(true);
    expect(mapper.translate(0x40_1000)!.pa % 4096).toBe(0);
    mapper.checkInvariants();
    pmm.checkInvariants();
  });

  it("seed 001's RegionListFrameAllocator satisfies x86-paging FrameAllocator; a Mapper runs on it", () => {
    const pmm = RegionListFrameAllocator.fromMemoryMap(smallMap());
    const allocator: FrameAllocator = pmm satisfies FrameAllocator;
    const mapper = Mapper.create({ access: new PhysicalTableAccess(SparsePhysicalMemory.fromMemoryMap(smallMap())), allocator })!;
    expect(mapper.mapAllocated(0x40_0000, 4, PTE.Writable)).toBe(true);
    mapper.checkInvariants();
    pmm.checkInvariants();
  });

  it("KernelHeapBacking satisfies kheap's HeapBacking; kheap runs on it", () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const backing: HeapBacking = k.heapBacking satisfies HeapBacking;
    const heap = new KernelHeap({ backing: k.heapBacking satisfies KernelHeapBacking });
    expect(backing.limitBytes).toBeLessThanOrEqual(2 ** 31);
    expect(heap.kmalloc(100)).not.toBeNull();
  });

  it("the kernel's parts fit the Mapper's ports: owned allocators, table-access strategies, the CPU as TLB invalidator", () => {
    const k = bootKernel(smallMap(), 'higher-half');
    const owned: FrameAllocator = k.frames.allocatorFor({ kind: 'page-table' }) satisfies OwnedFrameAllocator;
    expect(k.tableAccess).toBeInstanceOf(DirectMapTableAccess);
    const direct: TableAccess = k.tableAccess satisfies TableAccess;
    const switchable: TableAccess = new SwitchableTableAccess(direct) satisfies TableAccess;
    const tlb: TlbInvalidator = k.cpu satisfies Cpu;
    const m = new Mapper({ access: switchable, allocator: owned, root: k.newAddressSpaceRoot()!, tlb });
    expect(m.mapPages(0x40_0000, 16 * MiB + 4096 * 100, 1, PTE.User)).toBe(true);
    const fmt: AddressFormatter = formatCanonical satisfies AddressFormatter;
    const vas = new VirtualAllocator({ start: 0x8000_0000_0000, end: 0x8000_4000_0000, formatAddress: fmt });
    expect(() => vas.free(0x8000_0000_0000)).toThrow(/0xffff_8000_0000_0000/);
  });
});
