import { describe, expect, it } from 'vitest';
import {
  HIGHER_HALF,
  IDENTITY_LOW,
  InvalidLayoutError,
  LAYOUTS,
  LIMINE_HIGHER_HALF,
  LayoutCrossesHoleError,
  LayoutOverlapError,
  NonCanonicalLayoutError,
  findLayoutRegion,
  formatCanonical,
  formatLayoutTable,
  formatSize,
  linearFromCanonical,
  validateLayout,
  type Layout,
} from '../src/index';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const TiB = 2 ** 40;

describe('canonical addresses', () => {
  it('converts canonical hex to 48-bit linear form and back (DESIGN.md)', () => {
    expect(linearFromCanonical('0xffff_8000_0000_0000')).toBe(0x8000_0000_0000);
    expect(linearFromCanonical('0x0000_7fff_ffff_ffff')).toBe(0x7fff_ffff_ffff);
    expect(linearFromCanonical('0xFFFFFFFF80000000')).toBe(0xffff_8000_0000);
    expect(linearFromCanonical('0x1_0000_0000_0000_0000')).toBe(2 ** 48);
    expect(formatCanonical(0x8000_0000_0000)).toBe('0xffff_8000_0000_0000');
    expect(formatCanonical(0x40_0000)).toBe('0x0000_0000_0040_0000');
  });

  it('refuses non-canonical and malformed addresses', () => {
    for (const bad of ['0x0000_8000_0000_0000', '0xffff_7fff_ffff_ffff', '0x1234_0000_0000_0000', '0x2_0000_0000_0000_0000', 'ffff', '0x']) {
      expect(() => linearFromCanonical(bad)).toThrow(NonCanonicalLayoutError);
    }
  });
});

describe('shipped layouts', () => {
  it('validate', () => {
    for (const layout of Object.values(LAYOUTS)) expect(validateLayout(layout)).toBe(layout);
  });

  it("identity-low: kernel 1 MiB..129 MiB (image and stack identity-mapped, the paging page tables, the heap), user above, stack top 0x7fff_ffff_ffff", () => {
    const regions = IDENTITY_LOW.regions;
    expect(Math.min(...regions.map((r) => r.start))).toBe(MiB);
    expect(Math.max(...regions.map((r) => r.end))).toBe(129 * MiB);
    // Only what really is va = pa says so: the heap's frames come from anywhere.
    expect(regions.filter((r) => r.identityMapped === true).map((r) => r.role)).toEqual(['kernel-image', 'kernel-stack']);
    expect(findLayoutRegion(IDENTITY_LOW, 'kernel-heap')!.purpose).toContain('not identity-mapped');
    expect(IDENTITY_LOW.tableAccess).toBe('window');
    expect(findLayoutRegion(IDENTITY_LOW, 'table-window')).toMatchObject({ start: 18 * MiB, end: 20 * MiB });
    expect(IDENTITY_LOW.userRange.start).toBe(129 * MiB);
    expect(IDENTITY_LOW.userStackTop - 1).toBe(0x7fff_ffff_ffff);
    expect(IDENTITY_LOW.kernelPhysicalBase).toBe(findLayoutRegion(IDENTITY_LOW, 'kernel-image')!.start);
  });

  it('higher-half: scratch, binary at +16 MiB (128 MiB), slab at +144 MiB, heap 1..32 GiB, direct map at +4 TiB', () => {
    const K = linearFromCanonical('0xffff_8000_0000_0000');
    const at = (role: Parameters<typeof findLayoutRegion>[1]) => findLayoutRegion(HIGHER_HALF, role)!;
    expect(at('kernel-stack').start).toBe(K);
    expect([at('kernel-image').start - K, at('kernel-image').end - at('kernel-image').start]).toEqual([16 * MiB, 128 * MiB]);
    expect(at('slab').start - K).toBe(144 * MiB);
    expect([at('kernel-heap').start - K, at('kernel-heap').end - K]).toEqual([GiB, 32 * GiB]);
    expect(at('direct-map').start - K).toBe(4 * TiB);
    expect(HIGHER_HALF.tableAccess).toBe('direct-map');
  });

  it('limine-higher-half: HHDM at 0xffff_8000_0000_0000, kernel in the top 2 GiB, user from 0x4000_0000', () => {
    expect(findLayoutRegion(LIMINE_HIGHER_HALF, 'direct-map')!.start).toBe(linearFromCanonical('0xffff_8000_0000_0000'));
    const kernel = findLayoutRegion(LIMINE_HIGHER_HALF, 'kernel-image')!;
    expect([formatCanonical(kernel.start), kernel.end]).toEqual(['0xffff_ffff_8000_0000', 2 ** 48]);
    expect(LIMINE_HIGHER_HALF.userRange.start).toBe(0x4000_0000);
  });

  it('prints as a table with canonical addresses, inclusive ends and sizes', () => {
    const table = formatLayoutTable(HIGHER_HALF);
    expect(table).toContain('0xffff_8000_0100_0000 | 0xffff_8000_08ff_ffff |    128 MiB | kernel-image');
    expect(table).toContain('0xffff_8400_0000_0000');
    expect(table).toContain('0x0000_7fff_ffff_efff'); // TASK_SIZE_MAX - 1: the last page is not user space
    expect(table.split('\n').filter((l) => l.startsWith('0x'))).toHaveLength(HIGHER_HALF.regions.length + 1);
    expect(formatSize(1536 * MiB)).toBe('1.50 GiB');
  });
});

