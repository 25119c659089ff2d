// Do this package's foundation parts fit the ports the building blocks declare? (DESIGN.md:
// the packages meet through structural interfaces; TypeScript checks shapes, not names.)
import type { MemoryRegion as PmmMemoryRegion } from '@kmem/pmm-bitmap';
import type { PhysicalMemory } from '@kmem/x86-paging';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { SparsePhysicalMemory, normalizeMemoryMap, parseE820Log, type MemoryRegion, type PhysicalMemoryPort } from '../src/index';

describe('ports', () => {
  it('SparsePhysicalMemory fits x86-paging’s PhysicalMemory and the local PhysicalMemoryPort', () => {
    expectTypeOf<SparsePhysicalMemory>().toExtend<PhysicalMemory>();
    expectTypeOf<SparsePhysicalMemory>().toExtend<PhysicalMemoryPort>();
    expectTypeOf<PhysicalMemoryPort>().toExtend<PhysicalMemory>();
    const port: PhysicalMemory = new SparsePhysicalMemory([{ base: 0, lengthBytes: 0x2000 }]);
    port.write32(0x1000, 7);
    expect(port.frameWords(0x1000)[0]).toBe(7);
  });

  it('a normalised memory map is what pmm-bitmap’s fromMemoryMap takes', () => {
    expectTypeOf<MemoryRegion>().toExtend<PmmMemoryRegion>();
    const regions: readonly PmmMemoryRegion[] = normalizeMemoryMap(parseE820Log('BIOS-e820: [mem 0x0-0x9fbff] usable')).regions;
    expect(regions).toHaveLength(1);
  });
});
