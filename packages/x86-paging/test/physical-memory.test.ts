import { describe, expect, it } from 'vitest';
import { ArrayBufferPhysicalMemory, DoubleFreeError, FrameNotOwnedError, PhysicalAccessError, SimpleFrameAllocator } from '../src/index';

describe('ArrayBufferPhysicalMemory', () => {
  it('stores words little-endian, as x86 does (SDM vol. 1 1.3.1)', () => {
    const m = new ArrayBufferPhysicalMemory(8192);
    m.write32(0x1000, 0x1122_3344);
    expect(m.read8(0x1000)).toBe(0x44);
    expect(m.read8(0x1003)).toBe(0x11);
    expect(m.read32(0x1000)).toBe(0x1122_3344);
    m.write32(0x1004, 0xffff_ffff);
    expect(m.read32(0x1004)).toBe(0xffff_ffff);
  });
  it('gives a live per-frame view and zeroes frames', () => {
    const m = new ArrayBufferPhysicalMemory({ sizeBytes: 8192 });
    const w = m.frameWords(0x1000);
    expect(w.length).toBe(1024);
    expect(m.frameWords(0x1000)).toBe(w);
    w[3] = 7;
    expect(m.read32(0x100c)).toBe(7);
    m.zeroFrame(0x1000);
    expect(m.read32(0x100c)).toBe(0);
  });
  it('exports and imports its raw bytes', () => {
    const m = new ArrayBufferPhysicalMemory(8192);
    m.write8(5, 0xab);
    const img = m.exportBytes();
    expect(img.length).toBe(8192);
    expect(img[5]).toBe(0xab);
    const n = new ArrayBufferPhysicalMemory(8192);
    n.importBytes(0, img);
    expect(n.read8(5)).toBe(0xab);
  });
  it('throws E_PHYSICAL_ACCESS outside memory', () => {
    const m = new ArrayBufferPhysicalMemory(4096);
    expect(() => m.read32(4096)).toThrow(PhysicalAccessError);
    expect(() => m.write32(2, 0)).toThrow(PhysicalAccessError);
    expect(() => m.frameWords(4096)).toThrow(PhysicalAccessError);
  });
});

describe('SimpleFrameAllocator', () => {
  it('hands out frames, reuses freed ones, and returns null when empty', () => {
    const a = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: 2 });
    const f1 = a.allocFrame();
    const f2 = a.allocFrame();
    expect([f1, f2]).toEqual([0x10_0000, 0x10_1000]);
    expect(a.allocFrame()).toBeNull();
    a.freeFrame(f1!);
    expect(a.allocFrame()).toBe(f1);
    a.checkInvariants();
  });
  it('rejects double frees and foreign frames', () => {
    const a = new SimpleFrameAllocator({ start: 0, frameCount: 4 });
    const f = a.allocFrame()!;
    a.freeFrame(f);
    expect(() => a.freeFrame(f)).toThrow(DoubleFreeError);
    expect(() => a.freeFrame(0x4000)).toThrow(FrameNotOwnedError);
    expect(() => a.freeFrame(0x10)).toThrow(FrameNotOwnedError);
    a.checkInvariants();
  });
});
