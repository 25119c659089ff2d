import { describe, expect, it } from 'vitest';
import { BitmapFrameAllocator, KmemError } from '../src/index';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Runs `fn`, expects a KmemError with `code`, and that the allocator's state did not change. */
function expectRefused(pmm: BitmapFrameAllocator, code: string, fn: () => unknown): KmemError {
  const before = pmm.exportWords();
  const statsBefore = pmm.stats();
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(KmemError);
  expect((caught as KmemError).code).toBe(code);
  expect(pmm.exportWords()).toEqual(before);
  expect(pmm.stats()).toEqual(statsBefore);
  pmm.checkInvariants();
  return caught as KmemError;
}

describe('BitmapFrameAllocator constructor', () => {
  it('manages frameCount frames, all free except frame 0', () => {
    const pmm = new BitmapFrameAllocator(100);
    expect(pmm.totalFrames).toBe(100);
    expect(pmm.endPa).toBe(100 * 4096);
    expect(pmm.stats()).toEqual({
      totalFrames: 100,
      freeFrames: 99,
      usedFrames: 1,
      reservedFrames: 1,
      usableFrames: 99,
      largestFreeRunFrames: 99,
    });
    expect(pmm.isFree(0)).toBe(false);
    expect(pmm.isReserved(0)).toBe(true);
    pmm.checkInvariants();
  });

  it('reserves reserveLowBytes rounded up to a frame', () => {
    const pmm = new BitmapFrameAllocator(1024, { reserveLowBytes: 64 * KiB + 1 });
    expect(pmm.stats().reservedFrames).toBe(17);
    expect(pmm.allocFrame()).toBe(17 * 4096);
  });

  it('refuses a frame count that is 0, negative, NaN, fractional or above 2^31', () => {
    for (const n of [0, -1, Number.NaN, 1.5, 2 ** 31 + 1, Infinity]) {
      expect(() => new BitmapFrameAllocator(n)).toThrow(expect.objectContaining({ code: 'E_BAD_COUNT' }));
    }
  });

  it('refuses malformed options', () => {
    expect(() => new BitmapFrameAllocator(10, { reserveLowBytes: -1 })).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => new BitmapFrameAllocator(10, { reserved: [{ base: Number.NaN, lengthBytes: 1 }] })).toThrow(
      expect.objectContaining({ code: 'E_BAD_OPTION' }),
    );
    expect(() => new BitmapFrameAllocator(10, { bitmapPa: 4097 })).toThrow(expect.objectContaining({ code: 'E_MISALIGNED' }));
    expect(() => new BitmapFrameAllocator(10, { bitmapPa: 10 * 4096 })).toThrow(expect.objectContaining({ code: 'E_OUT_OF_RANGE' }));
  });
});

