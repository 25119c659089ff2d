// Who owns every physical frame the frame allocator counts as used. The kernel takes every frame
// through here, so the allocator's bitmap and these records always agree (checkInvariants proves
// it), and the bitmap's copy in emulated physical memory stays live.
import type { ContiguousOptions } from '@kmem/pmm-bitmap';
import type { KernelFrameAllocator } from './kernel/frame-allocator-choice';
import type { EventLog, FrameOwner, FrameOwnerKind } from './events';
import { KernelInvariantError, FrameOwnershipError } from './kernel-errors';
import type { SparsePhysicalMemory } from './sparse-physical-memory';
import { formatPhysical } from './hex';
import { show } from './show-value';

const FRAME = 4096;
/** Frames per record chunk (16 MiB of physical memory): host memory grows with the chunks touched. */
const CHUNK_FRAMES = 4096;

/** Every owner kind, in the order of their numeric codes (code = index + 1; 0 = no owner). */
export const FRAME_OWNER_KINDS: readonly FrameOwnerKind[] = Object.freeze(['kernel-image', 'module', 'bitmap', 'page-table', 'heap', 'kernel-data', 'kernel-stack', 'user', 'reserved']);

const KIND_CODE = new Map<FrameOwnerKind, number>(FRAME_OWNER_KINDS.map((k, i) => [k, i + 1]));

// The checks below run on every frame the kernel takes (each demand-paging fault); their messages
// are built out of line, so the checks stay small enough for V8 to inline into the fault path.

function kindCode(kind: FrameOwnerKind): number {
  const c = KIND_CODE.get(kind);
  if (c === undefined) throw unknownKind(kind);
  return c;
}

function unknownKind(kind: unknown): FrameOwnershipError {
  return new FrameOwnershipError(0, `"${show(kind)}" is not a frame owner kind`);
}

/** The kind code of `owner`. @throws FrameOwnershipError unless it is an owner object with a known kind */
function ownerCode(owner: FrameOwner): number {
  if (typeof owner !== 'object' || owner === null) throw notAnOwner(owner);
  return kindCode(owner.kind);
}

function notAnOwner(owner: unknown): FrameOwnershipError {
  return new FrameOwnershipError(0, `owner ${owner === null ? 'null' : typeof owner} is not a { kind, pid? } object`);
}

/** A frame allocator that tags what it hands out with one owner (the shape x86-paging's Mapper takes). */
export interface OwnedFrameAllocator {
  /** The owner every frame from this allocator gets. */
  readonly owner: FrameOwner;
  /** A zeroed frame owned by `owner`, or null when memory is exhausted. */
  allocFrame(): number | null;
  /** Gives back a frame obtained here (or shared). */
  freeFrame(pa: number): void;
}

/**
 * Frame ownership records over a frame allocator (pmm-bitmap's, or seed 001's region list):
 * - one owner kind per frame (a byte code in 16 MiB chunks created on first use) and a pid for
 *   per-process frames (an Int32Array chunk created only where pids are recorded);
 * - an "owned" bitmap with the allocator's layout (1 bit per frame), so `checkInvariants` can
 *   compare the two word by word: every used frame has exactly one owner, every owned frame is used;
 * - extra references of shared frames (copy-on-write) in a Map: only shared frames cost an entry;
 * - when the allocator's bitmap is placed in physical memory ({@link placeBitmap}), every change
 *   made through here is written to that copy at once, so the emulated RAM always holds the
 *   allocator's state (64-bit little-endian words, bit f = frame f, 1 = used).
 * No per-frame JS objects: 64 GiB (16 M frames) costs a 2 MiB owned bitmap plus the chunks touched.
 */
