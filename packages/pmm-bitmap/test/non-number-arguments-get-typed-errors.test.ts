// Issue 14 item 7: a BigInt (or other non-number) frame address, and a null where an option
// should be a number, get a typed error with a stable code and change nothing (before:
// freeFrame(4096n) threw a raw TypeError, allocContiguous(1, { minAddr: null }) allocated).
import { describe, expect, it } from 'vitest';
import { AddressOutOfRangeError, BitmapFrameAllocator, InvalidAddressError, InvalidOptionError, InvalidRangeError, InvalidAlignmentError } from '../src/index';

describe('non-number arguments', () => {
  it('freeFrame of a BigInt, a string or a hostile object is E_BAD_ADDRESS and frees nothing', () => {
    const pmm = new BitmapFrameAllocator(64);
    const pa = pmm.allocFrame()!;
    const before = pmm.exportWords();
    for (const bad of [BigInt(pa), String(pa), { valueOf: () => pa }, { toString: {} }, Symbol('pa')]) {
      expect(() => pmm.freeFrame(bad as unknown as number)).toThrow(InvalidAddressError);
    }
    expect(pmm.exportWords()).toEqual(before);
    pmm.checkInvariants();
  });

  it('null is not "the default" for allocContiguous options, and options must be an object', () => {
    const pmm = new BitmapFrameAllocator(64);
    const before = pmm.exportWords();
    expect(() => pmm.allocContiguous(1, { minAddr: null as unknown as number })).toThrow(InvalidRangeError);
    expect(() => pmm.allocContiguous(1, { maxAddr: null as unknown as number })).toThrow(InvalidRangeError);
    expect(() => pmm.allocContiguous(1, { alignBytes: null as unknown as number })).toThrow(InvalidAlignmentError);
    expect(() => pmm.allocContiguous(1, 5 as unknown as object)).toThrow(InvalidOptionError);
    expect(() => BitmapFrameAllocator.fromMemoryMap([], null as unknown as object)).toThrow(InvalidOptionError);
    expect(pmm.exportWords()).toEqual(before);
  });

  it('zone.contains is false for anything that is not an integer address', () => {
    const dma = new BitmapFrameAllocator(64).zone('dma');
    for (const bad of [0.5, NaN, 4096n, '4096', Symbol('pa')]) expect(dma.contains(bad as unknown as number)).toBe(false);
    expect(dma.contains(4096)).toBe(true);
  });
});

describe('freePfn', () => {
  it('frees by frame number with the errors of freeFrame (addresses in messages), state unchanged on a throw', () => {
    const pmm = new BitmapFrameAllocator(64);
    const f = pmm.allocPfn();
    expect(f).toBe(1);
    const before = pmm.exportWords();
    expect(() => pmm.freePfn(0)).toThrow(/reserved/);
    expect(() => pmm.freePfn(2)).toThrow(/0x0000_0000_0000_2000 is already free/);
    expect(() => pmm.freePfn(64)).toThrow(AddressOutOfRangeError);
    for (const bad of [1.5, -1, NaN, 1n, '1', null]) expect(() => pmm.freePfn(bad as unknown as number)).toThrow(InvalidAddressError);
    expect(pmm.exportWords()).toEqual(before);
    pmm.freePfn(f);
    expect(pmm.isFree(4096)).toBe(true);
    pmm.checkInvariants();
  });
});
