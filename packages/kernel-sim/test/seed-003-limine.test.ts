// Seed 003 (BoredOS, a Limine-booted kernel): the memory map as its bootloader names it.
// Limine renamed memmap type 6 from LIMINE_MEMMAP_KERNEL_AND_MODULES to
// LIMINE_MEMMAP_EXECUTABLE_AND_MODULES without changing its value (Limine PROTOCOL.md,
// "Memory Map Feature"); a dump written by an older Limine or kernel must read the same.
import { describe, expect, it } from 'vitest';
import { LIMINE_TYPE_ALIASES, MemoryMapParseError, limineEntriesToRegions, limineTypeNumber, parseMemoryMap } from '../src/index';
import { bootKernel } from './boot-helpers';

const MiB = 1024 * 1024;

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