export class FrameOwners {
  /** The frame allocator whose frames these records describe. */
  readonly pmm: KernelFrameAllocator;
  /** Physical memory (frames are zeroed before they are handed out). */
  readonly memory: SparsePhysicalMemory;
  private readonly events: EventLog;
  private readonly owned: Int32Array;
  private readonly kinds: (Uint8Array | undefined)[];
  private readonly pids: (Int32Array | undefined)[];
  private readonly extraRefs = new Map<number, number>();
  private readonly kindCounts = new Float64Array(FRAME_OWNER_KINDS.length + 1);
  private readonly pidCounts = new Map<number, number>();
  private ownedCount = 0;
  private bitmapPa = -1;
  private readonly allocators = new Map<string, OwnedFrameAllocator>();

  constructor(pmm: KernelFrameAllocator, memory: SparsePhysicalMemory, events: EventLog) {
    this.pmm = pmm;
    this.memory = memory;
    this.events = events;
    const words32 = Math.ceil(pmm.totalFrames / 32);
    this.owned = new Int32Array(words32 + (words32 & 1));
    const chunks = Math.ceil(pmm.totalFrames / CHUNK_FRAMES);
    this.kinds = new Array<Uint8Array | undefined>(chunks);
    this.pids = new Array<Int32Array | undefined>(chunks);
  }

  // --- handing frames out and taking them back -------------------------------------------------

  /**
   * A zeroed frame for `owner`, or null when no frame is free.
   * @throws FrameOwnershipError for an unknown owner kind or a pid that is not a non-negative integer
   */
  allocFrame(owner: FrameOwner): number | null {
    const code = ownerCode(owner);
    const pid = checkPid(owner.pid);
    const frame = this.pmm.allocFrame();
    if (frame === null) return null;
    this.memory.zeroFrame(frame);
    this.record(frame, code, pid);
    this.mirror(frame, true);
    if (this.events.wants('frame-alloc')) this.emitAlloc(frame, owner.kind, pid);
    return frame;
  }

  private emitAlloc(frame: number, owner: FrameOwnerKind, pid: number): void {
    this.events.emit(pid < 0 ? { kind: 'frame-alloc', frame, owner } : { kind: 'frame-alloc', frame, owner, pid });
  }

  /**
   * `frameCount` physically contiguous zeroed frames for `owner` (see the allocator's
   * `allocContiguous` for the options), or null.
   */
  allocContiguous(frameCount: number, owner: FrameOwner, options?: ContiguousOptions): number | null {
    const code = ownerCode(owner);
    const pid = checkPid(owner.pid);
    const start = this.pmm.allocContiguous(frameCount, options);
    if (start === null) return null;
    for (let i = 0; i < frameCount; i++) {
      const f = start + i * FRAME;
      this.memory.zeroFrame(f);
      this.record(f, code, pid);
      this.mirror(f, true);
    }
    if (this.events.wants('frame-reserve')) this.events.emit({ kind: 'frame-reserve', frame: start, frameCount, owner: owner.kind });
    return start;
  }

  /**
   * Drops one reference to `frame`: a shared frame loses a sharer; the last reference returns
   * the frame to the allocator (its contents stay until the next owner gets it zeroed).
   * @throws FrameOwnershipError if the frame has no owner (double free or never allocated); nothing changes
   */
  freeFrame(frame: number): void {
    const code = this.codeOf(frame);
    if (code === 0) throw new FrameOwnershipError(frame, this.isFrameAddress(frame) ? 'has no owner (double free, or never allocated through the kernel)' : 'is not a frame the allocator manages');
    const kind = FRAME_OWNER_KINDS[code - 1]!;
    const pid = this.pidAt(frame);
    const extra = this.extraRefs.get(frame);
    if (extra !== undefined) {
      if (extra <= 1) this.extraRefs.delete(frame);
      else this.extraRefs.set(frame, extra - 1);
      if (this.events.wants('frame-free')) this.events.emit(pid < 0 ? { kind: 'frame-free', frame, owner: kind, refCount: extra } : { kind: 'frame-free', frame, owner: kind, pid, refCount: extra });
      return;
    }
    this.pmm.freeFrame(frame);
    this.unrecord(frame, code, pid);
    this.mirror(frame, false);
    if (this.events.wants('frame-free')) this.events.emit(pid < 0 ? { kind: 'frame-free', frame, owner: kind, refCount: 0 } : { kind: 'frame-free', frame, owner: kind, pid, refCount: 0 });
  }

