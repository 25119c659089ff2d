// A PC-like memory map for benchmarks: low RAM with the BIOS holes, RAM up to 3 GiB, the 32-bit
// PCI hole, and the rest of the RAM from 4 GiB (as QEMU's pc machine lays out a large -m).
import type { MemoryRegion } from '@kmem/kernel-sim';

const GiB = 1024 ** 3;

/** The map of a PC with `ramBytes` of RAM. */
export function pcMap(ramBytes: number): MemoryRegion[] {
  const low = Math.min(ramBytes, 3 * GiB);
  const map: MemoryRegion[] = [
    { base: 0, lengthBytes: 0x9fc00, kind: 'usable' },
    { base: 0x9fc00, lengthBytes: 0x400, kind: 'reserved' },
    { base: 0xf0000, lengthBytes: 0x10000, kind: 'reserved' },
    { base: 0x100000, lengthBytes: low - 0x100000, kind: 'usable' },
  ];
  if (ramBytes > 3 * GiB) {
    map.push({ base: 3 * GiB, lengthBytes: GiB, kind: 'reserved' });
    map.push({ base: 4 * GiB, lengthBytes: ramBytes - 3 * GiB, kind: 'usable' });
  }
  return map;
}
