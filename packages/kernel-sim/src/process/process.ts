// One process: its address space (PML4, user page tables, virtual address allocator, regions),
// its program image, statistics and fate. The work is done by the process subsystem (reached
// through ProcessCalls, which the ProcessManager implements); the methods here are the
// process-level view of it (brk, mmap, touch...).
import type { VirtualAllocator } from '@kmem/virt-alloc';
import type { DecodedPageFaultErrorCode } from '@kmem/x86-paging';
import type { ElfLoadPlan } from '../elf/load-plan';
import type { InitialStack } from '../elf/stack-image';
import type { FaultReason } from '../fault-policy';
import { KernelInvariantError } from '../kernel-errors';
import type { Region, RegionList } from './regions';
import type { SharedMemoryObject } from './shared-memory-object';
import type { UserPageTables } from './user-pages';
import { brand } from '../brand';

/** Life of a process. */
export type ProcessState = 'running' | 'exited' | 'killed';

/** The three kinds of user access `touch` makes. */
export type TouchAccess = 'read' | 'write' | 'execute';

/**
 * What a user access came to: `ok` (it completed, maybe after faults the kernel resolved),
 * `segv` (the process was killed with SIGSEGV), `oom-kill` (killed by the OOM killer while the
 * kernel tried to resolve the fault).
 */
export type TouchOutcome = 'ok' | 'segv' | 'oom-kill';

/** Why and where a process was killed: SIGSEGV by the fault policy, or SIGKILL by the OOM killer. */
export interface KillRecord {
  /** The process killed. */
  readonly pid: number;
  /** SIGSEGV (bad access) or SIGKILL (out of memory). */
  readonly signal: 'SIGSEGV' | 'SIGKILL';
  /** CR2: the faulting linear address. */
  readonly va: number;
  /** The page-fault error code. */
  readonly errorCode: number;
  /** The error code decoded (P, W/R, U/S, RSVD, I/D, PK) with a sentence. */
  readonly decoded: DecodedPageFaultErrorCode;
  /** The sentence of `decoded`, e.g. `user-mode write to a present page denied: protection violation [P W/R U/S]`. */
  readonly errorCodeText: string;
  /** The region containing `va`, or null when none did. */
  readonly region: Region | null;
  /** Why (`out-of-memory` for the OOM killer). */
  readonly reason: FaultReason | 'out-of-memory';
}

/** Page-fault and memory counters of one process. */
export interface ProcessStats {
  /** Pages holding a frame in this address space (resident set, shared frames counted in each sharer). */
  rssPages: number;
  /** Page faults delivered while this process was current (every resolution, kills included). */
  faults: number;
  /** Anonymous pages allocated on first touch (zero-filled). */
  lazyZero: number;
  /** ELF pages read from the file on first touch. */
  lazyFile: number;
  /** Pages added by growing the stack (each growth also maps the page). */
  stackGrowth: number;
  /** Copy-on-write faults that copied the frame. */
  cowCopies: number;
  /** Copy-on-write faults that found the frame no longer shared and just made it writable. */
  cowReuses: number;
  /** Faults whose PTE already allowed the access (a stale TLB entry). */
  spurious: number;
  /** Largest RSS seen, in pages. */
  peakRssPages: number;
  /** Pages of this process in swap: swap entries in its PTEs (`/proc/PID/status` VmSwap). */
  swapPages: number;
  /** Faults that read a page from a swap device (major faults, Linux's maj_flt). */
  majorFaults: number;
  /** Faults resolved without I/O: lazy zero and file pages, COW, stack growth, swap-cache hits (min_flt). */
  minorFaults: number;
}

/** What exec loaded. */
export interface ProcessImage {
  /** Name (argv[0] or the option). */
  readonly name: string;
  /** The load plan (segments, entry, AT_PHDR). */
  readonly plan: ElfLoadPlan;
  /** Initial RIP. */
  readonly entry: number;
  /** Initial RSP (points at argc). */
  readonly rsp: number;
  /** The initial stack image written at `rsp`. */
  readonly stack: InitialStack;
  /** Arguments. */
  readonly argv: readonly string[];
  /** Environment. */
  readonly envp: readonly string[];
}

