// Each parser's rules, one at a time, and the hostile inputs each must refuse with a
// MemoryMapParseError carrying the right offset.
import { describe, expect, it } from 'vitest';
import {
  MemoryMapParseError,
  detectMemoryMapFormat,
  e820TextToKind,
  limineEntriesToRegions,
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
  sysfsTypeToKind,
} from '../src/index';
import { Bytes } from './memory-map-helpers';

function parseError(fn: () => unknown): MemoryMapParseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MemoryMapParseError);
    expect((e as MemoryMapParseError).code).toBe('E_MEMMAP_PARSE');
    return e as MemoryMapParseError;
  }
  throw new Error('expected a MemoryMapParseError');
}

const MAX64 = (1n << 64n) - 1n;

describe('parseE820Log', () => {
  it('reads START and an inclusive END', () => {
    expect(parseE820Log('[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable')).toEqual([
      { base: 0, lengthBytes: 0x9fc00, kind: 'usable', firmwareType: 'usable' },
    ]);
  });

  it('maps every type Linux prints (arch/x86/kernel/e820.c e820_print_type)', () => {
    expect(e820TextToKind('usable')).toBe('usable');
    expect(e820TextToKind('reserved')).toBe('reserved');
    expect(e820TextToKind('ACPI data')).toBe('acpi-reclaimable');
    expect(e820TextToKind('ACPI NVS')).toBe('acpi-nvs');
    expect(e820TextToKind('unusable')).toBe('bad-memory');
    expect(e820TextToKind('persistent (type 7)')).toBe('reserved');
    expect(e820TextToKind('persistent (type 12)')).toBe('reserved');
    expect(e820TextToKind('soft reserved')).toBe('reserved');
    expect(e820TextToKind('type 1')).toBe('usable');
    expect(e820TextToKind('type 3')).toBe('acpi-reclaimable');
    expect(e820TextToKind('type 5')).toBe('bad-memory');
    expect(e820TextToKind('type 20')).toBe('reserved');
    expect(e820TextToKind('magic')).toBeNull();
  });

  it('ignores other dmesg lines and keeps log order', () => {
    const log = ['Linux version 6.1.0', 'BIOS-provided physical RAM map:', 'BIOS-e820: [mem 0x0000000000100000-0x00000000001fffff] ACPI NVS', 'e820: update [mem 0x00000000-0x00000fff] usable ==> reserved', 'BIOS-e820: [mem 0x0000000000000000-0x0000000000000fff] type 20'].join('\r\n');
    expect(parseE820Log(log).map((r) => [r.base, r.lengthBytes, r.kind])).toEqual([
      [0x10_0000, 0x10_0000, 'acpi-nvs'],
      [0, 0x1000, 'reserved'],
    ]);
  });

  it('reads the Linux 2.6 form with an exclusive end', () => {
    expect(parseE820Log(' BIOS-e820: 0000000000000000 - 000000000009f800 (usable)')).toEqual([{ base: 0, lengthBytes: 0x9f800, kind: 'usable', firmwareType: 'usable' }]);
  });

  it('skips a size printed before the type by newer kernels', () => {
    expect(parseE820Log('BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff]   639 KB usable')[0]!.kind).toBe('usable');
  });

  it('reports a malformed line with its line number and column', () => {
    const e = parseError(() => parseE820Log('BIOS-e820: [mem 0x0-0x1] usable\n[ 0.0] BIOS-e820: [mem 0xZZ-0x1] usable'));
    expect(e.line).toBe(2);
    expect(e.column).toBe(8);
    expect(e.offset).toBe('BIOS-e820: [mem 0x0-0x1] usable\n'.length + 7);
  });

  it('refuses an unknown type, an end below the start, and addresses of 2^53 or more', () => {
    expect(parseError(() => parseE820Log('BIOS-e820: [mem 0x0-0xfff] banana')).message).toContain('unknown e820 type');
    expect(parseError(() => parseE820Log('BIOS-e820: [mem 0x2000-0xfff] usable')).message).toContain('below start');
    expect(parseError(() => parseE820Log('BIOS-e820: [mem 0x0-0xffffffffffffffff] usable')).message).toContain('2^53');
    expect(parseError(() => parseE820Log('BIOS-e820: [mem 0x0-0x1ffffffffffffffff] usable')).message).toContain('64 bits');
    expect(parseError(() => parseE820Log('BIOS-e820: [mem 0x20000000000000-0x20000000000fff] usable')).message).toContain('2^53');
  });

  it('accepts the largest end that is still a safe integer (from a base above 0: the length must be safe too)', () => {
    expect(parseE820Log('BIOS-e820: [mem 0x1000-0x1fffffffffffff] reserved')[0]!.lengthBytes).toBe(2 ** 53 - 0x1000);
  });
});

