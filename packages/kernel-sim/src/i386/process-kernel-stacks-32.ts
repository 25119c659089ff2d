// One kernel stack per process in the seed's kernel-stack region (0xff40_0000-0xffbf_ffff, 8 MiB):
// the stack the CPU switches to (TSS.ESP0) when that process enters the kernel - a system call,
// an interrupt, a page fault. The relocated boot stack keeps the top of the region; below it the
// region is cut into fixed slots, each a stack of `pageCount` pages (default 2, 8 KiB: Linux
// i386's THREAD_SIZE) with an unmapped guard page under it, so an overflow faults instead of
// running into the next process's stack. A stack is made with the process's page directory and
// freed with it. Its pages are kernel pages (supervisor, Global) in a pre-allocated kernel page
// table, so they show under every page directory, and only to the kernel.
import { PTE, formatVa32 } from '@kmem/x86-paging';
import { formatPhysical } from '../hex';
import { KernelAddressError, KernelInvariantError } from '../kernel-errors';
import type { LayoutRegion } from '../layout';
import { mapFreshKernelPages32, unmapKernelPages32 } from './kernel-pages-32';
import type { Kernel32 } from './kernel32';

const PAGE = 4096;
/** The rights of a kernel stack page: present, writable, supervisor, Global (no XD bit in 32-bit paging). */
export const KERNEL_STACK_32_FLAGS = PTE.Present | PTE.Writable | PTE.Global;

/** A process's kernel stack: pages `[bottom, top)` mapped, the guard page at `guard` (below `bottom`) not. */
export interface ProcessKernelStack32 {
  /** The process it belongs to. */
  readonly pid: number;
  /** Its page directory. */
  readonly root: number;
  /** Slot number in the kernel-stack region (0 = just below the boot stack's guard page). */
  readonly slot: number;
  /** Lowest mapped byte. */
  readonly bottom: number;
  /** One past the highest byte: ESP0, where the stack starts (it grows down). */
  readonly top: number;
  /** The unmapped guard page below `bottom`. */
  readonly guard: number;
}

/**
 * The per-process kernel stacks. Slots are handed out lowest number first and reused last freed
 * first (a list of free slot numbers and a watermark: no search), so the cost of a process's
 * stack is its pages, whatever the number of processes.
 */
export class ProcessKernelStacks32 {
  /** Slots that fit in the region below the boot stack. */
  readonly slotCount: number;
  private readonly firstTop: number;
  private readonly slotBytes: number;
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private readonly byRoot = new Map<number, ProcessKernelStack32>();
  private readonly byPid = new Map<number, ProcessKernelStack32>();

  constructor(
    private readonly kernel: Kernel32,
    region: LayoutRegion,
    bootStackPageCount: number,
    /** Pages of each process's stack. */
    readonly pageCount: number,
  ) {
    this.firstTop = region.end - (bootStackPageCount + 1) * PAGE;
    this.slotBytes = (pageCount + 1) * PAGE;
    this.slotCount = Math.max(0, Math.floor((this.firstTop - region.start) / this.slotBytes));
  }

  /**
   * Maps a fresh stack for `pid`, whose page directory is `root`, and emits a 'map' event.
   * @returns the stack, or null (nothing changed) when frames or slots ran out
   */
  alloc(pid: number, root: number): ProcessKernelStack32 | null {
    const reused = this.freeSlots.pop();
    const slot = reused ?? this.nextSlot;
    if (slot >= this.slotCount) return null;
    const top = this.firstTop - slot * this.slotBytes;
    const bottom = top - this.pageCount * PAGE;
    if (!mapFreshKernelPages32(this.kernel, bottom, this.pageCount, KERNEL_STACK_32_FLAGS, { kind: 'kernel-stack', pid })) {
      if (reused !== undefined) this.freeSlots.push(reused);
      return null;
    }
    if (reused === undefined) this.nextSlot++;
    const stack: ProcessKernelStack32 = { pid, root, slot, bottom, top, guard: bottom - PAGE };
    this.byRoot.set(root, stack);
    this.byPid.set(pid, stack);
    const events = this.kernel.events;
    if (events.wants('map')) events.emit({ kind: 'map', va: bottom, pa: this.kernel.mapper.translate(bottom)!.pa, pageCount: this.pageCount, flags: KERNEL_STACK_32_FLAGS, what: `kernel stack of pid ${pid} (slot ${slot}, ESP0 ${formatVa32(top)}, guard page ${formatVa32(bottom - PAGE)})`, pid });
    return stack;
  }

