// Issue 14 item 7: null (or any non-object) where an options object or a range is expected, and
// a formatAddress that is not a function, get a typed error with a stable code (before: raw
// TypeErrors "Cannot read properties of null", "format is not a function").
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, InvalidRangeError, VirtualAllocator, type AddressRange } from '../src/index';

describe('non-object options', () => {
  it('alloc, take and the constructor refuse a non-object options argument with E_INVALID_OPTION', () => {
    const va = new VirtualAllocator({ start: 0x1000, end: 0x100000 });
    const before = JSON.stringify([...va.blocks()]);
    expect(() => va.alloc(4096, null as unknown as object)).toThrow(InvalidOptionError);
    expect(() => va.alloc(4096, 7 as unknown as object)).toThrow(InvalidOptionError);
    expect(() => va.take(0x2000, 4096, 'tag' as unknown as object)).toThrow(InvalidOptionError);
    expect(() => new VirtualAllocator(null as unknown as { start: number; end: number })).toThrow(InvalidOptionError);
    expect(() => new VirtualAllocator({ start: 0, end: 0x10000, formatAddress: 'hex' as unknown as () => string })).toThrow(InvalidOptionError);
    expect(JSON.stringify([...va.blocks()])).toBe(before);
  });

  it('a null within or blocks range is E_INVALID_RANGE', () => {
    const va = new VirtualAllocator({ start: 0x1000, end: 0x100000 });
    expect(() => va.alloc(4096, { within: null as unknown as AddressRange })).toThrow(InvalidRangeError);
    expect(() => va.blocks(null as unknown as AddressRange)).toThrow(InvalidRangeError);
    expect(va.stats().usedBlockCount).toBe(0);
  });
});