describe('allocFrame', () => {
  it('hands out the lowest free frame first, then null when memory is exhausted', () => {
    const pmm = new BitmapFrameAllocator(70);
    const got: number[] = [];
    for (let pa = pmm.allocFrame(); pa !== null; pa = pmm.allocFrame()) got.push(pa);
    expect(got).toEqual(Array.from({ length: 69 }, (_, i) => (i + 1) * 4096));
    expect(pmm.allocFrame()).toBeNull();
    expect(pmm.stats().freeFrames).toBe(0);
    pmm.checkInvariants();
  });

  it('returns a freed low frame before higher ones (lowest-first, not next-fit)', () => {
    const pmm = new BitmapFrameAllocator(4096);
    for (let i = 0; i < 3000; i++) pmm.allocFrame();
    pmm.freeFrame(1234 * 4096);
    pmm.freeFrame(77 * 4096);
    expect(pmm.allocFrame()).toBe(77 * 4096);
    expect(pmm.allocFrame()).toBe(1234 * 4096);
    expect(pmm.allocFrame()).toBe(3001 * 4096);
    pmm.checkInvariants();
  });

  it('finds a free frame far above a full region through the summary tree', () => {
    const pmm = new BitmapFrameAllocator(2 ** 20);
    pmm.reserve(4096, 2 ** 20 - 2);
    expect(pmm.allocFrame()).toBe((2 ** 20 - 1) * 4096);
    expect(pmm.allocFrame()).toBeNull();
    pmm.checkInvariants();
  });

  it('fills word by word across summary words and used runs with the free count exact at every step', () => {
    // 3 summary words (32 bitmap words each) and a bit: the hint moves to the next word when one
    // fills, through the summary search at each 32-word boundary and over runs already in use
    // (whole words, a word's tail, a run straddling a 32-word boundary).
    const n = 3 * 1024 + 40;
    const pmm = new BitmapFrameAllocator(n, {
      reserved: [
        { base: 64 * 4096, lengthBytes: 96 * 4096 },
        { base: 1000 * 4096, lengthBytes: 60 * 4096 },
        { base: 2080 * 4096, lengthBytes: 20 * 4096 },
      ],
    });
    const used = new Set([0]);
    for (let f = 64; f < 160; f++) used.add(f);
    for (let f = 1000; f < 1060; f++) used.add(f);
    for (let f = 2080; f < 2100; f++) used.add(f);
    let want = 1;
    for (let k = 0; k < n - used.size; k++) {
      while (used.has(want)) want++;
      expect(pmm.allocPfn()).toBe(want);
      want++;
      expect(pmm.freeFrames).toBe(n - used.size - k - 1);
      if ((want & 31) === 0) pmm.checkInvariants();
    }
    expect(pmm.allocPfn()).toBe(-1);
    expect(pmm.allocFrame()).toBeNull();
    expect(pmm.stats().freeFrames).toBe(0);
    pmm.checkInvariants();
    pmm.freePfn(1059 + 1); // a frame above the second used run, then the lowest again
    pmm.freePfn(33);
    expect(pmm.freeFrames).toBe(2);
    expect(pmm.allocPfn()).toBe(33);
    expect(pmm.allocPfn()).toBe(1060);
    expect(pmm.allocPfn()).toBe(-1);
    pmm.checkInvariants();
  });

  it('gives frames freed below, at and just above a full hint word back lowest first (churn)', () => {
    const pmm = new BitmapFrameAllocator(4096);
    const used = new Set([0]);
    const alloc = (): void => {
      let want = 0;
      while (used.has(want)) want++;
      expect(pmm.allocPfn()).toBe(want);
      used.add(want);
      pmm.checkInvariants();
    };
    const free = (f: number): void => {
      pmm.freePfn(f);
      used.delete(f);
      pmm.checkInvariants();
      expect(pmm.freeFrames).toBe(4096 - used.size);
    };
    while (used.size < 2048) alloc(); // words 0..63 full; at a 32-word boundary the hint stays on the full word
    free(1000); // below the full hint word: the new (pending) hint
    alloc();
    free(1900); // just above a full hint word, nothing but full words between: the new hint
    free(1901);
    alloc();
    alloc();
    free(2040); // in the full hint word
    alloc();
    free(1000); // below the hint, then between the two while the hint word is not full
    free(1500);
    free(20);
    for (let k = 0; k < 6; k++) alloc();
    free(2049);
    free(2050);
    for (let k = 0; k < 3; k++) alloc();
  });
});

