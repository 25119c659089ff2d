import { describe, expect, it } from 'vitest';
import { ArrayBufferBacking, BackingError, PAGE_SIZE } from '../src/index';

describe('ArrayBufferBacking', () => {
  it('hands out the lowest free run of pages and takes them back', () => {
    const b = new ArrayBufferBacking({ base: 0x10_0000, maxBytes: 16 * PAGE_SIZE });
    const a = b.grow(2 * PAGE_SIZE)!;
    const c = b.grow(PAGE_SIZE)!;
    expect([a, c]).toEqual([0x10_0000, 0x10_2000]);
    b.shrink(a, 2 * PAGE_SIZE);
    expect(b.grow(3 * PAGE_SIZE)).toBe(0x10_3000); // the 2-page hole is too small
    expect(b.grow(PAGE_SIZE)).toBe(0x10_0000);
    expect(b.pagesHeld).toBe(5);
    b.checkInvariants();
  });

  it('returns null when no run is large enough', () => {
    const b = new ArrayBufferBacking({ maxBytes: 4 * PAGE_SIZE });
    expect(b.grow(5 * PAGE_SIZE)).toBeNull();
    expect(b.grow(4 * PAGE_SIZE)).not.toBeNull();
    expect(b.grow(PAGE_SIZE)).toBeNull();
  });

  it('reads and writes words and bytes little-endian, also above 2^32', () => {
    const b = new ArrayBufferBacking({ base: 0x8000_0000_0000, maxBytes: PAGE_SIZE });
    const va = b.grow(PAGE_SIZE)!;
    b.write32(va + 8, 0x11223344);
    expect(b.read8(va + 8)).toBe(0x44);
    b.write8(va + 11, 0xff);
    expect(b.read32(va + 8) >>> 0).toBe(0xff223344);
    expect(b.words32()[2]! >>> 0).toBe(0xff223344);
  });

  it('rejects bad geometry and bad page ranges with E_BACKING', () => {
    expect(() => new ArrayBufferBacking({ base: 100 })).toThrow(BackingError);
    expect(() => new ArrayBufferBacking({ maxBytes: 5000 })).toThrow(BackingError);
    expect(() => new ArrayBufferBacking({ maxBytes: PAGE_SIZE * 2, buffer: new ArrayBuffer(PAGE_SIZE) })).toThrow(BackingError);
    const b = new ArrayBufferBacking({ maxBytes: 4 * PAGE_SIZE });
    expect(() => b.grow(100)).toThrow(BackingError);
    expect(() => b.shrink(b.base, PAGE_SIZE)).toThrow(/not held/);
    expect(() => b.shrink(b.base + 1, PAGE_SIZE)).toThrow(expect.objectContaining({ code: 'E_BACKING' }));
  });
});
