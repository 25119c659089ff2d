import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HIGH_FLAGS_MASK,
  LOW_FLAGS_MASK,
  LOW_FLAGS_MASK_HUGE,
  NonCanonicalAddressError,
  addressMaskHi,
  canonical,
  canonicalHex,
  encodeHi,
  encodeLo,
  entryAddress,
  entryFlags,
  isCanonical,
  leafAddress,
  osBits,
  pageOffset,
  pdIndex,
  pdptIndex,
  pml4Index,
  ptIndex,
  virt,
  withOsBits,
} from '../src/index';

const linear = fc.integer({ min: 0, max: 2 ** 48 - 1 });

describe('virt / canonical (property)', () => {
  it('round-trip every linear address through bigint and hex string', () => {
    fc.assert(
      fc.property(linear, (va) => {
        const c = canonical(va);
        expect(virt(c)).toBe(va);
        expect(virt(canonicalHex(va))).toBe(va);
        expect(isCanonical(c)).toBe(true);
      }),
    );
  });

  it('reject every 64-bit value whose bits 63:48 are not copies of bit 47 (SDM 3.3.7.1)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
        const canon = (v >> 47n) === 0n || (v >> 47n) === (1n << 17n) - 1n;
        expect(isCanonical(v)).toBe(canon);
        if (!canon) expect(() => virt(v)).toThrow(NonCanonicalAddressError);
      }),
    );
  });

  it('split into indices that rebuild the address (SDM 4.5, Figure 4-8)', () => {
    fc.assert(
      fc.property(linear, (va) => {
        const rebuilt = pml4Index(va) * 2 ** 39 + pdptIndex(va) * 2 ** 30 + pdIndex(va) * 2 ** 21 + ptIndex(va) * 4096 + pageOffset(va);
        expect(rebuilt).toBe(va);
        expect(pml4Index(va)).toBe(Number((BigInt(va) >> 39n) & 511n));
        expect(pdptIndex(va)).toBe(Number((BigInt(va) >> 30n) & 511n));
      }),
    );
  });
});

describe('entry encode / decode (property)', () => {
  it('recovers address and flags for any MAXPHYADDR, page size and flags word (SDM Tables 4-14..4-20)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 32, max: 52 }), fc.constantFrom(1, 2, 3), fc.nat(), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (maxPhys, level, n, rawFlags) => {
        const align = level === 1 ? 4096 : level === 2 ? 2 ** 21 : 2 ** 30;
        const pa = (n * align) % 2 ** maxPhys;
        const huge = level !== 1;
        const flags = rawFlags & ((huge ? LOW_FLAGS_MASK_HUGE : LOW_FLAGS_MASK) | HIGH_FLAGS_MASK);
        const maskHi = addressMaskHi(maxPhys);
        const lo = encodeLo(pa, flags, huge);
        const hi = encodeHi(pa, flags, maskHi);
        expect(lo >>> 0).toBe(lo);
        expect(hi >>> 0).toBe(hi);
        expect(huge ? leafAddress(lo, hi, level, maskHi) : entryAddress(lo, hi, maskHi)).toBe(pa);
        expect(entryFlags(lo, hi, huge)).toBe(flags);
        expect(osBits(withOsBits(flags, osBits(flags)))).toBe(osBits(flags));
      }),
    );
  });
});
