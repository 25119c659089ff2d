import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BusError,
  InvalidMachineConfigError,
  MemoryImageError,
  SPARSE_IMAGE_HEADER_BYTES,
  SparsePhysicalMemory,
  exportRawImage,
  exportSparseImage,
  importRawImage,
  importSparseImage,
  parseE820Log,
} from '../src/index';
import { fixtureText } from './memory-map-helpers';

const REGS = { cr0: 0x8005_0033, cr3: 0x1_2345_6000, cr4: 0x0030_06a0, efer: 0xd01 };

function machine(): SparsePhysicalMemory {
  const m = SparsePhysicalMemory.fromMemoryMap(parseE820Log(fixtureText('qemu-q35-linux-5g.e820.txt')));
  m.write32(0x1000, 0x0000_2003); // a PML4E-looking word
  m.write32(0x1004, 0x8000_0000);
  m.write8(0x9fbff, 0x5a);
  m.write32(0x1_8000_0ff8, 0xcafe_f00d);
  m.frameWords(0x10_0000); // touched, all zero
  return m;
}

/** Byte equality without vitest's slow deep-equal on megabyte arrays. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameMemory(a: SparsePhysicalMemory, b: SparsePhysicalMemory): void {
  expect(b.ramRanges).toEqual(a.ramRanges);
  expect(b.maxPhysAddrBits).toBe(a.maxPhysAddrBits);
  const frames = (m: SparsePhysicalMemory) => {
    const out: [number, number[]][] = [];
    m.forEachTouchedFrame((f, w) => out.push([f, [...w]]));
    return out;
  };
  expect(frames(b)).toEqual(frames(a));
}

describe('exportSparseImage / importSparseImage', () => {
  it('round-trips memory, RAM ranges, touched frames and control registers exactly', () => {
    const m = machine();
    const image = exportSparseImage(m, REGS);
    expect(image.length).toBe(SPARSE_IMAGE_HEADER_BYTES + m.ramRanges.length * 16 + m.touchedFrameCount * 4104);
    const back = importSparseImage(image);
    expect(back.registers).toEqual(REGS);
    sameMemory(m, back.memory);
    expect(back.memory.read32(0x1_8000_0ff8)).toBe(0xcafe_f00d);
    expect(exportSparseImage(back.memory, back.registers)).toEqual(image);
    back.memory.checkInvariants();
  });

  it('writes the documented header layout', () => {
    const image = exportSparseImage(machine(), REGS);
    const v = new DataView(image.buffer);
    expect(String.fromCharCode(...image.subarray(0, 7))).toBe('KMEMIMG');
    expect(image[7]).toBe(0);
    expect(v.getUint32(8, true)).toBe(1);
    expect(v.getUint32(12, true)).toBe(64);
    expect(v.getUint32(16, true)).toBe(0x2345_6000);
    expect(v.getUint32(20, true)).toBe(1);
    expect(v.getUint32(24, true)).toBe(0x8005_0033);
    expect(v.getUint32(40, true)).toBe(0xd01);
    expect(v.getUint32(48, true)).toBe(52);
    expect(v.getUint32(52, true)).toBe(machine().ramRanges.length);
    expect(v.getUint32(56, true)).toBe(4);
    // The first frame record: pa 0x1000, then its bytes little-endian.
    const first = 64 + machine().ramRanges.length * 16;
    expect(v.getUint32(first, true)).toBe(0x1000);
    expect([...image.subarray(first + 8, first + 16)]).toEqual([0x03, 0x20, 0, 0, 0, 0, 0, 0x80]);
  });

  it('refuses register values that are not safe integers', () => {
    expect(() => exportSparseImage(machine(), { ...REGS, cr3: 2 ** 53 })).toThrow(InvalidMachineConfigError);
    expect(() => exportSparseImage(machine(), { ...REGS, efer: -1 })).toThrow(InvalidMachineConfigError);
  });

  it('reports malformed images with the byte offset', () => {
    const image = exportSparseImage(machine(), REGS);
    const at = (mutate: (b: Uint8Array) => Uint8Array): number => {
      try {
        importSparseImage(mutate(image.slice()));
      } catch (e) {
        expect(e).toBeInstanceOf(MemoryImageError);
        expect((e as MemoryImageError).code).toBe('E_MEMORY_IMAGE');
        return (e as MemoryImageError).offset;
      }
      throw new Error('accepted a malformed image');
    };
    expect(at((b) => ((b[3] = 0), b))).toBe(3);
    expect(at((b) => ((b[8] = 2), b))).toBe(8);
    expect(at((b) => ((b[23] = 0xff), b))).toBe(16); // CR3 >= 2^53
    expect(at((b) => ((b[48] = 60), b))).toBe(48);
    expect(at((b) => b.subarray(0, b.length - 1))).toBe(image.length - 1);
    expect(at((b) => Uint8Array.from([...b, 0]))).toBe(image.length);
    const firstFrame = 64 + machine().ramRanges.length * 16;
    expect(at((b) => ((b[firstFrame] = 0x10), b))).toBe(firstFrame); // misaligned frame pa
    expect(at((b) => ((b[firstFrame + 2] = 0x0a), b))).toBe(firstFrame); // 0xa1000: not RAM
    expect(at((b) => ((b[firstFrame + 4104 + 1] = 0), (b[firstFrame + 4104 + 2] = 0), b))).toBe(firstFrame + 4104); // 0x0000 after 0x1000: not ascending
    expect(at((b) => ((b[64 + 16 + 2] = 0), b))).toBe(64 + 16); // second range now overlaps the first
  });

  it('only ever throws MemoryImageError on mutated images', () => {
    const m = new SparsePhysicalMemory([{ base: 0, lengthBytes: 0x4000 }]);
    m.write32(0x1000, 1);
    const image = exportSparseImage(m, REGS);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(image.length - 1), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.nat(image.length), (edits, cut) => {
        const b = image.slice(0, cut);
        for (const [at, v] of edits) if (at < b.length) b[at] = v;
        try {
          importSparseImage(b).memory.checkInvariants();
        } catch (e) {
          expect(e).toBeInstanceOf(MemoryImageError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('exportRawImage / importRawImage', () => {
  it('lays physical memory flat from 0, holes and untouched frames as zero', () => {
    const m = machine();
    const raw = exportRawImage(m, { limitBytes: 0x20_0000 });
    expect(raw.length).toBe(0x20_0000);
    expect(new DataView(raw.buffer).getUint32(0x1000, true)).toBe(0x2003);
    expect(raw[0x1007]).toBe(0x80);
    expect(raw[0x9fbff]).toBe(0x5a);
    expect(raw.subarray(0xa0000, 0x10_0000).every((b) => b === 0)).toBe(true);
  });

  it('defaults its limit to the end of the highest touched frame, and cuts frames at the limit', () => {
    const m = new SparsePhysicalMemory([{ base: 0, lengthBytes: 0x10_0000 }]);
    m.write32(0x3ffc, 0x0403_0201);
    expect(exportRawImage(m).length).toBe(0x4000);
    expect([...exportRawImage(m, { limitBytes: 0x3ffe }).subarray(0x3ffc)]).toEqual([1, 2]);
    expect(() => exportRawImage(m, { limitBytes: -1 })).toThrow(InvalidMachineConfigError);
    expect(() => exportRawImage(m, { limitBytes: 2 ** 33 })).toThrow(InvalidMachineConfigError);
  });

  it('loads a raw image back so the range reads the same, and clears frames the image has as zero', () => {
    const m = machine();
    const raw = exportRawImage(m, { limitBytes: 0x10_2000 });
    const fresh = SparsePhysicalMemory.fromMemoryMap(parseE820Log(fixtureText('qemu-q35-linux-5g.e820.txt')));
    fresh.write32(0x5000, 99);
    importRawImage(fresh, raw);
    expect(sameBytes(exportRawImage(fresh, { limitBytes: 0x10_2000 }), raw)).toBe(true);
    expect(fresh.read32(0x5000)).toBe(0);
    fresh.checkInvariants();
  });

  it('refuses an image with non-zero bytes in a hole, before writing anything', () => {
    const m = new SparsePhysicalMemory([{ base: 0, lengthBytes: 0x2000 }]);
    const raw = new Uint8Array(0x4000);
    raw[0x10] = 1;
    raw[0x3000] = 1;
    expect(() => importRawImage(m, raw)).toThrow(BusError);
    expect(m.touchedFrameCount).toBe(0);
  });
});
