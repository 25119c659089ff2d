// Does every real firmware capture parse to exactly what the independent Python decoder
// (fixtures/memory-maps/decode-memmaps.py at the repo root, output in logs/decoded.txt) saw?
import { describe, expect, it } from 'vitest';
import {
  detectMemoryMapFormat,
  normalizeMemoryMap,
  parseE820Log,
  parseMemoryMap,
  parseMultiboot1Info,
  parseMultiboot1Mmap,
  parseMultiboot2Info,
  parseMultiboot2MemoryMapTag,
  parseSysfsMemmap,
  parseUefiMemoryMap,
  totalBytes,
  type MemoryRegion,
} from '../src/index';
import { LOCAL_FIXTURES, decodedSections, fixture, fixtureNames, fixtureText, uefiMeta, type DecodedSection } from './memory-map-helpers';

const decoded = decodedSections();

function section(title: string): DecodedSection {
  const s = decoded.get(title);
  if (!s) throw new Error(`decoded.txt has no section "${title}"`);
  return s;
}

/** The decoder's entry lines: base, inclusive end, length. */
function decodedEntries(s: DecodedSection): { base: number; end: number; lengthBytes: number; typeNumber: number | null }[] {
  const out = [];
  for (const line of s.lines) {
    const m = /^\s*\[\s*\d+\] 0x([0-9a-f]+)-0x([0-9a-f]+) len\s+0x([0-9a-f]+)\s+(\d+)?/.exec(line);
    if (m) out.push({ base: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), lengthBytes: parseInt(m[3]!, 16), typeNumber: m[4] === undefined ? null : Number(m[4]) });
  }
  return out;
}

function expectSameEntries(regions: MemoryRegion[], s: DecodedSection): void {
  const want = decodedEntries(s);
  expect(regions.length).toBe(s.entries);
  expect(want.length).toBe(s.entries);
  regions.forEach((r, i) => {
    expect(r.base).toBe(want[i]!.base);
    expect(r.lengthBytes).toBe(want[i]!.lengthBytes);
    expect(r.base + r.lengthBytes - 1).toBe(want[i]!.end);
    if (want[i]!.typeNumber !== null) expect(r.firmwareType).toContain(`(${want[i]!.typeNumber})`);
  });
}

const names = fixtureNames();

