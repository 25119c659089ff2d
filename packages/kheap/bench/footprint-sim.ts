// Footprint simulation of allocator designs on issue 19's slot traces (no timing): peak pages
// held ÷ peak live requested bytes, the figure the issue's floors bound (≤ 1.35 at SLOTS 256,
// ≤ 1.15 at 2,048 and 16,384). Each design is a model that counts pages, not an allocator that
// writes memory; the TLSF model splits, coalesces, picks blocks and keeps a spare arena as
// src/tlsf.ts did before its quick lists (it reproduces that build's measured 1.221 / 1.111 / 1.054
// with 128 KiB arenas). "fast ops" is the share of all ops served without the TLSF proper
// (slab ops, quick-list hits, frees kept in a quick list), the ops a front cache makes cheap.
//   node --import tsx bench/footprint-sim.ts            (seed 19, 128 / 64 / 32 KiB arenas)
//   SEED=3 node --import tsx bench/footprint-sim.ts     (another draw of the same workload)
// The first line is not a model: the heap of src/ itself, measured on the same traces.
import { ArrayBufferBacking, KernelHeap } from '../src/index';
import { SLOT_COUNTS, footprintOf, slotTrace, type SlotTrace } from './slot-trace';

const PAGE = 4096;

/** A page counter shared by the parts of one design. */
class Pages {
  held = 0;
  peak = 0;
  add(n: number): void {
    this.held += n;
    if (this.held > this.peak) this.peak = this.held;
  }
}

// ------------------------------------------------------------------ TLSF model (as src/tlsf.ts)

let ARENA = 128 * 1024;
const MAX_ARENAS = 1024;
class TlsfModel {
  // Block metadata in JS arrays indexed by offset / 16 (the model is about sizes, not bytes).
  private readonly size = new Int32Array((128 * 1024 * MAX_ARENAS) / 16);
  private readonly prev = new Int32Array((128 * 1024 * MAX_ARENAS) / 16);
  private readonly free = new Uint8Array((128 * 1024 * MAX_ARENAS) / 16);
  private readonly next = new Int32Array((128 * 1024 * MAX_ARENAS) / 16);
  private readonly prevF = new Int32Array((128 * 1024 * MAX_ARENAS) / 16);
  private readonly heads = new Int32Array(24 * 32).fill(-1);
  private readonly slMap = new Int32Array(24);
  private flMap = 0;
  private readonly arenaUsed = new Uint8Array(MAX_ARENAS);
  arenas = 0;
  spare = 0;
  constructor(private readonly pages: Pages) {}

