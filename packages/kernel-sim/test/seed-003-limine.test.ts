// Seed 003 (BoredOS, a Limine-booted kernel): the memory map as its bootloader names it.
// Limine renamed memmap type 6 from LIMINE_MEMMAP_KERNEL_AND_MODULES to
// LIMINE_MEMMAP_EXECUTABLE_AND_MODULES without changing its value (Limine PROTOCOL.md,
// "Memory Map Feature"); a dump written by an older Limine or kernel must read the same.
// And BoredOS's user programs start at 0x4000_0000: the layout's default PIE base.
import { describe, expect, it } from 'vitest';
import { HIGHER_HALF, InvalidLayoutError, LIMINE_HIGHER_HALF, LIMINE_TYPE_ALIASES, MemoryMapParseError, formatLayoutTable, limineEntriesToRegions, limineTypeNumber, parseElf64, parseMemoryMap, validateLayout } from '../src/index';
import { bootKernel } from './boot-helpers';
import { MiB, bootProcessKernel, elfFixture } from './process-helpers';


/** A 256 MiB Limine map as BoredOS would receive it, the kernel's entry under `typeName`. */
function boredOsMap(typeName: string): unknown[] {
  return [
    { base: '0x0', length: '0x9f000', type: 'LIMINE_MEMMAP_USABLE' },
    { base: '0x9f000', length: '0x61000', type: 'LIMINE_MEMMAP_RESERVED' },
    { base: '0x100000', length: '0x100000', type: 'LIMINE_MEMMAP_USABLE' },
    { base: '0x200000', length: '0x400000', type: typeName },
    { base: '0x600000', length: '0x7a00000', type: 'LIMINE_MEMMAP_USABLE' },
    { base: '0x8000000', length: '0x100000', type: 'LIMINE_MEMMAP_BOOTLOADER_RECLAIMABLE' },
    { base: '0x8100000', length: '0x7f00000', type: 'LIMINE_MEMMAP_USABLE' },
  ];
}

describe('seed 003: Limine type 6 under its older name', () => {
  it('LIMINE_MEMMAP_KERNEL_AND_MODULES is type 6, the same as LIMINE_MEMMAP_EXECUTABLE_AND_MODULES', () => {
    expect(limineTypeNumber('LIMINE_MEMMAP_KERNEL_AND_MODULES')).toBe(6);
    expect(limineTypeNumber('LIMINE_MEMMAP_EXECUTABLE_AND_MODULES')).toBe(6);
    expect(LIMINE_TYPE_ALIASES.LIMINE_MEMMAP_KERNEL_AND_MODULES).toBe(6);
    // Neither inherited object keys nor near misses are type names.
    expect(limineTypeNumber('toString')).toBe(-1);
    expect(limineTypeNumber('LIMINE_MEMMAP_KERNEL')).toBe(-1);
  });

  it('both names read as the same kernel-and-modules region, through the library and format detection', () => {
    const older = limineEntriesToRegions(boredOsMap('LIMINE_MEMMAP_KERNEL_AND_MODULES'));
    const newer = limineEntriesToRegions(boredOsMap('LIMINE_MEMMAP_EXECUTABLE_AND_MODULES'));
    expect(older).toEqual(newer);
    expect(older[3]).toMatchObject({ base: 2 * MiB, lengthBytes: 4 * MiB, kind: 'kernel-and-modules' });
    expect(older[3]!.firmwareType).toBe('LIMINE_MEMMAP_EXECUTABLE_AND_MODULES (6)');
    const detected = parseMemoryMap(JSON.stringify({ entries: boredOsMap('LIMINE_MEMMAP_KERNEL_AND_MODULES') }));
    expect(detected.format).toBe('limine-json');
    expect(detected.regions).toEqual(newer);
  });

  it('an unknown LIMINE_MEMMAP_* name is still refused with E_MEMMAP_PARSE at its entry', () => {
    const map = boredOsMap('LIMINE_MEMMAP_KERNEL_AND_MODULEZ');
    expect(() => limineEntriesToRegions(map)).toThrow(MemoryMapParseError);
    try {
      limineEntriesToRegions(map);
    } catch (e) {
      expect((e as MemoryMapParseError).code).toBe('E_MEMMAP_PARSE');
      expect((e as MemoryMapParseError).offset).toBe(3);
    }
  });

  it('the limine-higher-half layout boots on the older-named map, its image in the type-6 entry', () => {
    const regions = parseMemoryMap(JSON.stringify(boredOsMap('LIMINE_MEMMAP_KERNEL_AND_MODULES'))).regions;
    const kernel = bootKernel(regions, 'limine-higher-half');
    expect(kernel.state).toBe('running');
    expect(kernel.image.pa).toBe(2 * MiB);
    expect(kernel.image.pa + kernel.image.sizeBytes).toBeLessThanOrEqual(6 * MiB);
    kernel.checkInvariants();
  });
});

describe('seed 003: user programs start at 0x4000_0000', () => {
  const pie = elfFixture('hello-static-pie');

  it('limine-higher-half puts a PIE at 0x4000_0000 unless loadBias is given', () => {
    expect(LIMINE_HIGHER_HALF.pieBase).toBe(0x4000_0000);
    const kernel = bootProcessKernel({ layout: 'limine-higher-half' });
    const elf = parseElf64(pie);
    const p = kernel.exec(undefined, pie, ['hello'])!;
    expect(p.image!.plan.loadBias).toBe(0x4000_0000);
    expect(p.image!.plan.imageStart).toBe(0x4000_0000);
    expect(p.image!.plan.entry).toBe(elf.entry + 0x4000_0000);
    // The program's first page reads back as the file's first page, through the user's tables.
    kernel.switchTo(p.pid);
    expect(kernel.user.readBytes(0x4000_0000, 4096)).toEqual(pie.subarray(0, 4096));
    kernel.checkInvariants();

    const biased = kernel.exec(undefined, pie, ['hello'], [], { loadBias: 0x1_0000_0000 })!;
    expect(biased.image!.plan.imageStart).toBe(0x1_0000_0000);
    kernel.checkInvariants();
  });

  it('layouts without a pieBase keep Linux ELF_ET_DYN_BASE (0x0000_5555_5555_4000)', () => {
    expect(HIGHER_HALF.pieBase).toBeUndefined();
    const p = bootProcessKernel({ layout: 'higher-half' }).exec(undefined, pie, ['hello'])!;
    expect(p.image!.plan.imageStart).toBe(0x5555_5555_4000);
  });

  it('the layout table names the PIE base; a pieBase outside the user range is refused', () => {
    expect(formatLayoutTable(LIMINE_HIGHER_HALF)).toContain('user: programs (PIEs at 0x0000_0000_4000_0000), heap, mmap');
    for (const pieBase of [0x1000, 0x4000_0800, 2 ** 47]) {
      expect(() => validateLayout({ ...LIMINE_HIGHER_HALF, pieBase })).toThrow(InvalidLayoutError);
    }
    expect(validateLayout({ ...LIMINE_HIGHER_HALF, pieBase: 0x8000_0000 }).pieBase).toBe(0x8000_0000);
  });
});
