// Processes on the kernel, as one object (`kernel.processes`): the process table, and each thing
// processes do to memory in a file of its own — exec (exec.ts), fork with copy-on-write (fork.ts),
// brk/mmap/munmap/mprotect (memory-calls.ts), user accesses (user-access.ts), the vector-14
// handler and its policy (fault-handler.ts, fault-actions.ts), invariants (process-invariants.ts).
import type { FaultAnswer } from '@kmem/x86-paging';
import type { ElfExecutable } from '../elf/parse-elf';
import type { KernelServices } from '../kernel-services';
import { AddressSpaceSwitch } from './address-space-switch';
import { exec } from './exec';
import { FaultActions } from './fault-actions';
import type { PageFaultPolicy } from './fault-context';
import { PageFaultHandler } from './fault-handler';
import { fork } from './fork';
import { brk, mmap, mprotect, munmap, sbrk } from './memory-calls';
import type { MmapOptions, PageInfo, Process, ProcessCalls, TouchAccess, TouchOutcome } from './process';
import { ProcessOptionError, UserMemoryArgumentError } from './process-errors';
import { checkProcessInvariants } from './process-invariants';
import type { CreateProcessOptions, ExecOptions } from './process-limits';
import { DEFAULT_EXIT_HISTORY, ProcessTable } from './process-table';
import { formatMaps, pageInfo, translate } from './process-view';
import { makeUserAccess, touch, touchRange, type UserAccess } from './user-access';
import { UserMappings } from './user-mappings';
import { enableSwap } from './enable-swap';
import type { SwapManager, SwapOptions } from '../swap/swap-manager';
import { show } from '../show-value';
import type { MmapPolicy } from '../highest-allocation';
import type { SharedMemory, ShmOpenOptions } from './shared-memory';
import type { SharedMemoryObject } from './shared-memory-object';

/** Frame usage of the whole system. */
export interface FrameUsage {
  /** Frames by owner kind (every kind listed). */
  readonly byOwner: Readonly<Record<string, number>>;
  /** Frames recorded with each live pid (its pages first allocated by it, and its page tables). */
  readonly byPid: ReadonlyMap<number, number>;
  /** Frames free in the allocator. */
  readonly freeFrames: number;
  /** Frames with more than one reference (copy-on-write, shared memory, the page cache). */
  readonly sharedFrames: number;
}

/** Options of {@link ProcessManager}. */
export interface ProcessManagerOptions<K extends KernelServices> {
  /** Use PCIDs (CR4.PCIDE) for process address spaces once the first process is created. */
  readonly pcid?: boolean;
  /** The policy `setFaultPolicy(null)` restores (default: decide, then apply). */
  readonly defaultPolicy?: PageFaultPolicy<K>;
  /** Exit records `gone()` keeps, the most recent ones (default 1,000; 0 keeps none). */
  readonly exitHistory?: number;
  /** Where mmap without an address goes (default 'first-fit'); see `MmapPolicy`. */
  readonly mmapPolicy?: MmapPolicy;
}

/**
 * The process table and everything processes do to memory. Reached as `kernel.processes`; the
 * kernel's own methods (`createProcess`, `exec`, `fork`, `exit`, `switchTo`, `user`,
 * `setFaultPolicy`) delegate here. Registers the kernel's #PF handler on the machine's CPU.
 */
export class ProcessManager<K extends KernelServices = KernelServices> implements ProcessCalls {
  /** The kernel. */
  readonly kernel: K;
  /** User-mode accesses of the current process (throwing). */
  readonly user: UserAccess;
  private readonly table: ProcessTable<K>;
  private readonly faults: PageFaultHandler<K>;

  constructor(kernel: K, options: ProcessManagerOptions<K> = {}) {
    this.kernel = kernel;
    const spaces = new AddressSpaceSwitch(kernel, options.pcid ?? false);
    this.table = new ProcessTable(kernel, spaces, new UserMappings(kernel, spaces), this, options.exitHistory ?? DEFAULT_EXIT_HISTORY, options.mmapPolicy ?? 'first-fit');
    this.faults = new PageFaultHandler(this.table, new FaultActions(this.table), options.defaultPolicy ?? ((ctx) => ctx.apply(ctx.decide())));
    kernel.machine.cpu.setHandler(14, (fault): FaultAnswer => this.faults.handle(fault));
    this.user = makeUserAccess(this.table);
  }

  // --- the process table -----------------------------------------------------------------------

  /** The process whose address space is loaded, or null (kernel tables). */
  get current(): Process | null {
    return this.table.current;
  }

  /** Live processes, by pid. */
  list(): Process[] {
    return [...this.table.live.values()];
  }

  /** Number of live processes. */
  get count(): number {
    return this.table.live.size;
  }

