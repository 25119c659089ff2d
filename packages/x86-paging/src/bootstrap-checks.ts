// Checks both boot-table builders (bootstrap.ts for the long modes, bootstrap-32bit.ts for 32-bit
// paging) run on the kernel image and the table pool before they write anything.
import { show } from './show-value';
import { InvalidAddressError, InvalidOptionError, InvalidSizeError, MisalignedAddressError, type PhysicalMemory } from './api';
import { alignDown, alignUp } from './address';

/** The kernel image and the pool of table frames reserved inside it, as the builders take them. */
export interface KernelAndPool {
  readonly kernel: { readonly pa: number; readonly sizeBytes: number };
  readonly pool: { readonly pa: number; readonly frameCount: number };
}

/**
 * Checks the kernel extent and that the pool is a run of 4 KiB frames inside it.
 * @returns the kernel's extent rounded out to 4 KiB pages
 * @throws InvalidAddressError, InvalidSizeError, MisalignedAddressError, InvalidOptionError (a pool outside the image)
 */
export function checkKernelAndPool({ kernel, pool }: KernelAndPool): { start: number; end: number } {
  if (!Number.isSafeInteger(kernel.pa) || kernel.pa < 0) throw new InvalidAddressError(show(kernel.pa), 'kernel.pa must be a non-negative safe integer');
  if (!Number.isSafeInteger(kernel.sizeBytes) || kernel.sizeBytes <= 0) throw new InvalidSizeError('kernel.sizeBytes', kernel.sizeBytes);
  const start = alignDown(kernel.pa, 4096);
  const end = alignUp(kernel.pa + kernel.sizeBytes, 4096);
  if (!Number.isSafeInteger(pool.frameCount) || pool.frameCount <= 0) throw new InvalidSizeError('pool.frameCount', pool.frameCount);
  if (!Number.isSafeInteger(pool.pa) || pool.pa % 4096 !== 0) throw new MisalignedAddressError('pa', pool.pa, 4096);
  if (pool.pa < start || pool.pa + pool.frameCount * 4096 > end) {
    throw new InvalidOptionError('pool', `${pool.pa}+${pool.frameCount} frames`, 'the table pool must lie inside the kernel image');
  }
  return { start, end };
}

/** Reads (never writes) the pool's first and last byte: a pool `memory` does not hold throws PhysicalAccessError. */
export function assertPoolInMemory(memory: PhysicalMemory, pool: KernelAndPool['pool']): void {
  memory.read8(pool.pa);
  memory.read8(pool.pa + pool.frameCount * 4096 - 1);
}
