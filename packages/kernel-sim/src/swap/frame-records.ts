// What reclaim knows about each resident user frame, in typed arrays indexed by frame number
// (grown on demand): the page it holds (pid, va — the reverse map, since a frame is mapped at the
// same va in every copy-on-write sharer), its kind and software bits (Linux keeps these in struct
// page / folio flags).

/** The frame is resident user memory the policy tracks. */
export const FRAME_RESIDENT = 1;
/** Filled from the ELF file and never written since (droppable: it can be re-read). */
export const FRAME_FILE = 2;
/** Dirty in software: its only copy is in RAM (e.g. its swap slot was freed at swap-in). */
export const FRAME_DIRTY = 4;
/** Pinned: not evictable now (its fault is being handled). */
export const FRAME_PINNED = 8;
/** Referenced: an A bit harvested by the working-set tick, not yet seen by the policy. */
export const FRAME_REFERENCED = 16;
/** Skipped in this reclaim run (could not be evicted: swap full). */
export const FRAME_SKIP = 32;

/** Per-frame records, by frame number (pa / 4096). */
export class FrameRecords {
  flags: Uint8Array<ArrayBuffer>;
  va: Float64Array<ArrayBuffer>;
  pid: Int32Array<ArrayBuffer>;
  /** Tick at which the frame was last seen referenced (working-set size). */
  lastRefTick: Float64Array<ArrayBuffer>;

  /** Records for frame numbers below `frameCount` now (more are added on demand). */
  constructor(frameCount = 1024) {
    const n = Math.max(1024, frameCount);
    this.flags = new Uint8Array(n);
    this.va = new Float64Array(n);
    this.pid = new Int32Array(n);
    this.lastRefTick = new Float64Array(n);
  }

  /** Makes room for frame number `n`. */
  ensure(n: number): void {
    // Growing (rare: the records are sized for RAM when swap is enabled) is out of line, so this
    // test inlines into `admit` on every fault.
    if (n >= this.flags.length) this.grow(n);
  }

  private grow(n: number): void {
    let cap = this.flags.length;
    while (cap <= n) cap *= 2;
    const f = new Uint8Array(cap);
    f.set(this.flags);
    this.flags = f;
    const v = new Float64Array(cap);
    v.set(this.va);
    this.va = v;
    const p = new Int32Array(cap);
    p.set(this.pid);
    this.pid = p;
    const t = new Float64Array(cap);
    t.set(this.lastRefTick);
    this.lastRefTick = t;
  }

  /** Flags of frame number `n` (0 when never recorded). */
  flagsOf(n: number): number {
    return n < this.flags.length ? this.flags[n]! : 0;
  }
}