  /** A process by pid, live or gone (while its exit record is kept). @throws NoSuchProcessError if no process had it, or its record was dropped */
  get(pid: number): Process {
    return this.table.get(pid);
  }

  /**
   * Processes that exited or were killed, oldest first: the most recent `exitHistory` of them
   * (default 1,000). Each is a small record (pid, name, state, exit code or kill record,
   * counters); its address space and image are gone.
   */
  gone(): Process[] {
    return [...this.table.dead.values()];
  }

  /** Page faults handled while no process was current. */
  get kernelFaults(): number {
    return this.faults.kernelFaults;
  }

  /** Processes killed so far (SIGSEGV and OOM). */
  get killCount(): number {
    return this.table.killCount;
  }

  /**
   * Replaces the page-fault policy (null restores the default). The kernel's handler stays
   * registered on the CPU; it gathers the facts and calls the policy.
   * @throws ProcessOptionError unless `policy` is a function or null
   */
  setFaultPolicy(policy: PageFaultPolicy<K> | null): void {
    if (policy !== null && typeof policy !== 'function') throw new ProcessOptionError(`a fault policy is a function or null, not ${typeof policy}`);
    this.faults.policy = policy ?? this.faults.defaultPolicy;
  }

  /** The policy in force. */
  get faultPolicy(): PageFaultPolicy<K> {
    return this.faults.policy;
  }

  /** See `Kernel.enableSwap`. */
  enableSwap(options: SwapOptions): SwapManager {
    return enableSwap(this.table, options);
  }

  /** Swap and reclaim, or null until enabled. */
  get swap(): SwapManager | null {
    return this.table.swap;
  }

  // --- shared memory ---------------------------------------------------------------------------------

  /** Shared-memory objects, their names and the page cache (see the README's "Shared memory"). */
  get sharedMemory(): SharedMemory {
    return this.table.mappings.shared;
  }

  /**
   * shm_open (+ ftruncate): opens the named object, or creates it (`create`, with `sizeBytes`);
   * one more open handle. Map it with `process.mmap({ shm, lengthBytes, offsetBytes })`.
   * @throws ShmNameError, ShmNotFoundError, ShmExistsError, ShmSizeError, UserMemoryArgumentError
   *   — before any change; KernelStateError unless the kernel runs
   */
  shmOpen(name: string, options?: ShmOpenOptions): SharedMemoryObject {
    this.table.requireRunning('shmOpen');
    return this.table.mappings.shared.open(name, options);
  }

  /** Closes one handle of `object`. @throws ShmHandleError unless it is an open handle */
  shmClose(object: SharedMemoryObject): void {
    this.table.requireRunning('shmClose');
    this.table.mappings.shared.close(object);
  }

  /**
   * shm_unlink: removes the name; mappings and open handles keep the object alive.
   * @returns the object (`alive` false when nothing referenced it any more)
   * @throws ShmNameError, ShmNotFoundError — before any change
   */
  shmUnlink(name: string): SharedMemoryObject {
    this.table.requireRunning('shmUnlink');
    return this.table.mappings.shared.unlink(name);
  }

  // --- lifecycle ---------------------------------------------------------------------------------

  /**
   * A new process with an empty address space: a PML4 sharing the kernel half, a virtual
   * address allocator over the layout's user range, a stack region (nothing mapped) and an
   * empty heap at `brkStartVa`.
   * @returns the process, or null when memory ran out (nothing left allocated)
   * @throws KernelStateError unless the kernel is running; ProcessOptionError for bad options
   */
  create(options: CreateProcessOptions = {}): Process | null {
    return this.table.create(options);
  }

  /**
   * Loads an ELF executable (execve): into process `target` (its old memory is released first)
   * or, given options (or nothing), into a new process. One region per PT_LOAD (text R-X, rodata
   * R--, data RW- with its zero-page tail as a `bss` region; NX wherever X is absent), file pages
   * read on first touch, a stack with argv/envp/auxv written through the CPU as copy_to_user
   * does (faulting its pages in), brk just after the image. The process becomes current.
   * @returns the process, or null when memory ran out (no process was created, or the process
   *   was OOM-killed while its new image was being set up — Linux kills past exec's point of no
   *   return too)
   * @throws ExecArgumentError (argv / envp not arrays of strings, a file that is not bytes or a
   *   parsed ELF, options not an object), ElfParseError / ElfLoadError / StackImageError for a bad
   *   file or arguments, NoSuchProcessError, ProcessStateError, KernelStateError — all before any
   *   change: the target process keeps its old image
   */
  exec(target: number | ExecOptions | undefined, file: Uint8Array | ElfExecutable, argv?: readonly string[], envp?: readonly string[], options?: ExecOptions): Process | null {
    return exec(this.table, target, file, argv, envp, options);
  }

