// Does a kernel boot with each way of reaching page tables a layout can choose — the direct map
// (shipped layouts), a recursive PML4 slot, remapped windows, physical addresses — and keep
// working through it afterwards (mapping, processes, invariants)?
import { describe, expect, it } from 'vitest';
import { Access, Mode, PTE, RecursiveTableAccess, WindowTableAccess, DirectMapTableAccess, PhysicalTableAccess, TableAccessFaultError } from '@kmem/x86-paging';
import { HIGHER_HALF, linearFromCanonical, validateLayout, type Layout } from '../src/index';
import { bigMemoryMap, bootKernel, smallMap } from './boot-helpers';
import { Kernel, Machine } from '../src/index';

const noDirectMap = HIGHER_HALF.regions.filter((r) => r.role !== 'direct-map');
const RECURSIVE: Layout = validateLayout({ ...HIGHER_HALF, name: 'recursive', regions: noDirectMap, tableAccess: 'recursive', recursiveSlot: 510 });
const WINDOW: Layout = validateLayout({
  ...HIGHER_HALF,
  name: 'window',
  regions: [...noDirectMap, { name: 'windows', role: 'table-window', start: linearFromCanonical('0xffff_fe00_0000_0000'), end: linearFromCanonical('0xffff_fe00_0020_0000'), purpose: 'table windows' }],
  tableAccess: 'window',
});

function boot(layout: Layout, regions = smallMap()): Kernel {
  const k = new Kernel(new Machine({ memoryMap: regions }), { layout });
  k.boot();
  return k;
}

describe('Kernel table access', () => {
  it.each([
    ['higher-half', DirectMapTableAccess],
    ['identity-low', WindowTableAccess],
  ] as const)('%s reaches tables with %o', (name, cls) => {
    expect(bootKernel(smallMap(), name).tableAccess).toBeInstanceOf(cls);
  });

  it("the tableAccess option replaces the layout's mechanism: identity-low at physical addresses, or refused without what it needs", () => {
    const k = new Kernel(new Machine({ memoryMap: smallMap() }), { layout: 'identity-low', tableAccess: 'physical' });
    k.boot();
    expect(k.tableAccess).toBeInstanceOf(PhysicalTableAccess);
    k.checkInvariants();
    expect(() => new Kernel(new Machine({ memoryMap: smallMap() }), { layout: 'identity-low', tableAccess: 'recursive' })).toThrow(expect.objectContaining({ code: 'E_LAYOUT_INVALID' }));
    expect(() => new Kernel(new Machine({ memoryMap: smallMap() }), { layout: 'higher-half', tableAccess: 'window' })).toThrow(expect.objectContaining({ code: 'E_LAYOUT_INVALID' }));
  });

  for (const [layout, cls] of [
    [RECURSIVE, RecursiveTableAccess],
    [WINDOW, WindowTableAccess],
  ] as const) {
    it(`${layout.name}: boots, maps through the MMU, shares the kernel with processes, passes checkInvariants`, () => {
      for (const regions of [smallMap(), bigMemoryMap(8)]) {
        const k = boot(layout, regions);
        expect(k.tableAccess).toBeInstanceOf(cls);
        k.checkInvariants();
        const va = k.virtaddrAlloc(8 * 4096)!;
        expect(k.memMapPagesAt(va, 8, PTE.Writable | PTE.NoExecute)).toBe(true);
        k.cpu.write32(va + 4 * 4096, 77);
        expect(k.cpu.read32(va + 4 * 4096)).toBe(77);
        const p = k.kmalloc(10_000)!;
        k.checkInvariants();
        const root = k.newAddressSpaceRoot(5)!;
        k.cpu.writeCr3(root); // a recursive slot reaches the tables of the address space in CR3
        const user = k.mapperFor(root, 5);
        const f = k.frames.allocFrame({ kind: 'user', pid: 5 })!;
        expect(user.mapPages(0x40_0000, f, 1, PTE.Writable | PTE.User)).toBe(true);
        expect(k.cpu.translate(0x40_0000, Access.Write, Mode.User).pa).toBe(f);
        expect(k.cpu.translate(p, Access.Read, Mode.Supervisor).fault).toBe(false);
        for (const r of user.unmapPages(0x40_0000, 1)!) k.frames.freeFrame(r.pa);
        k.cpu.writeCr3(k.kernelRoot);
        k.freeAddressSpaceRoot(root);
        k.checkInvariants();
      }
    });
  }

  it('recursive: a broken recursive entry faults as on hardware (TableAccessFaultError)', () => {
    const k = boot(RECURSIVE);
    const va = k.virtaddrAlloc(4096)!;
    new PhysicalTableAccess(k.memory).writeEntry(4, 0, k.kernelRoot, 510, 0, 0);
    k.cpu.tlb?.flushAll();
    expect(() => k.memMapPagesAt(va, 1, PTE.Writable)).toThrow(TableAccessFaultError);
  });
});
