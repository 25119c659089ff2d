// The replacement policies standalone (page numbers + software A/D bits): textbook behaviour,
// the contract every policy keeps, OPT's optimality and LRU's stack property as properties.
// The same results through the kernel's page tables are in swap-classic.test.ts.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AgingPolicy, ClockPolicy, POLICY_NAMES, PolicyVictimError, SwapOptionError, createPolicy, simulateReferenceString, type PageSignals, type PolicyName, type ReplacementPolicy } from '../src/index';

const BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];
const make = (name: PolicyName, seq: readonly number[]): ReplacementPolicy => createPolicy(name, { sequence: seq, seed: 7, tauNs: 3 });
const refString = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 60 });

describe('replacement policies (standalone)', () => {
  it("FIFO shows Belady's anomaly: 9 faults with 3 frames, 10 with 4", () => {
    expect(simulateReferenceString(createPolicy('fifo'), BELADY, 3).faults).toBe(9);
    expect(simulateReferenceString(createPolicy('fifo'), BELADY, 4).faults).toBe(10);
  });

  it('OPT and LRU give the textbook counts on the same string', () => {
    expect(simulateReferenceString(make('opt', BELADY), BELADY, 3).faults).toBe(7);
    expect(simulateReferenceString(make('opt', BELADY), BELADY, 4).faults).toBe(6);
    expect(simulateReferenceString(createPolicy('lru'), BELADY, 3).faults).toBe(10);
    expect(simulateReferenceString(createPolicy('lru'), BELADY, 4).faults).toBe(8);
  });

  it('Clock gives a second chance to a referenced page and clears its A bit', () => {
    const c = new ClockPolicy();
    const a = new Map([[1, true], [2, false], [3, true]]);
    const signals: PageSignals = {
      testAndClearAccessed: (p) => {
        const was = a.get(p)!;
        a.set(p, false);
        return was;
      },
      isAccessed: (p) => a.get(p)!,
      isDirty: () => false,
      isEvictable: () => true,
      pageKey: (p) => p,
      pageKeys: (p, out) => out.push(p) && 1,
      accessKey: (p) => p,
    };
    for (const p of [1, 2, 3]) c.admit(p, 0);
    expect(c.selectVictim(signals, 0)).toBe(2);
    expect(a.get(1)).toBe(false);
    c.remove(2);
    // The hand is at 3: its A bit is cleared (second chance), then 1, cleared on the first turn, goes.
    expect(c.selectVictim(signals, 0)).toBe(1);
    expect(a.get(3)).toBe(false);
  });

  it('Aging evicts the page with the smallest counter', () => {
    const g = new AgingPolicy(4);
    const used = new Set([1]);
    const signals: PageSignals = { testAndClearAccessed: (p) => used.delete(p), isAccessed: (p) => used.has(p), isDirty: () => false, isEvictable: () => true, pageKey: (p) => p, pageKeys: (p, out) => out.push(p) && 1, accessKey: (p) => p };
    g.admit(1, 0);
    g.admit(2, 0);
    g.tick(signals, 1);
    expect([g.counter(1), g.counter(2)]).toEqual([0b1100, 0b0100]);
    expect(g.selectVictim(signals, 2)).toBe(2);
    expect(() => new AgingPolicy(0)).toThrow(SwapOptionError);
  });

  it('every policy returns resident pages only and keeps its records (random strings, several frame counts)', () => {
    fc.assert(
      fc.property(refString, fc.integer({ min: 1, max: 5 }), fc.array(fc.boolean(), { maxLength: 60 }), (seq, frames, writes) => {
        for (const name of POLICY_NAMES) {
          const policy = make(name, seq);
          simulateReferenceString(policy, seq, frames, { writes, tickEvery: 4, onStep: () => policy.checkInvariants() });
          expect(policy.residentCount).toBe(Math.min(frames, new Set(seq).size));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('OPT never has more faults than any other policy on the same sequence (property)', () => {
    fc.assert(
      fc.property(refString, fc.integer({ min: 1, max: 6 }), (seq, frames) => {
        const opt = simulateReferenceString(make('opt', seq), seq, frames).faults;
        for (const name of POLICY_NAMES) expect(opt).toBeLessThanOrEqual(simulateReferenceString(make(name, seq), seq, frames, { tickEvery: 3 }).faults);
      }),
      { numRuns: 80 },
    );
  });

  it('LRU never has more faults with more frames (the stack property)', () => {
    fc.assert(
      fc.property(refString, fc.integer({ min: 1, max: 6 }), (seq, frames) => {
        expect(simulateReferenceString(createPolicy('lru'), seq, frames + 1).faults).toBeLessThanOrEqual(simulateReferenceString(createPolicy('lru'), seq, frames).faults);
      }),
      { numRuns: 80 },
    );
  });

  it('refuses a policy that returns a page it was not offered, and OPT off its sequence', () => {
    const liar: ReplacementPolicy = { ...createPolicy('fifo'), name: 'liar', residentCount: 0, admit: () => undefined, remove: () => undefined, has: () => false, selectVictim: () => 42, checkInvariants: () => undefined };
    expect(() => simulateReferenceString(liar, [1, 2], 1)).toThrow(PolicyVictimError);
    expect(() => simulateReferenceString(make('opt', [1, 2]), [1, 3], 1)).toThrow(/recorded sequence says 2/);
    expect(() => createPolicy('opt')).toThrow(SwapOptionError);
    expect(() => createPolicy('mru' as PolicyName)).toThrow(SwapOptionError);
  });
});