  /** Unmaps and frees the stack of page directory `root` (if it has one) and emits an 'unmap' event. */
  freeOf(root: number): void {
    const stack = this.byRoot.get(root);
    if (stack === undefined) return;
    if (this.kernel.esp > stack.bottom && this.kernel.esp <= stack.top) throw new KernelAddressError(stack.top, `is the kernel stack in use (ESP ${formatVa32(this.kernel.esp)})`);
    unmapKernelPages32(this.kernel, stack.bottom, this.pageCount);
    this.byRoot.delete(root);
    this.byPid.delete(stack.pid);
    this.freeSlots.push(stack.slot);
    const events = this.kernel.events;
    if (events.wants('unmap')) events.emit({ kind: 'unmap', va: stack.bottom, pageCount: this.pageCount, what: `kernel stack of pid ${stack.pid} (slot ${stack.slot})`, pid: stack.pid });
  }

  /** The stack of page directory `root`, or undefined. */
  ofRoot(root: number): ProcessKernelStack32 | undefined {
    return this.byRoot.get(root);
  }

  /** The stack of process `pid`, or undefined. */
  ofPid(pid: number): ProcessKernelStack32 | undefined {
    return this.byPid.get(pid);
  }

  /** Every live stack, lowest slot first. */
  all(): ProcessKernelStack32[] {
    return [...this.byRoot.values()].sort((a, b) => a.slot - b.slot);
  }

  /** Stacks mapped now. */
  get size(): number {
    return this.byRoot.size;
  }

  /**
   * Checks: every live process has its stack, on its page directory; every stack belongs to a
   * directory that still exists (a gone process keeps none); every stack page mapped
   * present, writable, supervisor-only and Global in a frame owned 'kernel-stack' by that pid; every
   * guard page unmapped; no slot both free and used; the frames owned 'kernel-stack' are exactly
   * the boot stack's and the processes' (none leaked by a gone process).
   * @throws KernelInvariantError on the first inconsistency
   */
  checkInvariants(live: readonly { readonly pid: number; readonly root: number }[], roots: ReadonlySet<number>, bootStackPageCount: number): void {
    const k = this.kernel;
    if (this.byPid.size !== this.byRoot.size) throw new KernelInvariantError(`${this.byRoot.size} process kernel stacks by directory but ${this.byPid.size} by pid`);
    for (const root of this.byRoot.keys()) if (!roots.has(root)) throw new KernelInvariantError(`a kernel stack outlives its page directory ${formatPhysical(root)}`);
    for (const p of live) {
      const s = this.byRoot.get(p.root);
      if (s?.pid !== p.pid || this.byPid.get(p.pid) !== s) throw new KernelInvariantError(`pid ${p.pid} has no kernel stack on its page directory ${formatPhysical(p.root)}`);
    }
    const used = new Set<number>();
    for (const s of this.byRoot.values()) {
      if (used.has(s.slot) || s.slot >= this.nextSlot || this.freeSlots.includes(s.slot)) throw new KernelInvariantError(`kernel stack slot ${s.slot} is used twice or also free`);
      used.add(s.slot);
      if (k.mapper.translate(s.guard) !== null) throw new KernelInvariantError(`guard page ${formatVa32(s.guard)} of pid ${s.pid}'s kernel stack is mapped`);
      for (let va = s.bottom; va < s.top; va += PAGE) {
        const t = k.mapper.translate(va);
        if (t === null) throw new KernelInvariantError(`pid ${s.pid}'s kernel stack page ${formatVa32(va)} is not mapped`);
        if ((t.flags & (KERNEL_STACK_32_FLAGS | PTE.User)) !== KERNEL_STACK_32_FLAGS) throw new KernelInvariantError(`pid ${s.pid}'s kernel stack page ${formatVa32(va)} has flags 0x${t.flags.toString(16)}, not present, writable, supervisor and Global`);
        const frame = t.pa - (t.pa % PAGE);
        if (k.frames.kindOf(frame) !== 'kernel-stack' || k.frames.pidOf(frame) !== s.pid) throw new KernelInvariantError(`pid ${s.pid}'s kernel stack page ${formatVa32(va)} is in frame ${formatPhysical(frame)} not owned 'kernel-stack' by it`);
      }
    }
    const owned = k.frames.usageByOwner()['kernel-stack'];
    const expected = bootStackPageCount + this.byRoot.size * this.pageCount;
    if (owned !== expected) throw new KernelInvariantError(`${owned} frames are owned 'kernel-stack', expected ${expected} (the boot stack's ${bootStackPageCount} and ${this.byRoot.size} process stacks of ${this.pageCount})`);
  }
}
