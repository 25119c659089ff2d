// Processes on the kernel: address spaces, exec of ELF programs, brk/mmap/munmap/mprotect, fork
// with copy-on-write, exit, context switches, user accesses through the CPU, and the kernel's
// vector-14 handler that runs the page-fault policy.
import { VirtualAllocator } from '@kmem/virt-alloc';
import {
  CR4,
  EFER,
  InvpcidType,
  Mode,
  PTE,
  PageFaultAbortedError,
  TableAccessFaultError,
  accessName,
  addressMaskHi,
  entryAddress,
  type FaultAnswer,
  type PageFaultInfo,
} from '@kmem/x86-paging';
import { parseElf64, type Elf64 } from '../elf/parse-elf';
import { DEFAULT_USER_END_VA, defaultPieLoadBias, elfLoadPlan, pageContents } from '../elf/load-plan';
import { buildInitialStack } from '../elf/stack-image';
import type { FrameOwner, KernelEventInput } from '../events';
import { PTE_COW, PTE_PROT_NONE, decideFault, emptyFaultDecision, emptyFaultQuery, type FaultDecision, type FaultQuery, type FaultReason } from '../fault-policy';
import { formatCanonical, formatPhysical } from '../hex';
import { FrameOwnershipError, KernelInvariantError, KernelStateError } from '../kernel-errors';
import type { Kernel } from '../kernel';
import { NoSuchProcessError, ProcessKilledError, ProcessOptionError, ProcessStateError, UserMemoryArgumentError } from './process-errors';
import { Process, type KillRecord, type MmapOptions, type PageInfo, type ProcessLimits, type TouchAccess, type TouchOutcome } from './process';
import { PROT, RegionList, checkProt, describeRegion, formatProt, type Region, type RegionKind } from './regions';
import { UserPageTables, leafFlags, leafHoldsFrame } from './user-pages';

const PAGE = 4096;
const P = PTE.Present;
const W = PTE.Writable;
const U = PTE.User;
const NX = PTE.NoExecute;
const AD = PTE.Accessed | PTE.Dirty;
/** Linux's STACK_TOP / TASK_SIZE for 4-level paging: the last user page is never mapped. */
const MAX_STACK_TOP = DEFAULT_USER_END_VA;
const MiB = 1024 * 1024;

/** Defaults of {@link ProcessLimits}: Linux's 128 KiB initial stack, 8 MiB RLIMIT_STACK, 256-page stack_guard_gap. */
export const DEFAULT_PROCESS_LIMITS: ProcessLimits = Object.freeze({ stackSizeBytes: 128 * 1024, stackLimitBytes: 8 * MiB, guardGapBytes: 256 * PAGE });

/** Options of `kernel.createProcess`. */
export interface CreateProcessOptions {
  /** A name for people (default `proc<pid>`). */
  readonly name?: string;
  /** Initial stack region size in bytes (page multiple, default 128 KiB). */
  readonly stackSizeBytes?: number;
  /** RLIMIT_STACK in bytes (page multiple, at least the initial size; default 8 MiB). */
  readonly stackLimitBytes?: number;
  /** Stack guard gap in bytes (page multiple, default 1 MiB). */
  readonly guardGapBytes?: number;
  /** Where the brk heap starts when no program is loaded (page aligned; default the start of the user range). */
  readonly brkStartVa?: number;
}

/** Options of `kernel.exec` besides the file, argv and envp. */
export interface ExecOptions extends CreateProcessOptions {
  /** Load bias for a PIE (default: Linux's ELF_ET_DYN_BASE, see `defaultPieLoadBias`). */
  readonly loadBias?: number;
  /** The 16 AT_RANDOM bytes (default: a fixed pattern derived from the pid, for reproducible runs). */
  readonly random?: Uint8Array;
}

/** What a fault became, as the 'page-fault' event reports it. */
export type FaultResolution = 'lazy-zero' | 'lazy-file' | 'stack-growth' | 'cow-copy' | 'cow-reuse' | 'spurious' | 'segv' | 'oom-kill' | 'panic';

/**
 * What a fault policy gets: the fault, the current process, the facts gathered for the default
 * decision (`query`), and the two halves of the default policy. ONE object, reused per fault.
 */
export interface FaultContext {
  /** The kernel. */
  readonly kernel: Kernel;
  /** The fault the CPU delivered (vector 14). */
  fault: PageFaultInfo;
  /** The process whose address space is loaded (CR3), or null (kernel tables loaded). */
  process: Process | null;
  /** The facts: region at CR2, the region above, the PTE, limits (filled before the policy runs). */
  readonly query: FaultQuery;
  /** The default decision over `query` ({@link decideFault}); returns a reused object. */
  decide(): FaultDecision;
  /**
   * Carries out a decision with the default mechanisms (map a zeroed or file page, grow the stack,
   * copy-on-write, kill with SIGSEGV, OOM kill, panic) and returns the CPU's answer.
   * @throws KernelPanic for 'panic'
   */
  apply(decision: FaultDecision): FaultAnswer;
}

/**
 * A page-fault policy: decides and acts, answering the CPU ('retry' after fixing the cause,
 * 'abort' after killing the process). The default is `ctx => ctx.apply(ctx.decide())`.
 */
export type FaultPolicy = (ctx: FaultContext) => FaultAnswer;

/** The default policy: {@link decideFault}, then the default mechanisms. */
export const defaultFaultPolicy: FaultPolicy = (ctx) => ctx.apply(ctx.decide());

/** Frame usage of the whole system. */
export interface FrameUsage {
  /** Frames by owner kind (every kind listed). */
  readonly byOwner: Readonly<Record<string, number>>;
  /** Frames recorded with each live pid (its pages first allocated by it, and its page tables). */
  readonly byPid: ReadonlyMap<number, number>;
  /** Frames free in the allocator. */
  readonly freeFrames: number;
  /** Frames shared by more than one mapping (copy-on-write). */
  readonly sharedFrames: number;
}

/** User-mode accesses of the current process through the CPU (they throw when the access kills it). */
export interface UserAccess {
  /** @throws ProcessKilledError if the access killed the process; ProcessStateError with no process */
  read8(va: number): number;
  /** @throws ProcessKilledError, ProcessStateError */
  read32(va: number): number;
  /** @throws ProcessKilledError, ProcessStateError */
  write8(va: number, value: number): void;
  /** @throws ProcessKilledError, ProcessStateError */
  write32(va: number, value: number): void;
  /** Instruction fetch of one byte. @throws ProcessKilledError, ProcessStateError */
  fetch8(va: number): number;
  /** Copies `lengthBytes` from `va`. @throws ProcessKilledError, ProcessStateError */
  readBytes(va: number, lengthBytes: number): Uint8Array;
  /** Copies `bytes` to `va`. @throws ProcessKilledError, ProcessStateError */
  writeBytes(va: number, bytes: Uint8Array): void;
}

const RESOLUTION: Record<string, FaultResolution> = {
  'map-zero': 'lazy-zero',
  'map-file': 'lazy-file',
  'grow-stack': 'stack-growth',
  'cow-copy': 'cow-copy',
  'cow-reuse': 'cow-reuse',
  spurious: 'spurious',
  segv: 'segv',
  panic: 'panic',
};

