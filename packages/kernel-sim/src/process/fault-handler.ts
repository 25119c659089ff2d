// The kernel's vector-14 handler: it gathers the facts of a page fault (the region at CR2, the
// region above, the PTE, the process's limits) into a FaultQuery, then hands them to the policy
// in force, which decides (`decideFault` by default) and acts (`FaultActions`). This is the seam
// where the page-fault path decides what to do: a new kind of fault (e.g. a major fault that
// reads a page back from swap) is a new FaultAction decided here and carried out in
// fault-actions.ts, without touching the process table, exec or fork.
import { Access, PTE, PageFaultErrorCode, TableAccessFaultError, entryAddress, type FaultAnswer, type PageFaultInfo } from '@kmem/x86-paging';
import { PTE_COW, decideFault, emptyFaultDecision, emptyFaultQuery, type FaultDecision, type FaultQuery } from '../fault-policy';
import { formatCanonical } from '../hex';
import { FrameOwnershipError, KernelInvariantError, KernelStateError } from '../kernel-errors';
import type { KernelServices } from '../kernel-services';
import { CorruptSwapEntryError } from '../swap/swap-errors';
import type { FaultActions } from './fault-actions';
import type { PageFaultContext, PageFaultPolicy } from './fault-context';
import type { Process } from './process';
import type { ProcessTable } from './process-table';
import { leafFlags } from './user-pages';

/** The vector-14 handler of one kernel. */
export class PageFaultHandler<K extends KernelServices> {
  /** The facts of the fault being handled (one reused object). */
  readonly query: FaultQuery = emptyFaultQuery();
  private readonly decision: FaultDecision = emptyFaultDecision();
  /** The context handed to the policy (one reused object). */
  readonly ctx: PageFaultContext<K>;
  /** The policy in force. */
  policy: PageFaultPolicy<K>;
  /** Page faults handled while no process was current. */
  kernelFaults = 0;

  constructor(
    private readonly table: ProcessTable<K>,
    actions: FaultActions<K>,
    readonly defaultPolicy: PageFaultPolicy<K>,
  ) {
    const query = this.query;
    const decision = this.decision;
    this.policy = defaultPolicy;
    this.ctx = {
      kernel: table.kernel,
      fault: null as unknown as PageFaultInfo,
      process: null,
      query,
      decide: () => decideFault(query, decision),
      apply: (d) => actions.apply(this.ctx, d),
    };
  }

  /** Handles one fault: gathers the facts, runs the policy; a failure of the kernel's own machinery panics. */
  handle(fault: PageFaultInfo): FaultAnswer {
    // A panicked kernel runs nothing more, its fault handler included.
    if (this.table.kernel.state === 'panicked') throw panickedFault(fault);
    const p = this.gather(fault);
    const ctx = this.ctx;
    ctx.fault = fault;
    ctx.process = p;
    try {
      return this.policy(ctx);
    } catch (e) {
      return this.oops(e, fault, p);
    }
  }

  /**
   * The kernel's own machinery failing inside the handler (a table it cannot reach, broken
   * ownership records) is a kernel bug: an oops, reported as a panic, never a host crash. Anything
   * else is rethrown. (Out of line: `handle` runs on every fault and is inlined into its caller.)
   */
  private oops(e: unknown, fault: PageFaultInfo, p: Process | null): FaultAnswer {
    if (e instanceof TableAccessFaultError || e instanceof KernelInvariantError || e instanceof FrameOwnershipError || e instanceof CorruptSwapEntryError) {
      return this.table.kernel.panic(`page-fault handler failed: ${e.message}`, { cr2: fault.cr2, errorCode: fault.errorCode, ...(p === null ? {} : { pid: p.pid }) });
    }
    throw e;
  }

  /** Fills `query` for `fault`; returns the process whose tables are loaded, or null. */
  private gather(fault: PageFaultInfo): Process | null {
    const kernel = this.table.kernel;
    const q = this.query;
    const va = fault.cr2;
    q.va = va;
    q.errorCode = fault.errorCode;
    // The kernel knows the access only from the error code: a fetch without I/D (SDM 4.7: reported
    // only with CR4.SMEP, or PAE/4-level paging with EFER.NXE; never in 32-bit paging, which has
    // no XD bit) is a read to it, as Linux's access_error sees it.
    q.access = fault.access === Access.Execute && (fault.errorCode & PageFaultErrorCode.InstructionFetch) === 0 ? Access.Read : fault.access;
    q.mode = fault.mode;
    q.region = null;
    q.regionAbove = null;
    q.belowEnd = 0;
    q.ptePresent = false;
    q.pteFlags = 0;
    q.pteUserPath = false;
    q.frameRefCount = 0;
    let p = this.table.current;
    if (p !== null && kernel.machine.cpu.registers.cr3Frame !== p.root) p = null;
    q.hasProcess = p !== null;
    if (p === null) {
      this.kernelFaults++;
      q.userStart = 0;
      q.userEnd = 0;
      return null;
    }
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
        q.ptePresent = (lo & PTE.Present) !== 0;
        q.pteFlags = leafFlags(lo, pages.hi);
        q.pteUserPath = (lo & PTE.User) !== 0;
        if ((lo & PTE_COW) !== 0) q.frameRefCount = this.cowSharers(lo, pages.hi);
      }
    }
    return p;
  }

  /** Everyone sharing the frame of a copy-on-write leaf (with swap, sharers still holding its swap-cache slot count too). */
  private cowSharers(lo: number, hi: number): number {
    const frame = entryAddress(lo, hi, this.table.mappings.maskHi());
    const swap = this.table.swap;
    return swap === null ? this.table.kernel.frames.refCount(frame) : swap.sharers(frame);
  }
}

function panickedFault(fault: PageFaultInfo): KernelStateError {
  return new KernelStateError('panicked', `page fault at ${formatCanonical(fault.cr2)}`);
}
