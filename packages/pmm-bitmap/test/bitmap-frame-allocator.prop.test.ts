// Model-based test: random sequences of operations against a trivial reference (a Set of used
// frames and a Set of never-usable ones). The allocator is lowest-first, so every allocation
// has exactly one right answer, which the model computes by brute force.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BitmapFrameAllocator, KmemError } from '../src/index';
import type { MemoryRegion, RegionKind } from '../src/index';

const F = 4096;

interface Model {
  readonly n: number;
  readonly used: Set<number>;
  readonly never: Set<number>;
}

/** The code the allocator must throw, or null if the call must succeed; `fn` runs the call. */
function expectOutcome(real: BitmapFrameAllocator, code: string | null, fn: () => unknown): unknown {
  if (code === null) return fn();
  const before = real.exportWords();
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(KmemError);
  expect((caught as KmemError).code).toBe(code);
  expect(real.exportWords()).toEqual(before);
  return undefined;
}

let steps = 0;

function agree(m: Model, real: BitmapFrameAllocator): void {
  steps++;
  real.checkInvariants();
  expect(real.freeFrames).toBe(m.n - m.used.size);
  for (let f = 0; f < m.n; f++) {
    if (real.isFree(f * F) === m.used.has(f)) throw new Error(`frame ${f}: allocator says ${real.isFree(f * F) ? 'free' : 'used'}`);
  }
}

/** Lowest start s (multiple of a) in [from, limit - n] with n free frames, by brute force. */
function modelRun(m: Model, n: number, a: number, from: number, limit: number): number {
  for (let s = Math.ceil(from / a) * a; s + n <= limit; s += a) {
    let ok = true;
    for (let f = s; f < s + n && ok; f++) if (m.used.has(f)) ok = false;
    if (ok) return s;
  }
  return -1;
}

type Cmd = fc.Command<Model, BitmapFrameAllocator>;

class AllocFrame implements Cmd {
  /** `pfn`: through allocPfn (the frame number, -1 when full) rather than allocFrame. */
  constructor(readonly pfn = false) {}
  check = (): boolean => true;
  run(m: Model, real: BitmapFrameAllocator): void {
    const s = modelRun(m, 1, 1, 0, m.n);
    if (this.pfn) expect(real.allocPfn()).toBe(s);
    else expect(real.allocFrame()).toBe(s < 0 ? null : s * F);
    if (s >= 0) m.used.add(s);
    agree(m, real);
  }
  toString = (): string => (this.pfn ? 'allocPfn()' : 'allocFrame()');
}

/** Several allocFrame calls in a row, so sequences reach dense, nearly full states. */
class AllocMany implements Cmd {
  constructor(readonly count: number) {}
  check = (): boolean => true;
  run(m: Model, real: BitmapFrameAllocator): void {
    for (let i = 0; i < this.count; i++) {
      const s = modelRun(m, 1, 1, 0, m.n);
      expect(real.allocFrame()).toBe(s < 0 ? null : s * F);
      if (s >= 0) m.used.add(s);
    }
    agree(m, real);
  }
  toString = (): string => `allocFrame() x${this.count}`;
}

class AllocContiguous implements Cmd {
  constructor(
    readonly count: number,
    readonly alignLog: number,
    readonly minFrame: number,
    readonly spanFrames: number,
  ) {}
  check = (): boolean => true;
  run(m: Model, real: BitmapFrameAllocator): void {
    const a = 2 ** this.alignLog;
    const limit = Math.min(this.minFrame + this.spanFrames, m.n + 64);
    const options = { alignBytes: a * F, minAddr: this.minFrame * F, maxAddr: limit * F };
    if (this.count > m.n || limit < this.minFrame) {
      expectOutcome(real, this.count > m.n ? 'E_BAD_COUNT' : 'E_BAD_RANGE', () => real.allocContiguous(this.count, options));
      return agree(m, real);
    }
    const s = modelRun(m, this.count, a, this.minFrame, Math.min(limit, m.n));
    const got = real.allocContiguous(this.count, options);
    expect(got).toBe(s < 0 ? null : s * F);
    if (s >= 0) for (let f = s; f < s + this.count; f++) m.used.add(f);
    agree(m, real);
  }
  toString = (): string => `allocContiguous(${this.count}, align ${2 ** this.alignLog} frames, [${this.minFrame}, +${this.spanFrames}))`;
}