function pageUp(n: number): number {
  const r = n % PAGE;
  return r === 0 ? n : n + PAGE - r;
}

function modeName(mode: Mode): 'user' | 'supervisor' {
  return mode === Mode.User ? 'user' : 'supervisor';
}

/**
 * The process table and everything processes do to memory. Reached as `kernel.processes`; the
 * kernel's own methods (`createProcess`, `exec`, `fork`, `exit`, `switchTo`, `user`,
 * `setFaultPolicy`) delegate here. Registers the kernel's #PF handler on the machine's CPU.
 */
export class ProcessManager {
  /** The kernel. */
  readonly kernel: Kernel;
  /** User-mode accesses of the current process (throwing). */
  readonly user: UserAccess;
  private readonly table = new Map<number, Process>();
  private readonly dead = new Map<number, Process>();
  private nextPid = 1;
  private current_: Process | null = null;
  private policy: FaultPolicy = defaultFaultPolicy;
  private readonly query: FaultQuery = emptyFaultQuery();
  private readonly decision: FaultDecision = emptyFaultDecision();
  private readonly ctx: FaultContext;
  private readonly owners = new Map<number, FrameOwner>();
  private pcidWanted: boolean;
  private pcidOn = false;
  private fileView: Uint8Array | null = null;
  /** Page faults handled while no process was current. */
  kernelFaults = 0;
  /** Processes killed so far (SIGSEGV and OOM). */
  killCount = 0;

  /**
   * @param options.pcid use PCIDs (CR4.PCIDE) for process address spaces once the first process is created
   */
  constructor(kernel: Kernel, options: { readonly pcid?: boolean } = {}) {
    this.kernel = kernel;
    this.pcidWanted = options.pcid ?? false;
    const query = this.query;
    const decision = this.decision;
    this.ctx = {
      kernel,
      fault: null as unknown as PageFaultInfo,
      process: null,
      query,
      decide: () => decideFault(query, decision),
      apply: (d) => this.apply(d),
    };
    kernel.machine.cpu.setHandler(14, (fault) => this.handle(fault));
    const user = (): Process => {
      const p = this.current_;
      if (p === null) throw new ProcessStateError(0, 'absent', 'user access with no current process');
      return p;
    };
    const cpu = kernel.machine.cpu;
    this.user = {
      read8: (va) => this.guard(user(), () => cpu.read8(va, Mode.User)),
      read32: (va) => this.guard(user(), () => cpu.read32(va, Mode.User)),
      write8: (va, value) => this.guard(user(), () => cpu.write8(va, value, Mode.User)),
      write32: (va, value) => this.guard(user(), () => cpu.write32(va, value, Mode.User)),
      fetch8: (va) => this.guard(user(), () => cpu.fetch8(va, Mode.User)),
      readBytes: (va, lengthBytes) =>
        this.guard(user(), () => {
          const out = new Uint8Array(lengthBytes);
          cpu.readBytes(va, out, Mode.User);
          return out;
        }),
      writeBytes: (va, bytes) => this.guard(user(), () => cpu.writeBytes(va, bytes, Mode.User)),
    };
  }

  // --- the process table -----------------------------------------------------------------------

  /** The process whose address space is loaded, or null (kernel tables). */
  get current(): Process | null {
    return this.current_;
  }

  /** Live processes, by pid. */
  list(): Process[] {
    return [...this.table.values()];
  }

  /** Number of live processes. */
  get count(): number {
    return this.table.size;
  }

  /** A process by pid, live or gone. @throws NoSuchProcessError if no process ever had it */
  get(pid: number): Process {
    const p = this.table.get(pid) ?? this.dead.get(pid);
    if (p === undefined) throw new NoSuchProcessError(pid);
    return p;
  }

  /** Processes that exited or were killed, oldest first. */
  gone(): Process[] {
    return [...this.dead.values()];
  }

  /**
   * Replaces the page-fault policy (null restores the default). The kernel's handler stays
   * registered on the CPU; it gathers the facts and calls the policy.
   */
  setFaultPolicy(policy: FaultPolicy | null): void {
    this.policy = policy ?? defaultFaultPolicy;
  }

  /** The policy in force. */
  get faultPolicy(): FaultPolicy {
    return this.policy;
  }

  // --- creation ----------------------------------------------------------------------------------

