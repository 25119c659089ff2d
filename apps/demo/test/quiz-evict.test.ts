// Eviction exercises: every answer is the victim kernel-sim's own policy picks on the question's
// reference string (re-run here through simulateReferenceString, independently of the generator's
// run), FIFO on Belady's string evicts what a hand-worked trace of it says, and the
// same seed gives the same set.
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createPolicy, simulateReferenceString, type PolicyName } from '@kmem/kernel-sim';
import { evictExercises, evictionRun } from '../src/quiz/evict-exercises';
import { checkAnswer, generateExercises } from '../src/quiz/quiz';
import { SeededRandom } from '../src/quiz/seeded-random';

const POLICY_OF: Record<string, PolicyName> = { FIFO: 'fifo', 'Clock (second chance)': 'clock', LRU: 'lru', 'OPT (Belady)': 'opt' };

describe('evict exercises', () => {
  it("FIFO on Belady's string with 3 frames evicts 1, 2, 3, 4, then 1 and 2 (9 faults)", () => {
    const run = evictionRun('fifo', [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5], 3);
    expect(run.faults).toBe(9);
    // -1: a free frame; -2: a hit.
    expect(run.victims).toEqual([-1, -1, -1, 1, 2, 3, 4, -2, -2, 1, 2, -2]);
  });

  test.prop([fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 3 })], { numRuns: 40 })('every answer is the page the library evicts at that reference', (seed, difficulty) => {
    for (const ex of evictExercises(new SeededRandom(seed), 4, difficulty).exercises) {
      const m = /^(.+) with (\d+) frames, references ([\d ]+): which page does reference #(\d+) \(page (\d+)\) evict\?$/.exec(ex.question)!;
      expect(m).not.toBeNull();
      const policy = POLICY_OF[m[1]!]!;
      const frames = Number(m[2]);
      const pages = m[3]!.split(' ').map(Number);
      const k = Number(m[4]) - 1;
      expect(pages[k]).toBe(Number(m[5]));
      let victim = -3;
      const result = simulateReferenceString(createPolicy(policy, { sequence: pages }), pages, frames, {
        onStep: (i, faulted, v) => {
          if (i === k) victim = faulted ? v : -2;
        },
      });
      expect(victim).toBeGreaterThanOrEqual(1);
      expect(ex.answer).toBe(String(victim));
      expect(ex.explanation.at(-1)).toContain(`${result.faults} faults`);
      expect(checkAnswer(ex, ex.answer)).toBe(true);
      expect(checkAnswer(ex, String(victim + 1))).toBe(false);
    }
  });

  it('the same seed gives the same set; kind evict goes through generateExercises', () => {
    const a = JSON.stringify(generateExercises('evict', 5, 6, 2));
    expect(JSON.stringify(generateExercises('evict', 5, 6, 2))).toBe(a);
    expect(JSON.stringify(generateExercises('evict', 6, 6, 2))).not.toBe(a);
    expect(generateExercises('evict', 5, 6, 2).exercises).toHaveLength(6);
  });
});
