// "Which page does this policy evict?" exercises: a short reference string, a frame count and a
// policy (FIFO, Clock, LRU, OPT), answered by kernel-sim's simulateReferenceString with the same
// policy objects the kernel's reclaim runs over real page tables — never by a second model here.
import { createPolicy, simulateReferenceString, type PolicyName } from '@kmem/kernel-sim';
import type { Exercise, ExerciseSet } from './exercise';
import type { SeededRandom } from './seeded-random';

const POLICIES: readonly PolicyName[] = ['fifo', 'clock', 'lru', 'opt'];
const TITLE: Record<string, string> = { fifo: 'FIFO', clock: 'Clock (second chance)', lru: 'LRU', opt: 'OPT (Belady)' };

/** What happened at each reference of a string under a policy, from the library's own run. */
export interface EvictionRun {
  /** Faults over the whole string. */
  readonly faults: number;
  /** Per reference: -2 a hit, -1 a fault that took a free frame, else the page evicted. */
  readonly victims: readonly number[];
}

/** Runs `pages` through a fresh `policy` with `frameCount` frames (kernel-sim's driver). */
export function evictionRun(policy: PolicyName, pages: readonly number[], frameCount: number): EvictionRun {
  const victims: number[] = [];
  const result = simulateReferenceString(createPolicy(policy, { sequence: pages }), pages, frameCount, {
    onStep: (_i, faulted, victim) => victims.push(faulted ? victim : -2),
  });
  return { faults: result.faults, victims };
}

/**
 * `count` eviction exercises. Difficulty 1: 3 frames, 4-5 distinct pages, 10-13 references;
 * 2: 3-4 frames and a few more pages; 3: longer strings over more pages.
 */
export function evictExercises(rng: SeededRandom, count: number, difficulty: number): Omit<ExerciseSet, 'seed'> {
  const exercises: Exercise[] = [];
  while (exercises.length < count) {
    const policy = rng.pick(POLICIES);
    const frames = difficulty >= 2 ? 3 + rng.int(2) : 3;
    const distinct = frames + 1 + rng.int(difficulty >= 3 ? 4 : 2);
    const length = 8 + 2 * difficulty + rng.int(4);
    const pages = Array.from({ length }, () => 1 + rng.int(distinct));
    const run = evictionRun(policy, pages, frames);
    const evicting = run.victims.flatMap((v, i) => (v >= 0 ? [i] : []));
    if (evicting.length === 0) continue; // every reference fit: draw another string
    const k = rng.pick(evicting);
    const steps = pages.slice(0, k + 1).map((p, i) => {
      const v = run.victims[i]!;
      return `#${i + 1} page ${p}: ${v === -2 ? 'hit' : v === -1 ? 'fault, a free frame' : `fault, evicts page ${v}`}`;
    });
    exercises.push({
      kind: 'evict',
      number: exercises.length + 1,
      question: `${TITLE[policy]} with ${frames} frames, references ${pages.join(' ')}: which page does reference #${k + 1} (page ${pages[k]!}) evict?`,
      answer: String(run.victims[k]!),
      explanation: [...steps, `${run.faults} faults over the whole string (kernel-sim's ${policy} policy, simulateReferenceString)`],
    });
  }
  return {
    kind: 'evict',
    difficulty,
    given: [
      'Page replacement: every frame starts empty; a reference to a page not in a frame is a fault, which takes a free frame or evicts the page the policy picks.',
      'FIFO evicts the page loaded first; Clock gives a page whose accessed bit is set a second chance (clears the bit, moves on); LRU evicts the page used least recently; OPT the page used furthest in the future.',
    ],
    exercises,
  };
}