describe('freeFrame', () => {
  it('keeps frames freed below the hint visible to run searches, iteration and later frees', () => {
    const pmm = new BitmapFrameAllocator(2 ** 16);
    while (pmm.allocFrame() !== null);
    pmm.freeFrame(5000 * 4096);
    pmm.freeFrame(5001 * 4096);
    pmm.checkInvariants();
    expect([...pmm.freeRuns()]).toEqual([{ start: 5000 * 4096, frameCount: 2 }]);
    expect(pmm.allocContiguous(2)).toBe(5000 * 4096);
    pmm.checkInvariants();
    pmm.freeFrame(5001 * 4096);
    pmm.freeFrame(100 * 4096);
    pmm.checkInvariants();
    expect([...pmm.freeRuns()]).toEqual([
      { start: 100 * 4096, frameCount: 1 },
      { start: 5001 * 4096, frameCount: 1 },
    ]);
    expect(pmm.allocFrame()).toBe(100 * 4096);
    expect(pmm.allocFrame()).toBe(5001 * 4096);
    expect(pmm.allocFrame()).toBeNull();
    pmm.checkInvariants();
  });

  it('makes the frame allocatable again', () => {
    const pmm = new BitmapFrameAllocator(64);
    const pa = pmm.allocFrame()!;
    expect(pmm.isFree(pa)).toBe(false);
    pmm.freeFrame(pa);
    expect(pmm.isFree(pa)).toBe(true);
    expect(pmm.stats().freeFrames).toBe(63);
  });

  it('refuses a misaligned address, state unchanged', () => {
    const pmm = new BitmapFrameAllocator(64);
    pmm.allocFrame();
    const e = expectRefused(pmm, 'E_MISALIGNED', () => pmm.freeFrame(0x1001));
    expect(e.message).toContain('0x0000_0000_0000_1001');
  });

  it('refuses a frame outside the managed range', () => {
    const pmm = new BitmapFrameAllocator(64);
    expectRefused(pmm, 'E_OUT_OF_RANGE', () => pmm.freeFrame(64 * 4096));
  });

  it('refuses NaN, negative, fractional and >= 2^52 addresses', () => {
    const pmm = new BitmapFrameAllocator(64);
    for (const pa of [Number.NaN, -4096, 4096.5, 2 ** 52, 2 ** 53, '4096' as unknown as number]) {
      expectRefused(pmm, 'E_BAD_ADDRESS', () => pmm.freeFrame(pa));
    }
  });

  it('refuses a double free and names the address', () => {
    const pmm = new BitmapFrameAllocator(64);
    const pa = pmm.allocFrame()!;
    pmm.freeFrame(pa);
    const e = expectRefused(pmm, 'E_DOUBLE_FREE', () => pmm.freeFrame(pa));
    expect(e.message).toBe('frame 0x0000_0000_0000_1000 is already free');
    expect(e.name).toBe('DoubleFreeError');
  });

  it('refuses to free a never-usable frame (frame 0, low memory)', () => {
    const pmm = new BitmapFrameAllocator(512, { reserveLowBytes: MiB });
    expectRefused(pmm, 'E_FREE_RESERVED', () => pmm.freeFrame(0));
    expectRefused(pmm, 'E_FREE_RESERVED', () => pmm.freeFrame(255 * 4096));
    expect(pmm.isFree(256 * 4096)).toBe(true);
  });
});

describe('allocContiguous', () => {
  it('returns the lowest run of the requested length', () => {
    const pmm = new BitmapFrameAllocator(256);
    pmm.reserve(10 * 4096, 1);
    expect(pmm.allocContiguous(9)).toBe(4096);
    expect(pmm.allocContiguous(3)).toBe(11 * 4096);
    pmm.checkInvariants();
  });

  it('honours alignBytes', () => {
    const pmm = new BitmapFrameAllocator(4096);
    expect(pmm.allocContiguous(3, { alignBytes: 64 * KiB })).toBe(64 * KiB);
    expect(pmm.allocContiguous(1, { alignBytes: 8192 })).toBe(8192);
    expect(pmm.allocContiguous(40, { alignBytes: 256 * KiB })).toBe(256 * KiB);
    expect(pmm.allocContiguous(2, { alignBytes: 512 * KiB })).toBe(512 * KiB);
    pmm.checkInvariants();
  });

  it('keeps the whole run inside [minAddr, maxAddr)', () => {
    const pmm = new BitmapFrameAllocator(4096);
    expect(pmm.allocContiguous(4, { minAddr: 0x5001, maxAddr: 0xa000 })).toBe(0x6000);
    expect(pmm.allocContiguous(1, { minAddr: 0x5000, maxAddr: 0xa000 })).toBe(0x5000);
    expect(pmm.allocContiguous(1, { minAddr: 0x5000, maxAddr: 0xa000 })).toBeNull();
    expect(pmm.allocContiguous(33, { maxAddr: 34 * 4096 })).toBeNull();
    expect(pmm.allocContiguous(33, { minAddr: 0xa000, maxAddr: 0xa000 + 33 * 4096 })).toBe(0xa000);
    pmm.checkInvariants();
  });

  it('finds a 2 MiB-aligned 512-frame run past partly used blocks', () => {
    const pmm = new BitmapFrameAllocator(16 * 512);
    for (let b = 0; b < 12; b++) pmm.reserve((b * 512 + 7) * 4096, 1);
    expect(pmm.allocContiguous(512, { alignBytes: 2 * MiB })).toBe(12 * 2 * MiB);
    expect(pmm.allocContiguous(1024 + 5, { alignBytes: 2 * MiB })).toBe(13 * 2 * MiB);
    expect(pmm.allocContiguous(512, { alignBytes: 4 * MiB })).toBeNull();
    pmm.checkInvariants();
  });

  it('finds a 1 GiB-aligned run of 262144 frames', () => {
    const pmm = new BitmapFrameAllocator(2 ** 19 + 7);
    const pa = pmm.allocContiguous(2 ** 18, { alignBytes: GiB });
    expect(pa).toBe(GiB);
    expect(pmm.allocContiguous(2 ** 18, { alignBytes: GiB })).toBeNull();
    pmm.freeContiguous(GiB, 2 ** 18);
    pmm.checkInvariants();
  });

  it('returns null, not an error, when no run fits', () => {
    const pmm = new BitmapFrameAllocator(64);
    pmm.reserve(32 * 4096, 1);
    expect(pmm.allocContiguous(32)).toBeNull();
    expect(pmm.allocContiguous(31)).toBe(4096);
  });

  it('refuses counts that are 0, negative, NaN, fractional or larger than memory', () => {
    const pmm = new BitmapFrameAllocator(64);
    for (const n of [0, -3, Number.NaN, 2.5, 65]) expectRefused(pmm, 'E_BAD_COUNT', () => pmm.allocContiguous(n));
  });

  it('refuses an alignment that is not a power of two multiple of 4 KiB', () => {
    const pmm = new BitmapFrameAllocator(64);
    for (const a of [0, 2048, 4095, 6144, 3 * 4096, Number.NaN, -4096, 2 ** 53]) {
      expectRefused(pmm, 'E_BAD_ALIGNMENT', () => pmm.allocContiguous(1, { alignBytes: a }));
    }
  });

  it('refuses a minAddr above maxAddr or bounds that are not addresses', () => {
    const pmm = new BitmapFrameAllocator(64);
    expectRefused(pmm, 'E_BAD_RANGE', () => pmm.allocContiguous(1, { minAddr: 0x3000, maxAddr: 0x2000 }));
    expectRefused(pmm, 'E_BAD_RANGE', () => pmm.allocContiguous(1, { minAddr: -1 }));
    expectRefused(pmm, 'E_BAD_RANGE', () => pmm.allocContiguous(1, { maxAddr: Number.NaN }));
  });
});

