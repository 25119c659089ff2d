// The classic page-replacement results, out of the simulator itself: each access is a user-mode
// access through x86-paging's CPU; a miss is a real #PF resolved by the kernel (lazy zero page or
// swap-in), evictions rewrite real PTEs into swap entries under a resident-page limit of N
// frames, and the policies read and clear the real Accessed bits.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { POLICY_NAMES, simulateReferenceString, createPolicy } from '../src/index';
import { runReferenceStringInKernel } from './swap-helpers';

const BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5].map((p) => p - 1);

describe('classic results through the kernel', () => {
  it("FIFO: Belady's anomaly, 9 page faults with 3 frames and 10 with 4", () => {
    const three = runReferenceStringInKernel('fifo', BELADY, 3, { check: true });
    const four = runReferenceStringInKernel('fifo', BELADY, 4, { check: true });
    expect([three.faults, four.faults]).toEqual([9, 10]);
    // The misses after the first five distinct pages were swap-ins (major faults).
    expect([three.majorFaults, four.majorFaults]).toEqual([4, 5]);
    expect(three.swap.counters.swappedOut).toBeGreaterThan(0);
  });

  it('OPT takes 7 and 6 faults on the same string, as Belady computed', () => {
    expect(runReferenceStringInKernel('opt', BELADY, 3).faults).toBe(7);
    expect(runReferenceStringInKernel('opt', BELADY, 4).faults).toBe(6);
  });

  it('each policy faults exactly as the standalone simulator predicts for A-bit-free policies', () => {
    for (const name of ['fifo', 'lru', 'opt'] as const) {
      const seq = [0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];
      const standalone = simulateReferenceString(createPolicy(name, { sequence: seq }), seq, 3).faults;
      expect(runReferenceStringInKernel(name, seq, 3).faults).toBe(standalone);
    }
  });

  it('OPT never has more faults than any other policy on the same run (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 24 }), fc.integer({ min: 1, max: 4 }), (refs, frames) => {
        const opt = runReferenceStringInKernel('opt', refs, frames).faults;
        for (const name of POLICY_NAMES) expect(opt).toBeLessThanOrEqual(runReferenceStringInKernel(name, refs, frames).faults);
      }),
      { numRuns: 6 },
    );
  });

  it('LRU never has more faults with more frames (the stack property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 24 }), fc.integer({ min: 1, max: 4 }), (refs, frames) => {
        expect(runReferenceStringInKernel('lru', refs, frames + 1).faults).toBeLessThanOrEqual(runReferenceStringInKernel('lru', refs, frames).faults);
      }),
      { numRuns: 10 },
    );
  });
});