  /**
   * Adds a reference to an owned frame (a copy-on-write sharer). The owner stays the first one.
   * @returns the new reference count
   * @throws FrameOwnershipError if the frame has no owner
   */
  share(frame: number): number {
    if (this.codeOf(frame) === 0) throw new FrameOwnershipError(frame, 'cannot be shared: it has no owner');
    const extra = (this.extraRefs.get(frame) ?? 0) + 1;
    this.extraRefs.set(frame, extra);
    return extra + 1;
  }

  /** References to `frame`: 0 if it has no owner, 1 if it has one, more if shared. Never throws. */
  refCount(frame: number): number {
    if (this.codeOf(frame) === 0) return 0;
    return 1 + (this.extraRefs.get(frame) ?? 0);
  }

  /**
   * Takes `frameCount` frames from `frame` that the allocator holds FREE for `owner` (the kernel
   * image, modules, an identity-mapped kernel stack). All or nothing.
   * @throws FrameOwnershipError if any of them is outside the allocator's range or not free; nothing changes
   */
  claim(frame: number, frameCount: number, owner: FrameOwner, options: { readonly permanent?: boolean } = {}): void {
    const code = ownerCode(owner);
    const pid = checkPid(owner.pid);
    this.checkRun(frame, frameCount);
    for (let i = 0; i < frameCount; i++) {
      const f = frame + i * FRAME;
      if (!this.pmm.isFree(f)) throw new FrameOwnershipError(f, `cannot be claimed for ${owner.kind}: it is not free (${this.describe(f)})`);
    }
    this.pmm.reserve(frame, frameCount, options.permanent === true ? { permanent: true } : undefined);
    for (let i = 0; i < frameCount; i++) {
      this.record(frame + i * FRAME, code, pid);
      this.mirror(frame + i * FRAME, true);
    }
    if (this.events.wants('frame-reserve')) this.events.emit({ kind: 'frame-reserve', frame, frameCount, owner: owner.kind });
  }

  /**
   * Gives an owner to frames the allocator already counts as used but nobody owns (firmware
   * ranges, holes, the low 1 MiB, the bitmap after `placeBitmap`). All or nothing.
   * @throws FrameOwnershipError if any of them is free in the allocator or already owned
   */
  adopt(frame: number, frameCount: number, owner: FrameOwner): void {
    const code = ownerCode(owner);
    const pid = checkPid(owner.pid);
    this.checkRun(frame, frameCount);
    for (let i = 0; i < frameCount; i++) {
      const f = frame + i * FRAME;
      if (this.pmm.isFree(f)) throw new FrameOwnershipError(f, `cannot be adopted by ${owner.kind}: the allocator has it free`);
      if (this.codeOf(f) !== 0) throw new FrameOwnershipError(f, `cannot be adopted by ${owner.kind}: ${this.describe(f)}`);
    }
    for (let i = 0; i < frameCount; i++) this.record(frame + i * FRAME, code, pid);
    if (this.events.wants('frame-reserve')) this.events.emit({ kind: 'frame-reserve', frame, frameCount, owner: owner.kind });
  }

  /**
   * Gives every used-but-unowned frame of the allocator to `owner` (after boot's reservations:
   * what is left is firmware's, holes and low memory). Emits one `frame-reserve` per run.
   * @returns the number of frames adopted
   */
  adoptAllUnowned(owner: FrameOwner): number {
    const code = ownerCode(owner);
    const pid = checkPid(owner.pid);
    const used = this.pmm.exportWords();
    const total = this.pmm.totalFrames;
    let adopted = 0;
    let runStart = -1;
    const flush = (end: number): void => {
      if (runStart >= 0 && this.events.wants('frame-reserve')) this.events.emit({ kind: 'frame-reserve', frame: runStart * FRAME, frameCount: end - runStart, owner: owner.kind });
      runStart = -1;
    };
    for (let w = 0; w < this.owned.length; w++) {
      const bits = used[w]! & ~this.owned[w]!;
      if (bits === 0) {
        flush(w * 32);
        continue;
      }
      for (let b = 0; b < 32; b++) {
        const f = w * 32 + b;
        if (f >= total) break;
        if ((bits & (1 << b)) !== 0) {
          this.record(f * FRAME, code, pid);
          adopted++;
          if (runStart < 0) runStart = f;
        } else flush(f);
      }
    }
    flush(total);
    return adopted;
  }

