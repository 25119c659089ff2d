import { describe, expect, it } from 'vitest';
import {
  InvalidOptionError,
  PTE,
  addressMaskHi,
  availableBit,
  checkFlagsWord,
  decodeEntry,
  encodeHi,
  encodeLo,
  entryAddress,
  entryFlags,
  leafAddress,
  osBits,
  protectionKey,
  reservedBits,
  withOsBits,
  withProtectionKey,
} from '../src/index';

describe('PTE', () => {
  it('puts each flag at its hardware bit (SDM Tables 4-14..4-20)', () => {
    expect(PTE.Present).toBe(1 << 0);
    expect(PTE.Writable).toBe(1 << 1);
    expect(PTE.User).toBe(1 << 2);
    expect(PTE.WriteThrough).toBe(1 << 3);
    expect(PTE.CacheDisable).toBe(1 << 4);
    expect(PTE.Accessed).toBe(1 << 5);
    expect(PTE.Dirty).toBe(1 << 6);
    expect(PTE.HugePage).toBe(1 << 7);
    expect(PTE.Global).toBe(1 << 8);
    expect(PTE.PatHuge).toBe(1 << 12);
    expect(PTE.NoExecute).toBe(0x8000_0000 | 0);
  });
});

describe('encodeLo/encodeHi', () => {
  it('places NX at bit 63, i.e. bit 31 of the high half (SDM Tables 4-14..4-20)', () => {
    const hi = encodeHi(0x1000, PTE.Present | PTE.NoExecute);
    expect(hi).toBe(0x8000_0000);
    expect((entryFlags(encodeLo(0x1000, PTE.Present), hi) & PTE.NoExecute) !== 0).toBe(true);
  });

  it('splits a 52-bit physical address into bits 31:12 and 51:32 (SDM 4.5, Table 4-20)', () => {
    const pa = 0xf_ffff_ffff_f000;
    const flags = PTE.Present | PTE.Writable;
    const lo = encodeLo(pa, flags);
    const hi = encodeHi(pa, flags);
    expect(lo).toBe(0xffff_f003);
    expect(hi).toBe(0x000f_ffff);
    expect(entryAddress(lo, hi)).toBe(pa);
    expect(entryFlags(lo, hi)).toBe(flags);
  });

  it('keeps bit 12 as PAT only in a huge leaf (SDM Table 4-15/4-17)', () => {
    expect(encodeLo(0x20_0000, PTE.Present | PTE.PatHuge, true)).toBe(0x20_1001);
    expect(encodeLo(0x20_0000, PTE.Present | PTE.PatHuge, false)).toBe(0x20_0001);
    const lo = encodeLo(0x4000_0000, PTE.Present | PTE.HugePage | PTE.PatHuge, true);
    expect(leafAddress(lo, 0, 3)).toBe(0x4000_0000);
    expect(entryFlags(lo, 0, true)).toBe(PTE.Present | PTE.HugePage | PTE.PatHuge);
  });

  it('cuts the address to MAXPHYADDR (SDM 4.5: bits 51:M are reserved)', () => {
    expect(addressMaskHi(36)).toBe(0xf);
    expect(encodeHi(0x1_2345_6000_0000, 0, addressMaskHi(40))).toBe(0x45);
    expect(() => addressMaskHi(53)).toThrow(InvalidOptionError);
  });
});

describe('checkFlagsWord', () => {
  it('takes a signed or unsigned 32-bit flags word and returns it as an int32 (NX = bit 31, SDM 4.5)', () => {
    expect(checkFlagsWord(PTE.Present | PTE.Writable)).toBe(3);
    expect(checkFlagsWord(0x8000_0001)).toBe(PTE.NoExecute | PTE.Present);
    expect(checkFlagsWord(PTE.NoExecute | PTE.PatHuge)).toBe(PTE.NoExecute | PTE.PatHuge);
  });

  it('rejects bits 13-19 (address bits of every entry, SDM 4.5) and non-32-bit numbers, naming the option', () => {
    for (const bad of [0x2000, 0x8_0000, 1.5, NaN, 2 ** 32, -(2 ** 31) - 1]) {
      expect(() => checkFlagsWord(bad)).toThrow(expect.objectContaining({ code: 'E_INVALID_FLAGS' }));
    }
    expect(() => checkFlagsWord(0x4000, 'higherHalfFlags')).toThrow(/higherHalfFlags: bits 13-19/);
  });
});

describe('reservedBits', () => {
  it('flags address bits above MAXPHYADDR (SDM 4.5)', () => {
    expect(reservedBits(1, 0x10, 1, addressMaskHi(36))).toBe(1);
    expect(reservedBits(1, 0x0f, 1, addressMaskHi(36))).toBe(0);
  });
  it('flags PS in a PML4E (SDM Table 4-14)', () => {
    expect(reservedBits(0x81, 0, 4)).toBe(2);
  });
  it('flags bits 20:13 of a 2 MiB leaf and 29:13 of a 1 GiB leaf (SDM Tables 4-17, 4-15)', () => {
    expect(reservedBits(0x20_2081, 0, 2)).toBe(4);
    expect(reservedBits(0x20_1081, 0, 2)).toBe(0); // bit 12 is PAT
    expect(reservedBits(0x20_0081, 0, 3)).toBe(4);
    expect(reservedBits(0x20_0081, 0, 1)).toBe(0); // a PTE's bit 7 is PAT and 20:13 are address
  });
  it('flags NX while EFER.NXE = 0 (SDM 4.5)', () => {
    expect(reservedBits(1, 0x8000_0000, 1, 0xfffff, false)).toBe(8);
    expect(reservedBits(1, 0x8000_0000, 1, 0xfffff, true)).toBe(0);
  });
});

describe('OS-available bits', () => {
  it('packs bits 9-11 and 52-62 into 14 bits and back (SDM Tables 4-14..4-20: ignored bits)', () => {
    expect(osBits(PTE.Avail9 | PTE.Avail11)).toBe(0b101);
    expect(osBits(availableBit(52))).toBe(1 << 3);
    expect(osBits(availableBit(62))).toBe(1 << 13);
    const f = withOsBits(PTE.Present | PTE.NoExecute, 0x3fff);
    expect(osBits(f)).toBe(0x3fff);
    expect(f & PTE.Present).toBe(PTE.Present);
    expect((f & PTE.NoExecute) !== 0).toBe(true);
    expect(withOsBits(f, 0)).toBe(PTE.Present | PTE.NoExecute);
    expect(() => withOsBits(0, 16384)).toThrow();
    expect(() => availableBit(12)).toThrow();
  });
  it('lands the available bits of the flags word at hardware bits 52-62 (SDM Tables 4-14..4-20)', () => {
    const hi = encodeHi(0, availableBit(52) | availableBit(62));
    expect(hi).toBe((1 << 20) | (1 << 30));
  });
  it('reads and writes the protection key in bits 62:59 (SDM 4.6.2)', () => {
    const f = withProtectionKey(PTE.Present, 9);
    expect(protectionKey(f)).toBe(9);
    expect(encodeHi(0, f)).toBe(9 << 27);
  });
});

describe('decodeEntry', () => {
  it('decodes a 2 MiB leaf (SDM Table 4-17)', () => {
    const d = decodeEntry(0x20_0000 | 0xe7, 0x8000_0000, 2);
    expect(d.present).toBe(true);
    expect(d.leaf).toBe(true);
    expect(d.pageSizeBytes).toBe(0x20_0000);
    expect(d.pa).toBe(0x20_0000);
    expect(d.flagNames).toEqual(['P', 'RW', 'US', 'A', 'D', 'PS', 'NX']);
  });
});