describe('parseSysfsMemmap', () => {
  it('reads N START END TYPE with an inclusive end and multi-word types', () => {
    expect(parseSysfsMemmap('0 0x0 0x9fbff System RAM\n1 0x9fc00 0xfffff Reserved\n\n# comment\n2 100000 1fffff ACPI Non-volatile Storage\n')).toEqual([
      { base: 0, lengthBytes: 0x9fc00, kind: 'usable', firmwareType: 'System RAM' },
      { base: 0x9fc00, lengthBytes: 0x60400, kind: 'reserved', firmwareType: 'Reserved' },
      { base: 0x10_0000, lengthBytes: 0x10_0000, kind: 'acpi-nvs', firmwareType: 'ACPI Non-volatile Storage' },
    ]);
  });

  it('maps the type strings of Linux e820_type_to_string', () => {
    expect(sysfsTypeToKind('ACPI Tables')).toBe('acpi-reclaimable');
    expect(sysfsTypeToKind('Unusable memory')).toBe('bad-memory');
    expect(sysfsTypeToKind('Persistent Memory (legacy)')).toBe('reserved');
    expect(sysfsTypeToKind('Soft Reserved')).toBe('reserved');
    expect(sysfsTypeToKind('System RAM')).toBe('usable');
    expect(sysfsTypeToKind('Lunch')).toBeNull();
  });

  it('reports the line and column of what does not parse', () => {
    const e = parseError(() => parseSysfsMemmap('0 0x0 0xfff System RAM\n1 0x1000 0x1fff Lunch'));
    expect([e.line, e.column]).toEqual([2, 17]);
    expect(parseError(() => parseSysfsMemmap('0 0x0')).line).toBe(1);
    expect(parseError(() => parseSysfsMemmap('0 0x1000 0x0 Reserved')).message).toContain('below start');
  });
});

function mb2Tag(entries: [number | bigint, number | bigint, number][], entrySize = 24): Uint8Array {
  const b = new Bytes().u32(6).u32(16 + entries.length * entrySize).u32(entrySize).u32(0);
  for (const [base, len, type] of entries) b.u64(base).u64(len).u32(type).u32(0).zeros(entrySize - 24);
  return b.build();
}