  /**
   * Records that the allocator's bitmap now lives at `pa` (after `pmm.placeBitmap(pa)`): writes
   * the allocator's words there and keeps them in sync from now on. The bitmap's frames must be
   * owned (by 'bitmap') already.
   */
  placeBitmap(pa: number): void {
    const words = this.pmm.exportWords();
    const sizeBytes = words.length * 4;
    for (let off = 0; off < sizeBytes; off += FRAME) {
      const view = this.memory.frameWords(pa + off);
      const n = Math.min(1024, (sizeBytes - off) >>> 2);
      view.set(words.subarray(off >>> 2, (off >>> 2) + n));
    }
    this.bitmapPa = pa;
  }

  /** Where the in-memory copy of the bitmap lives, or null. */
  get bitmapAddress(): number | null {
    return this.bitmapPa < 0 ? null : this.bitmapPa;
  }

  /**
   * Changes the owner of an owned frame (e.g. a page table handed to a process).
   * @throws FrameOwnershipError if the frame has no owner
   */
  transfer(frame: number, owner: FrameOwner): void {
    const code = ownerCode(owner);
    const pid = checkPid(owner.pid);
    const old = this.codeOf(frame);
    if (old === 0) throw new FrameOwnershipError(frame, 'cannot be transferred: it has no owner');
    this.unrecord(frame, old, this.pidAt(frame));
    this.record(frame, code, pid);
  }

  // --- queries -------------------------------------------------------------------------------

  /** The owner of `frame`, or null if it has none (free, or outside the allocator). Allocates. */
  ownerOf(frame: number): FrameOwner | null {
    const code = this.codeOf(frame);
    if (code === 0) return null;
    const pid = this.pidAt(frame);
    return pid < 0 ? { kind: FRAME_OWNER_KINDS[code - 1]! } : { kind: FRAME_OWNER_KINDS[code - 1]!, pid };
  }

  /** The owner kind of `frame`, or null. No allocation. */
  kindOf(frame: number): FrameOwnerKind | null {
    const code = this.codeOf(frame);
    return code === 0 ? null : FRAME_OWNER_KINDS[code - 1]!;
  }

  /** The pid recorded for `frame`, or -1. No allocation. */
  pidOf(frame: number): number {
    return this.codeOf(frame) === 0 ? -1 : this.pidAt(frame);
  }

  /** Frames owned by each kind (every kind listed, zeros included). */
  usageByOwner(): Record<FrameOwnerKind, number> {
    const out = {} as Record<FrameOwnerKind, number>;
    FRAME_OWNER_KINDS.forEach((k, i) => (out[k] = this.kindCounts[i + 1]!));
    return out;
  }

  /** Frames recorded with `pid` (user pages and the process's page tables). */
  framesOfPid(pid: number): number {
    return this.pidCounts.get(pid) ?? 0;
  }

  /** Frames that have an owner. */
  get ownedFrames(): number {
    return this.ownedCount;
  }

  /** Frames with more than one reference. */
  get sharedFrames(): number {
    return this.extraRefs.size;
  }