  private listOf(s: number): number {
    if (s < 512) return s >>> 4;
    const f = 31 - Math.clz32(s);
    return ((f - 8) << 5) | ((s >>> (f - 5)) ^ 32);
  }
  private insert(b: number, s: number): void {
    const i = this.listOf(s);
    const h = this.heads[i]!;
    this.next[b >> 4] = h;
    this.prevF[b >> 4] = -1;
    if (h !== -1) this.prevF[h >> 4] = b;
    this.heads[i] = b;
    this.flMap |= 1 << (i >> 5);
    this.slMap[i >> 5]! |= 1 << (i & 31);
  }
  private remove(b: number, s: number): void {
    const n = this.next[b >> 4]!;
    const p = this.prevF[b >> 4]!;
    if (n !== -1) this.prevF[n >> 4] = p;
    if (p !== -1) this.next[p >> 4] = n;
    else {
      const i = this.listOf(s);
      this.heads[i] = n;
      if (n === -1) {
        const sm = this.slMap[i >> 5]! & ~(1 << (i & 31));
        this.slMap[i >> 5] = sm;
        if (sm === 0) this.flMap &= ~(1 << (i >> 5));
      }
    }
  }
  private find(s: number): number {
    if (s >= 512) s += (1 << (31 - Math.clz32(s) - 5)) - 1;
    const i = this.listOf(s);
    let fl = i >> 5;
    let sm = this.slMap[fl]! & (-1 << (i & 31));
    if (sm === 0) {
      const fm = this.flMap & (-1 << (fl + 1));
      if (fm === 0) return -1;
      fl = 31 - Math.clz32(fm & -fm);
      sm = this.slMap[fl]!;
    }
    return this.heads[(fl << 5) | (31 - Math.clz32(sm & -sm))]!;
  }
  private grow(): void {
    let a = 0;
    while (this.arenaUsed[a]) a++;
    this.arenaUsed[a] = 1;
    const b = a * ARENA;
    const usable = ARENA - 16;
    this.size[b >> 4] = usable;
    this.prev[b >> 4] = -1;
    this.free[b >> 4] = 1;
    this.size[(b + usable) >> 4] = 0; // sentinel
    this.free[(b + usable) >> 4] = 0;
    this.prev[(b + usable) >> 4] = b;
    this.insert(b, usable);
    this.arenas++;
    this.spare++;
    this.pages.add(ARENA / PAGE);
  }
  /** Block of `need` bytes (header included, multiple of 16); -1 when no arena has room and `mayGrow` is false. */
  alloc(need: number, mayGrow = true): number {
    let b = this.find(need);
    if (b === -1) {
      if (!mayGrow) return -1;
      this.grow();
      b = this.find(need);
    }
    let s = this.size[b >> 4]!;
    this.remove(b, s);
    if (s === ARENA - 16) this.spare--;
    if (s - need >= 32) {
      const t = b + need;
      this.size[t >> 4] = s - need;
      this.prev[t >> 4] = b;
      this.free[t >> 4] = 1;
      this.prev[(t + s - need) >> 4] = t;
      this.insert(t, s - need);
      s = need;
    }
    this.size[b >> 4] = s;
    this.free[b >> 4] = 0;
    return b;
  }
  release(b: number): void {
    let s = this.size[b >> 4]!;
    const n = b + s;
    if (this.free[n >> 4]) {
      this.remove(n, this.size[n >> 4]!);
      s += this.size[n >> 4]!;
    }
    const p = this.prev[b >> 4]!;
    if (p !== -1 && this.free[p >> 4]) {
      this.remove(p, this.size[p >> 4]!);
      s += this.size[p >> 4]!;
      b = p;
    }
    this.size[b >> 4] = s;
    this.free[b >> 4] = 1;
    this.prev[(b + s) >> 4] = b;
    if (s === ARENA - 16) {
      if (this.spare === 0 && (this.arenas === 1 || this.arenas >= 4)) this.spare++;
      else {
        this.arenas--;
        this.arenaUsed[b / ARENA] = 0;
        this.pages.add(-ARENA / PAGE);
        return;
      }
    }
    this.insert(b, s);
  }
}

// ------------------------------------------------------------------ slab model

interface SlabClass {
  size: number;
  pages: number;
  cap: number;
  /** inuse per slab id (-1: released). */
  slabs: number[];
  empties: number;
}

/** Slab caches; objects are placed by `policy`: 'lifo' (the slab freed into last, as SLUB), 'fullest'. */
class SlabModel {
  readonly classes: SlabClass[] = [];
  private readonly lastFreed: number[] = [];
  constructor(
    private readonly pages: Pages,
    private readonly policy: 'lifo' | 'fullest',
    private readonly keepEmpty: number,
  ) {}
  addClass(size: number, maxPages: number, maxTail: number): number {
    let pages = maxPages;
    for (let p = 1; p <= maxPages; p++) {
      const cap = Math.floor((p * PAGE - 32 - Math.ceil(p * PAGE / size / 8)) / size);
      if (cap >= 1 && (p * PAGE - cap * size) / (p * PAGE) <= maxTail) {
        pages = p;
        break;
      }
    }
    const cap = Math.floor((pages * PAGE - 32 - Math.ceil(pages * PAGE / size / 8)) / size);
    this.classes.push({ size, pages, cap, slabs: [], empties: 0 });
    this.lastFreed.push(-1);
    return this.classes.length - 1;
  }
  /** Returns the slab id holding the new object. */
  alloc(c: number): number {
    const k = this.classes[c]!;
    let best = -1;
    const lf = this.lastFreed[c]!;
    if (this.policy === 'lifo' && lf !== -1 && k.slabs[lf]! >= 0 && k.slabs[lf]! < k.cap) best = lf;
    else {
      for (let s = 0; s < k.slabs.length; s++) {
        const u = k.slabs[s]!;
        if (u < 0 || u >= k.cap) continue;
        if (best === -1 || (this.policy === 'fullest' ? u > k.slabs[best]! : false)) best = s;
        if (this.policy === 'lifo') break;
      }
    }
    if (best === -1) {
      best = k.slabs.indexOf(-1);
      if (best === -1) best = k.slabs.length;
      k.slabs[best] = 0;
      this.pages.add(k.pages);
    } else if (k.slabs[best] === 0) k.empties--;
    k.slabs[best]!++;
    return best;
  }
  free(c: number, s: number): void {
    const k = this.classes[c]!;
    k.slabs[s]!--;
    this.lastFreed[c] = s;
    if (k.slabs[s] === 0) {
      if (k.empties < this.keepEmpty) k.empties++;
      else {
        k.slabs[s] = -1;
        this.pages.add(-k.pages);
      }
    }
  }
}

