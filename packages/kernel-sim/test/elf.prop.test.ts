// Fuzzing the ELF reader (random files, random headers, mutated real binaries) and properties of
// the load plan and the initial stack over random inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AT,
  ElfLoadError,
  ElfParseError,
  PT,
  buildInitialStack,
  elfLoadPlan,
  pageContents,
  parseElf64,
  type Elf64,
  type ElfLoadPlan,
} from '../src/index';
import { ELF_FIXTURES, loadElfFixture } from './elf-fixtures';

const fixtures = new Map(ELF_FIXTURES.map((name) => [name, loadElfFixture(name)]));
const SMALL = ELF_FIXTURES.filter((n) => n !== 'busybox-static');
const out = new Uint8Array(4096);

/** Everything a load plan promises, checked against the program headers it came from. */
function checkPlan(plan: ElfLoadPlan): void {
  const loads = plan.elf.loadSegments.filter((ph) => ph.memSizeBytes > 0);
  expect(plan.segments).toHaveLength(loads.length);
  let previousEnd = 0;
  plan.segments.forEach((s, i) => {
    const ph = loads[i]!;
    expect(s.phdrIndex).toBe(ph.index);
    expect(s.start % 4096).toBe(0);
    expect(s.end % 4096).toBe(0);
    expect(s.start).toBeLessThan(s.end);
    expect(s.start).toBeGreaterThanOrEqual(previousEnd); // ascending and disjoint
    previousEnd = s.end;
    expect(s.pageCount).toBe((s.end - s.start) / 4096);
    expect(s.permissions).toEqual({ read: (ph.flags & 4) !== 0, write: (ph.flags & 2) !== 0, execute: (ph.flags & 1) !== 0 });
    expect(s.file.va).toBe(ph.vaddr + plan.loadBias);
    expect(s.start).toBeLessThanOrEqual(s.file.va);
    expect(s.bss).toEqual({ start: s.file.va + ph.fileSizeBytes, end: s.file.va + ph.memSizeBytes });
    expect(s.bss.end).toBeLessThanOrEqual(s.end);
    expect(s.end - s.bss.end).toBeLessThan(4096);
    expect(s.filePages.start).toBe(s.start);
    expect(s.zeroPages.start).toBe(s.filePages.end);
    expect(s.zeroPages.end).toBe(s.end);
    expect(s.filePages.fileOffset).toBeGreaterThanOrEqual(0);
    // The first and last pages can be produced.
    pageContents(plan, i, s.start, out);
    pageContents(plan, i, s.end - 4096, out);
  });
  expect(plan.entry).toBe(plan.elf.entry + plan.loadBias);
}

function parseOnlyTypedErrors(bytes: Uint8Array): Elf64 | null {
  try {
    return parseElf64(bytes);
  } catch (e) {
    if (e instanceof ElfParseError) {
      expect(e.code).toBe('E_ELF_PARSE');
      expect(Number.isSafeInteger(e.offset) && e.offset >= 0 && e.offset <= bytes.length).toBe(true);
      return null;
    }
    throw e;
  }
}

/** Parses and, when that works, plans: only the two typed errors may come out. */
function parseAndPlan(bytes: Uint8Array): void {
  const elf = parseOnlyTypedErrors(bytes);
  if (elf === null) return;
  let plan: ElfLoadPlan;
  try {
    plan = elfLoadPlan(elf, { allowInterpreter: true });
  } catch (e) {
    if (e instanceof ElfLoadError) return;
    throw e;
  }
  checkPlan(plan);
}

