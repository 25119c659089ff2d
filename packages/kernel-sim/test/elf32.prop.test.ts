// Fuzzing parseElf32 (random bytes, random ELF32 headers, mutated real gcc -m32 binaries) and
// properties of i386 load plans and initial stacks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AT, ELF32_CLASS, buildInitialStack, elfLoadPlan, parseElf32 } from '../src/index';
import { ELF32_FIXTURES, loadElfFixture } from './elf-fixtures';
import { checkPlan, parseOnlyTypedErrors, parsePlanAndCheck, plausibleElf, mutatedFixture, readInitialStack } from './elf-plan-check';

const fixtures = new Map(ELF32_FIXTURES.map((name) => [name, loadElfFixture(name)]));
const SMALL = ELF32_FIXTURES.filter((n) => n !== 'i386-libc-static');
const parseAndPlan = (bytes: Uint8Array): void => parsePlanAndCheck(parseElf32, bytes);

describe('parseElf32 (fuzz)', () => {
  it('throws only ElfParseError on random bytes, with an offset inside the input', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => void parseOnlyTypedErrors(parseElf32, bytes)), { numRuns: 1000 });
  });

  it('throws only typed errors on random ELF32 headers, and every plan it allows is sound', () => {
    fc.assert(fc.property(plausibleElf(ELF32_CLASS), parseAndPlan), { numRuns: 2000 });
  });

  it('throws only typed errors on mutated real i386 binaries (headers anywhere, truncations)', () => {
    fc.assert(fc.property(mutatedFixture(fixtures, SMALL, 52 + 32 * 8), parseAndPlan), { numRuns: 800 });
  });
});

describe('elfLoadPlan (i386 properties)', () => {
  it('gives page-aligned, disjoint ranges inside [64 KiB, 3 GiB) for every i386 fixture and PIE bias', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ELF32_FIXTURES), fc.integer({ min: 0x10, max: 0xb_0000 }).map((pages) => pages * 4096), (name, bias) => {
        const elf = parseElf32(fixtures.get(name)!);
        const plan = elfLoadPlan(elf, elf.positionIndependent ? { loadBias: bias } : {});
        checkPlan(plan);
        expect(plan.segments.at(-1)!.end).toBeLessThanOrEqual(0xc000_0000);
      }),
      { numRuns: 200 },
    );
  });
});

describe('buildInitialStack (i386 properties)', () => {
  const plan = elfLoadPlan(parseElf32(fixtures.get('i386-hello-static-pie')!));
  const noNul = fc.string({ unit: fc.oneof(fc.constantFrom('a', '/', '=', 'é'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 30 }).filter((s) => !s.includes('\0'));
  it('reads back as argc/argv/envp/auxv in 4-byte words from a 16-byte aligned esp', () => {
    fc.assert(
      fc.property(
        fc.array(noNul, { maxLength: 10 }),
        fc.array(noNul, { maxLength: 10 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0x100, max: 0xc_0000 }).map((n) => n * 4096),
        (argv, envp, random, top) => {
          const s = buildInitialStack({ plan, argv, envp, random, stackTopVa: top });
          expect(s.rsp % 16).toBe(0);
          expect(s.base + s.bytes.length).toBe(top);
          const read = readInitialStack(s, 4);
          expect(read.argv).toEqual(argv);
          expect(read.envp).toEqual(envp);
          expect(read.auxv.get(AT.ENTRY)).toBe(plan.entry);
          expect(read.auxv.get(AT.PHENT)).toBe(32);
          const r = read.auxv.get(AT.RANDOM)! - s.base;
          expect(s.bytes.subarray(r, r + 16)).toEqual(random);
          expect(read.tableEndVa).toBeLessThanOrEqual(read.auxv.get(AT.RANDOM)!);
          expect(read.str(read.auxv.get(AT.PLATFORM)!)).toBe('i686');
          expect(read.word(top - 4)).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