/** Frees a frame the model says is allocated (not never-usable), chosen by `pick`. */
class FreeUsed implements Cmd {
  /** `pfn`: through freePfn(frame number) rather than freeFrame(address). */
  constructor(
    readonly pick: number,
    readonly pfn = false,
  ) {}
  check = (m: Readonly<Model>): boolean => m.used.size > m.never.size;
  run(m: Model, real: BitmapFrameAllocator): void {
    const candidates = [...m.used].filter((f) => !m.never.has(f)).sort((x, y) => x - y);
    const f = candidates[this.pick % candidates.length]!;
    if (this.pfn) real.freePfn(f);
    else real.freeFrame(f * F);
    m.used.delete(f);
    agree(m, real);
  }
  toString = (): string => `freeUsed(#${this.pick}${this.pfn ? ', pfn' : ''})`;
}

/** Frees any address: free frames, never-usable frames, out of range, misaligned. */
class FreeAny implements Cmd {
  constructor(readonly pa: number) {}
  check = (): boolean => true;
  run(m: Model, real: BitmapFrameAllocator): void {
    const f = this.pa / F;
    const code =
      this.pa % F !== 0
        ? 'E_MISALIGNED'
        : f >= m.n
          ? 'E_OUT_OF_RANGE'
          : m.never.has(f)
            ? 'E_FREE_RESERVED'
            : !m.used.has(f)
              ? 'E_DOUBLE_FREE'
              : null;
    expectOutcome(real, code, () => real.freeFrame(this.pa));
    if (code === null) m.used.delete(f);
    agree(m, real);
  }
  toString = (): string => `freeFrame(0x${this.pa.toString(16)})`;
}

class FreeContiguous implements Cmd {
  constructor(
    readonly pick: number,
    readonly count: number,
  ) {}
  check = (m: Readonly<Model>): boolean => m.used.size > 0;
  run(m: Model, real: BitmapFrameAllocator): void {
    const used = [...m.used].sort((x, y) => x - y);
    const s = used[this.pick % used.length]!;
    const e = s + this.count;
    let code: string | null = null;
    if (this.count > m.n) code = 'E_BAD_COUNT';
    else if (e > m.n) code = 'E_OUT_OF_RANGE';
    else {
      for (let f = s; f < e && code === null; f++) if (m.never.has(f)) code = 'E_FREE_RESERVED';
      for (let f = s; f < e && code === null; f++) if (!m.used.has(f)) code = 'E_DOUBLE_FREE';
    }
    expectOutcome(real, code, () => real.freeContiguous(s * F, this.count));
    if (code === null) for (let f = s; f < e; f++) m.used.delete(f);
    agree(m, real);
  }
  toString = (): string => `freeContiguous(used #${this.pick}, ${this.count})`;
}

class Reserve implements Cmd {
  constructor(
    readonly start: number,
    readonly count: number,
    readonly permanent: boolean,
  ) {}
  check = (): boolean => true;
  run(m: Model, real: BitmapFrameAllocator): void {
    const e = this.start + this.count;
    const code = this.count > m.n ? 'E_BAD_COUNT' : this.start >= m.n || e > m.n ? 'E_OUT_OF_RANGE' : null;
    let wasFree = 0;
    for (let f = this.start; f < Math.min(e, m.n); f++) if (!m.used.has(f)) wasFree++;
    const got = expectOutcome(real, code, () => real.reserve(this.start * F, this.count, { permanent: this.permanent }));
    if (code === null) {
      expect(got).toBe(wasFree);
      for (let f = this.start; f < e; f++) {
        m.used.add(f);
        if (this.permanent) m.never.add(f);
      }
    }
    agree(m, real);
  }
  toString = (): string => `reserve(${this.start}, ${this.count}${this.permanent ? ', permanent' : ''})`;
}

