import { describe, expect, it } from 'vitest';
import { BusError, InvalidMachineConfigError, InvalidPhysicalAddressError, SparsePhysicalMemory, parseE820Log, type PhysicalMemoryPort } from '../src/index';
import { fixtureText } from './memory-map-helpers';

const GiB = 2 ** 30;

function qemu5g(): SparsePhysicalMemory {
  return SparsePhysicalMemory.fromMemoryMap(parseE820Log(fixtureText('qemu-linux-5g.e820.txt')));
}

describe('SparsePhysicalMemory', () => {
  it('reads zero from RAM never written, without creating backing', () => {
    const m = qemu5g();
    expect(m.read32(0x10_0000)).toBe(0);
    expect(m.read8(0x1_2345_6789)).toBe(0);
    expect(m.touchedFrameCount).toBe(0);
    m.checkInvariants();
  });

  it('simulates 64 GiB for almost nothing until touched', () => {
    const m = new SparsePhysicalMemory([{ base: 0, lengthBytes: 64 * GiB }]);
    expect(m.ramBytes).toBe(64 * GiB);
    expect(m.hostBytes).toBeLessThan(200 * 1024);
    for (let pa = 0; pa < 64 * GiB; pa += GiB) m.write32(pa + 0x10, pa / GiB + 1);
    expect(m.touchedFrameCount).toBe(64);
    expect(m.hostBytes).toBeLessThan(64 * (4096 + 8 * 1024) + 200 * 1024);
    for (let pa = 0; pa < 64 * GiB; pa += GiB) expect(m.read32(pa + 0x10)).toBe(pa / GiB + 1);
    m.checkInvariants();
  });

  it('stores little-endian words and bytes consistently', () => {
    const m = qemu5g();
    m.write32(0x1000, 0x1234_5678);
    expect([m.read8(0x1000), m.read8(0x1001), m.read8(0x1002), m.read8(0x1003)]).toEqual([0x78, 0x56, 0x34, 0x12]);
    m.write8(0x1003, 0xab);
    expect(m.read32(0x1000)).toBe(0xab34_5678);
    m.write32(0x1004, -1); // ToUint32, as the NX bit's int32 form would be
    expect(m.read32(0x1004)).toBe(0xffff_ffff);
  });

  it('gives a live frame view that aliases read32/write32 and survives zeroFrame', () => {
    const m = qemu5g();
    const w = m.frameWords(0x1_0000_0000);
    w[3] = 0xdead_beef;
    expect(m.read32(0x1_0000_000c)).toBe(0xdead_beef);
    m.write32(0x1_0000_0010, 7);
    expect(w[4]).toBe(7);
    m.zeroFrame(0x1_0000_0000);
    expect(w[3]).toBe(0);
    expect(m.frameWords(0x1_0000_0000)).toBe(w);
    expect(m.isBacked(0x1_0000_0000)).toBe(true);
  });

  it('keeps never-written frames absent when zeros are written or zeroed', () => {
    const m = qemu5g();
    m.write32(0x2000, 0);
    m.write8(0x2001, 0);
    m.zeroFrame(0x3000);
    m.writeBytes(0x4000, new Uint8Array(8192));
    expect(m.touchedFrameCount).toBe(0);
  });

  it('drops backing on discardFrame and reads zero afterwards', () => {
    const m = qemu5g();
    m.write32(0x5000, 1);
    expect(m.touchedFrameCount).toBe(1);
    m.discardFrame(0x5000);
    expect(m.touchedFrameCount).toBe(0);
    expect(m.read32(0x5000)).toBe(0);
    m.discardFrame(0x5000);
    m.checkInvariants();
  });

  it('raises a BusError with the address in hex for holes, MMIO and above RAM', () => {
    const m = qemu5g();
    // 0xa0000-0xeffff is in no entry; 0xc000_0000 is the PCI hole; 0xfd_0000_0000 is reserved, not RAM.
    for (const pa of [0xa0000, 0xc000_0000, 0xfee0_0000, 0xfd_0000_0000, 0x1_c000_0000]) {
      expect(() => m.read32(pa)).toThrow(BusError);
      expect(() => m.write8(pa, 1)).toThrow(BusError);
      expect(() => m.frameWords(pa)).toThrow(BusError);
    }
    let caught: unknown;
    try {
      m.write32(0xc000_0000, 1);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(BusError);
    const bus = caught as BusError;
    expect([bus.code, bus.pa, bus.isWrite, bus.accessBytes]).toEqual(['E_BUS_ERROR', 0xc000_0000, true, 4]);
    expect(bus.message).toContain('0xc000_0000');
    expect(m.touchedFrameCount).toBe(0);
  });

  it('backs a partially described frame whole (SeaBIOS 0x9fc00 edge)', () => {
    const m = qemu5g();
    expect(m.isRam(0x9f000)).toBe(true);
    m.write32(0x9fffc, 5);
    expect(m.read32(0x9fffc)).toBe(5);
    expect(m.isRam(0xa0000)).toBe(false);
  });

  it('refuses misaligned, negative, fractional, non-finite and too-wide addresses', () => {
    const m = new SparsePhysicalMemory([{ base: 0, lengthBytes: 0x10000 }], { maxPhysAddrBits: 36 });
    m.write32(0x100, 1);
    for (const bad of [0x102, -4, 4.5, NaN, Infinity, 2 ** 36]) expect(() => m.read32(bad)).toThrow(InvalidPhysicalAddressError);
    expect(() => m.write32(0x101, 1)).toThrow(InvalidPhysicalAddressError);
    expect(() => m.frameWords(0x100)).toThrow(InvalidPhysicalAddressError);
    expect(() => m.zeroFrame(0x800)).toThrow(InvalidPhysicalAddressError);
    expect(() => m.read8(0.5)).toThrow(InvalidPhysicalAddressError);
    expect(m.read32(0x100)).toBe(1);
  });

  it('refuses RAM descriptions that are not ranges', () => {
    expect(() => new SparsePhysicalMemory([{ base: -1, lengthBytes: 1 }])).toThrow(InvalidMachineConfigError);
    expect(() => new SparsePhysicalMemory([{ base: 0, lengthBytes: 0 }])).toThrow(InvalidMachineConfigError);
    expect(() => new SparsePhysicalMemory([{ base: 2 ** 40, lengthBytes: 1 }], { maxPhysAddrBits: 40 })).toThrow(InvalidMachineConfigError);
    expect(() => new SparsePhysicalMemory([], { maxPhysAddrBits: 57 })).toThrow(InvalidMachineConfigError);
  });

  it('merges overlapping and touching RAM ranges', () => {
    const m = new SparsePhysicalMemory([{ base: 0x2000, lengthBytes: 0x2000 }, { base: 0, lengthBytes: 0x2000 }, { base: 0x3000, lengthBytes: 0x3000 }]);
    expect(m.ramRanges).toEqual([{ base: 0, lengthBytes: 0x6000 }]);
    expect(m.ramBytes).toBe(0x6000);
  });

  it('uses a Map directory when RAM reaches past 4 TiB, with the same behaviour', () => {
    const far = 2 ** 51;
    const m = new SparsePhysicalMemory([{ base: 0, lengthBytes: 0x1000 }, { base: far, lengthBytes: 0x10_0000 }]);
    m.write32(far + 0x2000, 9);
    m.write8(0x10, 1);
    expect(m.read32(far + 0x2000)).toBe(9);
    expect(() => m.read32(far - 0x1000)).toThrow(BusError);
    // At and above 2^53 a frame number's chunk no longer fits 31 bits and wraps: such an address
    // must still miss (and be refused), never alias the touched frames at 0 and far + 0x2000.
    for (const huge of [2 ** 53, 2 ** 53 + 0x2000, 2 ** 54, 2 ** 61 + far + 0x2000, 2 ** 63]) {
      expect(() => m.read32(huge)).toThrow(InvalidPhysicalAddressError);
      expect(() => m.frameWords(huge)).toThrow(InvalidPhysicalAddressError);
    }
    const seen: number[] = [];
    m.forEachTouchedFrame((frame) => seen.push(frame));
    expect(seen).toEqual([0, far + 0x2000]);
    m.checkInvariants();
  });

  it('copies byte ranges across frames, checking the whole range first', () => {
    const m = qemu5g();
    const data = Uint8Array.from({ length: 10000 }, (_, i) => (i * 7) & 0xff);
    m.writeBytes(0x10_0ffd, data);
    expect(m.readBytes(0x10_0ffd, 10000)).toEqual(data);
    expect(m.read8(0x10_0ffd + 9999)).toBe(data[9999]);
    expect(() => m.writeBytes(0x9f000, new Uint8Array(0x2000).fill(1))).toThrow(BusError);
    expect(m.isBacked(0x9f000)).toBe(false);
  });

  it('fits the x86-paging PhysicalMemory port', () => {
    const port: PhysicalMemoryPort = qemu5g();
    expect(typeof port.frameWords).toBe('function');
  });
});
