// Shared by the ELF property and fuzz tests (ELF64 and ELF32): what every load plan promises,
// "only typed errors" wrappers around a parser, and a reader of an initial stack image that walks
// it as a libc _start would, and a generator of plausible ELF files of either class.
import fc from 'fast-check';
import { expect } from 'vitest';
import { ElfLoadError, ElfParseError, PT, elfLoadPlan, pageContents, type ElfClass, type ElfExecutable, type ElfLoadPlan, type InitialStack } from '../src/index';

const out = new Uint8Array(4096);

/** Everything a load plan promises, checked against the program headers it came from. */
export function checkPlan(plan: ElfLoadPlan): void {
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

/** Runs `parse`; an ElfParseError with a sane offset gives null, any other throw fails the test. */
export function parseOnlyTypedErrors<T extends ElfExecutable>(parse: (bytes: Uint8Array) => T, bytes: Uint8Array): T | null {
  try {
    return parse(bytes);
  } catch (e) {
    if (e instanceof ElfParseError) {
      expect(e.code).toBe('E_ELF_PARSE');
      expect(Number.isSafeInteger(e.offset) && e.offset >= 0 && e.offset <= bytes.length).toBe(true);
      return null;
    }
    throw e;
  }
}

/** Parses and, when that works, plans: only the two typed errors may come out, and a plan is sound. */
export function parsePlanAndCheck(parse: (bytes: Uint8Array) => ElfExecutable, bytes: Uint8Array): void {
  const elf = parseOnlyTypedErrors(parse, bytes);
  if (elf === null) return;
  let plan: ElfLoadPlan;
  try {
    plan = elfLoadPlan(elf, { allowInterpreter: true });
  } catch (e) {
    if (e instanceof ElfLoadError) {
      expect(e.offset === null || (e.offset >= 0 && e.offset < bytes.length)).toBe(true);
      return;
    }
    throw e;
  }
  checkPlan(plan);
}

/** What {@link readInitialStack} found walking an image from its stack pointer. */
export interface ReadStack {
  readonly argv: string[];
  readonly envp: string[];
  readonly auxv: Map<number, number>;
  /** First address past the auxv's AT_NULL pair. */
  readonly tableEndVa: number;
  /** The NUL-terminated string at `va`. */
  readonly str: (va: number) => string;
  /** The word (4 or 8 bytes) at `va`. */
  readonly word: (va: number) => number;
}

/** Walks argc, argv, envp and auxv from `stack.rsp` with words of `wordBytes`, as _start does. */
export function readInitialStack(stack: InitialStack, wordBytes: 4 | 8): ReadStack {
  const view = new DataView(stack.bytes.buffer);
  const word = (va: number): number =>
    view.getUint32(va - stack.base, true) + (wordBytes === 8 ? view.getUint32(va - stack.base + 4, true) * 2 ** 32 : 0);
  const str = (va: number): string => {
    const from = va - stack.base;
    const end = stack.bytes.indexOf(0, from);
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(stack.bytes.subarray(from, end));
  };
  let va = stack.rsp;
  const argc = word(va);
  va += wordBytes;
  const argv: string[] = [];
  for (let i = 0; i < argc; i++, va += wordBytes) argv.push(str(word(va)));
  expect(word(va)).toBe(0);
  va += wordBytes;
  const envp: string[] = [];
  for (; word(va) !== 0; va += wordBytes) envp.push(str(word(va)));
  va += wordBytes;
  const auxv = new Map<number, number>();
  for (;;) {
    const type = word(va);
    auxv.set(type, word(va + wordBytes));
    va += 2 * wordBytes;
    if (type === 0) break;
  }
  return { argv, envp, auxv, tableEndVa: va, str, word };
}

/**
 * Random ELF files of class `cls` whose header passes the ident checks, so the fuzzer reaches the
 * program headers: fields are written at the class's own offsets and widths. For ELF64, now and
 * then a high half that is non-canonical, kernel-half or ≥ 2^53; for ELF32, segments near 4 GiB.
 */
export function plausibleElf(cls: ElfClass): fc.Arbitrary<Uint8Array> {
  const wide = cls.wordBytes === 8;
  const { ehdr, phdr, headerBytes, phdrBytes } = cls;
  return fc
    .record({
      type: fc.constantFrom(2, 3),
      entry: fc.nat({ max: wide ? 0x7fff_ffff : 0xffff_ffff }),
      phnum: fc.integer({ min: 0, max: 8 }),
      phentsize: fc.constantFrom(phdrBytes, phdrBytes, phdrBytes, wide ? 32 : 56),
      tail: fc.uint8Array({ minLength: 0, maxLength: 600 }),
      phdrs: fc.array(
        fc.record({
          type: fc.constantFrom(PT.Load, PT.Load, PT.Load, PT.Interp, PT.GnuStack, PT.Tls, PT.Note, 0x1234),
          flags: fc.nat({ max: 7 }),
          offset: fc.oneof(fc.nat({ max: 0x3000 }), fc.constant(0)),
          vaddr: wide
            ? fc.oneof(fc.nat({ max: 0x100_0000 }), fc.integer({ min: 0, max: 2 ** 47 }), fc.constant(0x40_0000))
            : fc.oneof(fc.nat({ max: 0x100_0000 }), fc.constant(0x0804_8000), fc.integer({ min: 0xbfff_0000, max: 0xffff_ffff })),
          filesz: fc.nat({ max: 0x1000 }),
          extra: fc.oneof(fc.nat({ max: 0x10_0000 }), fc.nat({ max: wide ? 0x10_0000 : 0xffff_ffff })),
          hiBits: fc.constantFrom(0, 0, 0, 0, 0x20_0000, 0x8000, 0xffff_8000),
          which: fc.nat({ max: 5 }),
        }),
        { maxLength: 8 },
      ),
    })
    .map(({ type, entry, phnum, phentsize, tail, phdrs }) => {
      const bytes = new Uint8Array(headerBytes + phdrBytes * phdrs.length + tail.length);
      bytes.set([0x7f, 0x45, 0x4c, 0x46, cls.identClass, 1, 1, 0]);
      const view = new DataView(bytes.buffer);
      const putWord = (at: number, value: number): void => {
        view.setUint32(at, value % 2 ** 32, true);
        if (wide) view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
      };
      view.setUint16(16, type, true);
      view.setUint16(18, cls.machine, true);
      view.setUint32(20, 1, true);
      putWord(ehdr.entry, entry);
      putWord(ehdr.phoff, headerBytes);
      view.setUint16(ehdr.phentsize, phentsize, true);
      view.setUint16(ehdr.phnum, phnum, true);
      phdrs.forEach((ph, i) => {
        const at = headerBytes + phdrBytes * i;
        view.setUint32(at, ph.type, true);
        view.setUint32(at + phdr.flags, ph.flags, true);
        putWord(at + phdr.offset, ph.offset);
        putWord(at + phdr.vaddr, ph.vaddr);
        putWord(at + phdr.filesz, ph.filesz);
        putWord(at + phdr.memsz, Math.min(ph.filesz + ph.extra, wide ? 2 ** 47 : 0xffff_ffff));
        putWord(at + phdr.align, 0x1000);
        if (wide && ph.hiBits !== 0) view.setUint32(at + 12 + 8 * ph.which, ph.hiBits, true);
      });
      bytes.set(tail, headerBytes + phdrBytes * phdrs.length);
      return bytes;
    });
}

/**
 * Copies of the named fixtures, cut short now and then, with up to 20 bytes overwritten: anywhere,
 * or below `editBelow` (the headers) when given.
 */
export function mutatedFixture(fixtures: ReadonlyMap<string, Uint8Array>, names: readonly string[], editBelow?: number): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.constantFrom(...names), fc.array(fc.tuple(editBelow === undefined ? fc.nat() : fc.nat({ max: editBelow - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 20 }), fc.option(fc.nat()))
    .map(([name, edits, cut]) => {
      const original = fixtures.get(name)!;
      const bytes = original.slice(0, cut === null ? original.length : cut % (original.length + 1));
      for (const [at, value] of edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
      return bytes;
    });
}