describe('memory-map fixtures', () => {
  it('has the shared captures to test against', () => {
    expect(names.length).toBeGreaterThanOrEqual(30);
  });

  for (const name of names.filter((n) => n.endsWith('.e820.txt'))) {
    it(`parses ${name} as the decoder does`, () => {
      const regions = parseE820Log(fixtureText(name));
      const s = section(name);
      expectSameEntries(regions, s);
      expect(totalBytes(regions)).toBe(s.usableBytes);
    });
  }

  for (const name of names.filter((n) => n.endsWith('.mb2.bin'))) {
    it(`parses the multiboot2 tag ${name} as the decoder does`, () => {
      const regions = parseMultiboot2MemoryMapTag(fixture(name));
      const s = section(name);
      expectSameEntries(regions, s);
      expect(totalBytes(regions)).toBe(s.usableBytes);
    });
  }

  for (const name of names.filter((n) => n.endsWith('.mb1.bin'))) {
    it(`parses the multiboot1 buffer ${name} as the decoder does`, () => {
      const regions = parseMultiboot1Mmap(fixture(name));
      const s = section(name);
      expectSameEntries(regions, s);
      expect(totalBytes(regions)).toBe(s.usableBytes);
    });
  }

  for (const name of names.filter((n) => n.endsWith('.mb2-info.bin'))) {
    it(`walks the multiboot2 information ${name}: tags, tag 6 and tag 17`, () => {
      const info = parseMultiboot2Info(fixture(name));
      const s = section(name);
      const tagTypes = s.lines.map((l) => /^\s*tag\s+(\d+) \(/.exec(l)?.[1]).filter((t) => t !== undefined).map(Number);
      expect(info.tags.map((t) => t.type)).toEqual(tagTypes);
      const tag6 = section(`${name} tag 6 memory map`);
      expectSameEntries(info.memoryMap!, tag6);
      expect(info.regions).toBe(info.memoryMap);
      const basic = s.lines.map((l) => /mem_lower (\d+) KiB, mem_upper (\d+) KiB/.exec(l)).find((m) => m);
      expect(info.basicMemInfo).toEqual({ memLowerKiB: Number(basic![1]), memUpperKiB: Number(basic![2]) });
      if (name.startsWith('ovmf')) {
        const tag17 = section(`${name} tag 17 EFI memory map`);
        expectSameEntries(info.efiMemoryMap!, tag17);
        expect(totalBytes(info.efiMemoryMap!)).toBe(tag17.usableAfterExitBootServices);
        const conventional = parseMultiboot2Info(fixture(name), { exitedBootServices: false }).efiMemoryMap!;
        expect(totalBytes(conventional)).toBe(tag17.usableBytes);
      } else {
        expect(info.efiMemoryMap).toBeNull();
      }
    });
  }

  for (const name of names.filter((n) => n.endsWith('.mb1-info.bin'))) {
    it(`reads the memory fields of the multiboot1 info ${name}`, () => {
      const info = parseMultiboot1Info(fixture(name));
      const s = section(name).lines.join('\n');
      expect(s).toContain(`flags 0x${info.flags.toString(16)} `);
      expect(s).toContain(`mem_lower ${info.memLowerKiB} KiB, mem_upper ${info.memUpperKiB} KiB`);
      expect(s).toContain(`mmap_length ${info.mmapLengthBytes}, mmap_addr 0x${info.mmapAddr!.toString(16)}`);
      // The buffer captured beside it is exactly mmap_length bytes.
      expect(fixture(name.replace('-info', '')).length).toBe(info.mmapLengthBytes);
    });
  }

  for (const name of names.filter((n) => n.endsWith('.efi-memmap.bin'))) {
    it(`parses the UEFI map ${name} by its DescriptorSize, before and after ExitBootServices`, () => {
      const meta = uefiMeta(name);
      const s = section(name);
      const after = parseUefiMemoryMap(fixture(name), meta);
      expectSameEntries(after, s);
      expect(totalBytes(after)).toBe(s.usableAfterExitBootServices);
      const before = parseUefiMemoryMap(fixture(name), { ...meta, exitedBootServices: false });
      expect(totalBytes(before)).toBe(s.usableBytes);
      expect(totalBytes(before, 'bootloader-reclaimable')).toBe(s.usableAfterExitBootServices! - s.usableBytes);
    });
  }

  for (const name of names) {
    it(`detects the format of ${name} from its content alone`, () => {
      const expected = name.endsWith('.e820.txt')
        ? 'e820-log'
        : name.endsWith('.mb2.bin')
          ? 'multiboot2-tag'
          : name.endsWith('.mb2-info.bin')
            ? 'multiboot2-info'
            : name.endsWith('.mb1.bin')
              ? 'multiboot1-mmap'
              : name.endsWith('.efi-memmap.bin')
                ? 'uefi'
                : null; // mb1-info holds no map
      expect(detectMemoryMapFormat(fixture(name))).toBe(expected);
    });
  }

  it('normalises every capture without overlaps to the same usable total', () => {
    for (const name of names.filter((n) => !n.includes('mb1-info'))) {
      const { regions } = parseMemoryMap(fixture(name), { fileName: name });
      const n = normalizeMemoryMap(regions);
      // "No capture had overlapping or zero-length entries" (fixtures README).
      expect(n.changes.filter((c) => c.type === 'overlap-resolved' || c.type === 'dropped-empty')).toEqual([]);
      expect(totalBytes(n.regions)).toBe(totalBytes(regions));
    }
  });

  it('reports that the q35 pflash 5G UEFI map is not sorted', () => {
    const name = 'ovmf-q35-pflash-5g.efi-memmap.bin';
    const n = normalizeMemoryMap(parseUefiMemoryMap(fixture(name), uefiMeta(name)));
    expect(n.changes[0]).toEqual({ type: 'reordered' });
  });

  it('gives the same normalised map for one machine seen through e820, multiboot1 and multiboot2', () => {
    const pairs: [string, string, string][] = [
      ['qemu-linux-128m.e820.txt', 'seabios-grub-128m.mb1.bin', 'seabios-grub-128m.mb2.bin'],
      ['qemu-q35-linux-5g.e820.txt', 'seabios-q35-grub-5g.mb1.bin', 'seabios-q35-grub-5g.mb2.bin'],
    ];
    for (const [e820, mb1, mb2] of pairs) {
      const strip = (rs: MemoryRegion[]) => normalizeMemoryMap(rs).regions;
      const a = strip(parseE820Log(fixtureText(e820)));
      expect(strip(parseMultiboot1Mmap(fixture(mb1)))).toEqual(a);
      expect(strip(parseMultiboot2MemoryMapTag(fixture(mb2)))).toEqual(a);
    }
  });

  it('UEFI after ExitBootServices normalises to the usable ranges GRUB hands over for the same machine', () => {
    const efi = normalizeMemoryMap(parseMultiboot2Info(fixture('ovmf-grub-5g.mb2-info.bin')).efiMemoryMap!).regions.filter((r) => r.kind === 'usable');
    const mb2 = normalizeMemoryMap(parseMultiboot2MemoryMapTag(fixture('ovmf-grub-5g.mb2.bin'))).regions.filter((r) => r.kind === 'usable');
    expect(efi).toEqual(mb2);
  });

  it('parses this machine’s own e820 log and sysfs memmap to the same map', () => {
    const e820 = parseE820Log(fixtureText('host-firecracker.e820.txt', LOCAL_FIXTURES));
    const sysfs = parseSysfsMemmap(fixtureText('host-firecracker.sysfs-memmap.txt', LOCAL_FIXTURES));
    expect(sysfs.map(({ base, lengthBytes, kind }) => ({ base, lengthBytes, kind }))).toEqual(e820.map(({ base, lengthBytes, kind }) => ({ base, lengthBytes, kind })));
    expect(totalBytes(sysfs)).toBe(25769409536);
    expect(detectMemoryMapFormat(fixture('host-firecracker.sysfs-memmap.txt', LOCAL_FIXTURES))).toBe('sysfs-memmap');
  });
});
