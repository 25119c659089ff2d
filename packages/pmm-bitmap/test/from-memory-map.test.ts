import { describe, expect, it } from 'vitest';
import { BitmapFrameAllocator } from '../src/index';
import type { MemoryRegion } from '../src/index';
import { readE820, readEfiMemmap } from './helpers/fixtures';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe('BitmapFrameAllocator.fromMemoryMap on real machines', () => {
  it('qemu-linux-128m.e820.txt: frees usable RAM above 1 MiB and ignores the reserved 12 GiB far above RAM', () => {
    const pmm = BitmapFrameAllocator.fromMemoryMap(readE820('qemu-linux-128m.e820.txt'));
    // usable 0x100000-0x7fdffff (END inclusive) is the last RAM: 0x7fe0000 bytes managed.
    expect(pmm.endPa).toBe(0x7fe0000);
    expect(pmm.stats().freeFrames).toBe((0x7fe0000 - MiB) / 4096);
    expect(pmm.allocFrame()).toBe(MiB);
    pmm.checkInvariants();
  });

  it('qemu-linux-128m.e820.txt without the low reserve: the EBDA partial frame stays reserved', () => {
    const pmm = BitmapFrameAllocator.fromMemoryMap(readE820('qemu-linux-128m.e820.txt'), { reserveLowBytes: 0 });
    // usable 0x0-0x9fbff rounds inward to frames 0..0x9e; reserved 0x9fc00-0x9ffff outward to 0x9f.
    expect(pmm.isFree(0x9e000)).toBe(true);
    expect(pmm.isFree(0x9f000)).toBe(false);
    expect(pmm.isReserved(0x9f000)).toBe(true);
    expect(pmm.isReserved(0xa0000)).toBe(true); // 0xa0000-0xeffff is in no entry: a hole
    expect(pmm.isFree(0)).toBe(false); // frame 0 always reserved
    expect(pmm.stats().freeFrames).toBe(0x9e + (0x7fe0000 - MiB) / 4096);
    pmm.checkInvariants();
  });

  it('qemu-q35-linux-5g.e820.txt: the PCI hole and MMCONFIG are never-usable, RAM above 4 GiB is free', () => {
    const pmm = BitmapFrameAllocator.fromMemoryMap(readE820('qemu-q35-linux-5g.e820.txt'));
    expect(pmm.endPa).toBe(0x1c0000000);
    const ram = 0x7ffdf000 - MiB + (0x1c0000000 - 4 * GiB);
    expect(pmm.stats().freeFrames).toBe(ram / 4096);
    expect(pmm.stats().reservedFrames).toBe(pmm.totalFrames - ram / 4096);
    expect(pmm.isReserved(0xb0000000)).toBe(true);
    expect(() => pmm.freeFrame(0xb0000000)).toThrow(expect.objectContaining({ code: 'E_FREE_RESERVED' }));
    expect(pmm.zone('normal').freeFrames()).toBe((0x1c0000000 - 4 * GiB) / 4096);
    expect(pmm.zone('dma').freeFrames()).toBe((16 * MiB - MiB) / 4096);
    pmm.checkInvariants();
  });

  it('qemu-ovmf-linux-5g.e820.txt: ACPI NVS islands inside low RAM are never-usable, ACPI data is reclaimable', () => {
    const pmm = BitmapFrameAllocator.fromMemoryMap(readE820('qemu-ovmf-linux-5g.e820.txt'));
    expect(pmm.isReserved(0x800000)).toBe(true); // ACPI NVS 0x800000-0x807fff
    expect(pmm.isFree(0x808000)).toBe(true);
    expect(pmm.isFree(0xbf76d000)).toBe(false); // ACPI data: in use...
    expect(pmm.isReserved(0xbf76d000)).toBe(false); // ...but RAM the kernel may reclaim
    pmm.freeContiguous(0xbf76d000, (0xbf77f000 - 0xbf76d000) / 4096);
    expect(pmm.isFree(0xbf76d000)).toBe(true);
    const reclaim = BitmapFrameAllocator.fromMemoryMap(readE820('qemu-ovmf-linux-5g.e820.txt'), {
      usableKinds: ['usable', 'acpi-reclaimable'],
    });
    expect(reclaim.stats().freeFrames).toBe(pmm.stats().freeFrames);
    pmm.checkInvariants();
  });

  it('ovmf-q35-pflash-5g.efi-memmap.bin: unsorted entries; free bytes are the README figure after ExitBootServices minus the low MiB', () => {
    const regions = readEfiMemmap('ovmf-q35-pflash-5g.efi-memmap.bin');
    expect(regions).toHaveLength(125);
    const pmm = BitmapFrameAllocator.fromMemoryMap(regions, { usableKinds: ['usable', 'bootloader-reclaimable'] });
    // README: 5361950720 bytes usable after ExitBootServices; 0x0-0x9ffff of it lies below 1 MiB.
    expect(pmm.stats().freeFrames).toBe((5361950720 - 0xa0000) / 4096);
    expect(pmm.isReserved(0xffc00000)).toBe(true); // EfiMemoryMappedIO (the flash), listed after RAM above 4 GiB
    pmm.checkInvariants();
  });

  it('ovmf-128m.efi-memmap.bin: loader memory stays in use by default and can be freed later', () => {
    const regions = readEfiMemmap('ovmf-128m.efi-memmap.bin');
    const pmm = BitmapFrameAllocator.fromMemoryMap(regions);
    const loader = regions.filter((r) => r.kind === 'bootloader-reclaimable' && r.base >= MiB);
    expect(loader.length).toBeGreaterThan(0);
    const before = pmm.stats().freeFrames;
    for (const r of loader) pmm.freeContiguous(r.base, r.lengthBytes / 4096);
    const loaderFrames = loader.reduce((n, r) => n + r.lengthBytes / 4096, 0);
    expect(pmm.stats().freeFrames).toBe(before + loaderFrames);
    pmm.checkInvariants();
  });
});

