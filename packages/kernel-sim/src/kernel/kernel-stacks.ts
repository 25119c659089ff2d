// Kernel stacks in the layout's kernel-stack region: the boot's own (the last boot step moves the
// stack there) and more on request (one per process, say), each with an unmapped guard page below
// it so an overflow faults instead of corrupting the stack beneath.
import { PTE } from '@kmem/x86-paging';
import { KernelAddressError } from '../kernel-errors';
import { findLayoutRegion, type LayoutRegion } from '../layout';
import type { KernelMappings } from './kernel-mappings';
import type { KernelParts } from './kernel-parts';

const PAGE = 4096;
const STACK_FLAGS = PTE.Present | PTE.Writable | PTE.Global | PTE.NoExecute;

/** A kernel stack: pages `[bottom, top)` mapped, the guard page below `bottom` left unmapped. */
export interface KernelStack {
  /** Lowest mapped address. */
  readonly bottom: number;
  /** End of the stack (exclusive): the initial stack pointer. */
  readonly top: number;
  /** The unmapped guard page's address (`bottom - 4096`). */
  readonly guard: number;
}

/** The kernel stacks (see `Kernel.allocKernelStack` / `freeKernelStack` for the contracts). */
export class KernelStacks {
  /** Stacks mapped, the boot's first. */
  readonly stacks: KernelStack[] = [];
  private readonly freeStackTops: number[] = [];
  private readonly freedGuards: number[] = [];

  constructor(
    private readonly parts: KernelParts,
    private readonly mappings: KernelMappings,
  ) {}

  /** Maps a stack whose top is `top` in `region`; null when it does not fit or memory ran out (nothing changed). */
  mapKernelStack(region: LayoutRegion, top: number): KernelStack | null {
    const parts = this.parts;
    const bytes = parts.kernelStackBytes;
    const bottom = top - bytes;
    const guard = bottom - PAGE;
    if (guard < region.start) return null;
    if (region.identityMapped === true) {
      // va = pa: the stack needs exactly these frames, and they must be free RAM.
      const pmm = parts.need(parts.pmm, 'pmm');
      const frames = parts.need(parts.frames, 'frames');
      for (let f = bottom; f < top; f += PAGE) if (!parts.machine.memory.isRam(f) || f >= pmm.endPa || !pmm.isFree(f)) return null;
      frames.claim(bottom, bytes / PAGE, { kind: 'kernel-stack' });
      if (!parts.need(parts.kernelMapper, 'kernelMapper').mapPages(bottom, bottom, bytes / PAGE, STACK_FLAGS)) {
        for (let f = bottom; f < top; f += PAGE) frames.freeFrame(f);
        return null;
      }
      if (parts.events.wants('map')) parts.events.emit({ kind: 'map', va: bottom, pa: bottom, pageCount: bytes / PAGE, flags: STACK_FLAGS, what: 'kernel stack' });
    } else if (!this.mappings.mapFreshPages(bottom, bytes / PAGE, STACK_FLAGS, { kind: 'kernel-stack' }, 'kernel stack')) return null;
    const s = { bottom, top, guard };
    this.stacks.push(s);
    return s;
  }

  /** allocKernelStack. */
  alloc(): KernelStack | null {
    this.parts.requireRunning('allocKernelStack');
    const region = findLayoutRegion(this.parts.layout, 'kernel-stack')!;
    const reuse = this.freeStackTops.pop();
    const top = reuse ?? Math.min(...this.stacks.map((x) => x.guard), ...this.freedGuards);
    const s = this.mapKernelStack(region, top);
    if (s === null && reuse !== undefined) this.freeStackTops.push(reuse);
    return s;
  }

  /** freeKernelStack. */
  free(top: number): void {
    const parts = this.parts;
    parts.requireRunning('freeKernelStack');
    const i = this.stacks.findIndex((x) => x.top === top);
    if (i < 0) throw new KernelAddressError(top, 'is not the top of a kernel stack');
    const s = this.stacks[i]!;
    if (parts.stackPointer > s.bottom && parts.stackPointer <= s.top) throw new KernelAddressError(top, 'is the stack in use');
    this.mappings.unmapAndFree(s.bottom, (s.top - s.bottom) / PAGE, 'kernel stack');
    this.stacks.splice(i, 1);
    this.freeStackTops.push(s.top);
    this.freedGuards.push(s.guard);
  }
}
