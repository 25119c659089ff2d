// Whatever bytes arrive, does every parser either return well-formed regions or throw a
// MemoryMapParseError — never another exception, never a hang? Random inputs and mutations of
// the real captures.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MemoryMapParseError,
  isMemoryKind,
  limineEntriesToRegions,
  normalizeMemoryMap,
  parseE820Log,
  parseLimineJson,
  parseLimineMemmap,
  parseMemoryMap,
  parseMultiboot1Info,
  parseMultiboot1Mmap,
  parseMultiboot2Info,
  parseMultiboot2MemoryMapTag,
  parseSysfsMemmap,
  parseUefiMemoryMap,
  type MemoryRegion,
} from '../src/index';
import { LOCAL_FIXTURES, fixture, fixtureNames, fixtureText } from './memory-map-helpers';

type Parser = (bytes: Uint8Array) => unknown;

function wellFormed(regions: MemoryRegion[]): void {
  for (const r of regions) {
    expect(Number.isSafeInteger(r.base) && r.base >= 0).toBe(true);
    expect(Number.isSafeInteger(r.lengthBytes) && r.lengthBytes >= 0).toBe(true);
    expect(r.base + r.lengthBytes).toBeLessThanOrEqual(2 ** 53);
    expect(isMemoryKind(r.kind)).toBe(true);
  }
  // What a parser returns, normalisation accepts.
  normalizeMemoryMap(regions);
}

/** Runs `parse`; passes if it returns regions or throws a MemoryMapParseError. */
function onlyTypedErrors(parse: Parser, bytes: Uint8Array): void {
  let result: unknown;
  try {
    result = parse(bytes);
  } catch (e) {
    if (e instanceof MemoryMapParseError) {
      expect(e.code).toBe('E_MEMMAP_PARSE');
      expect(Number.isInteger(e.offset) && e.offset >= 0).toBe(true);
      return;
    }
    throw e;
  }
  const regions = Array.isArray(result) ? (result as MemoryRegion[]) : ((result as { regions?: MemoryRegion[] | null }).regions ?? []);
  wellFormed(regions);
}

const latin1 = (bytes: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
};
const utf = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

const names = fixtureNames();
const byExt = (re: RegExp) => names.filter((n) => re.test(n)).map((n) => fixture(n));

const binaryParsers: [string, Parser, Uint8Array[]][] = [
  ['parseMultiboot2MemoryMapTag', parseMultiboot2MemoryMapTag, byExt(/\.mb2\.bin$/)],
  ['parseMultiboot2Info', (b) => parseMultiboot2Info(b), byExt(/\.mb2-info\.bin$/)],
  ['parseMultiboot1Mmap', parseMultiboot1Mmap, byExt(/\.mb1\.bin$/)],
  ['parseMultiboot1Info', (b) => (parseMultiboot1Info(b), []), byExt(/\.mb1-info\.bin$/)],
  ['parseUefiMemoryMap', (b) => parseUefiMemoryMap(b, { descriptorSize: 48, descriptorVersion: 1 }), byExt(/\.efi-memmap\.bin$/)],
  ['parseLimineMemmap', parseLimineMemmap, byExt(/\.mb2\.bin$/).map((b) => b.subarray(16, 16 + Math.floor((b.length - 16) / 24) * 24))],
  ['parseMemoryMap (detected)', (b) => parseMemoryMap(b), byExt(/\.(bin|txt)$/)],
];

const textParsers: [string, Parser, Uint8Array[]][] = [
  ['parseE820Log', (b) => parseE820Log(latin1(b)), byExt(/\.e820\.txt$/)],
  ['parseSysfsMemmap', (b) => parseSysfsMemmap(latin1(b)), [fixture('host-firecracker.sysfs-memmap.txt', LOCAL_FIXTURES)]],
  ['parseLimineJson', (b) => parseLimineJson(latin1(b)), [utf('[{"base":"0x0","length":"0x9f000","type":0},{"base":1048576,"length":133169152,"type":"usable"}]')]],
];

