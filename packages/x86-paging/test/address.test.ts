import { describe, expect, it } from 'vitest';
import {
  CanonicalHoleError,
  InvalidAddressError,
  NonCanonicalAddressError,
  assertRangeInOneHalf,
  canonical,
  canonicalHex,
  formatPa,
  formatVa,
  isCanonical,
  pageOffset,
  pdIndex,
  pdptIndex,
  pml4Index,
  ptIndex,
  tableIndex,
  virt,
} from '../src/index';

describe('virt', () => {
  it('maps the canonical higher half 0xffff_8000_0000_0000.. to linear 0x8000_0000_0000.. (SDM 3.3.7.1)', () => {
    expect(virt('0xffff_8000_0000_0000')).toBe(0x8000_0000_0000);
    expect(virt(0xffff_ffff_ffff_f000n)).toBe(0xffff_ffff_f000);
    expect(virt('0xffffffff80000000')).toBe(0xffff_8000_0000);
  });

  it('keeps lower-half addresses unchanged', () => {
    expect(virt(0x7fff_ffff_ffffn)).toBe(0x7fff_ffff_ffff);
    expect(virt(0x40_1000)).toBe(0x40_1000);
    expect(virt('4096')).toBe(4096);
  });

  it('reads negative numbers and bigints as sign-extended 64-bit values (SDM vol. 3A 3.3.7.1)', () => {
    expect(virt(-4096)).toBe(0xffff_ffff_f000);
    expect(virt(-(1n << 47n))).toBe(0x8000_0000_0000);
  });

  it('rejects non-canonical addresses with E_NON_CANONICAL (SDM vol. 3A 3.3.7.1)', () => {
    expect(() => virt(0x8000_0000_0000n)).toThrow(NonCanonicalAddressError);
    expect(() => virt('0x0000_8000_0000_0000')).toThrow(NonCanonicalAddressError);
    expect(() => virt('0xfff0_0000_0000_0000')).toThrow(NonCanonicalAddressError);
    try {
      virt('0x1_0000_0000_0000');
    } catch (e) {
      expect((e as NonCanonicalAddressError).code).toBe('E_NON_CANONICAL');
    }
  });

  it('rejects numbers at or above 2^53 instead of rounding them', () => {
    expect(() => virt(2 ** 53)).toThrow(InvalidAddressError);
    expect(() => virt(0xffff_8000_0000_0000)).toThrow(/2\^53/);
    expect(() => virt(1.5)).toThrow(InvalidAddressError);
    expect(() => virt('0xzz')).toThrow(InvalidAddressError);
    expect(() => virt(1n << 64n)).toThrow(InvalidAddressError);
  });
});

describe('canonical', () => {
  it('sign-extends bit 47 and round-trips with virt (SDM vol. 3A 3.3.7.1)', () => {
    expect(canonical(0x8000_0000_1000)).toBe(0xffff_8000_0000_1000n);
    expect(canonical(0x1000)).toBe(0x1000n);
    for (const va of [0, 0x7fff_ffff_f000, 0x8000_0000_0000, 0xffff_ffff_ffff]) expect(virt(canonical(va))).toBe(va);
  });

  it('rejects values that are not linear addresses', () => {
    expect(() => canonical(2 ** 48)).toThrow(InvalidAddressError);
    expect(() => canonical(-1)).toThrow(InvalidAddressError);
  });
});

describe('formatVa', () => {
  it('prints the canonical form grouped by four hex digits', () => {
    expect(formatVa(0x8000_0000_1000)).toBe('0xffff_8000_0000_1000');
    expect(canonicalHex(0x1000)).toBe('0x0000_0000_0000_1000');
    expect(formatPa(0x10_0000)).toBe('0x10_0000');
  });
});

describe('isCanonical', () => {
  it('accepts both halves and rejects the hole (SDM vol. 3A 3.3.7.1)', () => {
    expect(isCanonical(0xffff_8000_0000_0000n)).toBe(true);
    expect(isCanonical('0x0000_7fff_ffff_ffff')).toBe(true);
    expect(isCanonical(0x0000_8000_0000_0000n)).toBe(false);
    expect(isCanonical('junk')).toBe(false);
  });
});

describe('index extraction', () => {
  it('splits a linear address into 9-bit indices and a 12-bit offset (SDM 4.5, Figure 4-8)', () => {
    const va = virt('0xffff_8123_4567_89ab');
    // 0x8123_4567_89ab = 1000 0001 0 | 010 0011 01 | 00 0101 011 | 0 0111 1000 | 1001 1010 1011
    expect(pml4Index(va)).toBe(0x102);
    expect(pdptIndex(va)).toBe(0x8d);
    expect(pdIndex(va)).toBe(0x2b);
    expect(ptIndex(va)).toBe(0x78);
    expect(pageOffset(va)).toBe(0x9ab);
    expect([4, 3, 2, 1].map((l) => tableIndex(va, l))).toEqual([0x102, 0x8d, 0x2b, 0x78]);
    const rebuilt = pml4Index(va) * 2 ** 39 + pdptIndex(va) * 2 ** 30 + pdIndex(va) * 2 ** 21 + ptIndex(va) * 4096 + pageOffset(va);
    expect(rebuilt).toBe(va);
  });
});

describe('assertRangeInOneHalf', () => {
  it('rejects a range crossing the non-canonical hole or the end of the space (SDM vol. 3A 3.3.7.1)', () => {
    expect(() => assertRangeInOneHalf(0x7fff_ffff_f000, 0x2000)).toThrow(CanonicalHoleError);
    expect(() => assertRangeInOneHalf(0xffff_ffff_f000, 0x2000)).toThrow(CanonicalHoleError);
    expect(() => assertRangeInOneHalf(0x7fff_ffff_f000, 0x1000)).not.toThrow();
  });
});
