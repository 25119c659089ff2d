// swapoff(8) as Linux does it (mm/swapfile.c): first a check that memory can take the device's
// pages at all (security_vm_enough_memory_mm), then the device stops taking new slots (SWP_WRITEOK
// cleared), then try_to_unuse: every process's swap entries naming the device are read back and
// mapped like a major fault would (each copy-on-write sharer maps the one frame through the swap
// cache, every slot's count falls to zero), slots held only by the swap cache give their page to
// its frame, and the device is removed. If a page finds no frame part way, Linux returns ENOMEM
// and puts the device back (reinsert_swap_info): what was read stays in memory. So does kmem.
import { KernelInvariantError } from '../kernel-errors';
import { show } from '../show-value';
import type { Process } from '../process/process';
import type { SwapDevice } from './swap-device';
import { handleType, isSwapEntry, swapEntryType } from './swap-entry';
import { SwapoffDeviceError, SwapoffNoMemoryError } from './swap-errors';
import type { SwapHost, SwapManager } from './swap-manager';

/** Passes over the processes before swapoff gives up on pages that reclaim keeps moving back. */
const MAX_PASSES = 16;

/** What swapoff did. */
export interface SwapoffResult {
  /** The swap type the device had (free again for the next swapon). */
  readonly type: number;
  /** Swap entries (PTEs) mapped back: one per sharer of a copy-on-write page. */
  readonly entriesRestored: number;
  /** Pages read from the device. */
  readonly pagesRead: number;
}

/**
 * Frames user pages may still take: up to the resident limit, and up to the min watermark of
 * free frames; plus every free slot on the other devices (pages reclaim may move there).
 */
function room(swap: SwapManager, host: SwapHost, type: number): number {
  const free = Math.max(0, host.freeFrames() - swap.watermarks.minFrames);
  const ram = Math.max(0, Math.min(swap.maxResidentPages - swap.residentPages, free));
  let slots = 0;
  for (const a of swap.space.areas) if (a.type !== type) slots += a.slotCount - a.usedSlots;
  return ram + slots;
}

/** The process's swap entries on device `type`: (va, prot) pairs. Call with its tables reachable. */
function entriesOn(p: Process, type: number, out: number[]): void {
  for (const r of p.regions_.all()) {
    p.pages_.forEachNonFrameLeaf(r.start, r.end, (va, lo, hi) => {
      if (isSwapEntry(lo) && swapEntryType(hi) === type) out.push(va, r.prot);
    });
  }
}

/** One process's entries on `type` brought back. @returns how many @throws SwapoffNoMemoryError */
function unuseProcess(swap: SwapManager, host: SwapHost, p: Process, type: number, entries: number[], name: string, restoredSoFar: number): number {
  entries.length = 0;
  host.withSpace(p, () => entriesOn(p, type, entries));
  const pages = p.pages_;
  let restored = 0;
  for (let i = 0; i < entries.length; i += 2) {
    const va = entries[i]!;
    // Reclaim for an earlier page may have moved this one (to another device) meanwhile.
    const [lo, hi] = host.withSpace(p, () => (pages.lookup(va) ? [pages.lo, pages.hi] : [0, 0]));
    if (!isSwapEntry(lo) || swapEntryType(hi) !== type) continue;
    if (swap.swapIn(p, va, entries[i + 1]!, lo, hi, false) === 'oom') throw new SwapoffNoMemoryError(name, restoredSoFar + restored, swap.space.area(type)!.usedSlots, `no frame for pid ${p.pid}'s page`);
    restored++;
  }
  return restored;
}

/**
 * Brings every page of `device` back into memory and removes the device (see the file comment).
 * @throws SwapoffDeviceError for a device not in use; SwapoffNoMemoryError (nothing changed
 *   when raised by the first check; otherwise the device stays in use, every invariant holding)
 */
export function swapoff(swap: SwapManager, host: SwapHost, device: SwapDevice): SwapoffResult {
  const space = swap.space;
  const type = space.typeOf(device);
  if (type < 0) throw new SwapoffDeviceError(typeof (device as Partial<SwapDevice> | null)?.name === 'string' ? device.name : show(device));
  const area = space.area(type)!;
  let needed = 0;
  for (const [h] of space.slotCounts()) if (handleType(h) === type && space.cachedFrame(h) < 0) needed++;
  const available = room(swap, host, type);
  if (needed > available) throw new SwapoffNoMemoryError(device.name, 0, area.usedSlots, `${needed} page(s) to bring back, room for ${available}`);

  space.setWritable(type, false);
  const readBefore = space.pagesRead;
  let restored = 0;
  const entries: number[] = [];
  try {
    // Passes until the device is empty: reclaim for one page may evict a swap-cache page of an
    // earlier sharer back into its slot here (a clean eviction needs no new slot), as Linux's
    // try_to_unuse retries while inuse_pages stays positive.
    for (let pass = 0; area.usedSlots > 0; pass++) {
      const before = restored;
      for (const p of [...host.liveProcesses()]) restored += unuseProcess(swap, host, p, type, entries, device.name, restored);
      // Slots only the swap cache still holds (their PTEs went with munmap or exit): the frame keeps the page.
      for (const [h] of space.slotCounts()) {
        if (handleType(h) !== type) continue;
        const frame = space.cachedFrame(h);
        if (frame >= 0) swap.writeReuse(frame);
      }
      if (area.usedSlots > 0 && restored === before) throw new KernelInvariantError(`swapoff ${device.name}: ${area.usedSlots} slot(s) in use but no swap entry names them (pass ${pass})`);
      if (area.usedSlots > 0 && pass === MAX_PASSES) throw new SwapoffNoMemoryError(device.name, restored, area.usedSlots, `reclaim kept moving pages back after ${MAX_PASSES} passes`);
    }
  } catch (e) {
    space.setWritable(type, true);
    throw e;
  }
  space.remove(type);
  return { type, entriesRestored: restored, pagesRead: space.pagesRead - readBefore };
}