describe('BitmapFrameAllocator.fromMemoryMap rounding and precedence', () => {
  it('rounds usable ranges inward and reserved ranges outward', () => {
    const pmm = BitmapFrameAllocator.fromMemoryMap(
      [
        { base: 0x100800, lengthBytes: 0x3000, kind: 'usable' }, // 0x100800-0x1037ff -> frames 0x101, 0x102
        { base: 0x200000, lengthBytes: 0x10000, kind: 'usable' },
        { base: 0x204fff, lengthBytes: 2, kind: 'reserved' }, // touches frames 0x204 and 0x205
      ],
      { reserveLowBytes: 0 },
    );
    expect([...pmm.freeRuns()]).toEqual([
      { start: 0x101000, frameCount: 2 },
      { start: 0x200000, frameCount: 4 },
      { start: 0x206000, frameCount: 10 },
    ]);
    expect(pmm.isReserved(0x100000)).toBe(true);
    pmm.checkInvariants();
  });

  it('lets reserved win over usable whatever the order of entries', () => {
    const usable: MemoryRegion = { base: 0, lengthBytes: 4 * MiB, kind: 'usable' };
    const bad: MemoryRegion = { base: 2 * MiB, lengthBytes: 4096, kind: 'bad-memory' };
    for (const map of [[usable, bad], [bad, usable]]) {
      const pmm = BitmapFrameAllocator.fromMemoryMap(map);
      expect(pmm.isFree(2 * MiB)).toBe(false);
      expect(pmm.isReserved(2 * MiB)).toBe(true);
      expect(pmm.stats().freeFrames).toBe((3 * MiB) / 4096 - 1);
    }
  });

  it('keeps kernel-and-modules and the reserved option in use, freeable later', () => {
    const pmm = BitmapFrameAllocator.fromMemoryMap(
      [
        { base: 0, lengthBytes: 8 * MiB, kind: 'usable' },
        { base: 2 * MiB, lengthBytes: MiB, kind: 'kernel-and-modules' },
      ],
      { reserved: [{ base: 4 * MiB + 1, lengthBytes: 4096 }, { base: 6 * MiB, lengthBytes: 4096, permanent: true }] },
    );
    expect(pmm.isFree(2 * MiB)).toBe(false);
    expect(pmm.isFree(4 * MiB)).toBe(false);
    expect(pmm.isFree(4 * MiB + 4096)).toBe(false); // outward: 4 MiB + 1 .. + 4097 spans two frames
    pmm.freeContiguous(2 * MiB, 256);
    pmm.freeContiguous(4 * MiB, 2);
    expect(() => pmm.freeFrame(6 * MiB)).toThrow(expect.objectContaining({ code: 'E_FREE_RESERVED' }));
    pmm.checkInvariants();
  });

  it('treats bootloader-reclaimable as usable when asked', () => {
    const map: MemoryRegion[] = [
      { base: MiB, lengthBytes: MiB, kind: 'usable' },
      { base: 2 * MiB, lengthBytes: MiB, kind: 'bootloader-reclaimable' },
    ];
    expect(BitmapFrameAllocator.fromMemoryMap(map).stats().freeFrames).toBe(256);
    expect(BitmapFrameAllocator.fromMemoryMap(map, { usableKinds: ['usable', 'bootloader-reclaimable'] }).stats().freeFrames).toBe(512);
  });

  it('places the bitmap through the bitmapPa option', () => {
    const pmm = BitmapFrameAllocator.fromMemoryMap([{ base: 0, lengthBytes: 64 * MiB, kind: 'usable' }], { bitmapPa: MiB });
    expect(pmm.bitmapBytes).toBe(2048);
    expect(pmm.isReserved(MiB)).toBe(true);
    expect(pmm.allocFrame()).toBe(MiB + 4096);
    pmm.checkInvariants();
  });
});

