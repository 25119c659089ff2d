// The kernel's event stream: what the demo prints, what a test asserts, what a user records to a
// file and replays. A bounded ring buffer (a long soak run cannot grow it without limit) with
// per-kind counts that are never dropped.
import { KmemError } from './api';
import { show } from './show-value';

/** Names of the boot steps, in the order `Kernel.bootSteps()` runs them. */
export const BOOT_STEPS = ['memory-map', 'frame-allocator', 'bootstrap-tables', 'table-access', 'kernel-vas', 'remap-kernel', 'kernel-heap', 'kernel-stack'] as const;
/**
 * Names of the 32-bit kernel's boot steps (seed 002), in order: the 4 MiB boot tables, then the
 * seed's six sysinit steps.
 */
export const BOOT_STEPS_32 = ['boot-tables-4mib', 'pmm-from-multiboot', 'lock-kernel-frames', 'lock-module-frames', 'vmm-init', 'remap-higher-half', 'relocate-stack'] as const;
/** One boot step's name. */
export type BootStepName = (typeof BOOT_STEPS)[number];
/** One boot step's name of the 32-bit kernel. */
export type BootStepName32 = (typeof BOOT_STEPS_32)[number];

/** Who owns a physical frame (see `FrameOwners`). */
export type FrameOwnerKind =
  | 'kernel-image'
  | 'module'
  | 'bitmap'
  | 'page-table'
  | 'heap'
  | 'kernel-data'
  | 'kernel-stack'
  | 'user'
  | 'reserved';

/** A frame's owner: a kind and, for per-process frames (user pages, a process's tables), a pid. */
export interface FrameOwner {
  readonly kind: FrameOwnerKind;
  readonly pid?: number;
}

/**
 * Payload of each event kind, without `seq` and `kind`. Other parts of kernel-sim (processes,
 * the fault policy) add their kinds here; a user can add theirs by declaration merging:
 * `declare module '@kmem/kernel-sim' { interface KernelEventMap { 'my-kind': { ... } } }`.
 */
export interface KernelEventMap {
  /** A boot step finished. `detail` holds numbers a person wants to see (frames used, tables...). */
  'boot-step': { readonly step: BootStepName | BootStepName32; readonly index: number; readonly summary: string; readonly detail: Readonly<Record<string, number | string | boolean>> };
  /** A frame was handed to an owner (zeroed). */
  'frame-alloc': { readonly frame: number; readonly owner: FrameOwnerKind; readonly pid?: number };
  /** A frame went back to the allocator (`refCount` left is 0), or one sharer let go (`refCount` > 0). */
  'frame-free': { readonly frame: number; readonly owner: FrameOwnerKind; readonly pid?: number; readonly refCount: number };
  /** Frames already in use (kernel image, bitmap, firmware ranges) were given an owner. */
  'frame-reserve': { readonly frame: number; readonly frameCount: number; readonly owner: FrameOwnerKind };
  /** Pages were mapped. `pa` is the first page's frame (-1 when the frames are not contiguous). */
  'map': { readonly va: number; readonly pa: number; readonly pageCount: number; readonly flags: number; readonly what: string; readonly pid?: number };
  /** Pages were unmapped. */
  'unmap': { readonly va: number; readonly pageCount: number; readonly what: string; readonly pid?: number };
  /** TLB entries were dropped: `invlpg` of one page, or a whole flush (CR3 / CR4 write). */
  'tlb-flush': { readonly reason: 'invlpg' | 'cr3-write' | 'cr4-write'; readonly va?: number; readonly cr3?: number };
  /** A control register was written during boot (CR0.WP, CR4.PGE, EFER.NXE, CR3). */
  'control-register': { readonly register: 'cr0' | 'cr3' | 'cr4' | 'efer'; readonly value: number; readonly why: string };
  /** The kernel panicked. */
  'panic': { readonly report: PanicReportData };
}