class ExportImport implements Cmd {
  check = (): boolean => true;
  run(m: Model, real: BitmapFrameAllocator): void {
    real.importWords(real.exportWords());
    agree(m, real);
  }
  toString = (): string => 'importWords(exportWords())';
}

function commands(maxFrame: number): fc.Arbitrary<Cmd>[] {
  return [
    fc.constant(new AllocFrame()),
    fc.constant(new AllocFrame(true)),
    fc.integer({ min: 2, max: 150 }).map((k) => new AllocMany(k)),
    fc
      .tuple(
        fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 500, max: 1100 })),
        fc.integer({ min: 0, max: 10 }),
        fc.oneof(fc.constant(0), fc.integer({ min: 0, max: maxFrame })),
        fc.oneof(fc.constant(maxFrame + 64), fc.integer({ min: 0, max: maxFrame }), fc.integer({ min: 0, max: 70 })),
      )
      .map(([n, a, lo, span]) => new AllocContiguous(n, a, lo, span)),
    fc.nat().map((p) => new FreeUsed(p)),
    fc.nat().map((p) => new FreeUsed(p, true)),
    fc.oneof(fc.integer({ min: 0, max: maxFrame + 40 }).map((f) => f * F), fc.integer({ min: 0, max: (maxFrame + 40) * F })).map((pa) => new FreeAny(pa)),
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 40 })).map(([p, n]) => new FreeContiguous(p, n)),
    fc.tuple(fc.integer({ min: 0, max: maxFrame }), fc.integer({ min: 1, max: 70 }), fc.boolean()).map(
      ([s, n, p]) => new Reserve(s, n, p),
    ),
    fc.constant(new ExportImport()),
  ];
}

describe('BitmapFrameAllocator (model-based)', () => {
  it('agrees with a Set of used frames over random operation sequences, invariants holding after every step', () => {
    const maxFrame = 2200;
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: maxFrame })),
        fc.integer({ min: 0, max: 40 }),
        fc.commands(commands(maxFrame), { maxCommands: 200, size: 'max' }),
        (n, lowFrames, cmds) => {
          const real = new BitmapFrameAllocator(n, { reserveLowBytes: lowFrames * F });
          const never = new Set<number>([0]);
          for (let f = 0; f < Math.min(lowFrames, n); f++) never.add(f);
          const model: Model = { n, used: new Set(never), never };
          agree(model, real);
          fc.modelRun(() => ({ model, real }), cmds);
        },
      ),
      { numRuns: 100 },
    );
    console.log(`model-based steps: ${steps}`);
    expect(steps).toBeGreaterThan(5000); // thousands of checked steps, not a handful
  });
});

// ---------------------------------------------------------------- memory maps

const KINDS: RegionKind[] = ['usable', 'usable', 'usable', 'reserved', 'acpi-reclaimable', 'acpi-nvs', 'bad-memory', 'bootloader-reclaimable', 'kernel-and-modules', 'framebuffer'];
const NEVER_KINDS: RegionKind[] = ['reserved', 'acpi-nvs', 'bad-memory', 'framebuffer'];

/** Frame-by-frame reference for fromMemoryMap's rules. */
function referenceMap(regions: MemoryRegion[], lowBytes: number): { n: number; free: Set<number>; never: Set<number> } {
  const isRam = (k: RegionKind): boolean => !NEVER_KINDS.includes(k);
  let n = 0;
  for (const r of regions) {
    const s = Math.ceil(r.base / F);
    const e = Math.floor((r.base + r.lengthBytes) / F);
    if (isRam(r.kind) && s < e) n = Math.max(n, e);
  }
  n = Math.max(n, 1);
  const free = new Set<number>();
  const never = new Set<number>();
  for (let f = 0; f < n; f++) {
    const a = f * F;
    const b = a + F;
    const inside = regions.filter((r) => r.base <= a && r.base + r.lengthBytes >= b);
    const touching = regions.filter((r) => r.base < b && r.base + r.lengthBytes > a && r.lengthBytes > 0);
    const ram = inside.some((r) => isRam(r.kind));
    const usable = inside.some((r) => r.kind === 'usable');
    const taken = touching.some((r) => r.kind !== 'usable');
    const neverHit = touching.some((r) => NEVER_KINDS.includes(r.kind));
    if (!ram || neverHit || f === 0 || a < lowBytes) never.add(f);
    if (usable && !taken && !never.has(f)) free.add(f);
  }
  return { n, free, never };
}