describe('validateLayout', () => {
  const base = (): Layout => ({ ...HIGHER_HALF, regions: [...HIGHER_HALF.regions] });
  const withRegion = (r: Layout['regions'][number]): Layout => ({ ...base(), regions: [...base().regions, r] });

  it('accepts a user-defined layout', () => {
    const mine: Layout = {
      name: 'mine',
      description: 'recursive page tables at PML4 slot 510',
      regions: [{ name: 'kernel-image', role: 'kernel-image', start: linearFromCanonical('0xffff_ffff_8000_0000'), end: 2 ** 48, purpose: 'kernel' }],
      userRange: { start: 0x1000, end: 0x8000_0000_0000 },
      userStackTop: 0x7fff_ffff_f000,
      kernelPhysicalBase: 0x20_0000,
      tableAccess: 'recursive',
      recursiveSlot: 510,
    };
    expect(validateLayout(mine)).toBe(mine);
  });

  it('rejects overlapping regions', () => {
    expect(() => validateLayout(withRegion({ name: 'x', role: 'other', start: 0x8000_0000_0000 + 20 * MiB, end: 0x8000_0000_0000 + 21 * MiB, purpose: '' }))).toThrow(LayoutOverlapError);
    expect(() => validateLayout(withRegion({ name: 'x', role: 'other', start: 0x1000, end: 0x50_0000, purpose: '' }))).toThrow(LayoutOverlapError);
  });

  it('rejects a region crossing the canonical hole', () => {
    expect(() => validateLayout(withRegion({ name: 'x', role: 'other', start: 0x7fff_ffff_0000, end: 0x8000_0000_1000, purpose: '' }))).toThrow(LayoutCrossesHoleError);
  });

  it('rejects addresses outside the 48-bit linear space', () => {
    expect(() => validateLayout(withRegion({ name: 'x', role: 'other', start: 2 ** 48, end: 2 ** 49, purpose: '' }))).toThrow(NonCanonicalLayoutError);
    expect(() => validateLayout(withRegion({ name: 'x', role: 'other', start: -4096, end: 0, purpose: '' }))).toThrow(NonCanonicalLayoutError);
  });

  it('rejects misaligned, empty, duplicate and missing pieces', () => {
    expect(() => validateLayout(withRegion({ name: 'x', role: 'other', start: 0x9000_0000_0001, end: 0x9000_0000_2000, purpose: '' }))).toThrow(InvalidLayoutError);
    expect(() => validateLayout(withRegion({ name: 'x', role: 'other', start: 0x9000_0000_2000, end: 0x9000_0000_2000, purpose: '' }))).toThrow(InvalidLayoutError);
    expect(() => validateLayout(withRegion({ ...HIGHER_HALF.regions[0]!, start: 0x9000_0000_0000, end: 0x9000_0000_1000 }))).toThrow(InvalidLayoutError);
    expect(() => validateLayout({ ...base(), regions: base().regions.filter((r) => r.role !== 'kernel-image') })).toThrow(InvalidLayoutError);
    expect(() => validateLayout({ ...base(), regions: base().regions.filter((r) => r.role !== 'direct-map') })).toThrow(InvalidLayoutError);
    expect(() => validateLayout({ ...base(), tableAccess: 'window' })).toThrow(InvalidLayoutError);
    expect(() => validateLayout({ ...base(), tableAccess: 'recursive' })).toThrow(InvalidLayoutError);
  });

  it('rejects a user range in the kernel half and a stack top outside the user range', () => {
    expect(() => validateLayout({ ...base(), userRange: { start: 0x1000, end: 0x8000_0000_1000 } })).toThrow(LayoutCrossesHoleError);
    expect(() => validateLayout({ ...base(), userStackTop: 0x1000 })).toThrow(InvalidLayoutError);
  });

  it('rejects a kernel whose virtual - physical offset is not 2 MiB aligned, and a misplaced identity kernel', () => {
    expect(() => validateLayout({ ...base(), kernelPhysicalBase: 0x10_0000 })).toThrow(InvalidLayoutError);
    expect(() => validateLayout({ ...IDENTITY_LOW, kernelPhysicalBase: 3 * MiB })).toThrow(InvalidLayoutError);
  });

  it('rejects a recursive slot that overlaps a region', () => {
    expect(() => validateLayout({ ...base(), tableAccess: 'recursive', recursiveSlot: 256 })).toThrow(LayoutOverlapError);
    expect(validateLayout({ ...base(), tableAccess: 'recursive', recursiveSlot: 510 }).recursiveSlot).toBe(510);
  });
});
