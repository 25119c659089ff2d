// The benchmark workload, shared by every implementation so each runs the same operations.
import { VirtualAllocator } from '@kmem/virt-alloc';
import { mulberry32 } from '../../../test-support/mulberry32';

export const PAGE = 4096;
/** Live blocks: 100,000 (the figure); `--live=N` on the command line changes it. */
export const LIVE_BLOCKS = Number(/^--live=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--live=')) ?? '')?.[1] ?? 100_000);
/** A 47-bit space: the lower half of x86_64's 48-bit linear addresses (sizes well above 2^32). */
export const RANGE_END = 2 ** 47;

/** The shared mulberry32 PRNG (test-support), re-exported for this bench's other files. */
export const rng = mulberry32;

/** A size of 1..256 pages: 4 KiB .. 1 MiB. */
export function randomSize(r: () => number): number {
  return (1 + Math.floor(r() * 256)) * PAGE;
}

export interface State {
  va: VirtualAllocator;
  r: () => number;
  /** Addresses of live blocks (unordered); `liveCount` of them are valid. */
  live: Float64Array;
  liveCount: number;
}

/**
 * LIVE_BLOCKS live blocks, then `churnOps` untimed random alloc/free operations so the space is
 * fragmented the way a long-running system's is.
 */
export function buildState(churnOps = 2 * LIVE_BLOCKS, seed = 42): State {
  const va = new VirtualAllocator({ start: 0, end: RANGE_END });
  const s: State = { va, r: rng(seed), live: new Float64Array(LIVE_BLOCKS * 4), liveCount: 0 };
  for (let i = 0; i < LIVE_BLOCKS; i++) s.live[s.liveCount++] = va.alloc(randomSize(s.r))!;
  for (let i = 0; i < churnOps; i++) {
    step(s, (size) => va.alloc(size), (addr) => va.free(addr));
  }
  return s;
}

/**
 * One operation of the mix: alloc a random size (half the time) or free a random live block
 * (swap-removed from `live`). The count of live blocks random-walks around LIVE_BLOCKS.
 */
export function step(s: State, alloc: (sizeBytes: number) => number | null, free: (addr: number) => number): void {
  if (s.r() < 0.5 || s.liveCount === 0) {
    const a = alloc(randomSize(s.r));
    if (a === null) throw new Error('benchmark space exhausted');
    s.live[s.liveCount++] = a;
  } else {
    const i = Math.floor(s.r() * s.liveCount);
    free(s.live[i]!);
    s.live[i] = s.live[--s.liveCount]!;
  }
}
