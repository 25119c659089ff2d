// Does every memory-map parser keep its promise (README "Invariants"): each region it returns has
// safe-integer base and lengthBytes with base + lengthBytes <= 2^53? A region of 2^53 bytes from
// base 0 ends exactly at 2^53, but its length is not a safe integer: each parser must refuse it
// itself, with a MemoryMapParseError at the entry's byte offset (or line), not leave it to
// normalizeMemoryMap or `new Machine` (issue 14, defect 1).
import { describe, expect, it } from 'vitest';
import {
  MemoryMapParseError,
  limineEntriesToRegions,
  parseE820Log,
  parseLimineJson,
  parseLimineMemmap,
  parseMultiboot1Mmap,
  parseMultiboot2MemoryMapTag,
  parseSysfsMemmap,
  parseUefiMemoryMap,
  type MemoryRegion,
} from '../src/index';
import { Bytes } from './memory-map-helpers';

const TWO_53 = 2 ** 53;

function refused(fn: () => unknown): MemoryMapParseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MemoryMapParseError);
    expect((e as MemoryMapParseError).code).toBe('E_MEMMAP_PARSE');
    expect((e as MemoryMapParseError).message).toMatch(/2\^53/);
    return e as MemoryMapParseError;
  }
  throw new Error('the parser returned a region of 2^53 bytes');
}

function keepsPromise(regions: MemoryRegion[]): void {
  for (const r of regions) {
    expect(Number.isSafeInteger(r.base) && Number.isSafeInteger(r.lengthBytes)).toBe(true);
    expect(r.base + r.lengthBytes).toBeLessThanOrEqual(TWO_53);
  }
}

const mb2 = (entries: [number, number][]): Uint8Array => {
  const b = new Bytes().u32(6).u32(16 + entries.length * 24).u32(24).u32(0);
  for (const [base, len] of entries) b.u64(base).u64(len).u32(1).u32(0);
  return b.build();
};
const mb1 = (entries: [number, number][]): Uint8Array => {
  const b = new Bytes();
  for (const [base, len] of entries) b.u32(20).u64(base).u64(len).u32(1);
  return b.build();
};
const uefi = (entries: [number, number][]): Uint8Array => {
  const b = new Bytes();
  for (const [base, pages] of entries) b.u32(7).u32(0).u64(base).u64(0).u64(pages).u64(0).zeros(8);
  return b.build();
};
const limine = (entries: [number, number][]): Uint8Array => {
  const b = new Bytes();
  for (const [base, len] of entries) b.u64(base).u64(len).u64(0);
  return b.build();
};

describe('every memory-map parser refuses a region of 2^53 bytes from base 0 itself', () => {
  it('multiboot2 type-6 tag: at the entry offset', () => {
    expect(refused(() => parseMultiboot2MemoryMapTag(mb2([[0x1000, 0x1000], [0, TWO_53]]))).offset).toBe(16 + 24);
  });

  it('multiboot1 mmap: at the entry offset', () => {
    expect(refused(() => parseMultiboot1Mmap(mb1([[0x1000, 0x1000], [0, TWO_53]]))).offset).toBe(24);
  });

  it('UEFI: a descriptor of 2^41 pages, at the descriptor offset', () => {
    expect(refused(() => parseUefiMemoryMap(uefi([[0x1000, 1], [0, 2 ** 41]]), { descriptorSize: 48 })).offset).toBe(48);
  });

  it('Limine binary, objects and JSON', () => {
    expect(refused(() => parseLimineMemmap(limine([[0x1000, 0x1000], [0, TWO_53]]))).offset).toBe(24);
    expect(refused(() => limineEntriesToRegions([{ base: 0, length: '0x20000000000000', type: 0 }])).offset).toBe(0);
    expect(refused(() => parseLimineJson('[{"base":"0x1000","length":"0x1000","type":0},{"base":"0x0","length":"0x20000000000000","type":0}]')).offset).toBe(1);
  });

  it('e820 log text: with the line and column', () => {
    const e = refused(() => parseE820Log('BIOS-e820: [mem 0x0000000000001000-0x0000000000001fff] usable\nBIOS-e820: [mem 0x0-0x1fffffffffffff] usable'));
    expect([e.line, e.column]).toEqual([2, 23]);
  });

  it('sysfs memmap text: with the line', () => {
    expect(refused(() => parseSysfsMemmap('0 0x1000 0x1fff System RAM\n1 0x0 0x1fffffffffffff System RAM')).line).toBe(2);
  });

  it('still accepts an exclusive end of exactly 2^53 when the length is a safe integer', () => {
    keepsPromise(parseMultiboot2MemoryMapTag(mb2([[0x1000, TWO_53 - 0x1000]])));
    keepsPromise(parseMultiboot1Mmap(mb1([[0x1000, TWO_53 - 0x1000]])));
    keepsPromise(parseUefiMemoryMap(uefi([[0x1000, 2 ** 41 - 1]]), { descriptorSize: 48 }));
    keepsPromise(parseLimineMemmap(limine([[0x1000, TWO_53 - 0x1000]])));
    keepsPromise(parseE820Log('BIOS-e820: [mem 0x1000-0x1fffffffffffff] usable'));
    keepsPromise(parseSysfsMemmap('0 0x1000 0x1fffffffffffff System RAM'));
    expect(parseSysfsMemmap('0 0x1000 0x1fffffffffffff System RAM')[0]!.lengthBytes).toBe(TWO_53 - 0x1000);
  });
});
