// fork(2) with copy-on-write: the child gets a copy of the parent's regions; every page holding a
// frame is shared, write-protected in both and marked copy-on-write (PTE bit 9), the frame's
// reference count raised. The first write in either copies (see the fault actions). Pages of
// MAP_SHARED regions are shared as they are (same frame, same rights): writes stay visible to both.
import { PTE } from '@kmem/x86-paging';
import { PTE_COW } from '../fault-policy';
import type { KernelServices } from '../kernel-services';
import type { Process } from './process';
import type { ProcessTable } from './process-table';

/** See `ProcessManager.fork` for the contract. */
export function fork<K extends KernelServices>(table: ProcessTable<K>, pid: number): Process | null {
  table.requireRunning('fork');
  const parent = table.requireAlive(table.get(pid), 'fork');
  const kernel = table.kernel;
  const spaces = table.spaces;
  const childPid = table.nextPid;
  const root = kernel.newAddressSpaceRoot(childPid);
  if (root === null) return null;
  table.nextPid++;
  const child = table.makeProcess(childPid, parent.pid, parent.name, root, parent.userStart, parent.userEnd, parent.stackTop, parent.limits, parent.brkStart, parent);
  child.brkEnd = parent.brkEnd;
  child.mmapWatermark = parent.mmapWatermark;
  child.image = parent.image;
  // The child's copies of shared regions map their objects too (before any exit path below).
  table.mappings.shared.attachRegions(child.regions_.all());
  const frames = kernel.frames;
  // Pass 1, in the parent's address space: write-protect and mark every page copy-on-write.
  // Pass 2, in the child's: map the same frames. (Two passes because a recursive table access
  // only reaches the tables of the address space in CR3.)
  const vas: number[] = [];
  const shared: number[] = [];
  const flagsOf: number[] = [];
  const swap = table.swap;
  const swapEntries: number[] = [];
  spaces.withSpace(parent, () => {
    // Region by region, as Linux's copy_page_range walks each VMA: leaves exist nowhere else.
    for (const r of parent.regions_.all()) {
      // MAP_SHARED pages stay as they are: both processes map the object's frame (writable).
      const keep = r.shared !== undefined;
      parent.pages_.forEachLeaf(r.start, r.end, (va, frame, flags) => {
        const cowFlags = keep ? flags : (flags & ~PTE.Writable) | PTE_COW;
        if (cowFlags !== flags) parent.pages_.rewrite(va, frame, cowFlags);
        vas.push(va);
        shared.push(frame);
        flagsOf.push(cowFlags);
      });
      // Swapped-out pages: the child's PTE gets the same swap entry, the slot one more reference.
      swap?.collectSwapEntries(parent, r.start, r.end, swapEntries);
    }
  });
  let oom = false;
  spaces.withSpace(child, () => {
    for (let i = 0; i < vas.length; i++) {
      if (!child.pages_.mapNew(vas[i]!, shared[i]!, flagsOf[i]!)) {
        oom = true;
        return;
      }
      frames.share(shared[i]!);
      child.stats.rssPages++;
    }
    if (swap !== null && !swap.installSwapEntries(child, swapEntries)) oom = true;
  });
  child.stats.peakRssPages = child.stats.rssPages;
  table.live.set(childPid, child);
  if (oom) {
    // The child's tables hold only pages shared so far: tear it down like any process.
    table.teardown(child, 'oom');
    table.live.delete(childPid);
    table.dead.delete(childPid);
    return null;
  }
  table.emit({ kind: 'process-create', pid: childPid, parentPid: parent.pid, name: child.name, cr3: root, pcid: child.pcid });
  table.emit({ kind: 'fork', parentPid: parent.pid, childPid, sharedPages: shared.length });
  return child;
}
