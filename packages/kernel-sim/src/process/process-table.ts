// The process table: pids, live and gone processes, the current one, creation of an empty address
// space, context switches, and teardown (exit, SIGSEGV, OOM kill) that gives every frame back.
import { InvpcidType } from '@kmem/x86-paging';
import { VirtualAllocator } from '@kmem/virt-alloc';
import type { KernelEventInput } from '../events';
import { formatCanonical } from '../hex';
import { show } from '../show-value';
import { KernelStateError } from '../kernel-errors';
import type { KernelServices } from '../kernel-services';
import type { SwapManager } from '../swap/swap-manager';
import type { AddressSpaceSwitch } from './address-space-switch';
import { Process, type ProcessCalls, type ProcessLimits } from './process';
import { NoSuchProcessError, ProcessOptionError, ProcessStateError } from './process-errors';
import { checkLimits, type CreateProcessOptions } from './process-limits';
import { PROT, RegionList } from './regions';
import { UserPageTables } from './user-pages';
import type { UserMappings } from './user-mappings';
import type { MmapPolicy } from '../highest-allocation';

const PAGE = 4096;

/** Exit records `processes.gone()` keeps by default (the most recent ones). */
export const DEFAULT_EXIT_HISTORY = 1000;

/** Why a process ended. */
export type TeardownCause = 'exit' | 'segv' | 'oom';

/** Live and gone processes and their lifecycle. */
export class ProcessTable<K extends KernelServices = KernelServices> {
  readonly live = new Map<number, Process>();
  readonly dead = new Map<number, Process>();
  nextPid = 1;
  current: Process | null = null;
  /** Processes killed so far (SIGSEGV and OOM). */
  killCount = 0;
  /** Swap and reclaim, once enabled (`kernel.enableSwap`). */
  swap: SwapManager | null = null;

  constructor(
    readonly kernel: K,
    readonly spaces: AddressSpaceSwitch,
    readonly mappings: UserMappings,
    private readonly calls: ProcessCalls,
    /** Exit records kept in `dead` (the most recent ones). */
    readonly exitHistory: number = DEFAULT_EXIT_HISTORY,
    /** Where mmap without an address goes (the kernel's `mmapPolicy`). */
    readonly mmapPolicy: MmapPolicy = 'first-fit',
  ) {}

  /**
   * A process by pid, live or gone (while its exit record is kept).
   * @throws NoSuchProcessError if no process had it, or its exit record was dropped
   */
  get(pid: number): Process {
    const p = this.live.get(pid) ?? this.dead.get(pid);
    if (p === undefined) throw new NoSuchProcessError(pid);
    return p;
  }

  /** @throws KernelStateError unless the kernel is running */
  requireRunning(what: string): void {
    if (this.kernel.state !== 'running') throw new KernelStateError(this.kernel.state, what);
  }

  /** @throws ProcessStateError unless `p` runs; KernelStateError unless the kernel does */
  requireAlive(p: Process, what: string): Process {
    if (p.state !== 'running') throw new ProcessStateError(p.pid, p.state, what);
    this.requireRunning(what);
    return p;
  }

  /** Emits `e` if anyone listens. */
  emit(e: KernelEventInput): void {
    const events = this.kernel.events;
    if (events.wants(e.kind)) events.emit(e);
  }

  /** See `ProcessManager.create`. */
  create(options: CreateProcessOptions = {}): Process | null {
    this.requireRunning('createProcess');
    const limits = checkLimits(options);
    const kernel = this.kernel;
    const userStart = kernel.layout.userRange.start;
    const userEnd = kernel.layout.userRange.end;
    // The layout's stack top (identity-low: seed 000's 2^47, the last byte below the hole; the
    // Linux-like layouts: TASK_SIZE_MAX), within the user range.
    const stackTop = Math.min(kernel.layout.userStackTop, userEnd);
    const brkStart = options.brkStartVa ?? userStart;
    if (!Number.isSafeInteger(brkStart) || brkStart % PAGE !== 0 || brkStart < userStart || brkStart >= stackTop - limits.stackLimitBytes) {
      throw new ProcessOptionError(`brkStartVa ${show(brkStart)} is not a page-aligned user address below the stack area`);
    }
    if (stackTop - limits.stackLimitBytes - limits.guardGapBytes < userStart) throw new ProcessOptionError('the stack limit and guard gap do not fit in the user range');
    this.spaces.enablePcidOnce();
    const pid = this.nextPid;
    const root = kernel.newAddressSpaceRoot(pid);
    if (root === null) return null;
    this.nextPid++;
    const p = this.makeProcess(pid, null, options.name ?? `proc${pid}`, root, userStart, userEnd, stackTop, limits, brkStart);
    const stackStart = stackTop - limits.stackSizeBytes;
    this.mappings.addRegion(p, { start: stackStart, end: stackTop, prot: PROT.Read | PROT.Write, kind: 'stack', backing: null, growsDown: true, name: '[stack]' });
    this.live.set(pid, p);
    this.emit({ kind: 'process-create', pid, name: p.name, cr3: root, pcid: p.pcid });
    return p;
  }

