// The memory system calls of a process: brk / sbrk (the heap), mmap / munmap (anonymous mappings,
// private or MAP_SHARED, named shared-memory objects, MAP_FIXED and MAP_FIXED_NOREPLACE),
// mprotect. Regions change at once; frames come on first touch.
import { PTE } from '@kmem/x86-paging';
import { PTE_COW } from '../fault-policy';
import { formatCanonical } from '../hex';
import { show } from '../show-value';
import { KernelInvariantError } from '../kernel-errors';
import type { KernelServices } from '../kernel-services';
import type { MmapOptions, Process } from './process';
import { UserMemoryArgumentError } from './process-errors';
import { pageUp } from './process-limits';
import { checkMmapOptions } from './user-arguments';
import type { ProcessTable } from './process-table';
import { PROT, checkProt, type Region } from './regions';
import type { SharedMemoryObject } from './shared-memory-object';
import { ShmRangeError } from './shm-errors';

const PAGE = 4096;
const AD = PTE.Accessed | PTE.Dirty;

/** brk(2); see `Process.brk`. */
export function brk<K extends KernelServices>(table: ProcessTable<K>, p: Process, newBreak: number): number {
  table.requireAlive(p, 'brk');
  if (!Number.isSafeInteger(newBreak)) throw new UserMemoryArgumentError(0, `brk ${show(newBreak)} is not an integer`);
  const old = p.brkEnd;
  if (newBreak < p.brkStart || newBreak > p.userEnd) return old;
  const oldEnd = pageUp(old);
  const newEnd = pageUp(newBreak);
  if (newEnd > oldEnd) {
    if (!p.vas_.take(oldEnd, newEnd - oldEnd, { tag: 'heap' })) return old;
    p.regions_.insert({ start: oldEnd, end: newEnd, prot: PROT.Read | PROT.Write, kind: 'heap', backing: null, growsDown: false, name: '[heap]' });
  } else if (newEnd < oldEnd) {
    table.mappings.unmapRange(p, newEnd, oldEnd);
  }
  p.brkEnd = newBreak;
  table.emit({ kind: 'brk', pid: p.pid, oldBreak: old, newBreak });
  return newBreak;
}

/** sbrk(3); see `Process.sbrk`. */
export function sbrk<K extends KernelServices>(table: ProcessTable<K>, p: Process, incrementBytes: number): number | null {
  table.requireAlive(p, 'sbrk');
  if (!Number.isSafeInteger(incrementBytes)) throw new UserMemoryArgumentError(0, `sbrk increment ${show(incrementBytes)} is not an integer`);
  const old = p.brkEnd;
  if (incrementBytes === 0) return old;
  const target = old + incrementBytes;
  return brk(table, p, target) === target ? old : null;
}

/** mmap(2); see `Process.mmap`. */
export function mmap<K extends KernelServices>(table: ProcessTable<K>, p: Process, options: MmapOptions): number | null {
  table.requireAlive(p, 'mmap');
  checkMmapOptions(options);
  const len = options.lengthBytes;
  if (!Number.isSafeInteger(len) || len <= 0) throw new UserMemoryArgumentError(options.va ?? 0, `mmap length ${show(len)} is not a positive integer`);
  const prot = options.prot ?? PROT.Read | PROT.Write;
  checkProt(prot);
  const size = pageUp(len);
  const va = options.va;
  if (va !== undefined && (!Number.isSafeInteger(va) || va < 0 || va % PAGE !== 0)) throw new UserMemoryArgumentError(va, 'mmap address is not page aligned');
  if (options.fixed === true) {
    if (va === undefined) throw new UserMemoryArgumentError(0, 'MAP_FIXED needs an address');
    if (va < p.userStart || va + size > p.userEnd) throw new UserMemoryArgumentError(va, `fixed range of ${size} bytes is outside the user range`);
  }
  // A named object must be mappable and cover [offset, offset + size): checked before any change.
  const shm = options.shm === undefined ? null : table.mappings.shared.checkMappable(options.shm);
  const offset = shmOffset(shm, options, size, va ?? 0);
  if (size > p.userEnd - p.userStart) return null;
  let at: number | null = null;
  if (options.fixed === true) {
    const start = va!;
    if (p.regions_.firstOverlap(start, start + size) !== null) {
      if (options.noReplace === true) return null;
      table.mappings.unmapRange(p, start, start + size);
    }
    if (!p.vas_.take(start, size, { tag: 'mmap' })) throw new KernelInvariantError(`pid ${p.pid}: virtual range at ${formatCanonical(start)} is in use with no region`);
    at = start;
  } else {
    if (va !== undefined && va >= p.userStart && va + size <= p.userEnd && p.vas_.take(va, size, { tag: 'mmap' })) at = va;
    const areaEnd = p.stackTop - p.limits.stackLimitBytes - p.limits.guardGapBytes;
    if (at === null && table.mmapPolicy === 'highest-allocation') at = atWatermark(p, size, areaEnd);
    if (at === null && p.mmapBase + size <= areaEnd) at = p.vas_.alloc(size, { tag: 'mmap', within: { start: p.mmapBase, end: areaEnd } });
    at ??= p.vas_.alloc(size, { tag: 'mmap' });
    if (at === null) return null;
  }
  const region: Region = { start: at, end: at + size, prot, kind: 'mmap', backing: null, growsDown: false, name: options.name ?? shm?.name ?? '' };
  if (shm !== null || options.shared === true) {
    const shared = table.mappings.shared;
    const object = shm ?? shared.createAnonymous(size);
    p.regions_.insert({ ...region, shared: { object, baseVa: at - offset } });
    shared.attach(object, size / PAGE);
  } else p.regions_.insert(region);
  table.emit({ kind: 'mmap', pid: p.pid, va: at, lengthBytes: size, prot, fixed: options.fixed === true });
  return at;
}