  /**
   * A new process with an empty address space: a PML4 sharing the kernel half, a virtual
   * address allocator over the layout's user range, a stack region (nothing mapped) and an
   * empty heap at `brkStartVa`.
   * @returns the process, or null when memory ran out (nothing left allocated)
   * @throws KernelStateError unless the kernel is running; ProcessOptionError for bad options
   */
  create(options: CreateProcessOptions = {}): Process | null {
    this.requireRunning('createProcess');
    const limits = this.checkLimits(options);
    const kernel = this.kernel;
    const userStart = kernel.layout.userRange.start;
    const userEnd = kernel.layout.userRange.end;
    const stackTop = Math.min(kernel.layout.userStackTop, MAX_STACK_TOP, userEnd);
    const brkStart = options.brkStartVa ?? userStart;
    if (!Number.isSafeInteger(brkStart) || brkStart % PAGE !== 0 || brkStart < userStart || brkStart >= stackTop - limits.stackLimitBytes) {
      throw new ProcessOptionError(`brkStartVa ${String(brkStart)} is not a page-aligned user address below the stack area`);
    }
    if (stackTop - limits.stackLimitBytes - limits.guardGapBytes < userStart) throw new ProcessOptionError('the stack limit and guard gap do not fit in the user range');
    this.enablePcidOnce();
    const pid = this.nextPid;
    const root = kernel.newAddressSpaceRoot(pid);
    if (root === null) return null;
    this.nextPid++;
    const p = this.makeProcess(pid, null, options.name ?? `proc${pid}`, root, userStart, userEnd, stackTop, limits, brkStart);
    const stackStart = stackTop - limits.stackSizeBytes;
    this.addRegion(p, { start: stackStart, end: stackTop, prot: PROT.Read | PROT.Write, kind: 'stack', backing: null, growsDown: true, name: '[stack]' });
    this.table.set(pid, p);
    this.emit({ kind: 'process-create', pid, name: p.name, cr3: root, pcid: p.pcid });
    return p;
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
   * @throws ElfParseError / ElfLoadError / StackImageError for a bad file or arguments, before any change;
   *   NoSuchProcessError, ProcessStateError, KernelStateError
   */
  exec(target: number | ExecOptions | undefined, file: Uint8Array | Elf64, argv: readonly string[] = [], envp: readonly string[] = [], options: ExecOptions = {}): Process | null {
    this.requireRunning('exec');
    const opts: ExecOptions = typeof target === 'object' ? { ...target, ...options } : options;
    const existing = typeof target === 'number' ? this.requireAlive(this.get(target), 'exec') : null;
    const limits = existing?.limits ?? this.checkLimits(opts);
    const kernel = this.kernel;
    const userStart = kernel.layout.userRange.start;
    const stackTop = existing?.stackTop ?? Math.min(kernel.layout.userStackTop, MAX_STACK_TOP, kernel.layout.userRange.end);
    const elf = file instanceof Uint8Array ? parseElf64(file) : file;
    // A PIE gets Linux's ELF_ET_DYN_BASE for the stack top (0x0000_5555_5555_4000 by default); the
    // image must end below the stack's reach (stack top - RLIMIT_STACK - guard gap).
    const loadBias = opts.loadBias ?? (elf.positionIndependent ? defaultPieLoadBias(elf, stackTop) : undefined);
    const plan = elfLoadPlan(elf, { userStartVa: userStart, userEndVa: stackTop - limits.stackLimitBytes - limits.guardGapBytes, ...(loadBias === undefined ? {} : { loadBias }) });
    const name = opts.name ?? argv[0] ?? 'a.out';
    const pidGuess = existing?.pid ?? this.nextPid;
    const random = opts.random ?? Uint8Array.from({ length: 16 }, (_, i) => (pidGuess * 37 + i * 29 + 11) & 0xff);
    const stack = buildInitialStack({ plan, argv, envp, random, stackTopVa: stackTop, execFn: name });
    const stackBytes = Math.max(limits.stackSizeBytes, pageUp(stackTop - stack.base));
    if (stackBytes > limits.stackLimitBytes) throw new ProcessOptionError(`the initial stack (${stackBytes} bytes) exceeds the stack limit`);

    let p: Process;
    if (existing !== null) {
      p = existing;
      this.releaseUserMemory(p);
    } else {
      const made = this.create({ ...opts, name, brkStartVa: userStart });
      if (made === null) return null;
      p = made;
      this.removeRegions(p, p.userStart, p.userEnd);
    }
    p.name = name;
    for (let i = 0; i < plan.segments.length; i++) {
      const s = plan.segments[i]!;
      const { read, write, execute } = s.permissions;
      const prot = (read ? PROT.Read : 0) | (write ? PROT.Write : 0) | (execute ? PROT.Exec : 0);
      const kind: RegionKind = execute ? 'text' : write ? 'data' : 'rodata';
      const backing = { plan, segmentIndex: i };
      if (kind === 'data' && s.zeroPages.start > s.start && s.zeroPages.end > s.zeroPages.start) {
        this.addRegion(p, { start: s.start, end: s.zeroPages.start, prot, kind, backing, growsDown: false, name });
        this.addRegion(p, { start: s.zeroPages.start, end: s.end, prot, kind: 'bss', backing: null, growsDown: false, name });
      } else this.addRegion(p, { start: s.start, end: s.end, prot, kind: s.filePages.end === s.start ? 'bss' : kind, backing, growsDown: false, name });
    }
    const stackProt = PROT.Read | PROT.Write | (plan.stackExecutable ? PROT.Exec : 0);
    this.addRegion(p, { start: stackTop - stackBytes, end: stackTop, prot: stackProt, kind: 'stack', backing: null, growsDown: true, name: '[stack]' });
    p.brkStart = pageUp(plan.imageEnd);
    p.brkEnd = p.brkStart;
    p.image = { name, plan, entry: plan.entry, rsp: stack.rsp, stack, argv: [...argv], envp: [...envp] };
    this.emit({ kind: 'process-exec', pid: p.pid, name, entry: plan.entry, rsp: stack.rsp, segments: plan.segments.length, brk: p.brkStart });
    // copy_to_user of the initial stack: supervisor writes into the process's pages, which the
    // fault handler maps on demand (with SMAP on, bracketed by STAC/CLAC as Linux does).
    this.switchTo(p.pid);
    const cpu = kernel.machine.cpu;
    const smap = (cpu.registers.cr4 & CR4.SMAP) !== 0;
    try {
      if (smap) cpu.stac();
      cpu.writeBytes(stack.base, stack.bytes, Mode.Supervisor);
    } catch (e) {
      if (e instanceof PageFaultAbortedError && p.killed !== null) return null;
      throw e;
    } finally {
      if (smap) cpu.clac();
    }
    return p;
  }

  /**
   * fork(2): a child with a copy of the parent's regions and address-space layout; every page
   * holding a frame is shared, write-protected in both and marked copy-on-write (PTE bit 9), the
   * frame's reference count raised (`kernel.frames.share`). The first write in either copies.
   * @returns the child, or null when memory ran out (nothing of the child remains)
   * @throws NoSuchProcessError, ProcessStateError, KernelStateError
   */
  fork(pid: number): Process | null {
    this.requireRunning('fork');
    const parent = this.requireAlive(this.get(pid), 'fork');
    const kernel = this.kernel;
    const childPid = this.nextPid;
    const root = kernel.newAddressSpaceRoot(childPid);
    if (root === null) return null;
    this.nextPid++;
    const child = this.makeProcess(childPid, parent.pid, parent.name, root, parent.userStart, parent.userEnd, parent.stackTop, parent.limits, parent.brkStart, parent);
    child.brkEnd = parent.brkEnd;
    child.image = parent.image;
    const frames = kernel.frames;
    // Pass 1, in the parent's address space: write-protect and mark every page copy-on-write.
    // Pass 2, in the child's: map the same frames. (Two passes because a recursive table access
    // only reaches the tables of the address space in CR3.)
    const vas: number[] = [];
    const shared: number[] = [];
    const flagsOf: number[] = [];
    this.withSpace(parent, () => {
      // Region by region, as Linux's copy_page_range walks each VMA: leaves exist nowhere else.
      for (const r of parent.regions_.all()) {
        parent.pages_.forEachLeaf(r.start, r.end, (va, frame, flags) => {
          const cowFlags = (flags & ~W) | PTE_COW;
          if (cowFlags !== flags) parent.pages_.rewrite(va, frame, cowFlags);
          vas.push(va);
          shared.push(frame);
          flagsOf.push(cowFlags);
        });
      }
    });
    let oom = false;
    this.withSpace(child, () => {
      for (let i = 0; i < vas.length; i++) {
        if (!child.pages_.mapNew(vas[i]!, shared[i]!, flagsOf[i]!)) {
          oom = true;
          return;
        }
        frames.share(shared[i]!);
        child.stats.rssPages++;
      }
    });
    child.stats.peakRssPages = child.stats.rssPages;
    this.table.set(childPid, child);
    if (oom) {
      // The child's tables hold only pages shared so far: tear it down like any process.
      this.teardown(child, 'oom');
      this.table.delete(childPid);
      this.dead.delete(childPid);
      return null;
    }
    this.emit({ kind: 'process-create', pid: childPid, parentPid: parent.pid, name: child.name, cr3: root, pcid: child.pcid });
    this.emit({ kind: 'fork', parentPid: parent.pid, childPid, sharedPages: shared.length });
    return child;
  }

  /**
   * exit(2): every frame goes back (or loses a sharer), every page table of the process and its
   * PML4 are freed. The kernel's tables are loaded if it was current.
   * @throws NoSuchProcessError, ProcessStateError if it is already gone
   */
  exit(pid: number, code = 0): void {
    const p = this.requireAlive(this.get(pid), 'exit');
    if (!Number.isInteger(code)) throw new UserMemoryArgumentError(0, `exit code ${String(code)} is not an integer`);
    p.exitCode = code;
    this.teardown(p, 'exit');
  }

  /**
   * Context switch: loads the process's PML4 into CR3 (with its PCID and no flush when PCIDs are
   * on; otherwise the MOV to CR3 flushes every non-global TLB entry). `null` loads the kernel's
   * own tables.
   * @throws NoSuchProcessError, ProcessStateError
   */
  switchTo(pid: number | null): void {
    const cpu = this.kernel.machine.cpu;
    if (pid === null) {
      this.loadKernelTables();
      return;
    }
    const p = this.requireAlive(this.get(pid), 'switchTo');
    if (this.current_ === p && cpu.registers.cr3Frame === p.root) return;
    if (this.pcidOn) cpu.writeCr3(p.root, { pcid: p.pcid, noFlush: true });
    else cpu.writeCr3(p.root);
    this.current_ = p;
    this.emit({ kind: 'context-switch', pid: p.pid, cr3: p.root, pcid: this.pcidOn ? p.pcid : 0 });
  }

  // --- memory calls --------------------------------------------------------------------------------

  /** See `Process.brk`. @internal */
  brk(p: Process, newBreak: number): number {
    this.requireAlive(p, 'brk');
    if (!Number.isSafeInteger(newBreak)) throw new UserMemoryArgumentError(0, `brk ${String(newBreak)} is not an integer`);
    const old = p.brkEnd;
    if (newBreak < p.brkStart || newBreak > p.userEnd) return old;
    const oldEnd = pageUp(old);
    const newEnd = pageUp(newBreak);
    if (newEnd > oldEnd) {
      if (!p.vas_.take(oldEnd, newEnd - oldEnd, { tag: 'heap' })) return old;
      p.regions_.insert({ start: oldEnd, end: newEnd, prot: PROT.Read | PROT.Write, kind: 'heap', backing: null, growsDown: false, name: '[heap]' });
    } else if (newEnd < oldEnd) {
      this.unmapRange(p, newEnd, oldEnd);
    }
    p.brkEnd = newBreak;
    this.emit({ kind: 'brk', pid: p.pid, oldBreak: old, newBreak });
    return newBreak;
  }

  /** See `Process.sbrk`. @internal */
  sbrk(p: Process, incrementBytes: number): number | null {
    this.requireAlive(p, 'sbrk');
    if (!Number.isSafeInteger(incrementBytes)) throw new UserMemoryArgumentError(0, `sbrk increment ${String(incrementBytes)} is not an integer`);
    const old = p.brkEnd;
    if (incrementBytes === 0) return old;
    const target = old + incrementBytes;
    return this.brk(p, target) === target ? old : null;
  }

  /** See `Process.mmap`. @internal */
  mmap(p: Process, options: MmapOptions): number | null {
    this.requireAlive(p, 'mmap');
    const len = options.lengthBytes;
    if (!Number.isSafeInteger(len) || len <= 0) throw new UserMemoryArgumentError(options.va ?? 0, `mmap length ${String(len)} is not a positive integer`);
    const prot = options.prot ?? PROT.Read | PROT.Write;
    checkProt(prot);
    const size = pageUp(len);
    const va = options.va;
    if (va !== undefined && (!Number.isSafeInteger(va) || va < 0 || va % PAGE !== 0)) throw new UserMemoryArgumentError(va, 'mmap address is not page aligned');
    if (options.fixed === true) {
      if (va === undefined) throw new UserMemoryArgumentError(0, 'MAP_FIXED needs an address');
      if (va < p.userStart || va + size > p.userEnd) throw new UserMemoryArgumentError(va, `fixed range of ${size} bytes is outside the user range`);
    }
    if (size > p.userEnd - p.userStart) return null;
    let at: number | null = null;
    if (options.fixed === true) {
      const start = va!;
      if (p.regions_.firstOverlap(start, start + size) !== null) {
        if (options.noReplace === true) return null;
        this.unmapRange(p, start, start + size);
      }
      if (!p.vas_.take(start, size, { tag: 'mmap' })) throw new KernelInvariantError(`pid ${p.pid}: virtual range at ${formatCanonical(start)} is in use with no region`);
      at = start;
    } else {
      if (va !== undefined && va >= p.userStart && va + size <= p.userEnd && p.vas_.take(va, size, { tag: 'mmap' })) at = va;
      const areaEnd = p.stackTop - p.limits.stackLimitBytes - p.limits.guardGapBytes;
      if (at === null && p.mmapBase + size <= areaEnd) at = p.vas_.alloc(size, { tag: 'mmap', within: { start: p.mmapBase, end: areaEnd } });
      at ??= p.vas_.alloc(size, { tag: 'mmap' });
      if (at === null) return null;
    }
    p.regions_.insert({ start: at, end: at + size, prot, kind: 'mmap', backing: null, growsDown: false, name: options.name ?? '' });
    this.emit({ kind: 'mmap', pid: p.pid, va: at, lengthBytes: size, prot, fixed: options.fixed === true });
    return at;
  }

  /** See `Process.munmap`. @internal */
  munmap(p: Process, va: number, lengthBytes: number): number {
    this.requireAlive(p, 'munmap');
    const end = this.checkUserRange(p, va, lengthBytes, 'munmap');
    const pages = this.unmapRange(p, va, end);
    this.emit({ kind: 'munmap', pid: p.pid, va, lengthBytes: end - va, pagesFreed: pages });
    return pages;
  }

  /** See `Process.mprotect`. @internal */
  mprotect(p: Process, va: number, lengthBytes: number, prot: number): void {
    this.requireAlive(p, 'mprotect');
    checkProt(prot);
    const end = this.checkUserRange(p, va, lengthBytes, 'mprotect');
    p.regions_.protect(va, end, prot);
    const nxe = this.nxe();
    let changed = 0;
    this.withSpace(p, () =>
      p.pages_.forEachLeaf(va, end, (pageVa, frame, flags) => {
        const cow = (flags & PTE_COW) !== 0;
        const next = this.leafFlagsFor(prot, cow, nxe) | (flags & AD);
        if (next !== flags) {
          p.pages_.rewrite(pageVa, frame, next);
          changed++;
        }
      }),
    );
    this.emit({ kind: 'mprotect', pid: p.pid, va, pageCount: (end - va) / PAGE, prot, pagesChanged: changed });
  }

  /** See `Process.touch`. @internal */
  touch(p: Process, va: number, access: TouchAccess, value: number): TouchOutcome {
    this.requireAlive(p, 'touch');
    const cpu = this.kernel.machine.cpu;
    if (this.current_ !== p || cpu.registers.cr3Frame !== p.root) this.switchTo(p.pid);
    try {
      if (access === 'read') cpu.read8(va, Mode.User);
      else if (access === 'write') cpu.write8(va, value, Mode.User);
      else cpu.fetch8(va, Mode.User);
      return 'ok';
    } catch (e) {
      if (e instanceof PageFaultAbortedError && p.killed !== null) return p.killed.signal === 'SIGSEGV' ? 'segv' : 'oom-kill';
      throw e;
    }
  }

  /** See `Process.touchRange`. @internal */
  touchRange(p: Process, va: number, lengthBytes: number, access: TouchAccess, value: number): TouchOutcome {
    const end = va + lengthBytes;
    for (let a = va; a < end; a += PAGE) {
      const o = this.touch(p, a, access, value);
      if (o !== 'ok') return o;
    }
    return 'ok';
  }

  /** See `Process.translate`. @internal */
  translate(p: Process, va: number): number {
    if (!p.alive || !Number.isSafeInteger(va) || va < p.userStart || va >= p.userEnd) return -1;
    return this.withSpace(p, () => {
      if (!p.pages_.lookup(va)) return -1;
      const lo = p.pages_.lo;
      if ((lo & P) === 0) return -1;
      return entryAddress(lo, p.pages_.hi, this.maskHi()) + (va % PAGE);
    });
  }

  /** See `Process.pageInfo`. @internal */
  pageInfo(p: Process, va: number): PageInfo | null {
    if (!p.alive || !Number.isSafeInteger(va) || va < p.userStart || va >= p.userEnd) return null;
    const pageVa = va - (va % PAGE);
    return this.withSpace(p, () => {
      const pages = p.pages_;
      if (!pages.lookup(pageVa) || !leafHoldsFrame(pages.lo)) return null;
      const flags = leafFlags(pages.lo, pages.hi);
      const frame = entryAddress(pages.lo, pages.hi, this.maskHi());
      return {
        va: pageVa,
        frame,
        present: (flags & P) !== 0,
        writable: (flags & W) !== 0,
        user: (flags & U) !== 0,
        noExecute: (flags & NX) !== 0,
        accessed: (flags & PTE.Accessed) !== 0,
        dirty: (flags & PTE.Dirty) !== 0,
        copyOnWrite: (flags & PTE_COW) !== 0,
        protNone: (flags & PTE_PROT_NONE) !== 0,
        refCount: this.kernel.frames.refCount(frame),
        flags,
      };
    });
  }

  /** See `Process.formatMaps`. @internal */
  formatMaps(p: Process): string {
    const hex = (n: number): string => n.toString(16).padStart(12, '0');
    return p
      .regions()
      .map((r) => {
        const off = r.backing === null ? 0 : r.backing.plan.segments[r.backing.segmentIndex]!.filePages.fileOffset + (r.start - r.backing.plan.segments[r.backing.segmentIndex]!.start);
        return `${hex(r.start)}-${hex(r.end)} ${formatProt(r.prot)} ${Math.max(0, off).toString(16).padStart(8, '0')} ${r.kind}${r.name === '' ? '' : ` ${r.name}`}`;
      })
      .join('\n');
  }

  // --- statistics ------------------------------------------------------------------------------------

  /** Frames by owner kind and by live pid, free frames, shared frames. */
  frameUsage(): FrameUsage {
    const frames = this.kernel.frames;
    const byPid = new Map<number, number>();
    for (const pid of this.table.keys()) byPid.set(pid, frames.framesOfPid(pid));
    return { byOwner: frames.usageByOwner(), byPid, freeFrames: this.kernel.pmm.freeFrames, sharedFrames: frames.sharedFrames };
  }

  // --- invariants --------------------------------------------------------------------------------------

  /**
   * For every live process: regions valid and equal to the virtual allocator's used ranges; its
   * page tables valid; every leaf inside a region with rights that match it (U/S set; R/W only
   * in a writable region and never on a copy-on-write page, and always on a private page of a
   * writable region; NX exactly where the region has no PROT_EXEC; PROT_NONE pages not present);
   * frames owned 'user'; RSS = leaves. System-wide: every user frame's reference count equals the
   * number of leaves mapping it, and every user frame is mapped somewhere (no leak).
   * @throws KernelInvariantError (or a part's error) describing the first inconsistency
   */
  checkInvariants(): void {
    if (this.kernel.state !== 'running') return;
    const refs = new Map<number, number>();
    const nxe = this.nxe();
    for (const p of this.table.values()) {
      if (p.state !== 'running') throw new KernelInvariantError(`process ${p.pid} is in the table but ${p.state}`);
      p.regions_.checkInvariants();
      p.vas_.checkInvariants();
      this.checkVasMatchesRegions(p);
      let leaves = 0;
      this.withSpace(p, () => {
        p.pages_.checkInvariants();
        p.pages_.forEachLeaf(p.userStart, p.userEnd, (va, frame, flags) => this.checkLeaf(p, va, frame, flags, refs, nxe, () => leaves++));
      });
      if (leaves !== p.stats.rssPages) throw new KernelInvariantError(`pid ${p.pid}: RSS counter ${p.stats.rssPages} but ${leaves} pages hold frames`);
    }
    this.checkSystem(refs);
  }

  private checkLeaf(p: Process, va: number, frame: number, flags: number, refs: Map<number, number>, nxe: boolean, counted: () => void): void {
    const frames = this.kernel.frames;
    counted();
    refs.set(frame, (refs.get(frame) ?? 0) + 1);
    const r = p.regions_.find(va);
    const where = `pid ${p.pid} page ${formatCanonical(va)}`;
    if (r === null) throw new KernelInvariantError(`${where} maps ${formatPhysical(frame)} outside every region`);
    if (frames.kindOf(frame) !== 'user') throw new KernelInvariantError(`${where} maps frame ${formatPhysical(frame)} owned by ${frames.kindOf(frame) ?? 'nobody'}`);
    const present = (flags & P) !== 0;
    const cow = (flags & PTE_COW) !== 0;
    if (r.prot === PROT.None) {
      if (present || (flags & PTE_PROT_NONE) === 0) throw new KernelInvariantError(`${where} is in a PROT_NONE region but its PTE is not a PROT_NONE marker`);
      return;
    }
    if (!present || (flags & PTE_PROT_NONE) !== 0) throw new KernelInvariantError(`${where} is not present in an accessible region (${describeRegion(r)})`);
    if ((flags & U) === 0) throw new KernelInvariantError(`${where} is not user-accessible`);
    const writable = (flags & W) !== 0;
    if (writable && (cow || (r.prot & PROT.Write) === 0)) throw new KernelInvariantError(`${where} is writable in ${describeRegion(r)}${cow ? ' although copy-on-write' : ''}`);
    if (!writable && !cow && (r.prot & PROT.Write) !== 0) throw new KernelInvariantError(`${where} is read-only, not copy-on-write, in writable ${describeRegion(r)}`);
    if (nxe && ((flags & NX) !== 0) !== ((r.prot & PROT.Exec) === 0)) throw new KernelInvariantError(`${where} has NX ${(flags & NX) !== 0} in ${describeRegion(r)}`);
  }

  private checkSystem(refs: Map<number, number>): void {
    const frames = this.kernel.frames;
    for (const [frame, n] of refs) {
      if (frames.refCount(frame) !== n) throw new KernelInvariantError(`frame ${formatPhysical(frame)} is mapped ${n} time(s) but has ${frames.refCount(frame)} reference(s)`);
    }
    const userFrames = frames.usageByOwner().user;
    if (userFrames !== refs.size) throw new KernelInvariantError(`${userFrames} frames are owned 'user' but ${refs.size} are mapped by live processes (leak)`);
    for (const p of this.dead.values()) {
      if (frames.framesOfPid(p.pid) !== 0) throw new KernelInvariantError(`gone process ${p.pid} still owns ${frames.framesOfPid(p.pid)} frame(s)`);
    }
    if (this.current_ !== null && this.kernel.machine.cpu.registers.cr3Frame !== this.current_.root) throw new KernelInvariantError(`current process ${this.current_.pid} is not loaded in CR3`);
  }

  // --- the page-fault handler ------------------------------------------------------------------------

  private handle(fault: PageFaultInfo): FaultAnswer {
    // A panicked kernel runs nothing more, its fault handler included.
    if (this.kernel.state === 'panicked') throw new KernelStateError('panicked', `page fault at ${formatCanonical(fault.cr2)}`);
    const q = this.query;
    const va = fault.cr2;
    q.va = va;
    q.errorCode = fault.errorCode;
    q.access = fault.access;
    q.mode = fault.mode;
    q.region = null;
    q.regionAbove = null;
    q.belowEnd = 0;
    q.ptePresent = false;
    q.pteFlags = 0;
    q.pteUserPath = false;
    q.frameRefCount = 0;
    let p = this.current_;
    if (p !== null && this.kernel.machine.cpu.registers.cr3Frame !== p.root) p = null;
    q.hasProcess = p !== null;
    if (p !== null) {
      p.stats.faults++;
      q.userStart = p.userStart;
      q.userEnd = p.userEnd;
      q.stackLimitBytes = p.limits.stackLimitBytes;
      q.guardGapBytes = p.limits.guardGapBytes;
      if (va >= p.userStart && va < p.userEnd) {
        const regions = p.regions_;
        const i = regions.indexOf(va);
        if (i >= 0) q.region = regions.at(i)!;
        else {
          q.regionAbove = regions.above(va);
          const below = regions.below(va);
          q.belowEnd = below === null ? p.userStart : below.end;
        }
        const pages = p.pages_;
        if (pages.lookup(va)) {
          const lo = pages.lo;
          q.ptePresent = (lo & P) !== 0;
          q.pteFlags = leafFlags(lo, pages.hi);
          q.pteUserPath = (lo & U) !== 0;
          if ((lo & PTE_COW) !== 0) q.frameRefCount = this.kernel.frames.refCount(entryAddress(lo, pages.hi, this.maskHi()));
        }
      }
    } else {
      this.kernelFaults++;
      q.userStart = 0;
      q.userEnd = 0;
    }
    const ctx = this.ctx;
    ctx.fault = fault;
    ctx.process = p;
    try {
      return this.policy(ctx);
    } catch (e) {
      // The kernel's own machinery failing inside the handler (a table it cannot reach, broken
      // ownership records) is a kernel bug: an oops, reported as a panic, never a host crash.
      if (e instanceof TableAccessFaultError || e instanceof KernelInvariantError || e instanceof FrameOwnershipError) {
        return this.kernel.panic(`page-fault handler failed: ${e.message}`, { cr2: fault.cr2, errorCode: fault.errorCode, ...(p === null ? {} : { pid: p.pid }) });
      }
      throw e;
    }
  }

  /** Carries out a decision (the default mechanisms). */
  private apply(d: FaultDecision): FaultAnswer {
    const ctx = this.ctx;
    const fault = ctx.fault;
    const p = ctx.process;
    const q = this.query;
    const va = fault.cr2;
    const pageVa = va - (va % PAGE);
    if (d.action === 'panic' || p === null) {
      this.emitFault(p, fault, 'panic', -1, d.reason);
      return this.kernel.panic(`page fault: ${d.reason === '' ? 'no process to resolve it in' : d.reason} (${fault.decoded.description})`, {
        cr2: va,
        errorCode: fault.errorCode,
        ...(p === null ? {} : { pid: p.pid }),
        extra: { access: accessName(fault.access), mode: modeName(fault.mode) },
      });
    }
    switch (d.action) {
      case 'map-zero':
      case 'map-file': {
        const region = q.region!;
        return this.mapFresh(p, pageVa, region, d.action === 'map-file' ? region : null, d.action);
      }
      case 'grow-stack': {
        const stack = q.regionAbove!;
        const newStart = d.newStackStart;
        if (!p.vas_.take(newStart, stack.start - newStart, { tag: 'stack' })) throw new KernelInvariantError(`pid ${p.pid}: stack growth to ${formatCanonical(newStart)} found the range in use`);
        const grown = p.regions_.resize(stack.start, newStart, stack.end);
        p.stats.stackGrowth += (stack.start - newStart) / PAGE;
        return this.mapFresh(p, pageVa, grown, null, 'grow-stack');
      }
      case 'cow-copy': {
        const pages = p.pages_;
        pages.lookup(pageVa);
        const old = entryAddress(pages.lo, pages.hi, this.maskHi());
        const frame = this.kernel.frames.allocFrame(this.ownerOf(p));
        if (frame === null) return this.oomKill(p, fault);
        const mem = this.kernel.machine.memory;
        mem.frameWords(frame).set(mem.frameWords(old));
        pages.lookup(pageVa);
        pages.rewrite(pageVa, frame, this.leafFlagsFor(q.region!.prot, false, this.nxe()));
        this.dropFrame(p, old);
        p.stats.cowCopies++;
        this.emitFault(p, fault, 'cow-copy', frame, '');
        return 'retry';
      }
      case 'cow-reuse': {
        const pages = p.pages_;
        pages.lookup(pageVa);
        const frame = entryAddress(pages.lo, pages.hi, this.maskHi());
        pages.rewrite(pageVa, frame, this.leafFlagsFor(q.region!.prot, false, this.nxe()) | (leafFlags(pages.lo, pages.hi) & AD));
        // The frame is now this process's alone: record it so (it may have been a sharer's).
        if (this.kernel.frames.pidOf(frame) !== p.pid) this.kernel.frames.transfer(frame, this.ownerOf(p));
        p.stats.cowReuses++;
        this.emitFault(p, fault, 'cow-reuse', frame, '');
        return 'retry';
      }
      case 'spurious':
        p.stats.spurious++;
        this.emitFault(p, fault, 'spurious', -1, '');
        return 'retry';
      case 'segv':
        return this.segv(p, fault, d.reason, q.region ?? null);
      default:
        throw new KernelInvariantError(`unknown fault action ${String(d.action)}`);
    }
  }

  private mapFresh(p: Process, pageVa: number, region: Region, file: Region | null, action: string): FaultAnswer {
    const kernel = this.kernel;
    const frame = kernel.frames.allocFrame(this.ownerOf(p));
    if (frame === null) return this.oomKill(p, this.ctx.fault);
    if (file !== null) {
      const b = file.backing!;
      const words = kernel.machine.memory.frameWords(frame);
      let view = this.fileView;
      if (view === null || view.buffer !== words.buffer || view.byteOffset !== words.byteOffset) view = this.fileView = new Uint8Array(words.buffer, words.byteOffset, PAGE);
      pageContents(b.plan, b.segmentIndex, pageVa, view);
    }
    if (!p.pages_.mapNew(pageVa, frame, this.leafFlagsFor(region.prot, false, this.nxe()))) {
      kernel.frames.freeFrame(frame);
      return this.oomKill(p, this.ctx.fault);
    }
    const s = p.stats;
    s.rssPages++;
    if (s.rssPages > s.peakRssPages) s.peakRssPages = s.rssPages;
    if (action === 'map-file') s.lazyFile++;
    else s.lazyZero++;
    this.emitFault(p, this.ctx.fault, RESOLUTION[action]!, frame, '');
    return 'retry';
  }

  private segv(p: Process, fault: PageFaultInfo, reason: FaultReason, region: Region | null): FaultAnswer {
    const record: KillRecord = { pid: p.pid, signal: 'SIGSEGV', va: fault.cr2, errorCode: fault.errorCode, decoded: fault.decoded, errorCodeText: fault.decoded.description, region, reason };
    this.emitFault(p, fault, 'segv', -1, reason);
    p.killed = record;
    this.emit({ kind: 'segfault', pid: p.pid, va: fault.cr2, errorCode: fault.errorCode, errorCodeText: record.errorCodeText, access: accessName(fault.access), region: region === null ? null : describeRegion(region), reason });
    this.teardown(p, 'segv');
    return 'abort';
  }

  private oomKill(p: Process, fault: PageFaultInfo): FaultAnswer {
    const region = this.query.region ?? null;
    const record: KillRecord = { pid: p.pid, signal: 'SIGKILL', va: fault.cr2, errorCode: fault.errorCode, decoded: fault.decoded, errorCodeText: fault.decoded.description, region, reason: 'out-of-memory' };
    this.emitFault(p, fault, 'oom-kill', -1, 'out-of-memory');
    p.killed = record;
    this.emit({ kind: 'oom-kill', pid: p.pid, va: fault.cr2, rssPages: p.stats.rssPages, freeFrames: this.kernel.pmm.freeFrames });
    this.teardown(p, 'oom');
    return 'abort';
  }

  private emitFault(p: Process | null, fault: PageFaultInfo, resolution: FaultResolution, frame: number, reason: string): void {
    const events = this.kernel.events;
    if (!events.wants('page-fault')) return;
    events.emit({
      kind: 'page-fault',
      pid: p === null ? -1 : p.pid,
      va: fault.cr2,
      errorCode: fault.errorCode,
      access: accessName(fault.access),
      mode: modeName(fault.mode),
      resolution,
      frame,
      reason,
    });
  }

  // --- internals ------------------------------------------------------------------------------------

  private makeProcess(pid: number, parentPid: number | null, name: string, root: number, userStart: number, userEnd: number, stackTop: number, limits: ProcessLimits, brkStart: number, from?: Process): Process {
    const kernel = this.kernel;
    const pcid = (pid % 4095) + 1;
    const cpu = kernel.machine.cpu;
    const events = kernel.events;
    const pcidOn = (): boolean => this.pcidOn;
    const invalidate = (va: number): void => {
      if (cpu.registers.cr3Frame === root) cpu.invlpg(va);
      else if (pcidOn()) cpu.invpcid(InvpcidType.IndividualAddress, pcid, va);
      else return; // not loaded: the CR3 write that switched away flushed its (non-global) entries
      if (events.wants('tlb-flush')) events.emit({ kind: 'tlb-flush', reason: 'invlpg', va });
    };
    const pages = new UserPageTables(root, kernel.tableAccess, kernel.frames, pid, this.maskHi(), invalidate, userStart, userEnd);
    const vas = from !== undefined ? from.vas_.clone() : new VirtualAllocator<string>({ start: userStart, end: userEnd, formatAddress: formatCanonical });
    const regions = from !== undefined ? from.regions_.clone() : new RegionList();
    const mmapBase = Math.max(userStart, Math.floor(userEnd / 3 / PAGE) * PAGE);
    const proc = new Process(this, { pid, parentPid, name, root, pcid, userStart, userEnd, stackTop, mmapBase, limits, brkStart, regions, vas, pages });
    this.owners.set(pid, { kind: 'user', pid });
    if (this.pcidOn) cpu.invpcid(InvpcidType.SingleContext, pcid);
    return proc;
  }

  private addRegion(p: Process, r: Region): void {
    if (!p.vas_.take(r.start, r.end - r.start, { tag: r.kind })) throw new KernelInvariantError(`pid ${p.pid}: ${describeRegion(r)} overlaps the address space's used ranges`);
    p.regions_.insert(r);
  }

  private removeRegions(p: Process, start: number, end: number): void {
    this.unmapRange(p, start, end);
  }

  /** Removes regions over [start, end), frees their frames, VA and emptied tables; returns pages freed. */
  private unmapRange(p: Process, start: number, end: number): number {
    const removed = p.regions_.remove(start, end);
    let pages = 0;
    this.withSpace(p, () => {
      for (const piece of removed) {
        p.pages_.forEachLeaf(piece.start, piece.end, (va, frame) => {
          p.pages_.clear(va);
          this.dropFrame(p, frame);
          pages++;
        });
      }
      if (removed.length > 0) p.pages_.freeEmptyTables(start, end);
    });
    for (const piece of removed) p.vas_.free(piece.start, piece.end - piece.start);
    p.stats.rssPages -= pages;
    if (removed.length > 0) {
      if (pages > 0) this.emit({ kind: 'unmap', va: start, pageCount: pages, what: 'user pages', pid: p.pid });
    }
    return pages;
  }

  /** exec: drops every region and page (the process keeps its PML4 and pid). */
  private releaseUserMemory(p: Process): void {
    this.unmapRange(p, p.userStart, p.userEnd);
    p.image = null;
  }

  /** Drops one reference to a user frame; a shared frame its recorded owner lets go of becomes pid-less. */
  private dropFrame(p: Process, frame: number): void {
    const frames = this.kernel.frames;
    const shared = frames.refCount(frame) > 1;
    frames.freeFrame(frame);
    if (shared && frames.pidOf(frame) === p.pid) frames.transfer(frame, { kind: 'user' });
  }

  private teardown(p: Process, why: 'exit' | 'segv' | 'oom'): void {
    const kernel = this.kernel;
    const cpu = kernel.machine.cpu;
    let framesReleased = 0;
    // Torn down while its tables are reachable (a recursive slot needs them in CR3); no INVLPG:
    // leaving the address space below flushes its TLB entries (CR3 write, or INVPCID with PCIDs).
    const tablesFreed = this.withSpace(p, () =>
      p.pages_.destroy(p.regions_.all(), (_va, frame) => {
        this.dropFrame(p, frame);
        framesReleased++;
      }),
    );
    if (cpu.registers.cr3Frame === p.root) this.loadKernelTables();
    if (this.current_ === p) this.current_ = null;
    kernel.freeAddressSpaceRoot(p.root);
    if (this.pcidOn) cpu.invpcid(InvpcidType.SingleContext, p.pcid);
    p.regions_.clear();
    p.stats.rssPages = 0;
    p.state = why === 'exit' ? 'exited' : 'killed';
    if (why !== 'exit') this.killCount++;
    this.table.delete(p.pid);
    this.dead.set(p.pid, p);
    this.owners.delete(p.pid);
    this.emit({ kind: 'process-exit', pid: p.pid, code: p.exitCode ?? (why === 'segv' ? 139 : 137), cause: why, framesReleased, tablesFreed: tablesFreed + 1 });
  }

  private loadKernelTables(): void {
    const cpu = this.kernel.machine.cpu;
    const root = this.kernel.kernelRoot;
    if (cpu.registers.cr3Frame !== root) {
      if (this.pcidOn) cpu.writeCr3(root, { pcid: 0, noFlush: true });
      else cpu.writeCr3(root);
      this.emit({ kind: 'context-switch', pid: 0, cr3: root, pcid: 0 });
    }
    this.current_ = null;
  }

  /**
   * Runs `fn` with `p`'s page tables reachable by the kernel's table access. Only a recursive
   * slot needs that address space in CR3 (direct map, windows and physical access reach any
   * table): CR3 is switched for the call and restored, as a kernel with recursive tables must.
   */
  private withSpace<T>(p: Process, fn: () => T): T {
    const cpu = this.kernel.machine.cpu;
    const regs = cpu.registers;
    if (this.kernel.layout.tableAccess !== 'recursive' || regs.cr3Frame === p.root) return fn();
    const frame = regs.cr3Frame;
    const low = regs.cr3Low;
    if (this.pcidOn) cpu.writeCr3(p.root, { pcid: p.pcid, noFlush: true });
    else cpu.writeCr3(p.root);
    try {
      return fn();
    } finally {
      if (this.pcidOn) cpu.writeCr3(frame, { pcid: low, noFlush: true });
      else cpu.writeCr3(frame);
    }
  }

  private guard<T>(p: Process, run: () => T): T {
    try {
      return run();
    } catch (e) {
      if (e instanceof PageFaultAbortedError && p.killed !== null) throw new ProcessKilledError(p.killed);
      throw e;
    }
  }

  private leafFlagsFor(prot: number, cow: boolean, nxe: boolean): number {
    if (prot === PROT.None) return PTE_PROT_NONE | (cow ? PTE_COW : 0);
    let f = P | U;
    if ((prot & PROT.Write) !== 0 && !cow) f |= W;
    if ((prot & PROT.Exec) === 0 && nxe) f |= NX;
    if (cow) f |= PTE_COW;
    return f;
  }

  private nxe(): boolean {
    return (this.kernel.machine.cpu.registers.efer & EFER.NXE) !== 0;
  }

  private maskHi(): number {
    return addressMaskHi(this.kernel.machine.maxPhysAddrBits);
  }

  private ownerOf(p: Process): FrameOwner {
    let o = this.owners.get(p.pid);
    if (o === undefined) this.owners.set(p.pid, (o = { kind: 'user', pid: p.pid }));
    return o;
  }

  private enablePcidOnce(): void {
    if (!this.pcidWanted || this.pcidOn) return;
    const cpu = this.kernel.machine.cpu;
    // SDM 4.10.1: CR4.PCIDE may be set only while CR3[11:0] = 0 (the kernel runs with PCID 0).
    cpu.writeCr4(cpu.registers.cr4 | CR4.PCIDE);
    this.pcidOn = true;
    this.emit({ kind: 'control-register', register: 'cr4', value: cpu.registers.cr4 >>> 0, why: 'CR4.PCIDE: each process gets its own PCID, so switches keep TLB entries' });
  }

  private checkLimits(o: CreateProcessOptions): ProcessLimits {
    const d = DEFAULT_PROCESS_LIMITS;
    const stackSizeBytes = o.stackSizeBytes ?? d.stackSizeBytes;
    const stackLimitBytes = o.stackLimitBytes ?? Math.max(d.stackLimitBytes, stackSizeBytes);
    const guardGapBytes = o.guardGapBytes ?? d.guardGapBytes;
    const ok = (n: number, min: number): boolean => Number.isSafeInteger(n) && n >= min && n % PAGE === 0;
    if (!ok(stackSizeBytes, PAGE)) throw new ProcessOptionError(`stackSizeBytes ${String(stackSizeBytes)} is not a positive multiple of 4096`);
    if (!ok(stackLimitBytes, stackSizeBytes)) throw new ProcessOptionError(`stackLimitBytes ${String(stackLimitBytes)} is not a multiple of 4096 at least the initial stack size`);
    if (!ok(guardGapBytes, 0)) throw new ProcessOptionError(`guardGapBytes ${String(guardGapBytes)} is not a non-negative multiple of 4096`);
    return { stackSizeBytes, stackLimitBytes, guardGapBytes };
  }

  private checkUserRange(p: Process, va: number, lengthBytes: number, what: string): number {
    if (!Number.isSafeInteger(va) || va < 0 || va % PAGE !== 0) throw new UserMemoryArgumentError(va, `${what}: address is not page aligned`);
    if (!Number.isSafeInteger(lengthBytes) || lengthBytes <= 0) throw new UserMemoryArgumentError(va, `${what}: length ${String(lengthBytes)} is not a positive integer`);
    const end = va + pageUp(lengthBytes);
    if (va < p.userStart || end > p.userEnd) throw new UserMemoryArgumentError(va, `${what}: range of ${lengthBytes} bytes is outside the user range ${formatCanonical(p.userStart)}..${formatCanonical(p.userEnd)}`);
    return end;
  }

  private checkVasMatchesRegions(p: Process): void {
    const used: { start: number; end: number }[] = [];
    for (const b of p.vas_.blocks()) {
      if (!b.used) continue;
      const last = used[used.length - 1];
      if (last !== undefined && last.end === b.start) last.end = b.end;
      else used.push({ start: b.start, end: b.end });
    }
    const regs: { start: number; end: number }[] = [];
    for (const r of p.regions_.all()) {
      const last = regs[regs.length - 1];
      if (last !== undefined && last.end === r.start) last.end = r.end;
      else regs.push({ start: r.start, end: r.end });
    }
    if (used.length !== regs.length || used.some((u, i) => u.start !== regs[i]!.start || u.end !== regs[i]!.end)) {
      throw new KernelInvariantError(`pid ${p.pid}: the virtual allocator's used ranges differ from the regions`);
    }
  }

  private requireRunning(what: string): void {
    if (this.kernel.state !== 'running') throw new KernelStateError(this.kernel.state, what);
  }

  private requireAlive(p: Process, what: string): Process {
    if (p.state !== 'running') throw new ProcessStateError(p.pid, p.state, what);
    this.requireRunning(what);
    return p;
  }

  private emit(e: KernelEventInput): void {
    const events = this.kernel.events;
    if (events.wants(e.kind)) events.emit(e);
  }
}
