// Running a policy standalone over a recorded access sequence: page numbers in, faults out, with
// software A/D bits standing in for the PTEs' (set on every access, D on writes, cleared only by
// the policy). The textbook exercises use this; it is the trace layer's PolicySimulation (the one
// driver) over an array. The kernel runs the same policy objects over the real page tables.
import { PolicySimulation } from '../trace/policy-simulation';
import type { ReplacementPolicy } from './replacement-policy';
import { SwapOptionError } from './swap-errors';
import { show } from '../show-value';

/** Options of {@link simulateReferenceString}. */
export interface ReferenceStringOptions {
  /** Which accesses write (same length as the pages; default none): D is set and an eviction writes back. */
  readonly writes?: ArrayLike<boolean>;
  /** Call `policy.tick` every this many accesses (default 0: never). Time is the access index. */
  readonly tickEvery?: number;
  /** Called after every access with its index and whether it faulted. */
  readonly onStep?: (index: number, faulted: boolean, victim: number) => void;
}

/** What a run of a reference string came to. */
export interface ReferenceStringResult {
  /** Accesses. */
  readonly accesses: number;
  /** Accesses to a page that was not resident (including the first touch of each page). */
  readonly faults: number;
  /** Pages evicted. */
  readonly evictions: number;
  /** Evictions of a dirty page (a write-back). */
  readonly writeBacks: number;
  /** For each access, whether it faulted. */
  readonly faulted: Uint8Array;
}

/**
 * Runs `pages` (page numbers, any integers) through `policy` with `frameCount` frames: the trace
 * layer's streaming driver (`PolicySimulation`), one reference at a time, so the two cannot
 * disagree.
 * @throws SwapOptionError for a frame count below 1 or a tick interval that is not a
 *   non-negative integer; PolicyVictimError when the policy returns a page that is not resident
 *   (or -1 while frames are needed)
 */
export function simulateReferenceString(policy: ReplacementPolicy, pages: ArrayLike<number>, frameCount: number, options: ReferenceStringOptions = {}): ReferenceStringResult {
  if (!Number.isSafeInteger(frameCount) || frameCount < 1) throw new SwapOptionError(`frame count ${show(frameCount)} must be a positive integer`);
  const tickEvery = options.tickEvery ?? 0;
  if (!Number.isSafeInteger(tickEvery) || tickEvery < 0) throw new SwapOptionError(`tickEvery ${show(tickEvery)} must be a non-negative integer`);
  const writes = options.writes;
  const onStep = options.onStep;
  const sim = new PolicySimulation(policy, frameCount, tickEvery);
  const faulted = new Uint8Array(pages.length);
  for (let i = 0; i < pages.length; i++) {
    sim.reference(pages[i]!, writes !== undefined && writes[i] === true);
    if (sim.lastFaulted) faulted[i] = 1;
    onStep?.(i, sim.lastFaulted, sim.lastVictim);
  }
  return { accesses: pages.length, faults: sim.faults, evictions: sim.evictions, writeBacks: sim.writeBacks, faulted };
}