  /**
   * A frame allocator (x86-paging's FrameAllocator shape) whose frames all get `owner`: give it
   * to a Mapper so its page tables are owned ('page-table', pid). Cached per pid-less owner (one per process would outlive it).
   */
  allocatorFor(owner: FrameOwner): OwnedFrameAllocator {
    ownerCode(owner);
    checkPid(owner.pid);
    // Cached for pid-less owners only: a cache entry per pid would outlive the process.
    const key = owner.pid === undefined ? owner.kind : null;
    let a = key === null ? undefined : this.allocators.get(key);
    if (a === undefined) {
      const fixed: FrameOwner = owner.pid === undefined ? { kind: owner.kind } : { kind: owner.kind, pid: owner.pid };
      a = {
        owner: fixed,
        allocFrame: () => this.allocFrame(fixed),
        freeFrame: (pa: number) => this.freeFrame(pa),
      };
      if (key !== null) this.allocators.set(key, a);
    }
    return a;
  }

  /**
   * Every used frame has exactly one owner and every owned frame is used (the owned bitmap
   * equals the allocator's, word by word); counters match the records; shared frames are owned;
   * the bitmap's copy in physical memory equals the allocator's words.
   * @throws KernelInvariantError describing the first inconsistency
   */
  checkInvariants(): void {
    const used = this.pmm.exportWords();
    if (used.length !== this.owned.length) throw new KernelInvariantError(`owner bitmap has ${this.owned.length} words, the allocator ${used.length}`);
    const total = this.pmm.totalFrames;
    let owned = 0;
    const counts = new Float64Array(this.kindCounts.length);
    for (let w = 0; w < used.length; w++) {
      // Padding bits past the last frame are set in the allocator and never owned.
      const valid = w * 32 + 32 <= total ? -1 : w * 32 >= total ? 0 : (1 << (total - w * 32)) - 1;
      const u = used[w]! & valid;
      const o = this.owned[w]!;
      if (u !== o) {
        const diff = u ^ o;
        let b = 0;
        while ((diff & (1 << b)) === 0) b++;
        const f = (w * 32 + b) * FRAME;
        throw new KernelInvariantError((u & (1 << b)) !== 0 ? `frame ${formatPhysical(f)} is used in the allocator but has no owner` : `frame ${formatPhysical(f)} is owned (${this.describe(f)}) but free in the allocator`);
      }
      if (o === 0) continue;
      for (let b = 0; b < 32; b++) {
        if ((o & (1 << b)) === 0) continue;
        owned++;
        const f = (w * 32 + b) * FRAME;
        const code = this.rawCode(w * 32 + b);
        if (code === 0) throw new KernelInvariantError(`frame ${formatPhysical(f)} is marked owned with no owner kind`);
        counts[code]!++;
      }
    }
    if (owned !== this.ownedCount) throw new KernelInvariantError(`owned counter ${this.ownedCount} != ${owned} owned frames`);
    for (let i = 1; i < counts.length; i++) {
      if (counts[i] !== this.kindCounts[i]) throw new KernelInvariantError(`owner ${FRAME_OWNER_KINDS[i - 1]} counter ${this.kindCounts[i]} != ${counts[i]} frames`);
    }
    for (const [frame, extra] of this.extraRefs) {
      if (extra < 1 || this.codeOf(frame) === 0) throw new KernelInvariantError(`shared frame ${formatPhysical(frame)} has ${extra} extra references and owner ${this.describe(frame)}`);
    }
    if (this.bitmapPa >= 0) {
      for (let w = 0; w < used.length; w++) {
        const m = this.memory.read32(this.bitmapPa + w * 4);
        if (m !== used[w]) throw new KernelInvariantError(`bitmap copy in RAM at ${formatPhysical(this.bitmapPa + w * 4)} is 0x${m.toString(16)}, the allocator has 0x${used[w]!.toString(16)}`);
      }
    }
  }

  // --- internals -----------------------------------------------------------------------------

  private isFrameAddress(frame: number): boolean {
    return Number.isSafeInteger(frame) && frame >= 0 && frame % FRAME === 0 && frame < this.pmm.totalFrames * FRAME;
  }