/** The data of a kernel panic, as recorded in the 'panic' event (plain JSON). */
export interface PanicReportData {
  /** Why, in one sentence. */
  readonly reason: string;
  /** Linear address of the faulting access (CR2), when the panic comes from a page fault. */
  readonly cr2?: number;
  /** Page-fault error code, when the panic comes from a page fault. */
  readonly errorCode?: number;
  /** The error code decoded (`P=1 W/R=1 U/S=0 ...` in words). */
  readonly errorCodeText?: string;
  /** The page walk of CR2 level by level (x86-paging's formatWalk), when there is a CR2. */
  readonly walk?: string;
  /** CR3's PML4 frame at the time. */
  readonly cr3: number;
  /** The process running, if any. */
  readonly pid?: number;
  /** Anything else the caller passed (numbers and strings). */
  readonly details?: Readonly<Record<string, number | string | boolean>>;
}

/** Every event kind's name. */
export type KernelEventKind = keyof KernelEventMap;

/** One event: `seq` (1, 2, 3... in emission order), `kind` and the kind's payload. */
export type KernelEvent = { [K in KernelEventKind]: { readonly seq: number; readonly kind: K } & KernelEventMap[K] }[KernelEventKind];

/** An event before the log numbers it. */
export type KernelEventInput = { [K in KernelEventKind]: { readonly kind: K } & KernelEventMap[K] }[KernelEventKind];

/** The event of kind `K`. */
export type KernelEventOf<K extends KernelEventKind> = Extract<KernelEvent, { kind: K }>;

/** Options of {@link EventLog}. */
export interface EventLogOptions {
  /** Events kept (the oldest are dropped first); counts are kept for all. Default 100 000. */
  readonly capacity?: number;
  /**
   * Kinds that are not recorded at all (not kept, not counted, not sent to subscribers). A hot
   * path checks {@link EventLog.wants} before building an event, so excluding `frame-alloc` and
   * `map` makes a demand-paging benchmark allocate nothing per fault for events.
   */
  readonly exclude?: readonly KernelEventKind[];
}

/** A line of `toJSONLines` output that cannot be read back. */
export class EventLogParseError extends KmemError {
  readonly code = 'E_EVENT_LOG_PARSE';
  constructor(
    /** 1-based line number. */
    readonly line: number,
    reason: string,
  ) {
    super(`event log line ${line}: ${reason}`);
  }
}

/** Options that are not valid for an {@link EventLog}. */
export class InvalidEventLogOptionError extends KmemError {
  readonly code = 'E_EVENT_LOG_OPTION';
}

/**
 * A bounded, ordered log of kernel events.
 * - `emit` numbers an event (`seq` = 1, 2, ...), keeps it in a ring buffer of `capacity`
 *   events, counts it by kind and hands it to every subscriber, synchronously.
 * - `all()` returns the kept events, oldest first; `dropped` says how many fell out.
 * - `toJSONLines()` / `EventLog.fromJSONLines()` record and replay a run (one JSON object per line).
 */
export class EventLog {
  /** Events kept at most. */
  readonly capacity: number;
  private readonly ring: (KernelEvent | undefined)[];
  private head = 0;
  private size = 0;
  private nextSeq = 1;
  private droppedCount = 0;
  private readonly counts = new Map<string, number>();
  private readonly excluded: Set<string>;
  private readonly subscribers: ((e: KernelEvent) => void)[] = [];

