// Exercise sets from a seed, a kind and a difficulty, and checking a typed answer against one.
import type { Exercise, ExerciseSet, QuizKind } from './exercise';
import { parseTypedNumber } from './hex';
import { evictExercises } from './evict-exercises';
import { pteExercises } from './pte-exercises';
import { SeededRandom } from './seeded-random';
import { translateExercises } from './translate-exercises';

/** The same (kind, seed, count, difficulty) gives the same set, in the terminal, the sheet and tests. */
export function generateExercises(kind: QuizKind, seed: number, count: number, difficulty: number): ExerciseSet {
  const rng = new SeededRandom(seed);
  const set = kind === 'translate' ? translateExercises(rng, count, difficulty).set : kind === 'pte' ? pteExercises(rng, count, difficulty) : evictExercises(rng, count, difficulty);
  return { ...set, seed };
}

function words(text: string): string[] {
  return text.trim().toUpperCase().replace(/[,;]/g, ' ').split(/\s+/).filter((w) => w !== '');
}

/** Whether `typed` says what `ex.answer` says (numbers in any width, `#PF 5` = `#PF 0x5`, flags in any order). */
export function checkAnswer(ex: Exercise, typed: string): boolean {
  const want = words(ex.answer);
  const got = words(typed.replace(/^\s*(#?pf|fault)\b/i, '#PF '));
  if (want[0] === '#PF') return got[0] === '#PF' && got.length === 2 && parseTypedNumber(got[1]!.replace(/^0X/, '0x')) === parseTypedNumber(want[1]!.replace(/^0X/, '0x'));
  if (got.length === 0) return false;
  const num = (w: string): number | null => parseTypedNumber(w.replace(/^0X/, '0x').toLowerCase());
  if (num(got[0]!) === null || num(got[0]!) !== num(want[0]!)) return false;
  const a = new Set(want.slice(1));
  const b = new Set(got.slice(1));
  return a.size === b.size && [...a].every((f) => b.has(f));
}
