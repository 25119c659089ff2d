// Shared by the process, fault, isolation and soak tests: small booted kernels and ELF fixtures.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventLog, Kernel, Machine, type KernelOptions, type LayoutName, type MemoryRegion } from '../src/index';

export const PAGE = 4096;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** RAM from 1 MiB to `ramMiB` (plus low memory), as a PC would report it. */
export function ramMap(ramMiB: number): MemoryRegion[] {
  return [
    { base: 0, lengthBytes: 0x9fc00, kind: 'usable' },
    { base: 0x9fc00, lengthBytes: 0x400, kind: 'reserved' },
    { base: 0xf0000, lengthBytes: 0x10000, kind: 'reserved' },
    { base: MiB, lengthBytes: (ramMiB - 1) * MiB, kind: 'usable' },
  ];
}

/** A booted kernel with `ramMiB` of RAM (default 512 MiB, higher-half layout). */
export function bootProcessKernel(options: { layout?: LayoutName; ramMiB?: number; kernel?: Partial<KernelOptions>; events?: EventLog } = {}): Kernel {
  const machine = new Machine({ memoryMap: ramMap(options.ramMiB ?? 512) });
  const kernel = new Kernel(machine, { layout: options.layout ?? 'higher-half', events: options.events ?? new EventLog(), ...options.kernel });
  kernel.boot();
  return kernel;
}

export const ELF_DIR = join(import.meta.dirname, 'fixtures', 'elf');

/** Bytes of a committed ELF fixture. */
export function elfFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(ELF_DIR, name)));
}

/**
 * Takes every free frame but `leave` as kernel data (so the next allocations run out), and
 * returns a function that gives them back.
 */
export function drainFrames(kernel: Kernel, leave: number): () => void {
  const taken: number[] = [];
  while (kernel.pmm.freeFrames > leave) {
    const f = kernel.frames.allocFrame({ kind: 'kernel-data' });
    if (f === null) break;
    taken.push(f);
  }
  return () => {
    for (const f of taken) kernel.frames.freeFrame(f);
    taken.length = 0;
  };
}