  /** @throws InvalidEventLogOptionError if `capacity` is not a positive integer up to 2^24 */
  constructor(options: EventLogOptions = {}) {
    const capacity = options.capacity ?? 100_000;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 2 ** 24) throw new InvalidEventLogOptionError(`capacity ${show(capacity)} is not an integer in 1..2^24`);
    this.capacity = capacity;
    this.ring = new Array<KernelEvent | undefined>(capacity);
    this.excluded = new Set(options.exclude ?? []);
  }

  /** Whether events of `kind` are recorded (check before building an expensive event). */
  wants(kind: KernelEventKind): boolean {
    return !this.excluded.has(kind);
  }

  /**
   * Records `event` and tells subscribers. Returns it numbered, or null if its kind is excluded.
   * A subscriber that throws does not stop the others or the kernel: its error is rethrown after
   * all have run (the log stays consistent either way).
   */
  emit(event: KernelEventInput): KernelEvent | null {
    if (this.excluded.has(event.kind)) return null;
    const e = { seq: this.nextSeq++, ...event } as KernelEvent;
    const at = (this.head + this.size) % this.capacity;
    if (this.size === this.capacity) {
      this.head = (this.head + 1) % this.capacity;
      this.droppedCount++;
    } else this.size++;
    this.ring[at] = e;
    this.counts.set(e.kind, (this.counts.get(e.kind) ?? 0) + 1);
    let failure: Error | null = null;
    for (const fn of this.subscribers.slice()) {
      try {
        fn(e);
      } catch (err) {
        failure ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    if (failure !== null) throw failure;
    return e;
  }

  /** Calls `fn` with every event emitted from now on; returns the function that unsubscribes. */
  subscribe(fn: (e: KernelEvent) => void): () => void {
    this.subscribers.push(fn);
    return () => {
      const i = this.subscribers.indexOf(fn);
      if (i >= 0) this.subscribers.splice(i, 1);
    };
  }

  /** The kept events, oldest first (a copy). */
  all(): readonly KernelEvent[] {
    const out: KernelEvent[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.ring[(this.head + i) % this.capacity]!);
    return out;
  }

  /** The kept events of one kind, oldest first. */
  ofKind<K extends KernelEventKind>(kind: K): KernelEventOf<K>[] {
    return this.all().filter((e): e is KernelEventOf<K> => e.kind === kind);
  }

  /** Events emitted so far (kept or dropped). */
  get emitted(): number {
    return this.nextSeq - 1;
  }

  /** Events that fell out of the ring buffer. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** How many events of `kind` were emitted (dropped ones included). */
  count(kind: KernelEventKind): number {
    return this.counts.get(kind) ?? 0;
  }

  /** Counts of every kind emitted so far. */
  countsByKind(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.counts);
  }

  /** The kept events as JSON Lines: one event object per line, oldest first. */
  toJSONLines(): string {
    let s = '';
    for (const e of this.all()) s += `${JSON.stringify(e)}\n`;
    return s;
  }

  /**
   * A log holding the events of `text` (as written by `toJSONLines`), with their `seq` kept.
   * Blank lines are skipped. Counts are those of the events read.
   * @throws EventLogParseError for a line that is not a JSON object with a numeric `seq` and a string `kind`, or a `seq` not above the previous one
   */
  static fromJSONLines(text: string, options: EventLogOptions = {}): EventLog {
    const events: KernelEvent[] = [];
    const lines = text.split('\n');
    let last = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new EventLogParseError(i + 1, 'not JSON');
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EventLogParseError(i + 1, 'not a JSON object');
      const o = value as { seq?: unknown; kind?: unknown };
      if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq <= last) throw new EventLogParseError(i + 1, 'seq is not an integer above the previous line');
      if (typeof o.kind !== 'string' || o.kind === '') throw new EventLogParseError(i + 1, 'kind is not a string');
      last = o.seq;
      events.push(value as KernelEvent);
    }
    const log = new EventLog({ ...options, capacity: options.capacity ?? Math.max(1, events.length, 100_000) });
    for (const e of events) {
      if (log.excluded.has(e.kind)) continue;
      const at = (log.head + log.size) % log.capacity;
      if (log.size === log.capacity) {
        log.head = (log.head + 1) % log.capacity;
        log.droppedCount++;
      } else log.size++;
      log.ring[at] = e;
      log.counts.set(e.kind, (log.counts.get(e.kind) ?? 0) + 1);
    }
    log.nextSeq = last + 1;
    return log;
  }

  /** @throws Error if the ring buffer's bookkeeping is inconsistent */
  checkInvariants(): void {
    if (this.size < 0 || this.size > this.capacity || this.head < 0 || this.head >= this.capacity) throw new Error(`event ring: head ${this.head}, size ${this.size}, capacity ${this.capacity}`);
    let prev = 0;
    for (const e of this.all()) {
      if (e.seq <= prev) throw new Error(`event ring: seq ${e.seq} after ${prev}`);
      prev = e.seq;
    }
    let total = 0;
    for (const n of this.counts.values()) total += n;
    if (total < this.size) throw new Error(`event ring: counts ${total} below kept ${this.size}`);
  }
}

// --- Processes and the page-fault policy (src/process/*, src/fault-policy.ts) ----------------------
// Declared as a second block of the same interface (TypeScript merges them).

