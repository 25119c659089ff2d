// Running a policy standalone over a recorded access sequence: page numbers in, faults out, with
// software A/D bits standing in for the PTEs' (set on every access, D on writes, cleared only by
// the policy). The trace replayer and the textbook exercises use this; the kernel runs the same
// policy objects over the real page tables.
import type { PageSignals, ReplacementPolicy } from './replacement-policy';
import { PolicyVictimError, SwapOptionError } from './swap-errors';

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

const A = 1;
const D = 2;

/**
 * Runs `pages` (page numbers, any integers) through `policy` with `frameCount` frames.
 * @throws SwapOptionError for a frame count below 1; PolicyVictimError when the policy returns a
 *   page that is not resident (or -1 while frames are needed)
 */
export function simulateReferenceString(policy: ReplacementPolicy, pages: ArrayLike<number>, frameCount: number, options: ReferenceStringOptions = {}): ReferenceStringResult {
  if (!Number.isSafeInteger(frameCount) || frameCount < 1) throw new SwapOptionError(`frame count ${String(frameCount)} must be a positive integer`);
  const tickEvery = options.tickEvery ?? 0;
  const writes = options.writes;
  const bits = new Map<number, number>();
  const signals: PageSignals = {
    testAndClearAccessed(page) {
      const b = bits.get(page) ?? 0;
      if ((b & A) === 0) return false;
      bits.set(page, b & ~A);
      return true;
    },
    isAccessed: (page) => ((bits.get(page) ?? 0) & A) !== 0,
    isDirty: (page) => ((bits.get(page) ?? 0) & D) !== 0,
    isEvictable: (page) => bits.has(page),
    pageKey: (page) => page,
    pageKeys: (page, out) => out.push(page) && 1,
    accessKey: (page) => page,
  };
  const faulted = new Uint8Array(pages.length);
  let faults = 0;
  let evictions = 0;
  let writeBacks = 0;
  for (let i = 0; i < pages.length; i++) {
    const page = pages[i]!;
    const write = writes !== undefined && writes[i] === true;
    let victim = -1;
    if (!bits.has(page)) {
      faults++;
      faulted[i] = 1;
      if (bits.size >= frameCount) {
        victim = policy.selectVictim(signals, i);
        if (!bits.has(victim)) throw new PolicyVictimError(policy.name, victim, 'not-offered');
        if ((bits.get(victim)! & D) !== 0) writeBacks++;
        bits.delete(victim);
        policy.remove(victim);
        evictions++;
      }
      bits.set(page, 0);
      policy.admit(page, i);
    }
    bits.set(page, bits.get(page)! | A | (write ? D : 0));
    if (policy.needsEveryAccess === true) policy.onAccess?.(page, signals, i);
    if (tickEvery > 0 && (i + 1) % tickEvery === 0) policy.tick?.(signals, i);
    options.onStep?.(i, faulted[i] === 1, victim);
  }
  return { accesses: pages.length, faults, evictions, writeBacks, faulted };
}