describe('parseMultiboot2MemoryMapTag', () => {
  it('walks entries by entry_size, not by 24', () => {
    const regions = parseMultiboot2MemoryMapTag(mb2Tag([[0, 0x9fc00, 1], [0x10_0000, 0x700_0000, 3], [0xfd_0000_0000, 0x3_0000_0000, 20]], 32));
    expect(regions.map((r) => [r.base, r.lengthBytes, r.kind])).toEqual([
      [0, 0x9fc00, 'usable'],
      [0x10_0000, 0x700_0000, 'acpi-reclaimable'],
      [0xfd_0000_0000, 0x3_0000_0000, 'reserved'],
    ]);
    expect(regions[2]!.firmwareType).toBe('GRUB_MEMORY_CODE (20)');
  });

  it('maps multiboot types 1-5 (multiboot2 spec 3.6.8)', () => {
    expect(parseMultiboot2MemoryMapTag(mb2Tag([1, 2, 3, 4, 5].map((t) => [t * 0x1000, 0x1000, t]))).map((r) => r.kind)).toEqual(['usable', 'reserved', 'acpi-reclaimable', 'acpi-nvs', 'bad-memory']);
  });

  it('refuses a wrong tag type, a size overflowing the input, a bad entry_size and a partial entry', () => {
    const good = mb2Tag([[0, 0x1000, 1]]);
    const wrongType = good.slice();
    wrongType[0] = 7;
    expect(parseError(() => parseMultiboot2MemoryMapTag(wrongType)).offset).toBe(0);
    expect(parseError(() => parseMultiboot2MemoryMapTag(good.subarray(0, 39))).offset).toBe(4);
    const zeroEntry = good.slice();
    zeroEntry[8] = 0;
    expect(parseError(() => parseMultiboot2MemoryMapTag(zeroEntry)).offset).toBe(8);
    const partial = new Bytes().u32(6).u32(16 + 30).u32(24).u32(0).zeros(30).build();
    expect(parseError(() => parseMultiboot2MemoryMapTag(partial)).message).toContain('whole number');
    expect(parseError(() => parseMultiboot2MemoryMapTag(new Uint8Array(3))).message).toContain('truncated');
  });

  it('refuses lengths that wrap past 2^64 and values of 2^53 or more, at the entry offset', () => {
    const wrap = parseError(() => parseMultiboot2MemoryMapTag(mb2Tag([[0, 0x1000, 1], [0x1000, MAX64, 1]])));
    expect(wrap.offset).toBe(40);
    expect(wrap.message).toContain('wraps past 2^64');
    expect(parseError(() => parseMultiboot2MemoryMapTag(mb2Tag([[1n << 53n, 0x1000, 1]]))).message).toContain('2^53');
    expect(parseError(() => parseMultiboot2MemoryMapTag(mb2Tag([[(1n << 53n) - 0x1000n, 0x2000, 1]]))).message).toContain('beyond 2^53');
  });
});

describe('parseMultiboot2Info', () => {
  function info(tags: Uint8Array[], totalExtra = 0): Uint8Array {
    const b = new Bytes();
    const body: number[] = [];
    for (const t of tags) {
      body.push(...t);
      while (body.length % 8 !== 0) body.push(0);
    }
    body.push(0, 0, 0, 0, 8, 0, 0, 0);
    b.u32(8 + body.length + totalExtra).u32(0);
    return Uint8Array.from([...b.build(), ...body]);
  }

  it('walks 8-byte aligned tags to the end tag and finds tags 4, 6 and 17', () => {
    const cmdline = new Bytes().u32(1).u32(13).build();
    const bytes = info([Uint8Array.from([...cmdline, 0x61, 0x62, 0x63, 0x64, 0]), new Bytes().u32(4).u32(16).u32(639).u32(129920).build(), mb2Tag([[0, 0x9f000, 1]]), new Bytes().u32(17).u32(16 + 48).u32(48).u32(1).u32(7).u32(0).u64(0x10_0000).u64(0).u64(16).u64(0xf).zeros(8).build()]);
    const r = parseMultiboot2Info(bytes);
    expect(r.tags.map((t) => t.type)).toEqual([1, 4, 6, 17, 0]);
    expect(r.tags[1]!.offset).toBe(8 + 16);
    expect(r.basicMemInfo).toEqual({ memLowerKiB: 639, memUpperKiB: 129920 });
    expect(r.memoryMap).toHaveLength(1);
    expect(r.efiMemoryMap).toEqual([{ base: 0x10_0000, lengthBytes: 0x10000, kind: 'usable', firmwareType: 'EfiConventionalMemory (7)' }]);
    expect(r.regions).toBe(r.memoryMap);
  });

  it('falls back to the EFI map when there is no tag 6, and to null when there is neither', () => {
    const efiOnly = parseMultiboot2Info(info([new Bytes().u32(17).u32(16 + 48).u32(48).u32(1).u32(9).u32(0).u64(0x10_0000).u64(0).u64(1).u64(0).zeros(8).build()]));
    expect(efiOnly.regions).toBe(efiOnly.efiMemoryMap);
    expect(efiOnly.regions![0]!.kind).toBe('acpi-reclaimable');
    expect(parseMultiboot2Info(info([])).regions).toBeNull();
    expect(parseError(() => parseMemoryMap(info([]), { format: 'multiboot2-info' })).message).toContain('no memory map tag');
  });

  it('reports EFI map errors at their offset in the whole structure', () => {
    const bytes = info([new Bytes().u32(17).u32(16 + 48).u32(48).u32(1).u32(7).u32(0).u64(0x10_0800).u64(0).u64(1).u64(0).zeros(8).build()]);
    expect(parseError(() => parseMultiboot2Info(bytes)).offset).toBe(8 + 16 + 8);
  });

  it('refuses a total_size beyond the input, tags below 8 bytes or past total_size, and a missing end tag', () => {
    const ok = info([]);
    expect(parseError(() => parseMultiboot2Info(ok.subarray(0, 12))).offset).toBe(0);
    const tiny = ok.slice();
    tiny[12] = 4;
    expect(parseError(() => parseMultiboot2Info(tiny)).offset).toBe(12);
    const past = ok.slice();
    past[12] = 0x40;
    expect(parseError(() => parseMultiboot2Info(past)).message).toContain('overflows total_size');
    const noEnd = new Bytes().u32(24).u32(0).u32(1).u32(16).zeros(8).build();
    expect(parseError(() => parseMultiboot2Info(noEnd)).message).toContain('no end tag');
  });
});