/** A header that passes the ident checks, so the fuzzer reaches the program headers. */
const plausibleElf = fc
  .record({
    type: fc.constantFrom(2, 3),
    entry: fc.nat({ max: 0x7fff_ffff }),
    phnum: fc.integer({ min: 0, max: 8 }),
    phentsize: fc.constantFrom(56, 56, 56, 32),
    tail: fc.uint8Array({ minLength: 0, maxLength: 600 }),
    phdrs: fc.array(
      fc.record({
        type: fc.constantFrom(PT.Load, PT.Load, PT.Load, PT.Interp, PT.GnuStack, PT.Tls, PT.Note, 0x1234),
        flags: fc.nat({ max: 7 }),
        offset: fc.oneof(fc.nat({ max: 0x3000 }), fc.constant(0)),
        vaddr: fc.oneof(fc.nat({ max: 0x100_0000 }), fc.integer({ min: 0, max: 2 ** 47 }), fc.constant(0x40_0000)),
        filesz: fc.nat({ max: 0x1000 }),
        extra: fc.nat({ max: 0x10_0000 }),
        hiBits: fc.constantFrom(0, 0, 0, 0, 0x20_0000, 0x8000, 0xffff_8000),
        which: fc.nat({ max: 5 }),
      }),
      { maxLength: 8 },
    ),
  })
  .map(({ type, entry, phnum, phentsize, tail, phdrs }) => {
    const bytes = new Uint8Array(64 + 56 * phdrs.length + tail.length);
    bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
    const view = new DataView(bytes.buffer);
    view.setUint16(16, type, true);
    view.setUint16(18, 62, true);
    view.setUint32(20, 1, true);
    view.setUint32(24, entry, true);
    view.setUint32(32, 64, true);
    view.setUint16(54, phentsize, true);
    view.setUint16(56, phnum, true);
    phdrs.forEach((ph, i) => {
      const at = 64 + 56 * i;
      view.setUint32(at, ph.type, true);
      view.setUint32(at + 4, ph.flags, true);
      view.setUint32(at + 8, ph.offset, true);
      view.setUint32(at + 16, ph.vaddr % 2 ** 32, true);
      view.setUint32(at + 20, Math.floor(ph.vaddr / 2 ** 32), true);
      view.setUint32(at + 32, ph.filesz, true);
      view.setUint32(at + 40, ph.filesz + ph.extra, true);
      view.setUint32(at + 48, 0x1000, true);
      // Now and then a high half that is non-canonical, kernel-half or ≥ 2^53.
      if (ph.hiBits !== 0) view.setUint32(at + 12 + 8 * ph.which, ph.hiBits, true);
    });
    bytes.set(tail, 64 + 56 * phdrs.length);
    return bytes;
  });

describe('parseElf64 (fuzz)', () => {
  it('throws only ElfParseError on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void parseOnlyTypedErrors(bytes)), { numRuns: 2000 });
  });

  it('throws only typed errors on random headers and program headers, and every plan it allows is sound', () => {
    fc.assert(fc.property(plausibleElf, parseAndPlan), { numRuns: 3000 });
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
    fc.assert(
      fc.property(
        fc.constantFrom(...SMALL),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 20 }),
        fc.option(fc.nat()),
        (name, edits, cut) => {
          const original = fixtures.get(name)!;
          const bytes = original.slice(0, cut === null ? original.length : cut % (original.length + 1));
          for (const [at, value] of edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
          parseAndPlan(bytes);
        },
      ),
      { numRuns: 1500 },
    );
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
          const view = new DataView(s.bytes.buffer);
          const u64 = (va: number): number => view.getUint32(va - s.base, true) + view.getUint32(va - s.base + 4, true) * 2 ** 32;
          const str = (va: number): string => {
            const from = va - s.base;
            const end = s.bytes.indexOf(0, from);
            return new TextDecoder('utf-8', { ignoreBOM: true }).decode(s.bytes.subarray(from, end));
          };
          let va = s.rsp;
          expect(u64(va)).toBe(argv.length);
          va += 8;
          for (const a of argv) { expect(str(u64(va))).toBe(a); va += 8; }
          expect(u64(va)).toBe(0);
          va += 8;
          for (const e of envp) { expect(str(u64(va))).toBe(e); va += 8; }
          expect(u64(va)).toBe(0);
          va += 8;
          const auxv = new Map<number, number>();
          for (;;) {
            const type = u64(va);
            auxv.set(type, u64(va + 8));
            va += 16;
            if (type === AT.NULL) break;
          }
          expect(auxv.get(AT.ENTRY)).toBe(plan.entry);
          expect(auxv.get(AT.PHDR)).toBe(plan.phdrVa);
          expect(auxv.get(AT.PAGESZ)).toBe(4096);
          const r = auxv.get(AT.RANDOM)! - s.base;
          expect(s.bytes.subarray(r, r + 16)).toEqual(random);
          expect(va).toBeLessThanOrEqual(auxv.get(AT.RANDOM)!); // the table stays below the data it points at
          expect(str(auxv.get(AT.PLATFORM)!)).toBe('x86_64');
          expect(str(auxv.get(AT.EXECFN)!)).toBe(argv[0] ?? '');
          expect(u64(top - 8)).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
