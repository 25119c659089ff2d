// Seed 002's virtual address space as data: does `higher-half-3g` say exactly what the seed's
// table says, and does validation refuse 32-bit layouts that overlap or leave the 4 GiB space?
import { describe, expect, it } from 'vitest';
import {
  HIGHER_HALF_3G,
  InvalidLayoutError,
  LAYOUTS,
  LAYOUTS_32,
  LayoutAddressSpaceError,
  LayoutOverlapError,
  findLayoutRegion,
  formatLayoutTable,
  validateLayout,
  type Layout,
} from '../src/index';
import { thrown } from '../../../test-support/thrown';

const MiB = 2 ** 20;

describe('higher-half-3g', () => {
  it("holds the seed's table: directory, page tables, kernel stack, heap, kernel; user stack, libraries, heap", () => {
    const byName = (name: string) => [...HIGHER_HALF_3G.regions, ...HIGHER_HALF_3G.userRegions!].find((r) => r.name === name)!;
    const inclusive = (name: string): [number, number] => [byName(name).start, byName(name).end - 1];
    expect(inclusive('page-directory')).toEqual([0xffff_f000, 0xffff_ffff]);
    expect(inclusive('page-tables')).toEqual([0xffc0_0000, 0xffff_efff]);
    expect(inclusive('kernel-stack')).toEqual([0xff40_0000, 0xffbf_ffff]);
    expect(inclusive('kernel-heap')).toEqual([0xc040_0000, 0xff3f_ffff]);
    expect(inclusive('kernel-image')).toEqual([0xc000_0000, 0xc03f_ffff]);
    expect(inclusive('user-stack')).toEqual([0xbf80_0000, 0xbfff_ffff]);
    expect(inclusive('user-mmap')).toEqual([0x4000_0000, 0xbf7f_ffff]);
    expect(byName('user-image-and-heap').end - 1).toBe(0x3fff_ffff);
    expect(byName('kernel-stack').end - byName('kernel-stack').start).toBe(8 * MiB);
    expect(byName('user-stack').end - byName('user-stack').start).toBe(8 * MiB);
    expect(HIGHER_HALF_3G.userStackTop).toBe(0xc000_0000);
    // The i386 default text address lies in the image-and-heap part.
    expect(byName('user-image-and-heap').start <= 0x0804_8000 && 0x0804_8000 < byName('user-image-and-heap').end).toBe(true);
  });

  it('is a 32-bit layout reached through the recursive PDE 1023, kernel image at 1 MiB physical', () => {
    expect(HIGHER_HALF_3G.pagingMode).toBe('32-bit');
    expect([HIGHER_HALF_3G.tableAccess, HIGHER_HALF_3G.recursiveSlot]).toEqual(['recursive', 1023]);
    // SDM 4.3: bits 31:22 of a linear address index the page directory; PDE 1023 covers the top 4 MiB.
    expect(1023 * 4 * MiB).toBe(findLayoutRegion(HIGHER_HALF_3G, 'table-window')!.start);
    expect(HIGHER_HALF_3G.kernelPhysicalBase).toBe(MiB);
    // The kernel half starts at PDE 768: 768 * 4 MiB = 0xc000_0000.
    expect(findLayoutRegion(HIGHER_HALF_3G, 'kernel-image')!.start).toBe(768 * 4 * MiB);
  });

  it('ships in LAYOUTS_32, not among the 4-level kernel layouts', () => {
    expect(LAYOUTS_32['higher-half-3g']).toBe(HIGHER_HALF_3G);
    expect(Object.keys(LAYOUTS)).not.toContain('higher-half-3g');
    expect(validateLayout(HIGHER_HALF_3G)).toBe(HIGHER_HALF_3G);
  });

  it('prints as the seed wrote it, in 32-bit hex', () => {
    const table = formatLayoutTable(HIGHER_HALF_3G);
    expect(table).toContain('32-bit paging; page tables reached by: recursive slot 1023');
    expect(table).toMatch(/0xffff_f000 \| 0xffff_ffff +\| +4 KiB \| page-directory/);
    expect(table).toMatch(/0xbf80_0000 \| 0xbfff_ffff +\| +8 MiB \| user-stack/);
    expect(table).not.toContain('0x0000_0000_c000');
  });
});

describe('validateLayout (32-bit)', () => {
  /** A writable copy of the layout, as a user editing it would hold it. */
  interface Editable {
    regions: { start: number; end: number }[];
    userRegions: { start: number; end: number }[];
    userRange: { start: number; end: number };
    recursiveSlot: number;
    kernelPhysicalBase: number;
  }
  const edit = (change: (l: Editable) => void): Layout => {
    const copy = structuredClone(HIGHER_HALF_3G) as unknown as Editable;
    change(copy);
    return copy as unknown as Layout;
  };
  const regions = (l: Editable) => l.regions;

  const cases: [string, Layout, new (...args: never[]) => Error, string, RegExp][] = [
    ['a region past 4 GiB', edit((l) => (regions(l)[4]!.end = 0x1_0000_1000)), LayoutAddressSpaceError, 'E_LAYOUT_ADDRESS_SPACE', /outside the 32-bit linear address space/],
    ['a user range past 4 GiB', edit((l) => (l.userRange = { start: 0x1_0000, end: 0x1_0000_2000 })), LayoutAddressSpaceError, 'E_LAYOUT_ADDRESS_SPACE', /user range end/],
    ['the heap overlapping the kernel stack', edit((l) => (regions(l)[1]!.end = 0xff50_0000)), LayoutOverlapError, 'E_LAYOUT_OVERLAP', /kernel-heap .* overlaps kernel-stack/],
    ['the user range reaching into the kernel', edit((l) => (l.userRange = { start: 0x1_0000, end: 0xc010_0000 })), LayoutOverlapError, 'E_LAYOUT_OVERLAP', /overlaps kernel-image/],
    ['a kernel stack inside the recursive window', edit((l) => (regions(l)[2]!.end = 0xffc0_1000)), LayoutOverlapError, 'E_LAYOUT_OVERLAP', /./],
    ['a recursive slot beyond the directory', edit((l) => (l.recursiveSlot = 1024)), InvalidLayoutError, 'E_LAYOUT_INVALID', /recursiveSlot in 0\.\.1023/],
    ['a kernel region not on a 4 MiB boundary', edit((l) => { regions(l)[0]!.start = 0xc000_1000; }), InvalidLayoutError, 'E_LAYOUT_INVALID', /4 MiB boundary/],
    ['a kernel physical base above 4 GiB', edit((l) => (l.kernelPhysicalBase = 0x1_0010_0000)), InvalidLayoutError, 'E_LAYOUT_INVALID', /above 4 GiB/],
    ['overlapping user regions', edit((l) => (l.userRegions[0]!.end = 0x4000_1000)), LayoutOverlapError, 'E_LAYOUT_OVERLAP', /user-image-and-heap .* overlaps user-mmap/],
    ['a user region outside the user range', edit((l) => (l.userRegions[0]!.start = 0)), InvalidLayoutError, 'E_LAYOUT_INVALID', /outside the user range/],
  ];
  for (const [what, layout, type, code, message] of cases) {
    it(`refuses ${what} with ${code}`, () => {
      const e = thrown(() => validateLayout(layout));
      expect(e).toBeInstanceOf(type);
      expect(e).toMatchObject({ code });
      expect((e as Error).message).toMatch(message);
    });
  }
});