describe('freeContiguous', () => {
  it('frees the whole run', () => {
    const pmm = new BitmapFrameAllocator(1024);
    const pa = pmm.allocContiguous(600)!;
    pmm.freeContiguous(pa, 600);
    expect(pmm.stats().freeFrames).toBe(1023);
    pmm.checkInvariants();
  });

  it('frees nothing if one frame in the run is already free, and names it', () => {
    const pmm = new BitmapFrameAllocator(1024);
    const pa = pmm.allocContiguous(100)!;
    pmm.freeFrame(pa + 50 * 4096);
    const e = expectRefused(pmm, 'E_DOUBLE_FREE', () => pmm.freeContiguous(pa, 100));
    expect(e.message).toContain('0x0000_0000_0003_3000');
  });

  it('frees nothing if the run covers a never-usable frame', () => {
    const pmm = new BitmapFrameAllocator(1024);
    pmm.reserve(5 * 4096, 3, { permanent: true });
    pmm.reserve(1 * 4096, 4);
    expectRefused(pmm, 'E_FREE_RESERVED', () => pmm.freeContiguous(4096, 6));
  });

  it('refuses runs that leave the managed range, misaligned starts and bad counts', () => {
    const pmm = new BitmapFrameAllocator(64);
    pmm.allocContiguous(63);
    expectRefused(pmm, 'E_OUT_OF_RANGE', () => pmm.freeContiguous(60 * 4096, 5));
    expectRefused(pmm, 'E_MISALIGNED', () => pmm.freeContiguous(60 * 4096 + 8, 1));
    expectRefused(pmm, 'E_BAD_COUNT', () => pmm.freeContiguous(4096, 0));
    expectRefused(pmm, 'E_BAD_COUNT', () => pmm.freeContiguous(4096, Number.NaN));
  });
});

