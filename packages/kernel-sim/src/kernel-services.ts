// What the process subsystem (src/process/*) needs from the kernel: a port the Kernel class
// implements, so processes, exec, fork and the page-fault path never import kernel.ts (which
// composes them) and the two sides do not depend on each other.
import type { BitmapFrameAllocator } from '@kmem/pmm-bitmap';
import type { TableAccess } from '@kmem/x86-paging';
import type { EventLog } from './events';
import type { FrameOwners } from './frame-owners';
import type { Layout } from './layout';
import type { Machine } from './machine';

/** The kernel's lifecycle. */
export type KernelState = 'created' | 'booting' | 'running' | 'panicked';

/** Details a caller can pass to `Kernel.panic`. */
export interface PanicDetails {
  /** Faulting linear address (CR2). */
  readonly cr2?: number;
  /** Page-fault error code. */
  readonly errorCode?: number;
  /** The process running. */
  readonly pid?: number;
  /** Anything else worth printing. */
  readonly extra?: Readonly<Record<string, number | string | boolean>>;
}

/**
 * The kernel services processes use: the machine, the layout, events, frame ownership, the
 * tables' access mechanism, address-space roots and panics. `Kernel` implements it; the process
 * subsystem is generic over it so `kernel.processes.kernel` and a fault policy's `ctx.kernel`
 * are the full `Kernel`.
 */
export interface KernelServices {
  /** The machine it runs on. */
  readonly machine: Machine;
  /** The layout (validated). */
  readonly layout: Layout;
  /** The event stream. */
  readonly events: EventLog;
  /** Lifecycle state. */
  readonly state: KernelState;
  /** Frame ownership records. @throws KernelStateError before the frame-allocator step */
  readonly frames: FrameOwners;
  /** The physical frame allocator. @throws KernelStateError before the frame-allocator step */
  readonly pmm: BitmapFrameAllocator;
  /** How the kernel reaches page tables. @throws KernelStateError before the table-access step */
  readonly tableAccess: TableAccess;
  /** The kernel's PML4 frame. @throws KernelStateError before the table-access step */
  readonly kernelRoot: number;
  /** A fresh PML4 sharing the kernel half; null when out of memory. */
  newAddressSpaceRoot(pid?: number): number | null;
  /** Frees a root made by `newAddressSpaceRoot` (its user half must be empty). */
  freeAddressSpaceRoot(root: number): void;
  /** Stops the kernel. @throws KernelPanic always */
  panic(reason: string, details?: PanicDetails): never;
}