describe('parseMultiboot1Mmap', () => {
  it('steps by size + 4 (size excludes itself)', () => {
    const bytes = new Bytes().u32(24).u64(0).u64(0x9fc00).u32(1).u32(0xdead).u32(20).u64(0x10_0000).u64(0x1000).u32(2).build();
    expect(parseMultiboot1Mmap(bytes).map((r) => [r.base, r.lengthBytes, r.kind])).toEqual([
      [0, 0x9fc00, 'usable'],
      [0x10_0000, 0x1000, 'reserved'],
    ]);
  });

  it('refuses a size below 20 (it would never advance) and entries past the buffer', () => {
    expect(parseError(() => parseMultiboot1Mmap(new Bytes().u32(0).zeros(20).build())).offset).toBe(0);
    expect(parseError(() => parseMultiboot1Mmap(new Bytes().u32(20).zeros(20).u32(20).zeros(19).build())).offset).toBe(24);
  });

  it('reads the multiboot_info memory fields only when their flags are set', () => {
    expect(parseMultiboot1Info(new Bytes().u32(0).build())).toEqual({
      flags: 0, memLowerKiB: null, memUpperKiB: null, mmapLengthBytes: null, mmapAddr: null, modsCount: null, modsAddr: null, cmdlinePa: null, bootLoaderNamePa: null,
    });
    expect(parseError(() => parseMultiboot1Info(new Bytes().u32(0x40).zeros(20).build())).message).toContain('truncated');
  });
});

function efiDescriptor(b: Bytes, type: number, start: number | bigint, pages: number | bigint, size = 48): Bytes {
  return b.u32(type).u32(0).u64(start).u64(0).u64(pages).u64(0xf).zeros(size - 40);
}