describe('reserve', () => {
  it('marks frames in use, is idempotent, and says how many were free', () => {
    const pmm = new BitmapFrameAllocator(128);
    pmm.allocFrame();
    expect(pmm.reserve(4096, 4)).toBe(3);
    expect(pmm.reserve(4096, 4)).toBe(0);
    expect(pmm.allocFrame()).toBe(5 * 4096);
    pmm.freeContiguous(2 * 4096, 3);
    pmm.checkInvariants();
  });

  it('with permanent: true makes the frames never-usable', () => {
    const pmm = new BitmapFrameAllocator(128);
    pmm.reserve(8 * 4096, 2, { permanent: true });
    expect(pmm.stats().reservedFrames).toBe(3);
    expect(pmm.isReserved(9 * 4096)).toBe(true);
    expectRefused(pmm, 'E_FREE_RESERVED', () => pmm.freeFrame(9 * 4096));
  });

  it('refuses bad addresses and counts', () => {
    const pmm = new BitmapFrameAllocator(128);
    expectRefused(pmm, 'E_MISALIGNED', () => pmm.reserve(100, 1));
    expectRefused(pmm, 'E_OUT_OF_RANGE', () => pmm.reserve(127 * 4096, 2));
    expectRefused(pmm, 'E_BAD_COUNT', () => pmm.reserve(4096, -1));
    expectRefused(pmm, 'E_BAD_ADDRESS', () => pmm.reserve(Number.NaN, 1));
  });
});

describe('stats and freeRuns', () => {
  it('reports maximal free runs in address order and the largest', () => {
    const pmm = new BitmapFrameAllocator(100);
    pmm.reserve(10 * 4096, 5);
    pmm.reserve(50 * 4096, 1);
    expect([...pmm.freeRuns()]).toEqual([
      { start: 4096, frameCount: 9 },
      { start: 15 * 4096, frameCount: 35 },
      { start: 51 * 4096, frameCount: 49 },
    ]);
    expect(pmm.stats().largestFreeRunFrames).toBe(49);
    expect(pmm.stats().usedFrames).toBe(7);
  });

  it('reports no runs when memory is full', () => {
    const pmm = new BitmapFrameAllocator(33);
    pmm.allocContiguous(32);
    expect([...pmm.freeRuns()]).toEqual([]);
    expect(pmm.stats().largestFreeRunFrames).toBe(0);
  });
});

describe('exportWords / importWords', () => {
  it('exports 64-bit little-endian words, bit f of word f >> 6 for frame f', () => {
    const pmm = new BitmapFrameAllocator(200, { reserveLowBytes: 0 });
    pmm.reserve(67 * 4096, 1);
    const words = pmm.exportWords();
    expect(words.length * 4).toBe(pmm.bitmapBytes);
    expect(pmm.bitmapBytes).toBe(32); // 200 frames -> 4 64-bit words
    const view = new DataView(words.buffer);
    const w0 = view.getBigUint64(0, true);
    const w1 = view.getBigUint64(8, true);
    const w3 = view.getBigUint64(24, true);
    expect(w0).toBe(1n); // frame 0
    expect(w1).toBe(1n << 3n); // frame 67
    expect(w3).toBe(0xffff_ffff_ffff_ff00n); // frames 192..199 free, padding 200..255 in use
  });

  it('round-trips through import, rebuilding every index', () => {
    const a = new BitmapFrameAllocator(3000);
    for (let i = 0; i < 1500; i++) a.allocFrame();
    a.allocContiguous(512, { alignBytes: 2 * MiB });
    for (let f = 3; f < 1500; f += 7) a.freeFrame(f * 4096);
    const b = new BitmapFrameAllocator(3000);
    b.importWords(a.exportWords());
    b.checkInvariants();
    expect(b.stats()).toEqual(a.stats());
    expect(b.allocFrame()).toBe(a.allocFrame());
    expect(b.allocContiguous(512, { alignBytes: 2 * MiB })).toBe(a.allocContiguous(512, { alignBytes: 2 * MiB }));
  });

  it('refuses words that free a never-usable frame or a padding bit, or have the wrong length', () => {
    const pmm = new BitmapFrameAllocator(100);
    const words = pmm.exportWords();
    words[0] = 0;
    expect(expectRefused(pmm, 'E_BAD_IMPORT', () => pmm.importWords(words)).message).toContain('0x0000_0000_0000_0000');
    const padding = pmm.exportWords();
    padding[3] = 0;
    expectRefused(pmm, 'E_BAD_IMPORT', () => pmm.importWords(padding));
    expectRefused(pmm, 'E_BAD_IMPORT', () => pmm.importWords(new Uint32Array(2)));
  });
});