/** A mutation of a real capture: flips, u32 overwrites with edge values, truncation, splices. */
const INTERESTING = [0, 1, 4, 7, 8, 16, 20, 23, 24, 40, 47, 48, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x20_0000, 0x1f_ffff];
function mutated(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
    fc.record({ op: fc.constant('u32' as const), at: fc.nat(), value: fc.constantFrom(...INTERESTING) }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 32 }) }),
    fc.record({ op: fc.constant('char' as const), at: fc.nat(), value: fc.constantFrom(...utf('0x-[] fF\n\r9 (')) }),
  );
  return fc.tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 8 })).map(([seed, ms]) => {
    let b = Uint8Array.from(seed);
    for (const m of ms) {
      const at = b.length === 0 ? 0 : m.at % b.length;
      if (m.op === 'flip') b[at] = (b[at] ?? 0) ^ (1 << m.bit);
      else if (m.op === 'char') b[at] = m.value;
      else if (m.op === 'u32') {
        const aligned = at - (at % 4);
        for (let i = 0; i < 4 && aligned + i < b.length; i++) b[aligned + i] = Math.floor(m.value / 2 ** (8 * i)) & 0xff;
      } else if (m.op === 'truncate') b = b.subarray(0, at);
      else b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
    }
    return b;
  });
}

describe('memory-map parsers under fuzzing', () => {
  for (const [name, parse, seeds] of [...binaryParsers, ...textParsers]) {
    it(`${name}: random bytes give regions or a MemoryMapParseError`, () => {
      expect(seeds.length).toBeGreaterThan(0);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => onlyTypedErrors(parse, bytes)),
        { numRuns: 400 },
      );
    });

    it(`${name}: mutated real captures give regions or a MemoryMapParseError`, () => {
      for (const seed of seeds) onlyTypedErrors(parse, seed);
      fc.assert(
        fc.property(mutated(seeds), (bytes) => onlyTypedErrors(parse, bytes)),
        { numRuns: 400 },
      );
    });
  }

  it('text parsers survive random text built from their own vocabulary', () => {
    const token = fc.constantFrom('BIOS-e820: ', '[mem ', '0x', '-0x', '] ', 'usable', 'type ', 'persistent (type 7)', 'ACPI data', ' - ', '(', ')', '\n', '\r\n', ' ', 'f', '0', '9', 'System RAM', '#', '{', '[', '"base"', ':', ',', '}', ']');
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), (tokens) => {
        const bytes = utf(tokens.join(''));
        for (const [, parse] of textParsers) onlyTypedErrors(parse, bytes);
        onlyTypedErrors((b) => parseMemoryMap(b), bytes);
      }),
      { numRuns: 1500 },
    );
  });

  it('limineEntriesToRegions: arbitrary JS values give regions or a MemoryMapParseError', () => {
    const field = fc.oneof(fc.anything(), fc.nat(), fc.integer(), fc.double(), fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF_'), maxLength: 20 }).map((h) => `0x${h}`), fc.constantFrom('usable', 'LIMINE_MEMMAP_USABLE', 'framebuffer', 8, 9, 2 ** 53));
    const entry = fc.oneof(fc.anything(), fc.record({ base: field, length: field, type: field }));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 20 }), (entries) => {
        onlyTypedErrors(() => limineEntriesToRegions(entries), new Uint8Array(0));
      }),
      { numRuns: 1500 },
    );
  });

  it('binary walkers terminate on huge counts and self-referencing sizes', () => {
    // A multiboot2 info whose tags claim size 0 or 2^32-1, a multiboot1 buffer of zero sizes,
    // a UEFI map of 100k descriptors: each returns or throws, in one linear pass.
    const zeros = new Uint8Array(4096 * 1024);
    onlyTypedErrors(parseMultiboot1Mmap, zeros);
    onlyTypedErrors((b) => parseMultiboot2Info(b), Uint8Array.from([0, 0, 0x40, 0, 0, 0, 0, 0, ...new Uint8Array(0x4000 - 8)]));
    const big = new Uint8Array(48 * 100_000);
    for (let off = 0; off < big.length; off += 48) {
      big[off] = 7;
      big[off + 24] = 1;
    }
    expect(parseUefiMemoryMap(big, { descriptorSize: 48 })).toHaveLength(100_000);
  });

  it('text parsers stay linear on long adversarial lines', () => {
    const long = 'BIOS-e820: [mem 0x' + '0'.repeat(300_000) + '1-0x' + 'f'.repeat(17) + '] usable';
    onlyTypedErrors((b) => parseE820Log(latin1(b)), utf(long));
    expect(parseE820Log(long.replace('f'.repeat(17), 'fff'))[0]!.lengthBytes).toBe(0xfff);
    const spaces = '0 0x0 0xfff ' + ' '.repeat(300_000) + 'x' + ' '.repeat(300_000);
    onlyTypedErrors((b) => parseSysfsMemmap(latin1(b)), utf(spaces));
    const manyLines = 'BIOS-e820: [mem 0x0-0xfff] usable\n'.repeat(50_000);
    expect(parseE820Log(manyLines)).toHaveLength(50_000);
    expect(fixtureText('qemu-linux-5g.e820.txt')).toContain('BIOS-e820');
  });
});
