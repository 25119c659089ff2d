// The mechanics every process operation shares: the PTE flags a region's rights come to, regions
// added and removed together with their virtual range, user frames dropped (one sharer at a time
// for copy-on-write frames), and the ownership record of a process's frames.
import { EFER, PTE, addressMaskHi } from '@kmem/x86-paging';
import type { FrameOwner } from '../events';
import { PTE_COW, PTE_PROT_NONE } from '../fault-policy';
import { KernelInvariantError } from '../kernel-errors';
import type { KernelServices } from '../kernel-services';
import type { SwapManager } from '../swap/swap-manager';
import type { AddressSpaceSwitch } from './address-space-switch';
import type { Process } from './process';
import { PROT, describeRegion, type Region } from './regions';
import { SharedMemory } from './shared-memory';

const P = PTE.Present;
const W = PTE.Writable;
const U = PTE.User;
const NX = PTE.NoExecute;

/** Region and page bookkeeping of user address spaces. */
export class UserMappings {
  private readonly owners = new Map<number, FrameOwner>();
  /** Swap and reclaim, once enabled: told about freed frames and dropped swap entries. */
  swap: SwapManager | null = null;
  /** Shared-memory objects, their names, and the page cache. */
  readonly shared: SharedMemory;

  constructor(
    private readonly kernel: KernelServices,
    private readonly spaces: AddressSpaceSwitch,
  ) {
    this.shared = new SharedMemory(kernel);
  }

  /** The leaf flags for a page of a region with rights `prot` (copy-on-write: read-only and marked). */
  leafFlagsFor(prot: number, cow: boolean, nxe: boolean): number {
    if (prot === PROT.None) return PTE_PROT_NONE | (cow ? PTE_COW : 0);
    let f = P | U;
    if ((prot & PROT.Write) !== 0 && !cow) f |= W;
    if ((prot & PROT.Exec) === 0 && nxe) f |= NX;
    if (cow) f |= PTE_COW;
    return f;
  }

  /** Whether EFER.NXE is on (bit 63 means no-execute). */
  nxe(): boolean {
    return (this.kernel.machine.cpu.registers.efer & EFER.NXE) !== 0;
  }

  /** The high-word address mask for the machine's MAXPHYADDR. */
  maskHi(): number {
    return addressMaskHi(this.kernel.machine.maxPhysAddrBits);
  }

  /** The ownership record of `p`'s frames (one object per process, reused). */
  ownerOf(p: Process): FrameOwner {
    let o = this.owners.get(p.pid);
    if (o === undefined) this.owners.set(p.pid, (o = { kind: 'user', pid: p.pid }));
    return o;
  }

  /** Forgets `pid`'s ownership record (the process is gone). */
  forget(pid: number): void {
    this.owners.delete(pid);
  }

  /** Adds a region and takes its virtual range. @throws KernelInvariantError if the range is in use */
  addRegion(p: Process, r: Region): void {
    if (!p.vas_.take(r.start, r.end - r.start, { tag: r.kind })) throw new KernelInvariantError(`pid ${p.pid}: ${describeRegion(r)} overlaps the address space's used ranges`);
    p.regions_.insert(r);
  }

  /** Removes regions over [start, end), frees their frames, VA and emptied tables; returns pages freed. */
  unmapRange(p: Process, start: number, end: number): number {
    const removed = p.regions_.remove(start, end);
    let pages = 0;
    this.spaces.withSpace(p, () => {
      for (const piece of removed) {
        this.swap?.releaseSwapEntries(p, piece.start, piece.end);
        p.pages_.forEachLeaf(piece.start, piece.end, (va, frame) => {
          p.pages_.clear(va);
          this.dropFrame(p, frame);
          pages++;
        });
      }
      if (removed.length > 0) p.pages_.freeEmptyTables(start, end);
    });
    for (const piece of removed) p.vas_.free(piece.start, piece.end - piece.start);
    this.shared.detachRegions(removed);
    p.stats.rssPages -= pages;
    if (removed.length > 0 && pages > 0) {
      const events = this.kernel.events;
      if (events.wants('unmap')) events.emit({ kind: 'unmap', va: start, pageCount: pages, what: 'user pages', pid: p.pid });
    }
    return pages;
  }

  /**
   * Drops one reference to a user frame; a shared frame its recorded owner lets go of becomes
   * pid-less; a page-cache frame nothing maps any more leaves the cache.
   */
  dropFrame(p: Process, frame: number): void {
    const frames = this.kernel.frames;
    const shared = frames.refCount(frame) > 1;
    frames.freeFrame(frame);
    if (!shared) this.swap?.frameFreed(frame);
    else if (frames.pidOf(frame) === p.pid) frames.transfer(frame, { kind: 'user' });
    else if (frames.refCount(frame) === 1) this.dropUnmappedCachePage(frame);
  }

  /** A page-cache frame only the cache holds leaves the cache, and reclaim forgets it. */
  dropUnmappedCachePage(frame: number): void {
    if (this.shared.dropCachePageIfUnmapped(frame)) this.swap?.frameFreed(frame);
  }
}