describe('BitmapFrameAllocator.fromMemoryMap (property)', () => {
  it('agrees frame by frame with a reference of the rounding and precedence rules on random hostile maps', () => {
    const region = fc.record({
      base: fc.oneof(fc.integer({ min: 0, max: 600 }).map((f) => f * F), fc.integer({ min: 0, max: 600 * F })),
      lengthBytes: fc.oneof(fc.integer({ min: 0, max: 300 }).map((f) => f * F), fc.integer({ min: 0, max: 300 * F })),
      kind: fc.constantFrom(...KINDS),
    });
    fc.assert(
      fc.property(fc.array(region, { maxLength: 12 }), fc.integer({ min: 0, max: 64 * F }), (regions, low) => {
        const pmm = BitmapFrameAllocator.fromMemoryMap(regions, { reserveLowBytes: low });
        pmm.checkInvariants();
        const ref = referenceMap(regions, low);
        expect(pmm.totalFrames).toBe(ref.n);
        const frames = Array.from({ length: ref.n }, (_, f) => f);
        expect(frames.filter((f) => pmm.isFree(f * F))).toEqual([...ref.free].sort((x, y) => x - y));
        expect(frames.filter((f) => pmm.isReserved(f * F))).toEqual([...ref.never].sort((x, y) => x - y));
      }),
      { numRuns: 250 },
    );
  });
});

// ---------------------------------------------------------------- one search, many shapes

describe('allocContiguous (property)', () => {
  it('returns the lowest aligned free run inside [minAddr, maxAddr) on random occupancy patterns', () => {
    const shape = fc.oneof(
      // small runs near word boundaries
      fc.record({
        n: fc.integer({ min: 1, max: 300 }),
        density: fc.double({ min: 0, max: 0.9, noNaN: true }),
        count: fc.integer({ min: 1, max: 33 }),
        alignLog: fc.integer({ min: 0, max: 7 }),
        minFrame: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.tuple(fc.integer({ min: 0, max: 9 }), fc.constantFrom(0, 1, 2, 30, 31)).map(([k, r]) => 32 * k + r)),
        limit: fc.oneof(fc.integer({ min: 0, max: 330 }), fc.tuple(fc.integer({ min: 0, max: 10 }), fc.constantFrom(0, 1, 30, 31)).map(([k, r]) => 32 * k + r)),
      }),
      // large runs through the free-block index and first fit
      fc.record({
        n: fc.integer({ min: 1000, max: 5000 }),
        density: fc.double({ min: 0, max: 0.002, noNaN: true }),
        count: fc.integer({ min: 33, max: 1600 }),
        alignLog: fc.integer({ min: 0, max: 11 }),
        minFrame: fc.integer({ min: 0, max: 2000 }),
        limit: fc.integer({ min: 0, max: 5100 }),
      }),
    );
    fc.assert(
      fc.property(shape, fc.integer(), ({ n, density, count, alignLog, minFrame, limit }, seed) => {
        fc.pre(count <= n && minFrame <= limit);
        const real = new BitmapFrameAllocator(n);
        const m: Model = { n, used: new Set([0]), never: new Set([0]) };
        let x = seed | 1;
        for (let f = 1; f < n; f++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          if ((x >>> 0) / 2 ** 32 < density) {
            real.reserve(f * F, 1);
            m.used.add(f);
          }
        }
        const a = 2 ** alignLog;
        const s = modelRun(m, count, a, minFrame, Math.min(limit, n));
        expect(real.allocContiguous(count, { alignBytes: a * F, minAddr: minFrame * F, maxAddr: limit * F })).toBe(s < 0 ? null : s * F);
        real.checkInvariants();
      }),
      { numRuns: 4000 },
    );
  });
});
