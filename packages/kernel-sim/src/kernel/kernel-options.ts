// What a kernel is created with: the layout (shipped by name or your own), where the boot loader
// put the image and modules, and the switches (stack and heap sizes, SMEP/SMAP, PCIDs).
import type { KernelImageSpec } from '../boot/kernel-image';
import type { EventLog } from '../events';
import type { Layout, TableAccessMechanism } from '../layout';
import type { LAYOUTS } from '../layouts';
import type { MmapPolicy } from '../highest-allocation';
import type { FrameAllocatorKind } from './frame-allocator-choice';

/** The names of the shipped layouts. */
export type LayoutName = keyof typeof LAYOUTS;

/** A boot module (initrd, ramdisk) the boot loader placed in RAM. */
export interface BootModule {
  /** A name for people. */
  readonly name: string;
  /** Physical address (4 KiB aligned). */
  readonly pa: number;
  /** Bytes (rounded up to frames). */
  readonly sizeBytes: number;
}

/** Options of `Kernel`. */
export interface KernelOptions {
  /** The virtual memory layout: a shipped one by name, or your own (validated). */
  readonly layout: Layout | LayoutName;
  /** Where the boot loader put the kernel image and how big its sections are. */
  readonly kernelImage?: KernelImageSpec;
  /** Modules the boot loader loaded (reserved, owned 'module'). */
  readonly modules?: readonly BootModule[];
  /** The event log to write to (default: a new one with default capacity). */
  readonly events?: EventLog;
  /** Bytes of the kernel stack moved to the stack region in the last boot step (default 16 KiB). */
  readonly kernelStackBytes?: number;
  /** kheap debug mode (red zones, poisoning). Default false. */
  readonly heapDebug?: boolean;
  /**
   * Bytes of the heap region the heap may use (default: the whole region, in 2 GiB kheap arenas);
   * more than the region is a `KernelConfigError`.
   */
  readonly heapLimitBytes?: number;
  /** Turn on CR4.SMEP at boot (supervisor may not execute user pages). Default true. */
  readonly smep?: boolean;
  /**
   * Turn on CR4.SMAP at boot (supervisor may not read/write user pages unless RFLAGS.AC, see
   * `cpu.stac()`). Default false: code that copies to and from user memory must bracket it with
   * stac/clac when this is on.
   */
  readonly smap?: boolean;
  /** Exit records `kernel.processes.gone()` keeps, the most recent ones (default 1,000; 0 keeps none). */
  readonly exitHistory?: number;
  /**
   * The physical frame allocator: `'bitmap'` (pmm-bitmap, default; its bitmap is placed in RAM) or
   * `'region-list'` (seed 001's sorted list of regions: start, frame count, state).
   */
  readonly frameAllocator?: FrameAllocatorKind;
  /**
   * Where a process's mmap without an address goes: `'first-fit'` (default; the lowest free
   * range of the mmap area) or `'highest-allocation'` (seed 004: the end of the highest mmap so
   * far while there is room above it, then the lowest free range below it). See `MmapPolicy`.
   */
  readonly mmapPolicy?: MmapPolicy;
  /**
   * How the kernel reaches its page tables, instead of the layout's `tableAccess` (e.g.
   * `'physical'` on `identity-low`, whose default is seed 000's windows). The layout must have what
   * the mechanism needs (a direct-map or table-window region, a recursive slot); otherwise the
   * layout check throws `InvalidLayoutError` (`E_LAYOUT_INVALID`) before anything is built.
   */
  readonly tableAccess?: TableAccessMechanism;
  /** Give each process a PCID (CR4.PCIDE, set when the first process is created) so context switches keep TLB entries. Default false. */
  readonly pcid?: boolean;
}