describe('BitmapFrameAllocator.fromMemoryMap on hostile maps', () => {
  it('ignores zero-length entries and duplicates', () => {
    const pmm = BitmapFrameAllocator.fromMemoryMap([
      { base: 0, lengthBytes: 4 * MiB, kind: 'usable' },
      { base: 0, lengthBytes: 4 * MiB, kind: 'usable' },
      { base: 3 * MiB, lengthBytes: 0, kind: 'reserved' },
      { base: 9 * MiB, lengthBytes: 0, kind: 'usable' },
    ]);
    expect(pmm.endPa).toBe(4 * MiB);
    expect(pmm.stats().freeFrames).toBe(768);
  });

  it('clips regions past MAXPHYADDR', () => {
    const pmm = BitmapFrameAllocator.fromMemoryMap(
      [
        { base: 0, lengthBytes: 2 * MiB, kind: 'usable' },
        { base: 2 ** 32 - MiB, lengthBytes: 3 * MiB, kind: 'usable' }, // crosses 2^32
        { base: 2 ** 40, lengthBytes: GiB, kind: 'usable' }, // entirely past 2^32
      ],
      { maxPhysAddrBits: 32 },
    );
    expect(pmm.endPa).toBe(2 ** 32);
    expect(pmm.stats().freeFrames).toBe(256 + 256);
    pmm.checkInvariants();
  });

  it('does not try to manage a usable entry near 2^52: maxFrameCount caps it and ignoredBytes says how much', () => {
    const pmm = BitmapFrameAllocator.fromMemoryMap(
      [
        { base: 0, lengthBytes: 4 * MiB, kind: 'usable' },
        { base: 2 ** 52 - 8192, lengthBytes: 2 ** 40, kind: 'usable' },
      ],
      { maxFrameCount: 2048 },
    );
    expect(pmm.totalFrames).toBe(2048);
    expect(pmm.ignoredBytes).toBe(8192);
    expect(pmm.stats().freeFrames).toBe(768);
  });

  it('builds an allocator with nothing free from a map with no RAM', () => {
    for (const map of [[], [{ base: 0, lengthBytes: GiB, kind: 'reserved' } as const], [{ base: 0, lengthBytes: 4095, kind: 'usable' } as const]]) {
      const pmm = BitmapFrameAllocator.fromMemoryMap(map);
      expect(pmm.totalFrames).toBe(1);
      expect(pmm.allocFrame()).toBeNull();
      pmm.checkInvariants();
    }
  });

  it('refuses malformed entries with their index', () => {
    const good: MemoryRegion = { base: 0, lengthBytes: MiB, kind: 'usable' };
    const cases: unknown[] = [
      { base: Number.NaN, lengthBytes: 1, kind: 'usable' },
      { base: -4096, lengthBytes: 1, kind: 'usable' },
      { base: 0, lengthBytes: -1, kind: 'usable' },
      { base: 0, lengthBytes: 2 ** 53, kind: 'usable' },
      { base: 0.5, lengthBytes: 1, kind: 'usable' },
      { base: 0, lengthBytes: 1, kind: 'ram' },
      null,
      '0x1000',
    ];
    for (const bad of cases) {
      expect(() => BitmapFrameAllocator.fromMemoryMap([good, bad as MemoryRegion])).toThrow(
        expect.objectContaining({ code: 'E_BAD_MEMORY_MAP', index: 1 }),
      );
    }
    expect(() => BitmapFrameAllocator.fromMemoryMap({} as MemoryRegion[])).toThrow(expect.objectContaining({ code: 'E_BAD_MEMORY_MAP' }));
  });

  it('refuses options outside their domain', () => {
    const map: MemoryRegion[] = [{ base: 0, lengthBytes: MiB, kind: 'usable' }];
    for (const options of [
      { maxPhysAddrBits: 31 },
      { maxPhysAddrBits: 53 },
      { maxPhysAddrBits: Number.NaN },
      { usableKinds: ['usable', 'reserved'] as const },
      { usableKinds: ['bad-memory'] as const },
      { maxFrameCount: 0 },
      { maxFrameCount: 2 ** 31 + 1 },
      { reserveLowBytes: 1.5 },
    ]) {
      expect(() => BitmapFrameAllocator.fromMemoryMap(map, options)).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    }
  });
});
