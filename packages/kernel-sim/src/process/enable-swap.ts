// Turning swap on for a kernel's processes: the SwapManager gets its view of the process layer
// (the SwapHost port: live processes, reachable tables, frame drops, PTE flags), and the process
// table, its mappings and the fault path start calling it.
import type { KernelServices } from '../kernel-services';
import { SwapManager, type SwapOptions } from '../swap/swap-manager';
import { SwapOptionError } from '../swap/swap-errors';
import type { ProcessTable } from './process-table';

/**
 * Enables swap and reclaim (see `Kernel.enableSwap`).
 * @throws SwapOptionError when swap is already on or a live process holds user pages; the
 *   SwapManager's option errors
 */
export function enableSwap<K extends KernelServices>(table: ProcessTable<K>, options: SwapOptions): SwapManager {
  table.requireRunning('enableSwap');
  if (table.swap !== null) throw new SwapOptionError('swap is already enabled');
  for (const p of table.live.values()) {
    if (p.stats.rssPages > 0) throw new SwapOptionError(`enable swap before processes hold memory (pid ${p.pid} has ${p.stats.rssPages} resident pages)`);
  }
  const kernel = table.kernel;
  const mappings = table.mappings;
  const spaces = table.spaces;
  // Captured once: the hot paths should not go through the kernel's checked getters.
  const pmm = kernel.frames.pmm;
  const memory = kernel.machine.memory;
  const swap = new SwapManager(
    {
      frames: kernel.frames,
      freeFrames: () => pmm.freeFrames,
      totalFrames: () => pmm.totalFrames,
      frameWords: (frame) => memory.frameWords(frame),
      liveProcess: (pid) => table.live.get(pid),
      liveProcesses: () => table.live.values(),
      withSpace: (p, fn) => spaces.withSpace(p, fn),
      tablesReachable: kernel.layout.tableAccess !== 'recursive',
      dropFrame: (p, frame) => mappings.dropFrame(p, frame),
      ownerOf: (p) => mappings.ownerOf(p),
      leafFlagsFor: (prot, cow) => mappings.leafFlagsFor(prot, cow, mappings.nxe()),
      maskHi: () => mappings.maskHi(),
      emit: (e) => table.emit(e),
      wants: (kind) => kernel.events.wants(kind),
      // Shared-object frames stay resident: they are never admitted to reclaim. (Page-cache
      // frames are: reclaim drops them as clean file pages.)
      unevictableFrames: () => mappings.shared.objectFrames(),
      extraReference: (frame) => mappings.shared.pageCache.holds(frame),
    },
    options,
  );
  table.swap = swap;
  mappings.swap = swap;
  return swap;
}