/** How the kernel resolved a page fault (the 'page-fault' event). */
export type PageFaultResolution =
  | 'lazy-zero'
  | 'lazy-file'
  | 'stack-growth'
  | 'cow-copy'
  | 'cow-reuse'
  | 'spurious'
  | 'segv'
  | 'oom-kill'
  | 'panic'
  /** A major fault: the page was read back from a swap device. */
  | 'swap-in'
  /** A swap entry whose page was still in the swap cache (another sharer read it): no I/O. */
  | 'swap-cache'
  /** A MAP_SHARED page another mapping had touched: the shared object's frame was mapped, no allocation. */
  | 'shared-page'
  /** A program's text or read-only page found in the page cache (another process runs the file): no read. */
  | 'page-cache';

export interface KernelEventMap {
  /**
   * The kernel's #PF handler ran. `pid` is -1 when no process was current; `frame` is the frame
   * mapped (lazy, stack growth, COW copy) or -1; `reason` says why a kill or panic happened.
   * Demand-paged mappings are reported here, not as separate 'map' events.
   */
  'page-fault': {
    readonly pid: number;
    readonly va: number;
    readonly errorCode: number;
    readonly access: string;
    readonly mode: 'user' | 'supervisor';
    readonly resolution: PageFaultResolution;
    readonly frame: number;
    readonly reason: string;
  };
  /** A process was created (by createProcess, exec or fork). */
  'process-create': { readonly pid: number; readonly parentPid?: number; readonly name: string; readonly cr3: number; readonly pcid: number };
  /** A program was loaded into a process. */
  'process-exec': { readonly pid: number; readonly name: string; readonly entry: number; readonly rsp: number; readonly segments: number; readonly brk: number };
  /** A process ended: exit(2), SIGSEGV or the OOM killer. Every frame reference it held was dropped. */
  'process-exit': { readonly pid: number; readonly code: number; readonly cause: 'exit' | 'segv' | 'oom'; readonly framesReleased: number; readonly tablesFreed: number };
  /** A user fault killed a process with SIGSEGV (`region` is the region's one-line description, or null). */
  'segfault': {
    readonly pid: number;
    readonly va: number;
    readonly errorCode: number;
    readonly errorCodeText: string;
    readonly access: string;
    readonly region: string | null;
    readonly reason: string;
  };
  /** The OOM killer killed the faulting process: no frame was left to resolve its fault. */
  'oom-kill': { readonly pid: number; readonly va: number; readonly rssPages: number; readonly freeFrames: number };
  /** CR3 was loaded with a process's PML4 (`pid` 0: the kernel's own tables). */
  'context-switch': { readonly pid: number; readonly cr3: number; readonly pcid: number };
  /** fork(2): `sharedPages` pages now shared copy-on-write. */
  'fork': { readonly parentPid: number; readonly childPid: number; readonly sharedPages: number };
  /** brk(2) moved the program break. */
  'brk': { readonly pid: number; readonly oldBreak: number; readonly newBreak: number };
  /** mmap(2) created an anonymous region. */
  'mmap': { readonly pid: number; readonly va: number; readonly lengthBytes: number; readonly prot: number; readonly fixed: boolean };
  /** munmap(2) removed `[va, va + lengthBytes)`; `pagesFreed` pages held frames. */
  'munmap': { readonly pid: number; readonly va: number; readonly lengthBytes: number; readonly pagesFreed: number };
  /**
   * Reclaim evicted a user page: written to swap slot `slot` of device `swapType` (`how`
   * 'write'), left in its still-valid slot ('clean'), or a clean file page dropped ('drop', slot
   * -1). `sharers` PTEs (copy-on-write sharers) now hold the swap entry (or nothing, for a drop).
   */
  'swap-out': { readonly frame: number; readonly va: number; readonly pid: number; readonly sharers: number; readonly how: 'write' | 'clean' | 'drop'; readonly slot: number; readonly swapType: number };
  /** A reclaim run: kswapd (background) or direct (an allocation below the min watermark or the limit). */
  'reclaim': { readonly mode: 'kswapd' | 'direct'; readonly requested: number; readonly reclaimed: number; readonly freeFrames: number; readonly timeNs: number };
  /** mprotect(2) changed rights; `pagesChanged` present PTEs were rewritten (and invalidated). */
  'mprotect': { readonly pid: number; readonly va: number; readonly pageCount: number; readonly prot: number; readonly pagesChanged: number };
}