  /**
   * fork(2): a child with a copy of the parent's regions and address-space layout; every page
   * holding a frame is shared, write-protected in both and marked copy-on-write (PTE bit 9), the
   * frame's reference count raised (`kernel.frames.share`). The first write in either copies.
   * Pages of shared regions (MAP_SHARED, named objects) are shared as they are: same frame, same
   * rights, no copy-on-write.
   * @returns the child, or null when memory ran out (nothing of the child remains)
   * @throws NoSuchProcessError, ProcessStateError, KernelStateError
   */
  fork(pid: number): Process | null {
    return fork(this.table, pid);
  }

  /**
   * exit(2): every frame goes back (or loses a sharer), every page table of the process and its
   * PML4 are freed. The kernel's tables are loaded if it was current.
   * @throws NoSuchProcessError, ProcessStateError if it is already gone
   */
  exit(pid: number, code = 0): void {
    const p = this.table.requireAlive(this.table.get(pid), 'exit');
    if (!Number.isInteger(code)) throw new UserMemoryArgumentError(0, `exit code ${show(code)} is not an integer`);
    p.exitCode = code;
    this.table.teardown(p, 'exit');
  }

  /**
   * Context switch: loads the process's PML4 into CR3 (with its PCID and no flush when PCIDs are
   * on; otherwise the MOV to CR3 flushes every non-global TLB entry). `null` loads the kernel's
   * own tables.
   * @throws NoSuchProcessError, ProcessStateError
   */
  switchTo(pid: number | null): void {
    this.table.switchTo(pid);
  }

  // --- what a Process asks for (ProcessCalls) -------------------------------------------------------

  /** See `Process.brk`. @internal */
  brk(p: Process, newBreak: number): number {
    return brk(this.table, p, newBreak);
  }

  /** See `Process.sbrk`. @internal */
  sbrk(p: Process, incrementBytes: number): number | null {
    return sbrk(this.table, p, incrementBytes);
  }

  /** See `Process.mmap`. @internal */
  mmap(p: Process, options: MmapOptions): number | null {
    return mmap(this.table, p, options);
  }

  /** See `Process.munmap`. @internal */
  munmap(p: Process, va: number, lengthBytes: number): number {
    return munmap(this.table, p, va, lengthBytes);
  }

  /** See `Process.mprotect`. @internal */
  mprotect(p: Process, va: number, lengthBytes: number, prot: number): void {
    mprotect(this.table, p, va, lengthBytes, prot);
  }

  /** See `Process.touch`. @internal */
  touch(p: Process, va: number, access: TouchAccess, value: number): TouchOutcome {
    return touch(this.table, p, va, access, value);
  }

  /** See `Process.touchRange`. @internal */
  touchRange(p: Process, va: number, lengthBytes: number, access: TouchAccess, value: number): TouchOutcome {
    return touchRange(this.table, p, va, lengthBytes, access, value);
  }

  /** See `Process.translate`. @internal */
  translate(p: Process, va: number): number {
    return translate(this.table, p, va);
  }

  /** See `Process.pageInfo`. @internal */
  pageInfo(p: Process, va: number): PageInfo | null {
    return pageInfo(this.table, p, va);
  }

  /** See `Process.formatMaps`. @internal */
  formatMaps(p: Process): string {
    return formatMaps(p);
  }

  // --- statistics and invariants ----------------------------------------------------------------------

  /** Frames by owner kind and by live pid, free frames, shared frames. */
  frameUsage(): FrameUsage {
    const frames = this.kernel.frames;
    const byPid = new Map<number, number>();
    for (const pid of this.table.live.keys()) byPid.set(pid, frames.framesOfPid(pid));
    return { byOwner: frames.usageByOwner(), byPid, freeFrames: this.kernel.frames.pmm.freeFrames, sharedFrames: frames.sharedFrames };
  }

  /**
   * For every live process: regions valid and equal to the virtual allocator's used ranges; its
   * page tables valid; every leaf inside a region with rights that match it (U/S set; R/W only
   * in a writable region and never on a copy-on-write page, and always on a private page of a
   * writable region; NX exactly where the region has no PROT_EXEC; PROT_NONE pages not present);
   * frames owned 'user'; RSS = leaves. System-wide: every user frame's reference count equals the
   * number of leaves mapping it (plus one when a shared-memory object or the page cache holds it),
   * a frame reaches two address spaces only through a shared object, the page cache or
   * copy-on-write, every user frame is mapped somewhere or held by a live object (no leak), and
   * each object's mapped-page count and name agree with the regions and the names.
   * @throws KernelInvariantError (or a part's error) describing the first inconsistency
   */
  checkInvariants(): void {
    checkProcessInvariants(this.table);
  }
}
