// The policy table out of the kernel itself: one replay per policy and frame count, each on its
// own kernel with swap on and a resident limit, all fed the same batches in one pass over the
// trace. Beside the stream model (PolicySimulation over the page-reference stream), this is what
// the simulated kernel's reclaim actually did.
import type { PolicyName } from '../swap/policies/create-policy';
import type { ReplaySwap } from './replay-result';
import type { TraceBatch } from './trace-batch';
import { TraceOptionError } from './trace-errors';
import { TraceReplay, type TraceReplayOptions } from './trace-replay';

/**
 * Options of {@link KernelPolicyTable}: the target and reading options of `TraceReplay` (`elf`,
 * `argv`, `name`, `tickEvery` — the kernel's clock ticks every that many accesses — `lenient`,
 * `ramBytes`: default 16 GiB, so the watermarks never wake kswapd), plus the table's axes.
 */
export interface KernelPolicyTableOptions extends Pick<TraceReplayOptions, 'elf' | 'argv' | 'name' | 'tickEvery' | 'lenient' | 'ramBytes'> {
  /** Policies (shipped names; `opt` is refused: it needs the future). Default fifo, clock, lru. */
  readonly policies?: readonly PolicyName[];
  /** Resident limits, in frames (default 64, 128, 256). */
  readonly frameCounts?: readonly number[];
}

/** One policy's row: what the kernel did at each frame count. */
export interface KernelPolicyRow {
  /** Policy name. */
  readonly policy: string;
  /** One cell per frame count, in the order asked. */
  readonly cells: readonly ReplaySwap[];
}

/** Policies of the kernel table unless asked otherwise. */
export const DEFAULT_KERNEL_POLICIES: readonly PolicyName[] = ['fifo', 'clock', 'lru'];

/**
 * Runs the kernel's reclaim under every policy × frame count while the trace streams by: a
 * `TraceReplay` with `swap` each (own machine, kernel, exec), fed every batch (`consume`, a
 * `TraceBatchSink`), so the trace is read once. Costs follow the cells: each replay asks the Cpu
 * and tells the kernel about every page reference.
 */
export class KernelPolicyTable {
  private readonly cells: { readonly policy: string; readonly replay: TraceReplay }[] = [];
  private readonly policyNames: readonly string[];
  private readonly frameCounts: readonly number[];

  /** @throws TraceOptionError for `opt`, an empty or repeated list, a bad frame count; the ELF's errors */
  constructor(options: KernelPolicyTableOptions = {}) {
    const policies = options.policies ?? DEFAULT_KERNEL_POLICIES;
    const frameCounts = options.frameCounts ?? [64, 128, 256];
    if (policies.length === 0 || frameCounts.length === 0) throw new TraceOptionError('the kernel policy table needs at least one policy and one frame count');
    if (new Set(policies).size !== policies.length || new Set(frameCounts).size !== frameCounts.length) throw new TraceOptionError('a policy or frame count is given twice');
    this.policyNames = policies;
    this.frameCounts = frameCounts;
    for (const policy of policies) {
      for (const frames of frameCounts) {
        const replay = new TraceReplay({
          ...(options.elf === undefined ? {} : { elf: options.elf }),
          ...(options.argv === undefined ? {} : { argv: options.argv }),
          ...(options.name === undefined ? {} : { name: options.name }),
          ...(options.lenient === undefined ? {} : { lenient: options.lenient }),
          ...(options.ramBytes === undefined ? {} : { ramBytes: options.ramBytes }),
          ...(options.tickEvery === undefined ? {} : { tickEvery: options.tickEvery }),
          // Only the kernel's own counts are wanted here: no stream analyses beyond the cheapest.
          policies: [],
          tlb: [],
          swap: { policy, frames },
        });
        this.cells.push({ policy, replay });
      }
    }
  }

  /** Feeds one batch to every cell's replay (a `TraceBatchSink`). */
  consume(batch: TraceBatch): void {
    for (const c of this.cells) c.replay.consume(batch);
  }

  /** Ends every replay; the rows in the order asked. */
  finish(): KernelPolicyRow[] {
    const swaps = this.cells.map((c) => c.replay.finish().swap!);
    return this.policyNames.map((policy, i) => ({ policy, cells: this.frameCounts.map((_, k) => swaps[i * this.frameCounts.length + k]!) }));
  }

  /** The replays (one per policy × frame count, policy-major), e.g. to check the kernels' invariants. */
  get replays(): readonly TraceReplay[] {
    return this.cells.map((c) => c.replay);
  }
}
