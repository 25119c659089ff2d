// Fuzzing the ELF reader (random files, random headers, mutated real binaries) and properties of
// the load plan and the initial stack over random inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AT, ELF64_CLASS, buildInitialStack, elfLoadPlan, parseElf64 } from '../src/index';
import { ELF_FIXTURES, loadElfFixture } from './elf-fixtures';
import { checkPlan, parseOnlyTypedErrors, parsePlanAndCheck, plausibleElf, mutatedFixture, readInitialStack } from './elf-plan-check';

const fixtures = new Map(ELF_FIXTURES.map((name) => [name, loadElfFixture(name)]));
const SMALL = ELF_FIXTURES.filter((n) => n !== 'busybox-static');

const parseAndPlan = (bytes: Uint8Array): void => parsePlanAndCheck(parseElf64, bytes);

describe('parseElf64 (fuzz)', () => {
  it('throws only ElfParseError on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void parseOnlyTypedErrors(parseElf64, bytes)), { numRuns: 2000 });
  });

  it('throws only typed errors on random headers and program headers, and every plan it allows is sound', () => {
    fc.assert(fc.property(plausibleElf(ELF64_CLASS), parseAndPlan), { numRuns: 3000 });
  });

  it('throws only typed errors on mutated real binaries (header and program headers)', () => {
    const names = [...ELF_FIXTURES];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.array(fc.tuple(fc.nat({ max: 64 + 56 * 13 - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 6 }),
        (name, edits) => {
          const bytes = fixtures.get(name)!.slice();
          for (const [at, value] of edits) bytes[at] = value;
          parseAndPlan(bytes);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('throws only typed errors on mutated small binaries (anywhere) and on truncations', () => {
    fc.assert(fc.property(mutatedFixture(fixtures, SMALL), parseAndPlan), { numRuns: 1500 });
  });
});

describe('elfLoadPlan (properties)', () => {
  it('gives page-aligned, disjoint ranges with permissions matching p_flags for every fixture and bias', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ELF_FIXTURES),
        fc.integer({ min: 0x10, max: 0x7fff_ffe0_0 }).map((pages) => pages * 4096),
        fc.boolean(),
        (name, bias, useBias) => {
          const elf = parseElf64(fixtures.get(name)!);
          const plan = elfLoadPlan(elf, { allowInterpreter: true, ...(useBias && elf.positionIndependent ? { loadBias: bias } : {}) });
          checkPlan(plan);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('buildInitialStack (properties)', () => {
  const plan = elfLoadPlan(parseElf64(fixtures.get('hello-static-pie')!));
  const noNul = fc.string({ unit: fc.oneof(fc.constantFrom('a', '/', '=', 'é', '😀'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 40 }).filter((s) => !s.includes('\0'));
  it('reads back as argc/argv/envp/auxv from a 16-byte aligned rsp, as a libc _start would', () => {
    fc.assert(
      fc.property(
        fc.array(noNul, { maxLength: 12 }),
        fc.array(noNul, { maxLength: 12 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0x100, max: 0x7fff_ffff_f }).map((n) => n * 4096),
        (argv, envp, random, top) => {
          const s = buildInitialStack({ plan, argv, envp, random, stackTopVa: top });
          expect(s.rsp % 16).toBe(0);
          expect(s.base + s.bytes.length).toBe(top);
          const { argv: readArgv, envp: readEnvp, auxv, tableEndVa, str, word } = readInitialStack(s, 8);
          expect(readArgv).toEqual(argv);
          expect(readEnvp).toEqual(envp);
          expect(auxv.get(AT.ENTRY)).toBe(plan.entry);
          expect(auxv.get(AT.PHDR)).toBe(plan.phdrVa);
          expect(auxv.get(AT.PAGESZ)).toBe(4096);
          const r = auxv.get(AT.RANDOM)! - s.base;
          expect(s.bytes.subarray(r, r + 16)).toEqual(random);
          expect(tableEndVa).toBeLessThanOrEqual(auxv.get(AT.RANDOM)!); // the table stays below the data it points at
          expect(str(auxv.get(AT.PLATFORM)!)).toBe('x86_64');
          expect(str(auxv.get(AT.EXECFN)!)).toBe(argv[0] ?? '');
          expect(word(top - 8)).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