  private checkRun(frame: number, frameCount: number): void {
    if (!Number.isSafeInteger(frameCount) || frameCount < 1) throw new FrameOwnershipError(frame, `frame count ${show(frameCount)} is not a positive integer`);
    if (!this.isFrameAddress(frame) || frame + frameCount * FRAME > this.pmm.totalFrames * FRAME) throw new FrameOwnershipError(frame, `run of ${frameCount} frame(s) is not inside the allocator's range`);
  }

  private codeOf(frame: number): number {
    if (!this.isFrameAddress(frame)) return 0;
    return this.rawCode(frame / FRAME);
  }

  private rawCode(frameNo: number): number {
    const chunk = this.kinds[Math.floor(frameNo / CHUNK_FRAMES)];
    return chunk === undefined ? 0 : chunk[frameNo % CHUNK_FRAMES]!;
  }

  private pidAt(frame: number): number {
    const frameNo = frame / FRAME;
    const chunk = this.pids[Math.floor(frameNo / CHUNK_FRAMES)];
    return chunk === undefined ? -1 : chunk[frameNo % CHUNK_FRAMES]! - 1;
  }

  private describe(frame: number): string {
    const o = this.ownerOf(frame);
    if (o === null) return this.pmm.isFree(frame) ? 'free' : 'used, no owner';
    return o.pid === undefined ? `owned by ${o.kind}` : `owned by ${o.kind} of pid ${o.pid}`;
  }

  private record(frame: number, code: number, pid: number): void {
    const frameNo = frame / FRAME;
    const c = Math.floor(frameNo / CHUNK_FRAMES);
    let kinds = this.kinds[c];
    if (kinds === undefined) this.kinds[c] = kinds = new Uint8Array(CHUNK_FRAMES);
    kinds[frameNo % CHUNK_FRAMES] = code;
    if (pid >= 0) {
      let pids = this.pids[c];
      if (pids === undefined) this.pids[c] = pids = new Int32Array(CHUNK_FRAMES);
      pids[frameNo % CHUNK_FRAMES] = pid + 1;
      this.pidCounts.set(pid, (this.pidCounts.get(pid) ?? 0) + 1);
    } else {
      const pids = this.pids[c];
      if (pids !== undefined) pids[frameNo % CHUNK_FRAMES] = 0;
    }
    this.owned[frameNo >>> 5]! |= 1 << (frameNo & 31);
    this.kindCounts[code]!++;
    this.ownedCount++;
  }

  private unrecord(frame: number, code: number, pid: number): void {
    const frameNo = frame / FRAME;
    const c = Math.floor(frameNo / CHUNK_FRAMES);
    this.kinds[c]![frameNo % CHUNK_FRAMES] = 0;
    if (pid >= 0) {
      this.pids[c]![frameNo % CHUNK_FRAMES] = 0;
      const n = (this.pidCounts.get(pid) ?? 1) - 1;
      if (n === 0) this.pidCounts.delete(pid);
      else this.pidCounts.set(pid, n);
    }
    this.owned[frameNo >>> 5]! &= ~(1 << (frameNo & 31));
    this.kindCounts[code]!--;
    this.ownedCount--;
  }

  /** Keeps the in-memory bitmap equal to the allocator's (bit f of the little-endian words). */
  private mirror(frame: number, used: boolean): void {
    if (this.bitmapPa < 0) return;
    const frameNo = frame / FRAME;
    const pa = this.bitmapPa + (frameNo >>> 5) * 4;
    const old = this.memory.read32(pa);
    const bit = 1 << (frameNo & 31);
    this.memory.write32(pa, used ? old | bit : old & ~bit);
  }
}

function checkPid(pid: number | undefined): number {
  if (pid === undefined) return -1;
  if (!Number.isSafeInteger(pid) || pid < 0 || pid > 0x7fff_fffe) throw badPid(pid);
  return pid;
}

function badPid(pid: unknown): FrameOwnershipError {
  return new FrameOwnershipError(0, `pid ${show(pid)} is not a non-negative integer`);
}
