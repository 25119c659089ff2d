// Booting seed 002's 32-bit kernel in tests: a machine from a real multiboot1 hand-over (GRUB's
// captures, or QEMU's with two modules), the kernel on it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kernel32, Machine, parseMultiboot1Info, readMultiboot1Boot, type Kernel32Options, type Multiboot1Boot, type ReadPhysical } from '../src/index';
import { fixture } from './memory-map-helpers';

/** Guest-physical memory as [pa, bytes] chunks. */
export function physicalChunks(chunks: readonly (readonly [number, Uint8Array])[]): ReadPhysical {
  return (pa, lengthBytes) => {
    for (const [base, bytes] of chunks) {
      if (pa >= base && pa < base + bytes.length) return bytes.subarray(pa - base, Math.min(bytes.length, pa - base + lengthBytes));
    }
    return null;
  };
}

/** The hand-over of GRUB's capture `name` (e.g. `seabios-grub-128m`): info block plus the mmap buffer. */
export function grubHandOver(name: string): Multiboot1Boot {
  const info = fixture(`${name}.mb1-info.bin`);
  return readMultiboot1Boot(info, physicalChunks([[parseMultiboot1Info(info).mmapAddr!, fixture(`${name}.mb1.bin`)]]));
}

/** The hand-over QEMU's multiboot1 loader gave mb1dump (`128m` or `5g`), with its two modules. */
export function qemuHandOver(mem: '128m' | '5g'): Multiboot1Boot {
  return serialHandOver(join(import.meta.dirname, 'fixtures', 'multiboot1', `qemu-mb1-modules-${mem}.serial.txt`));
}

/** The hand-over GRUB 2 gave mb1dump (`128m` or `5g`) with its two modules (capture-grub.sh). */
export function grubModulesHandOver(mem: '128m' | '5g'): Multiboot1Boot {
  return serialHandOver(join(import.meta.dirname, 'fixtures', 'multiboot1', `grub-mb1-modules-${mem}.serial.txt`));
}

/** The hand-over in an mb1dump serial log (fixtures/multiboot1/README.md): INFO, MMAP, MODS, STR lines as guest memory. */
export function serialHandOver(path: string): Multiboot1Boot {
  const chunks: [number, Uint8Array][] = [];
  let info: Uint8Array | null = null;
  for (const line of readFileSync(path, 'latin1').split('\n')) {
    const [tag, pa, hex] = line.split(' ');
    if (tag === undefined || pa === undefined || hex === undefined) continue;
    const bytes = Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
    if (tag === 'INFO') info = bytes;
    chunks.push([parseInt(pa, 16), bytes]);
  }
  return readMultiboot1Boot(info!, physicalChunks(chunks));
}

/** A booted 32-bit kernel on `handOver`'s map and modules. */
export function bootKernel32(handOver: Multiboot1Boot, options: Partial<Kernel32Options> = {}): Kernel32 {
  const machine = new Machine({ memoryMap: handOver.regions!, cpuMode: 'protected' });
  return new Kernel32({ machine, modules: handOver.modules, ...options }).boot();
}
