// Shared by the boot and kernel tests: fixture memory maps, a 64 GiB map, booted kernels.
import { EventLog, Kernel, Machine, parseMemoryMap, type KernelOptions, type LayoutName, type MemoryRegion } from '../src/index';
import { LOCAL_FIXTURES, fixture, fixtureNames, uefiMeta } from './memory-map-helpers';

export const LAYOUT_NAMES: readonly LayoutName[] = ['identity-low', 'higher-half', 'limine-higher-half'];
const GiB = 1024 * 1024 * 1024;

/** Every shared and local fixture that holds a memory map (the mb1-info files hold only pointers). */
export function bootFixtures(): { name: string; regions: MemoryRegion[] }[] {
  const out: { name: string; regions: MemoryRegion[] }[] = [];
  for (const n of fixtureNames()) {
    if (n.endsWith('.mb1-info.bin')) continue;
    const options = n.includes('efi-memmap') ? { fileName: n, uefi: uefiMeta(n) } : { fileName: n };
    out.push({ name: n, regions: parseMemoryMap(fixture(n), options).regions });
  }
  for (const n of fixtureNames(LOCAL_FIXTURES)) out.push({ name: `local/${n}`, regions: parseMemoryMap(fixture(n, LOCAL_FIXTURES), { fileName: n }).regions });
  return out;
}

/** A PC-like map of `ramGiB` GiB: low memory, the legacy hole, RAM to 3 GiB, the PCI hole, the rest above 4 GiB. */
export function bigMemoryMap(ramGiB: number): MemoryRegion[] {
  return [
    { base: 0, lengthBytes: 0x9fc00, kind: 'usable' },
    { base: 0x9fc00, lengthBytes: 0x400, kind: 'reserved' },
    { base: 0xf0000, lengthBytes: 0x10000, kind: 'reserved' },
    { base: 0x100000, lengthBytes: 3 * GiB - 0x100000, kind: 'usable' },
    { base: 3 * GiB, lengthBytes: GiB, kind: 'reserved' },
    { base: 4 * GiB, lengthBytes: (ramGiB - 3) * GiB, kind: 'usable' },
  ];
}

/** The qemu 128 MiB e820 map. */
export function smallMap(): MemoryRegion[] {
  return parseMemoryMap(fixture('qemu-linux-128m.e820.txt'), { fileName: 'qemu-linux-128m.e820.txt' }).regions;
}

/** A booted kernel on `regions`. */
export function bootKernel(regions: readonly MemoryRegion[], layout: LayoutName, options: Partial<KernelOptions> = {}): Kernel {
  const machine = new Machine({ memoryMap: regions });
  const kernel = new Kernel(machine, { layout, events: new EventLog(), ...options });
  kernel.boot();
  return kernel;
}