describe('parseUefiMemoryMap', () => {
  it('walks by DescriptorSize and maps every type (UEFI spec 7.2)', () => {
    const b = new Bytes();
    for (let t = 0; t <= 15; t++) efiDescriptor(b, t, t * 0x1000, 1, 56);
    efiDescriptor(b, 0x8000_0001, 0x10_0000, 2, 56);
    const kinds = parseUefiMemoryMap(b.build(), { descriptorSize: 56 }).map((r) => r.kind);
    expect(kinds).toEqual(['reserved', 'usable', 'usable', 'usable', 'usable', 'reserved', 'reserved', 'usable', 'bad-memory', 'acpi-reclaimable', 'acpi-nvs', 'reserved', 'reserved', 'reserved', 'reserved', 'reserved', 'reserved']);
    const before = parseUefiMemoryMap(b.build(), { descriptorSize: 56, exitedBootServices: false }).map((r) => r.kind);
    expect(before.slice(1, 5)).toEqual(['bootloader-reclaimable', 'bootloader-reclaimable', 'bootloader-reclaimable', 'bootloader-reclaimable']);
    expect(before[7]).toBe('usable');
  });

  it('computes NumberOfPages * 4096 exactly above 2^32', () => {
    const r = parseUefiMemoryMap(efiDescriptor(new Bytes(), 7, 0x1_0000_0000, 0x10_0001).build(), { descriptorSize: 48 });
    expect(r[0]!.lengthBytes).toBe(0x10_0001 * 4096);
  });

  it('refuses bad descriptor sizes and versions, partial descriptors, misaligned starts, and page counts that wrap', () => {
    const one = efiDescriptor(new Bytes(), 7, 0, 1).build();
    expect(parseError(() => parseUefiMemoryMap(one, { descriptorSize: 32 })).message).toContain('descriptor size');
    expect(parseError(() => parseUefiMemoryMap(one, { descriptorSize: 44 })).message).toContain('descriptor size');
    expect(parseError(() => parseUefiMemoryMap(one, { descriptorSize: 48, descriptorVersion: 0 })).message).toContain('version');
    expect(parseError(() => parseUefiMemoryMap(one.subarray(0, 47), { descriptorSize: 48 })).offset).toBe(0);
    expect(parseError(() => parseUefiMemoryMap(Uint8Array.from([...one, ...one.subarray(0, 10)]), { descriptorSize: 48 })).offset).toBe(48);
    expect(parseError(() => parseUefiMemoryMap(efiDescriptor(new Bytes(), 7, 0x800, 1).build(), { descriptorSize: 48 })).offset).toBe(8);
    expect(parseError(() => parseUefiMemoryMap(efiDescriptor(new Bytes(), 7, 0, 1n << 52n).build(), { descriptorSize: 48 })).message).toContain('wraps past 2^64');
    expect(parseError(() => parseUefiMemoryMap(efiDescriptor(new Bytes(), 7, 0x1000, 1n << 41n).build(), { descriptorSize: 48 })).message).toContain('2^53');
  });
});

describe('parseLimineMemmap', () => {
  it('reads 24-byte entries with Limine type numbers 0-8', () => {
    const b = new Bytes();
    for (let t = 0; t <= 9; t++) b.u64(t * 0x1000).u64(0x1000).u64(t);
    expect(parseLimineMemmap(b.build()).map((r) => r.kind)).toEqual(['usable', 'reserved', 'acpi-reclaimable', 'acpi-nvs', 'bad-memory', 'bootloader-reclaimable', 'kernel-and-modules', 'framebuffer', 'reserved', 'reserved']);
  });

  it('refuses partial entries, huge types, and wrapping lengths', () => {
    expect(parseError(() => parseLimineMemmap(new Uint8Array(25))).offset).toBe(24);
    expect(parseError(() => parseLimineMemmap(new Bytes().u64(0).u64(1).u64(1n << 32n).build())).offset).toBe(16);
    expect(parseError(() => parseLimineMemmap(new Bytes().u64(0).u64(0x1000).u64(0).u64(0x1000).u64(MAX64).u64(0).build())).offset).toBe(24);
  });
});