/** Per-process memory limits and placement. */
export interface ProcessLimits {
  /** Initial size of the stack region in bytes (Linux expands a new stack to 128 KiB at exec). */
  readonly stackSizeBytes: number;
  /** RLIMIT_STACK: how far the stack may grow, in bytes (default 8 MiB). */
  readonly stackLimitBytes: number;
  /** Linux's stack_guard_gap: free space kept below the stack, in bytes (default 256 pages = 1 MiB). */
  readonly guardGapBytes: number;
}

/**
 * What a process asks of the process subsystem (the ProcessManager implements it). @internal
 */
export interface ProcessCalls {
  brk(p: Process, newBreak: number): number;
  sbrk(p: Process, incrementBytes: number): number | null;
  mmap(p: Process, options: MmapOptions): number | null;
  munmap(p: Process, va: number, lengthBytes: number): number;
  mprotect(p: Process, va: number, lengthBytes: number, prot: number): void;
  touch(p: Process, va: number, access: TouchAccess, value: number): TouchOutcome;
  touchRange(p: Process, va: number, lengthBytes: number, access: TouchAccess, value: number): TouchOutcome;
  fork(pid: number): Process | null;
  exit(pid: number, code?: number): void;
  translate(p: Process, va: number): number;
  pageInfo(p: Process, va: number): PageInfo | null;
  formatMaps(p: Process): string;
}

/**
 * A process. Create one with `kernel.createProcess()` or `kernel.exec()`. Methods throw
 * ProcessStateError once the process is gone (`state !== 'running'`).
 */
export class Process {
  static {
    brand(this, 'Process'); // instanceof across the import and require copies (brand.ts)
  }
  /** Process id (1, 2, 3...; never reused). */
  readonly pid: number;
  /** Parent's pid (fork), or null. */
  readonly parentPid: number | null;
  /** A name for people. */
  name: string;
  /** running, exited or killed. */
  state: ProcessState = 'running';
  /** exit(2) status, or null while running or when killed. */
  exitCode: number | null = null;
  /** Why it was killed, or null. */
  killed: KillRecord | null = null;
  /** PML4 frame (what CR3 holds while it runs). */
  readonly root: number;
  /** PCID used when CR4.PCIDE = 1 (1..4095). */
  readonly pcid: number;
  /** First byte of the user range (inclusive). */
  readonly userStart: number;
  /** End of the user range (exclusive). */
  readonly userEnd: number;
  /** Top of the stack (exclusive): the layout's `userStackTop` (within the user range). */
  readonly stackTop: number;
  /** Where the mmap area starts (bottom-up allocation, Linux's legacy TASK_UNMAPPED_BASE = user end / 3). */
  readonly mmapBase: number;
  /**
   * End of the highest mmap so far, in the mmap area (starts at `mmapBase`; copied by fork): where
   * the next mmap without an address goes under the kernel's `mmapPolicy: 'highest-allocation'`.
   */
  mmapWatermark: number;
  /** Limits. */
  readonly limits: ProcessLimits;
  /** Start of the brk heap. */
  brkStart: number;
  /** Current program break (byte address). */
  brkEnd: number;
  /** The program loaded by exec, or null (dropped when the process is gone). */
  image: ProcessImage | null = null;
  /** Counters. */
  readonly stats: ProcessStats = { rssPages: 0, faults: 0, lazyZero: 0, lazyFile: 0, stackGrowth: 0, cowCopies: 0, cowReuses: 0, spurious: 0, peakRssPages: 0, swapPages: 0, majorFaults: 0, minorFaults: 0 };
  /** The address space while the process runs; null once it is gone (nothing of it is kept). */
  private space: { regions: RegionList; vas: VirtualAllocator<string>; pages: UserPageTables } | null;
  /** @internal */
  private readonly manager: ProcessCalls;

  /** @internal — use kernel.createProcess */
  constructor(
    manager: ProcessCalls,
    init: {
      pid: number;
      parentPid: number | null;
      name: string;
      root: number;
      pcid: number;
      userStart: number;
      userEnd: number;
      stackTop: number;
      mmapBase: number;
      limits: ProcessLimits;
      brkStart: number;
      regions: RegionList;
      vas: VirtualAllocator<string>;
      pages: UserPageTables;
    },
  ) {
    this.manager = manager;
    this.pid = init.pid;
    this.parentPid = init.parentPid;
    this.name = init.name;
    this.root = init.root;
    this.pcid = init.pcid;
    this.userStart = init.userStart;
    this.userEnd = init.userEnd;
    this.stackTop = init.stackTop;
    this.mmapBase = init.mmapBase;
    this.mmapWatermark = init.mmapBase;
    this.limits = init.limits;
    this.brkStart = init.brkStart;
    this.brkEnd = init.brkStart;
    this.space = { regions: init.regions, vas: init.vas, pages: init.pages };
  }

