// Swap devices and the swap space: sizes, slot bounds, priorities, reference counts (swap_map)
// and the swap cache, against a tiny model.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemorySwapDevice, SwapDeviceSizeError, SwapOptionError, SwapSlotRangeError, SwapSlotStateError, SwapSpace, handleOffset, handleType, swapHandle } from '../src/index';

const page = (v: number): Uint32Array => new Uint32Array(1024).fill(v);

describe('MemorySwapDevice', () => {
  it('refuses zero, negative, fractional and huge sizes', () => {
    for (const n of [0, -1, 1.5, Number.NaN, 2 ** 39]) expect(() => new MemorySwapDevice({ slotCount: n })).toThrow(SwapDeviceSizeError);
    expect(() => new MemorySwapDevice({ slotCount: 4, cost: 'floppy' as 'nvme' })).toThrow(SwapOptionError);
  });

  it('stores pages sparsely, reads zeros from unwritten slots, counts I/O, refuses slots beyond the device', () => {
    const d = new MemorySwapDevice({ slotCount: 1 << 20, cost: 'disk' });
    expect(d.hostBytes).toBeLessThan(200_000);
    const out = page(9);
    d.readSlot(77, out);
    expect(out.every((w) => w === 0)).toBe(true);
    d.writeSlot(77, page(0xdead_beef));
    d.readSlot(77, out);
    expect(out[1023]).toBe(0xdead_beef);
    expect([d.reads, d.writes, d.usedSlotCount, d.hasData(77), d.hasData(78)]).toEqual([2, 1, 1, true, false]);
    d.discardSlot(77);
    expect(d.hasData(77)).toBe(false);
    expect(() => d.writeSlot(1 << 20, out)).toThrow(SwapSlotRangeError);
    expect(() => d.readSlot(-1, out)).toThrow(SwapSlotRangeError);
    expect(d.writes).toBe(1);
    d.checkInvariants();
  });
});

describe('SwapSpace', () => {
  it('hands out slots from the highest priority first, equal priorities in turn, then -1', () => {
    const s = new SwapSpace();
    const slow = s.swapon(new MemorySwapDevice({ slotCount: 2, cost: 'disk' }), { priority: 1 });
    const a = s.swapon(new MemorySwapDevice({ slotCount: 2 }), { priority: 10 });
    const b = s.swapon(new MemorySwapDevice({ slotCount: 2 }), { priority: 10 });
    const types: number[] = [];
    for (let i = 0; i < 6; i++) {
      const h = s.alloc();
      s.dup(h);
      types.push(handleType(h));
    }
    expect(types).toEqual([a, b, a, b, slow, slow]);
    expect(s.alloc()).toBe(-1);
    expect(s.usedSlots).toBe(6);
    s.checkInvariants();
  });

  it('frees a slot with its last reference, keeps it while the swap cache holds it, and checks every misuse', () => {
    const s = new SwapSpace();
    const dev = new MemorySwapDevice({ slotCount: 4, cost: 'free' });
    s.swapon(dev);
    const h = s.alloc();
    s.dup(h);
    s.dup(h);
    s.write(h, page(5));
    s.addToCache(h, 0x5000);
    expect([s.count(h), s.cachedFrame(h), s.slotOfFrame(0x5000)]).toEqual([3, 0x5000, h]);
    expect(s.put(h)).toBe(2);
    expect(s.put(h)).toBe(1);
    expect(s.usedSlots).toBe(1);
    expect(s.dropFromCache(h)).toBe(0);
    expect([s.usedSlots, dev.hasData(handleOffset(h))]).toEqual([0, false]);
    expect(() => s.put(h)).toThrow(SwapSlotStateError);
    expect(() => s.dup(h)).toThrow(SwapSlotStateError);
    expect(() => s.count(swapHandle(0, 4))).toThrow(SwapSlotRangeError);
    expect(() => s.count(swapHandle(3, 0))).toThrow(SwapSlotRangeError);
    s.checkInvariants(new Map());
  });

  it('keeps bitmap, counts and the cache consistent under random operations (model)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat()), { maxLength: 80 }), (ops) => {
        const s = new SwapSpace();
        s.swapon(new MemorySwapDevice({ slotCount: 5, cost: 'free' }));
        s.swapon(new MemorySwapDevice({ slotCount: 3, cost: 'free' }), { priority: 5 });
        const refs = new Map<number, number>();
        const cached = new Map<number, number>();
        let nextFrame = 0x1000;
        for (const [op, pick] of ops) {
          const keys = [...refs.keys()];
          const h = keys.length === 0 ? -1 : keys[pick % keys.length]!;
          if (op === 0) {
            const n = s.alloc();
            if (refs.size === 8) expect(n).toBe(-1);
            else {
              s.dup(n);
              refs.set(n, 1);
            }
          } else if (op === 1 && h >= 0) {
            s.dup(h);
            refs.set(h, refs.get(h)! + 1);
          } else if (op === 2 && h >= 0) {
            if (refs.get(h)! === 1 && cached.has(h)) {
              s.dropFromCache(h);
              cached.delete(h);
            }
            s.put(h);
            if (refs.get(h)! === 1) refs.delete(h);
            else refs.set(h, refs.get(h)! - 1);
          } else if (op === 3 && h >= 0 && !cached.has(h)) {
            s.addToCache(h, nextFrame);
            cached.set(h, nextFrame);
            nextFrame += 0x1000;
          }
          s.checkInvariants(refs);
          expect(s.usedSlots).toBe(refs.size);
        }
      }),
      { numRuns: 60 },
    );
  });
});