describe('placeBitmap', () => {
  it('reserves the bitmap frames permanently and remembers where it lives', () => {
    const pmm = new BitmapFrameAllocator(2 ** 16);
    expect(pmm.bitmapBytes).toBe(8192);
    expect(pmm.bitmapFrameCount).toBe(2);
    const pa = pmm.allocContiguous(pmm.bitmapFrameCount)!;
    pmm.placeBitmap(pa);
    expect(pmm.bitmapPa).toBe(pa);
    expect(pmm.isReserved(pa + 4096)).toBe(true);
    expectRefused(pmm, 'E_FREE_RESERVED', () => pmm.freeContiguous(pa, 2));
    expectRefused(pmm, 'E_BITMAP_PLACED', () => pmm.placeBitmap(0x10000));
    pmm.checkInvariants();
  });

  it('keeps the bitmap live in caller storage (emulated physical memory)', () => {
    const pmm = new BitmapFrameAllocator(4096, { reserveLowBytes: 0 });
    const ram = new ArrayBuffer(4096 * 4096);
    const pa = 0x2000;
    pmm.placeBitmap(pa, new Uint32Array(ram, pa, pmm.bitmapBytes / 4));
    const got = pmm.allocFrame()!;
    expect(got).toBe(0x1000);
    const word0 = new DataView(ram).getBigUint64(pa, true);
    expect(pmm.bitmapFrameCount).toBe(1);
    expect(word0 & 0b1111n).toBe(0b0111n); // frame 0, the new frame 0x1000, the bitmap's frame 0x2000
    new Uint32Array(ram, pa, 1)[0] = 0; // a stray write into the bitmap
    expect(() => pmm.checkInvariants()).toThrow(expect.objectContaining({ code: 'E_INVARIANT' }));
  });

  it('refuses storage of the wrong size and places through the bitmapPa option', () => {
    const pmm = new BitmapFrameAllocator(4096);
    expectRefused(pmm, 'E_BAD_OPTION', () => pmm.placeBitmap(0x2000, new Uint32Array(3)));
    const placed = new BitmapFrameAllocator(4096, { bitmapPa: 0x3000 });
    expect(placed.bitmapPa).toBe(0x3000);
    expect(placed.isReserved(0x3000)).toBe(true);
    placed.checkInvariants();
  });
});

describe('zones', () => {
  it('splits the managed range at 16 MiB and 4 GiB, clipped to the end', () => {
    const pmm = new BitmapFrameAllocator((8 * GiB) / 4096);
    expect(pmm.zones().map((z) => [z.name, z.startPa, z.endPa])).toEqual([
      ['dma', 0, 16 * MiB],
      ['dma32', 16 * MiB, 4 * GiB],
      ['normal', 4 * GiB, 8 * GiB],
    ]);
    const small = new BitmapFrameAllocator((32 * MiB) / 4096);
    expect(small.zone('normal').totalFrames).toBe(0);
    expect(small.zone('normal').allocFrame()).toBeNull();
    expect(small.zone('dma32').totalFrames).toBe(4096);
  });

  it('allocates inside the zone asked for', () => {
    const pmm = new BitmapFrameAllocator((5 * GiB) / 4096);
    const normal = pmm.zone('normal');
    const pa = normal.allocFrame()!;
    expect(pa).toBe(4 * GiB);
    expect(pmm.zoneOf(pa)).toBe('normal');
    expect(pmm.zone('dma32').allocContiguous(512, 2 * MiB)).toBe(16 * MiB);
    expect(pmm.zone('dma').allocFrame()).toBe(4096);
    expect(pmm.zoneOf(16 * MiB - 1)).toBe('dma');
    expect(normal.freeFrames()).toBe(normal.totalFrames - 1);
    expect(() => pmm.zone('highmem' as 'dma')).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    pmm.checkInvariants();
  });

  it('returns null when the zone is exhausted even if other zones have memory', () => {
    const pmm = new BitmapFrameAllocator((20 * MiB) / 4096);
    const dma = pmm.zone('dma');
    let n = 0;
    while (dma.allocFrame() !== null) n++;
    expect(n).toBe(4095);
    expect(pmm.stats().freeFrames).toBe(1024);
  });
});

describe('checkInvariants', () => {
  it('detects a bitmap changed behind the allocator’s back', () => {
    const pmm = new BitmapFrameAllocator(128);
    const words = pmm.exportWords();
    pmm.checkInvariants();
    // importWords validates, so go around it: a live storage view is the only back door.
    const storage = new Uint32Array(words.length);
    pmm.placeBitmap(0x1000, storage);
    storage[1] = 0xffff_ffff;
    expect(() => pmm.checkInvariants()).toThrow(/summary|free count/);
  });
});
