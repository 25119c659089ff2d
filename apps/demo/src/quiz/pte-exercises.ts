// "What does this entry mean?" exercises: a random 64-bit paging-structure entry (4-level paging),
// decoded by x86-paging's decodeEntry (SDM vol. 3A 4.5, Tables 4-14 to 4-20).
import { PTE, decodeEntry, encodeHi, encodeLo, levelName, reservedBits } from '@kmem/x86-paging';
import type { Exercise, ExerciseSet } from './exercise';
import { entryHex, groupedHex } from './hex';
import type { SeededRandom } from './seeded-random';

const FLAG_CHOICES = [PTE.Writable, PTE.User, PTE.WriteThrough, PTE.CacheDisable, PTE.Accessed, PTE.Dirty, PTE.Global, PTE.NoExecute];
const MEANING: Record<string, string> = {
  P: 'present (bit 0)',
  RW: 'writable (bit 1; reads only when clear, for supervisor too when CR0.WP = 1)',
  US: 'user-accessible (bit 2)',
  PWT: 'write-through (bit 3)',
  PCD: 'cache disabled (bit 4)',
  A: 'accessed (bit 5, set by the CPU on use)',
  D: 'dirty (bit 6, set by the CPU on a write through a leaf)',
  PS: 'page size (bit 7): this entry maps a page, not a table',
  PAT: 'PAT bit (bit 7 of a PTE, bit 12 of a huge leaf)',
  G: 'global (bit 8, leaf only: kept in the TLB across CR3 loads with CR4.PGE)',
  NX: 'execute-disable (bit 63, with EFER.NXE)',
};

/** Answer form: the address, then the flag names in the library's order. */
export function pteAnswer(pa: number, names: readonly string[]): string {
  return [groupedHex(pa), ...names].join(' ');
}

/** `count` entry-decoding exercises; difficulty 2+ adds huge leaves (PS) and not-present entries. */
export function pteExercises(rng: SeededRandom, count: number, difficulty: number): Omit<ExerciseSet, 'seed'> {
  const exercises: Exercise[] = [];
  for (let i = 0; i < count; i++) {
    const level = rng.pick([1, 2, 3, 4]);
    const huge = difficulty >= 2 && (level === 2 || level === 3) && rng.chance(0.4);
    const align = huge ? (level === 2 ? 2 ** 21 : 2 ** 30) : 4096;
    const pa = rng.int(2 ** 40 / align) * align;
    let flags = difficulty >= 2 && rng.chance(0.15) ? 0 : PTE.Present;
    for (const f of FLAG_CHOICES) if (rng.chance(0.4)) flags |= f;
    if (huge) flags |= PTE.HugePage;
    if (!huge && level > 1) flags &= ~(PTE.Dirty | PTE.Global); // ignored bits in a table pointer: kept clear
    const lo = encodeLo(pa, flags, huge);
    const hi = encodeHi(pa, flags);
    const d = decodeEntry(lo, hi, level);
    const what = !d.present ? 'is not present: the CPU ignores every other bit (a walk through it faults, P = 0 in the error code)' : d.leaf ? `maps a ${d.pageSizeBytes === 2 ** 30 ? '1 GiB' : d.pageSizeBytes === 2 ** 21 ? '2 MiB' : '4 KiB'} page at ${groupedHex(d.pa)}` : `points to the next table at ${groupedHex(d.pa)}`;
    exercises.push({
      kind: 'pte',
      number: i + 1,
      question: `What does the ${levelName(level)} entry ${entryHex(lo, hi)} mean? Answer: the address it holds, then its flags (e.g. 0x12_3000 P RW US A NX)`,
      answer: pteAnswer(d.pa, d.flagNames),
      explanation: [
        `address bits 51:12 = ${groupedHex(d.pa)}; it ${what}`,
        ...d.flagNames.map((n) => `${n}: ${MEANING[n] ?? 'bit set'}`),
        reservedBits(lo, hi, level) === 0 ? 'no reserved bit set' : 'reserved bits set: a walk through it faults with RSVD',
      ],
    });
  }
  return { kind: 'pte', difficulty, given: ['4-level paging entries (SDM vol. 3A 4.5): bit 0 P, 1 R/W, 2 U/S, 3 PWT, 4 PCD, 5 A, 6 D, 7 PS/PAT, 8 G, 51:12 address, 63 XD'], exercises };
}