describe('limineEntriesToRegions / parseLimineJson', () => {
  it('accepts numbers, hex strings, type numbers, LIMINE_MEMMAP_* names and kinds', () => {
    expect(limineEntriesToRegions([{ base: 0, length: '0x9_f000', type: 0 }, { base: '0x100000', length: 4096, type: 'LIMINE_MEMMAP_FRAMEBUFFER' }, { base: 0x20_0000, length: 4096, type: 'kernel-and-modules' }]).map((r) => [r.base, r.lengthBytes, r.kind])).toEqual([
      [0, 0x9f000, 'usable'],
      [0x10_0000, 4096, 'framebuffer'],
      [0x20_0000, 4096, 'kernel-and-modules'],
    ]);
    expect(parseLimineJson('{"entries":[{"base":"0x0","length":"0x1000","type":5}]}')[0]!.kind).toBe('bootloader-reclaimable');
  });

  it('refuses unsafe numbers, bad fields and bad JSON, with the entry index or text offset', () => {
    expect(parseError(() => limineEntriesToRegions([{ base: 0, length: 1, type: 0 }, { base: 2 ** 53, length: 1, type: 0 }])).offset).toBe(1);
    expect(parseError(() => limineEntriesToRegions([{ base: 0, length: 1.5, type: 0 }])).message).toContain('safe integer');
    expect(parseError(() => limineEntriesToRegions([{ base: 0, length: '0xffffffffffffffff', type: 0 }])).message).toContain('2^53');
    expect(parseError(() => limineEntriesToRegions([{ base: 0, length: 1, type: 'lunch' }])).message).toContain('type');
    expect(parseError(() => limineEntriesToRegions([null])).message).toContain('not an object');
    expect(parseError(() => parseLimineJson('[{"base": 0,, }]')).line).toBe(1);
    expect(parseError(() => parseLimineJson('{"x": 1}')).message).toContain('entries');
  });
});

describe('detectMemoryMapFormat / parseMemoryMap', () => {
  it('trusts a known file-name suffix first', () => {
    expect(detectMemoryMapFormat(new Uint8Array(0), 'x.e820.txt')).toBe('e820-log');
    expect(detectMemoryMapFormat(new Uint8Array(0), 'board.limine.bin')).toBe('limine');
    expect(detectMemoryMapFormat(new Uint8Array(0), 'limine-dump.json')).toBe('limine-json');
  });

  it('sniffs text formats and Limine binary entries by content', () => {
    const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    expect(detectMemoryMapFormat(enc('0 0x0 0x9fbff System RAM\n'))).toBe('sysfs-memmap');
    expect(detectMemoryMapFormat(enc(' [{"base":0,"length":4096,"type":0}]'))).toBe('limine-json');
    const limine = new Bytes().u64(0x1000).u64(0x9e000).u64(0).u64(0x10_0000).u64(0x7f0_0000).u64(0).u64(0x800_0000).u64(0x20_0000).u64(6).build();
    expect(detectMemoryMapFormat(limine)).toBe('limine');
    expect(parseMemoryMap(limine).regions).toHaveLength(3);
    expect(detectMemoryMapFormat(Uint8Array.from([1, 2, 3]))).toBeNull();
    expect(parseError(() => parseMemoryMap(Uint8Array.from([1, 2, 3]))).message).toContain('unrecognised');
  });

  it('parses a string input as text', () => {
    expect(parseMemoryMap('BIOS-e820: [mem 0x0-0xfff] usable').regions).toHaveLength(1);
  });
});

describe('the 2^53 boundary', () => {
  it('is the same for binary and text parsers: an exclusive end of exactly 2^53 is accepted, one more byte is not', () => {
    const top = 1n << 53n;
    expect(parseMultiboot2MemoryMapTag(mb2Tag([[top - 0x1000n, 0x1000, 2]]))[0]!.lengthBytes).toBe(0x1000);
    expect(parseError(() => parseMultiboot2MemoryMapTag(mb2Tag([[top - 0x1000n, 0x1001, 2]]))).message).toContain('beyond 2^53');
    expect(parseE820Log('BIOS-e820: [mem 0x1ffffffffff000-0x1fffffffffffff] reserved')[0]!.lengthBytes).toBe(0x1000);
  });
});