// ------------------------------------------------------------------ designs

interface Design {
  name: string;
  alloc(slot: number, n: number): void;
  free(slot: number): void;
  pages: Pages;
  /** Share of ops served without the general allocator (quick-list hits), if the design has a fast path. */
  fast?: () => string;
}

const LINUX_CLASSES = [8, 16, 32, 64, 96, 128, 192, 256, 384, 512];

/** kheap today: Linux's kmalloc classes up to 512 (slab sizing as src/slab.ts), TLSF above. */
function today(slots: number): Design {
  const pages = new Pages();
  const slab = new SlabModel(pages, 'lifo', 1);
  for (const s of LINUX_CLASSES) slab.addClass(s, 8, 1 / 8);
  const tlsf = new TlsfModel(pages);
  const where = new Int32Array(slots);
  const cls = new Int32Array(slots);
  return {
    name: 'today (slabs ≤ 512, TLSF)',
    pages,
    alloc(slot, n) {
      if (n <= 512) {
        const c = LINUX_CLASSES.findIndex((s) => s >= n);
        cls[slot] = c;
        where[slot] = slab.alloc(c);
      } else {
        cls[slot] = -1;
        where[slot] = tlsf.alloc((n + 16 + 15) & ~15);
      }
    },
    free(slot) {
      if (cls[slot]! >= 0) slab.free(cls[slot]!, where[slot]!);
      else tlsf.release(where[slot]!);
    },
  };
}

/** Size class of a block of `b` bytes with `g` classes per power of two (multiples of 16). */
function classRound(b: number, g: number): number {
  const f = 31 - Math.clz32(b);
  const step = Math.max(16, (1 << f) / g);
  return Math.ceil(b / step) * step;
}

/**
 * Today's design plus per-class quick lists in front of the TLSF (blocks rounded up to `g`
 * classes per power of two, at most `k` cached per class); when the TLSF would have to grow, the
 * lists are drained into it first (so cached blocks never cost an arena on their own).
 */
function quick(slots: number, g: number, k: number, byteCap: number, reach = 0): Design {
  let live = 0;
  const req = new Int32Array(slots);
  const pages = new Pages();
  const tlsf = new TlsfModel(pages);
  const slab = new SlabModel(pages, 'lifo', 1);
  for (const s of LINUX_CLASSES) slab.addClass(s, 8, 1 / 8);
  const where = new Int32Array(slots);
  const cls = new Int32Array(slots);
  const lists = new Map<number, number[]>();
  let cached = 0;
  let misses = 0;
  let freeSlow = 0;
  let drains = 0;
  const drain = (): void => {
    drains++;
    for (const l of lists.values()) for (const b of l.splice(0)) tlsf.release(b);
    cached = 0;
  };
  return {
    name: `quick lists g=${g} k=${k} reach ${reach}${byteCap < 1 ? ` cap live/${1 / byteCap}` : byteCap < Infinity ? ` cap ${byteCap >> 10} KiB` : ''}`,
    pages,
    fast: () => `fast ops ${(100 - (misses + freeSlow) / 1e4).toFixed(0)} %, drains ${drains}`,
    alloc(slot, n) {
      live += n;
      req[slot] = n;
      if (n <= 512) {
        const c = LINUX_CLASSES.findIndex((s) => s >= n);
        cls[slot] = c;
        where[slot] = slab.alloc(c);
        return;
      }
      const b = classRound((n + 16 + 15) & ~15, g);
      cls[slot] = -b;
      let bb = b;
      for (let r = 0; r <= reach; r++) {
        const l = lists.get(bb);
        if (l !== undefined && l.length > 0) {
          cached -= bb;
          cls[slot] = -bb;
          where[slot] = l.pop()!;
          return;
        }
        bb = classRound(bb + 1, g);
      }
      misses++;
      let t = tlsf.alloc(b, false);
      if (t === -1) {
        drain();
        t = tlsf.alloc(b, true);
      }
      where[slot] = t;
    },
    free(slot) {
      live -= req[slot]!;
      const c = cls[slot]!;
      if (c >= 0) {
        slab.free(c, where[slot]!);
        return;
      }
      const b = -c;
      let l = lists.get(b);
      if (l === undefined) lists.set(b, (l = []));
      if (l.length < k && cached + b <= (byteCap < 1 ? live * byteCap : byteCap)) {
        cached += b;
        l.push(where[slot]!);
      } else {
        freeSlow++;
        tlsf.release(where[slot]!);
      }
    },
  };
}