/**
 * The offset into a named object (0 for anonymous memory).
 * @throws UserMemoryArgumentError for an offset that is not a page-aligned safe integer, or one
 *   given without an object; ShmRangeError when `[offset, offset + size)` is not inside the object
 */
function shmOffset(shm: SharedMemoryObject | null, options: MmapOptions, size: number, va: number): number {
  const offset = options.offsetBytes ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % PAGE !== 0) throw new UserMemoryArgumentError(va, `mmap offset ${show(offset)} is not a page-aligned non-negative integer`);
  if (shm === null) {
    if (offset !== 0) throw new UserMemoryArgumentError(va, 'mmap offsetBytes is for a shared-memory object (shm)');
    return 0;
  }
  if (offset + size > shm.sizeBytes) throw new ShmRangeError(`mmap of ${size} bytes at offset ${offset} runs past the end of ${shm.describe()}`);
  return offset;
}

/**
 * Seed 004's watermark: the range at the end of the highest mmap so far, if it fits below
 * `areaEnd` and is free (a MAP_FIXED mapping may sit there), the watermark moved past it; else
 * null and the caller's first fit searches below. The seed's fallback asks the page tables which
 * pages are mapped; here the process's VirtualAllocator answers, because mmap is lazy — a range
 * handed out has no page-table entry until it is touched, and the tables would call it free.
 */
function atWatermark(p: Process, size: number, areaEnd: number): number | null {
  const va = Math.max(p.mmapWatermark, p.mmapBase);
  if (va + size > areaEnd || !p.vas_.take(va, size, { tag: 'mmap' })) return null;
  p.mmapWatermark = va + size;
  return va;
}

/** munmap(2); see `Process.munmap`. */
export function munmap<K extends KernelServices>(table: ProcessTable<K>, p: Process, va: number, lengthBytes: number): number {
  table.requireAlive(p, 'munmap');
  const end = checkUserRange(p, va, lengthBytes, 'munmap');
  const pages = table.mappings.unmapRange(p, va, end);
  table.emit({ kind: 'munmap', pid: p.pid, va, lengthBytes: end - va, pagesFreed: pages });
  return pages;
}

/** mprotect(2); see `Process.mprotect`. */
export function mprotect<K extends KernelServices>(table: ProcessTable<K>, p: Process, va: number, lengthBytes: number, prot: number): void {
  table.requireAlive(p, 'mprotect');
  checkProt(prot);
  const end = checkUserRange(p, va, lengthBytes, 'mprotect');
  p.regions_.protect(va, end, prot);
  const mappings = table.mappings;
  const nxe = mappings.nxe();
  let changed = 0;
  table.spaces.withSpace(p, () =>
    p.pages_.forEachLeaf(va, end, (pageVa, frame, flags) => {
      const cow = (flags & PTE_COW) !== 0;
      const next = mappings.leafFlagsFor(prot, cow, nxe) | (flags & AD);
      if (next !== flags) {
        p.pages_.rewrite(pageVa, frame, next);
        changed++;
      }
    }),
  );
  table.emit({ kind: 'mprotect', pid: p.pid, va, pageCount: (end - va) / PAGE, prot, pagesChanged: changed });
}

/** The end of `[va, va + lengthBytes)` rounded up to pages. @throws UserMemoryArgumentError unless it is an aligned range inside the user range */
function checkUserRange(p: Process, va: number, lengthBytes: number, what: string): number {
  if (!Number.isSafeInteger(va) || va < 0 || va % PAGE !== 0) throw new UserMemoryArgumentError(va, `${what}: address is not page aligned`);
  if (!Number.isSafeInteger(lengthBytes) || lengthBytes <= 0) throw new UserMemoryArgumentError(va, `${what}: length ${show(lengthBytes)} is not a positive integer`);
  const end = va + pageUp(lengthBytes);
  if (va < p.userStart || end > p.userEnd) throw new UserMemoryArgumentError(va, `${what}: range of ${lengthBytes} bytes is outside the user range ${formatCanonical(p.userStart)}..${formatCanonical(p.userEnd)}`);
  return end;
}