  /** @internal The region list. @throws KernelInvariantError once the process is gone */
  get regions_(): RegionList {
    return this.liveSpace().regions;
  }

  /** @internal The virtual address allocator. @throws KernelInvariantError once the process is gone */
  get vas_(): VirtualAllocator<string> {
    return this.liveSpace().vas;
  }

  /** @internal The page tables. @throws KernelInvariantError once the process is gone */
  get pages_(): UserPageTables {
    return this.liveSpace().pages;
  }

  /**
   * @internal Called by the teardown once every frame and table went back: drops the region
   * list, allocator, page-table helper and program image, so a gone process is a small record.
   */
  detach_(): void {
    this.space = null;
    this.image = null;
  }

  private liveSpace(): { regions: RegionList; vas: VirtualAllocator<string>; pages: UserPageTables } {
    if (this.space === null) throw new KernelInvariantError(`process ${this.pid} is ${this.state}: its address space is gone`);
    return this.space;
  }

  /** Whether it is still running. */
  get alive(): boolean {
    return this.state === 'running';
  }

  /** The regions, ascending (a copy); none once the process is gone. */
  regions(): Region[] {
    return this.space === null ? [] : this.space.regions.all();
  }

  /** The region containing `va`, or null (also for anything that is not an address). */
  regionAt(va: number): Region | null {
    if (this.space === null || !Number.isSafeInteger(va)) return null;
    return this.space.regions.find(va);
  }

  /** Page tables created for this process (PDPTs, PDs, PTs; the PML4 not counted). */
  get pageTableCount(): number {
    return this.space === null ? 0 : this.space.pages.tableCount;
  }

  /**
   * Moves the program break to `newBreak` (brk(2)): grows or shrinks the heap region; pages are
   * allocated on first touch. Returns the new break, or the unchanged one when the request is
   * refused (below the heap start, or no room — Linux's brk returns the old break then).
   * @throws ProcessStateError if the process is gone; UserMemoryArgumentError for a non-integer
   */
  brk(newBreak: number): number {
    return this.manager.brk(this, newBreak);
  }

  /**
   * Moves the break by `incrementBytes` (sbrk(3)); returns the OLD break, or null when refused.
   * @throws ProcessStateError, UserMemoryArgumentError
   */
  sbrk(incrementBytes: number): number | null {
    return this.manager.sbrk(this, incrementBytes);
  }

  /**
   * Maps memory (mmap(2)): anonymous private memory (MAP_PRIVATE | MAP_ANONYMOUS) by default,
   * anonymous shared memory with `shared` (MAP_SHARED | MAP_ANONYMOUS), or a named shared-memory
   * object with `shm` and `offsetBytes`: `lengthBytes` rounded up to pages, rights `prot` (PROT
   * bits). Without `fixed`, `va` is a hint; with `fixed` the range replaces whatever was mapped
   * there (MAP_FIXED), or with `noReplace` the call fails if anything is (MAP_FIXED_NOREPLACE).
   * Nothing is allocated until touched.
   * @returns the address, or null when no room (ENOMEM) or `noReplace` found a mapping (EEXIST)
   * @throws ProcessStateError; UserMemoryArgumentError for a bad length / address / offset;
   *   InvalidProtError; ShmHandleError when `shm` is not an open handle; ShmRangeError when the
   *   range runs past the object's end
   */
  mmap(options: MmapOptions): number | null {
    return this.manager.mmap(this, options);
  }

  /**
   * Unmaps `[va, va + lengthBytes)` (rounded up to pages), partly or wholly covering regions;
   * holes are fine. Frames go back (or lose a sharer), emptied page tables are freed, TLB entries
   * of present pages are invalidated.
   * @returns the number of pages that held a frame
   * @throws ProcessStateError; UserMemoryArgumentError for a misaligned or empty range
   */
  munmap(va: number, lengthBytes: number): number {
    return this.manager.munmap(this, va, lengthBytes);
  }

