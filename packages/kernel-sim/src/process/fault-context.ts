// What a page-fault policy sees and answers: the context the vector-14 handler fills for each
// fault (shared by the handler, which gathers the facts, and the actions, which carry out a
// decision).
import type { FaultAnswer, PageFaultInfo } from '@kmem/x86-paging';
import type { FaultDecision, FaultQuery } from '../fault-policy';
import type { PageFaultResolution } from '../events';
import type { KernelServices } from '../kernel-services';
import type { Process } from './process';

/**
 * What a fault policy gets: the fault, the current process, the facts gathered for the default
 * decision (`query`), and the two halves of the default policy. ONE object, reused per fault.
 * (Generic over the kernel type; `FaultContext` is this with the `Kernel`.)
 */
export interface PageFaultContext<K extends KernelServices = KernelServices> {
  /** The kernel. */
  readonly kernel: K;
  /** The fault the CPU delivered (vector 14). */
  fault: PageFaultInfo;
  /** The process whose address space is loaded (CR3), or null (kernel tables loaded). */
  process: Process | null;
  /** The facts: region at CR2, the region above, the PTE, limits (filled before the policy runs). */
  readonly query: FaultQuery;
  /** The default decision over `query` (`decideFault`); returns a reused object. */
  decide(): FaultDecision;
  /**
   * Carries out a decision with the default mechanisms (map a zeroed or file page, grow the stack,
   * copy-on-write, kill with SIGSEGV, OOM kill, panic) and returns the CPU's answer.
   * @throws KernelPanic for 'panic'
   */
  apply(decision: FaultDecision): FaultAnswer;
}

/** A page-fault policy over {@link PageFaultContext} (`FaultPolicy` is this with the `Kernel`). */
export type PageFaultPolicy<K extends KernelServices = KernelServices> = (ctx: PageFaultContext<K>) => FaultAnswer;

/** What a fault became, as the 'page-fault' event reports it. */
export type FaultResolution = PageFaultResolution;