  /** A Process over `root`: page tables, and a virtual allocator and regions (copies of `from`'s for fork). */
  makeProcess(pid: number, parentPid: number | null, name: string, root: number, userStart: number, userEnd: number, stackTop: number, limits: ProcessLimits, brkStart: number, from?: Process): Process {
    const kernel = this.kernel;
    const pcid = (pid % 4095) + 1;
    const cpu = kernel.machine.cpu;
    const events = kernel.events;
    const spaces = this.spaces;
    const invalidate = (va: number): void => {
      if (cpu.registers.cr3Frame === root) cpu.invlpg(va);
      else if (spaces.pcidOn) cpu.invpcid(InvpcidType.IndividualAddress, pcid, va);
      else return; // not loaded: the CR3 write that switched away flushed its (non-global) entries
      if (events.wants('tlb-flush')) events.emit({ kind: 'tlb-flush', reason: 'invlpg', va });
    };
    const pages = new UserPageTables(root, kernel.tableAccess, kernel.frames, pid, this.mappings.maskHi(), invalidate, userStart, userEnd, kernel.layout.pagingMode === '32-bit');
    const vas = from !== undefined ? from.vas_.clone() : new VirtualAllocator<string>({ start: userStart, end: userEnd, formatAddress: formatCanonical });
    const regions = from !== undefined ? from.regions_.clone() : new RegionList();
    const mmapBase = Math.max(userStart, Math.floor(userEnd / 3 / PAGE) * PAGE);
    const proc = new Process(this.calls, { pid, parentPid, name, root, pcid, userStart, userEnd, stackTop, mmapBase, limits, brkStart, regions, vas, pages });
    this.mappings.ownerOf(proc);
    spaces.flushPcid(pcid);
    return proc;
  }

  /** See `ProcessManager.switchTo`. */
  switchTo(pid: number | null): void {
    if (pid === null) {
      this.loadKernelTables();
      return;
    }
    const p = this.requireAlive(this.get(pid), 'switchTo');
    if (this.current === p && this.kernel.machine.cpu.registers.cr3Frame === p.root) return;
    this.current = p;
    this.spaces.load(p);
  }

  /** Loads the kernel's own tables; no process is current. */
  loadKernelTables(): void {
    this.spaces.loadKernel();
    this.current = null;
  }

  /**
   * Ends `p`: every frame goes back (or loses a sharer), its tables and PML4 are freed, it moves
   * to the gone list.
   */
  teardown(p: Process, why: TeardownCause): void {
    const kernel = this.kernel;
    const cpu = kernel.machine.cpu;
    const mappings = this.mappings;
    let framesReleased = 0;
    // Torn down while its tables are reachable (a recursive slot needs them in CR3); no INVLPG:
    // leaving the address space below flushes its TLB entries (CR3 write, or INVPCID with PCIDs).
    const swap = this.swap;
    const tablesFreed = this.spaces.withSpace(p, () => {
      // Swap entries first (each slot loses a reference; the tables go below anyway).
      if (swap !== null) for (const r of p.regions_.all()) swap.releaseSwapEntries(p, r.start, r.end, true);
      return p.pages_.destroy(p.regions_.all(), (_va, frame) => {
        mappings.dropFrame(p, frame);
        framesReleased++;
      });
    });
    // Its shared mappings go: an object nothing else references gives its frames back.
    mappings.shared.detachRegions(p.regions_.all());
    if (cpu.registers.cr3Frame === p.root) this.loadKernelTables();
    if (this.current === p) this.current = null;
    kernel.freeAddressSpaceRoot(p.root);
    this.spaces.flushPcid(p.pcid);
    p.stats.rssPages = 0;
    p.state = why === 'exit' ? 'exited' : 'killed';
    // What stays is a small exit record: pid, name, exit code or kill record, counters. The
    // region list, virtual allocator, page-table helper and image go (issue 14 defect 4).
    p.detach_();
    if (why !== 'exit') this.killCount++;
    this.live.delete(p.pid);
    this.dead.set(p.pid, p);
    // Only the most recent records are kept (a Map iterates in insertion order: oldest first).
    while (this.dead.size > this.exitHistory) this.dead.delete(this.dead.keys().next().value!);
    mappings.forget(p.pid);
    this.emit({ kind: 'process-exit', pid: p.pid, code: p.exitCode ?? (why === 'segv' ? 139 : 137), cause: why, framesReleased, tablesFreed: tablesFreed + 1 });
  }
}