/** Segregated slabs for every size: `g` classes per power of two from 16 bytes, slabs of up to `maxPages`. */
function slabsOnly(slots: number, g: number, maxPages: number, maxTail: number, policy: 'lifo' | 'fullest', keepEmpty: number): Design {
  const pages = new Pages();
  const slab = new SlabModel(pages, policy, keepEmpty);
  const classOf = new Int32Array(4097);
  const sizes: number[] = [];
  for (let n = 1; n <= 4096; n++) {
    const s = n <= 16 ? 16 : classRound((n + 15) & ~15, g);
    let c = sizes.indexOf(s);
    if (c === -1) {
      c = slab.addClass(s, maxPages, maxTail);
      sizes.push(s);
    }
    classOf[n] = c;
  }
  const where = new Int32Array(slots);
  const cls = new Int32Array(slots);
  return {
    name: `slabs only g=${g} ≤${maxPages} pages tail ≤${(maxTail * 100).toFixed(0)} % ${policy} keep ${keepEmpty}`,
    pages,
    alloc(slot, n) {
      const c = classOf[n]!;
      cls[slot] = c;
      where[slot] = slab.alloc(c);
    },
    free(slot) {
      slab.free(cls[slot]!, where[slot]!);
    },
  };
}

function run(t: SlotTrace, d: Design): number {
  for (let i = 0; i < t.slot.length; i++) {
    if (t.size[i] !== 0) d.alloc(t.slot[i]!, t.size[i]!);
    else d.free(t.slot[i]!);
  }
  return (d.pages.peak * PAGE) / t.peakLiveBytes;
}

const seed = Number(process.env.SEED ?? 19);
const traces = SLOT_COUNTS.map((s) => slotTrace(s, undefined, seed));
const designs: Array<(slots: number) => Design> = [
  today,
  (s) => slabsOnly(s, 8, 8, 0.05, 'lifo', 0),
  (s) => slabsOnly(s, 8, 8, 0.05, 'fullest', 0),
  (s) => slabsOnly(s, 4, 8, 0.05, 'fullest', 0),
  (s) => slabsOnly(s, 16, 8, 0.03, 'fullest', 0),
  (s) => slabsOnly(s, 8, 2, 0.05, 'fullest', 0),
  (s) => quick(s, 8, 4, 64 << 10),
  (s) => quick(s, 16, 4, 1 / 16),
  (s) => quick(s, 16, 16, Infinity),
  (s) => quick(s, 8, 16, Infinity),
  (s) => quick(s, 32, 16, Infinity),
  (s) => quick(s, 32, 16, Infinity, 1),
  (s) => quick(s, 32, 16, Infinity, 2),
];
/** The real heap (src/, default options) on a trace. */
function measured(t: SlotTrace): number {
  const backing = new ArrayBufferBacking({ maxBytes: 64 << 20 });
  return footprintOf(t, new KernelHeap({ backing }), () => backing.pagesHeld);
}

console.log(`seed ${seed}; peak pages ÷ peak live bytes at SLOTS ${SLOT_COUNTS.join(' / ')}`);
console.log(`kheap (src/, measured): ${traces.map((t) => measured(t).toFixed(3)).join(' / ')}`);
for (const arenaKiB of [128, 64, 32]) {
  ARENA = arenaKiB * 1024;
  console.log(`\nTLSF arenas of ${arenaKiB} KiB${arenaKiB === 128 ? '' : ' (slab-only designs have none: not repeated)'}`);
  for (const make of designs) {
    const figs: string[] = [];
    let name = '';
    for (const t of traces) {
      const d = make(t.slots);
      name = d.name;
      if (arenaKiB !== 128 && name.startsWith('slabs only')) break;
      figs.push(`${run(t, d).toFixed(3)}${d.fast ? ` (${d.fast()})` : ''}`);
    }
    if (figs.length > 0) console.log(`${name}: ${figs.join(' / ')}`);
  }
}