  /**
   * Changes the rights of `[va, va + lengthBytes)` (mprotect(2)); every page must lie in a region.
   * Present pages are rewritten at once (and invalidated); copy-on-write pages stay read-only
   * until written.
   * @throws ProcessStateError; UserMemoryArgumentError; RegionRangeError for a hole (ENOMEM); InvalidProtError
   */
  mprotect(va: number, lengthBytes: number, prot: number): void {
    this.manager.mprotect(this, va, lengthBytes, prot);
  }

  /**
   * Makes one user-mode access at `va` through the CPU (switching to this process first): a
   * read, a write of `value` (a byte), or an instruction fetch. Faults go to the kernel's policy.
   * @returns what came of it; after `segv` / `oom-kill` the process is gone (see `killed`)
   * @throws ProcessStateError if the process is gone before the access; KernelPanic if the kernel panics
   */
  touch(va: number, access: TouchAccess, value = 0): TouchOutcome {
    return this.manager.touch(this, va, access, value);
  }

  /**
   * Touches every page of `[va, va + lengthBytes)` in order (one access per page).
   * @returns 'ok', or the outcome of the access that killed the process
   */
  touchRange(va: number, lengthBytes: number, access: TouchAccess, value = 0): TouchOutcome {
    return this.manager.touchRange(this, va, lengthBytes, access, value);
  }

  /**
   * Forks: a child sharing every private page copy-on-write and every MAP_SHARED page as it is;
   * null when out of memory. @throws ProcessStateError
   */
  fork(): Process | null {
    return this.manager.fork(this.pid);
  }

  /** exit(2): frees everything. @throws ProcessStateError if already gone */
  exit(code = 0): void {
    this.manager.exit(this.pid, code);
  }

  /**
   * Software translation of a user address in this address space (no fault, no TLB): the
   * physical address, or -1 when no page holds a frame there (PROT_NONE pages included).
   */
  translate(va: number): number {
    return this.manager.translate(this, va);
  }

  /**
   * The leaf PTE of the page holding `va`, decoded for people (the demo, tests): null when no
   * page table covers it or the entry holds no frame.
   */
  pageInfo(va: number): PageInfo | null {
    return this.manager.pageInfo(this, va);
  }

  /** The regions in /proc/PID/maps style, one per line. */
  formatMaps(): string {
    return this.manager.formatMaps(this);
  }
}

/** A user page's PTE, decoded (see `Process.pageInfo`). */
export interface PageInfo {
  /** The page's linear address (page aligned). */
  readonly va: number;
  /** The frame it maps. */
  readonly frame: number;
  /** P: present (false for a PROT_NONE page, which keeps its frame). */
  readonly present: boolean;
  /** R/W. */
  readonly writable: boolean;
  /** U/S. */
  readonly user: boolean;
  /** NX (bit 63). */
  readonly noExecute: boolean;
  /** A: set by the CPU on access. */
  readonly accessed: boolean;
  /** D: set by the CPU on write. */
  readonly dirty: boolean;
  /** Copy-on-write marker (bit 9). */
  readonly copyOnWrite: boolean;
  /** PROT_NONE marker (bit 10). */
  readonly protNone: boolean;
  /** References to the frame (more than 1 while shared copy-on-write). */
  readonly refCount: number;
  /** The raw flags word (x86-paging's layout). */
  readonly flags: number;
}

/** Options of `Process.mmap`. */
export interface MmapOptions {
  /** Bytes; rounded up to a page. */
  readonly lengthBytes: number;
  /** PROT bits (default read | write). */
  readonly prot?: number;
  /** Place exactly at `va` (MAP_FIXED), replacing what was there. */
  readonly fixed?: boolean;
  /** With `fixed`: fail (null) instead of replacing (MAP_FIXED_NOREPLACE). */
  readonly noReplace?: boolean;
  /** Address: the hint, or the exact place with `fixed` (page aligned). */
  readonly va?: number;
  /** A label shown in `formatMaps` (default: a named object's name, else none). */
  readonly name?: string;
  /**
   * MAP_SHARED | MAP_ANONYMOUS: the pages belong to a new anonymous shared-memory object that
   * fork shares as it is (no copy-on-write): a write in the child is seen by the parent. The
   * object gives its frames back when the last region mapping it goes.
   */
  readonly shared?: boolean;
  /**
   * A named shared-memory object to map (MAP_SHARED of an `shmOpen` handle): the pages are the
   * object's, seen by every process that maps it. Implies `shared`.
   */
  readonly shm?: SharedMemoryObject;
  /** With `shm`: byte offset into the object (page aligned, default 0). */
  readonly offsetBytes?: number;
}
