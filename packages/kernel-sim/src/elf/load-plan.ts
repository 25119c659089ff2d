// What exec(2) does with the PT_LOAD segments, as data: the page ranges to reserve as regions, their
// permissions, and which pages come from the file and which are zero - so the kernel can map
// nothing up front and fill each page on its first fault (demand paging), as Linux does through
// the page cache. Modelled on binfmt_elf.c (load_elf_binary / elf_map / elf_load, Linux 6.x).
import { elfClassOf } from './elf-class';
import { ElfLoadError, ElfPageError } from './elf-errors';
import { hexVa } from './hex';
import { ELF_PAGE_SIZE, PT, type ElfExecutable } from './parse-elf';
import { show } from '../show-value';

const PAGE_MASK = ELF_PAGE_SIZE - 1;

/**
 * Linux's mmap_min_addr default (64 KiB): the lowest address a user mapping may use, so a NULL
 * dereference always faults. Default `userStartVa`.
 */
export const DEFAULT_USER_START_VA = 0x1_0000;

/**
 * Linux's TASK_SIZE for 4-level paging, 0x0000_7fff_ffff_f000: the last user page is never
 * mapped. Default `userEndVa` (exclusive).
 */
export const DEFAULT_USER_END_VA = 0x7fff_ffff_f000;

/**
 * Linux's TASK_SIZE on i386 with the default 3G/1G split (`PAGE_OFFSET` 0xC000_0000): user space
 * is `[0, 0xC000_0000)` and the kernel owns the top GiB, as in seed 002's layout. Default
 * `userEndVa` for an ELF32 program.
 */
export const I386_USER_END_VA = 0xc000_0000;

/** The default end of user space for a program of `bits`: {@link DEFAULT_USER_END_VA} or {@link I386_USER_END_VA}. */
export function defaultUserEndVa(bits: 32 | 64): number {
  return bits === 32 ? I386_USER_END_VA : DEFAULT_USER_END_VA;
}

/** Options of {@link elfLoadPlan}. */
export interface ElfLoadOptions {
  /**
   * Where to load a PIE (ET_DYN): added to every `p_vaddr` and to the entry. Must be a multiple
   * of 4096. Default: {@link defaultPieLoadBias}. For ET_EXEC only 0 (or nothing) is accepted.
   */
  readonly loadBias?: number;
  /** Lowest user virtual address the layout allows (inclusive). Default {@link DEFAULT_USER_START_VA}. */
  readonly userStartVa?: number;
  /**
   * End of the layout's user space (exclusive, ≤ 2^47 for ELF64, ≤ 2^32 for ELF32). Default
   * {@link defaultUserEndVa} of the file's class.
   */
  readonly userEndVa?: number;
  /**
   * Plan a dynamically linked program (one with PT_INTERP) anyway, without its interpreter. The
   * simulator does not load ld.so, so such a program cannot run; this is for showing its address
   * space. Default false: such a program is an {@link ElfLoadError}.
   */
  readonly allowInterpreter?: boolean;
}

/** Page permissions of a segment, straight from `p_flags`: absent `execute` means NX pages. */
export interface SegmentPermissions {
  readonly read: boolean;
  readonly write: boolean;
  readonly execute: boolean;
}

/** A range of virtual addresses, `end` exclusive. */
export interface VaRange {
  readonly start: number;
  readonly end: number;
}

/** How one PT_LOAD segment is placed in memory (all addresses biased). */
export interface ElfSegmentPlan {
  /** Index of the PT_LOAD in the program header table. */
  readonly phdrIndex: number;
  /** First page of the segment (page aligned). */
  readonly start: number;
  /** End of the segment's last page (page aligned, exclusive). */
  readonly end: number;
  /** `(end - start) / 4096`. */
  readonly pageCount: number;
  /** From `p_flags`. x86 paging cannot express write-only or execute-only: any present page is readable. */
  readonly permissions: SegmentPermissions;
  /** The segment's own bytes: `p_offset`, biased `p_vaddr`, `p_filesz`. */
  readonly file: { readonly offset: number; readonly va: number; readonly sizeBytes: number };
  /**
   * Pages whose contents come (at least in part) from the file: `[start, pageEnd(va + p_filesz))`,
   * page `start` holding the file bytes from `fileOffset` (= `p_offset - (p_vaddr mod 4096)`, as
   * mmap maps whole file pages). Empty when `p_filesz` is 0.
   */
  readonly filePages: VaRange & { readonly fileOffset: number };
  /**
   * The bss: bytes `[va + p_filesz, va + p_memsz)` that read as zero. Its head may share the last
   * file page (that page's tail is zeroed after the file bytes, binfmt_elf's padzero). Empty
   * (start = end) when `p_memsz = p_filesz`.
   */
  readonly bss: VaRange;
  /** Pages with no file bytes at all: `[filePages.end, end)`, zero-filled on first touch. */
  readonly zeroPages: VaRange;
}

/** Everything the kernel needs to create a process image from an ELF file. */
export interface ElfLoadPlan {
  /** The parsed file (its bytes are read by {@link pageContents}); `elf.bits` says which class. */
  readonly elf: ElfExecutable;
  /** Added to every `p_vaddr`: 0 for ET_EXEC. */
  readonly loadBias: number;
  /** Biased entry point: the initial RIP. */
  readonly entry: number;
  /** One plan per PT_LOAD with `p_memsz > 0`, ascending and disjoint at page granularity. */
  readonly segments: readonly ElfSegmentPlan[];
  /** Lowest segment start and highest segment end: the span of the image. */
  readonly imageStart: number;
  /** End (exclusive) of the image; where Linux starts the brk heap (after randomisation is off). */
  readonly imageEnd: number;
  /**
   * Where the program header table is in memory (AT_PHDR), found as Linux 6 does: inside the
   * PT_LOAD whose file bytes contain `e_phoff`. Null when no segment maps it.
   */
  readonly phdrVa: number | null;
  /** AT_PHENT: 56 for ELF64, 32 for ELF32. */
  readonly phentBytes: number;
  /** AT_PHNUM. */
  readonly phnum: number;
  /** Whether the stack should be executable (PT_GNU_STACK with PF_X). */
  readonly stackExecutable: boolean;
  /** PT_INTERP path, only non-null when `allowInterpreter` was set. */
  readonly interpreter: string | null;
}

function pageStart(va: number): number {
  return va - (va % ELF_PAGE_SIZE);
}

function pageEnd(va: number): number {
  const r = va % ELF_PAGE_SIZE;
  return r === 0 ? va : va + (ELF_PAGE_SIZE - r);
}

function isPageAligned(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n % ELF_PAGE_SIZE === 0;
}

/**
 * The bias a PIE gets by default: Linux's choice for a PIE with an interpreter when address
 * randomisation is off, scaled to the layout. ELF_ET_DYN_BASE = 2/3 of the user window
 * (`floor(userEndVa / 3) * 2`), rounded down to the largest power-of-two `p_align` of the PT_LOAD
 * segments (at least a page; Linux ≥ 5.10 honours larger alignments), minus the first segment's
 * `p_vaddr`, rounded down to a page (binfmt_elf's `load_bias = ELF_PAGESTART(load_bias - vaddr)`).
 * With the default `userEndVa` this is 0x0000_5555_5555_4000, the address gdb users know; for an
 * i386 PIE under the 3G/1G split it is 0x8000_0000 (Linux i386's ELF_ET_DYN_BASE).
 *
 * Linux puts a PIE *without* an interpreter (a static PIE, or ld.so run directly) in the mmap area
 * instead, just below the stack gap; here every PIE gets this bias, which keeps the mmap area free
 * for the process and gives one predictable picture. Pass `loadBias` to {@link elfLoadPlan} to
 * place it elsewhere.
 *
 * @param elf - a parsed ET_DYN file
 * @param userEndVa - end of user space (exclusive), default {@link defaultUserEndVa} of its class
 * @returns the bias (bytes, page aligned, never negative)
 */
export function defaultPieLoadBias(elf: ElfExecutable, userEndVa: number = defaultUserEndVa(elf.bits)): number {
  let alignment = ELF_PAGE_SIZE;
  for (const ph of elf.loadSegments) {
    const a = ph.alignBytes;
    // maximum_alignment(): only powers of two, at least a page, are honoured.
    if (a > alignment && a <= 0x4000_0000 && (a & (a - 1)) === 0) alignment = a;
  }
  let bias = Math.floor(userEndVa / 3) * 2; // ELF_ET_DYN_BASE
  bias -= bias % alignment;
  bias = pageStart(bias - elf.loadSegments[0]!.vaddr);
  return Math.max(bias, 0);
}

/**
 * The bias that puts a PIE's lowest PT_LOAD page at `baseVa` (a layout's `pieBase`): `baseVa`
 * minus the page holding the first segment's `p_vaddr`, never negative (a PIE linked above
 * `baseVa` keeps its link addresses).
 * @param elf - a parsed ET_DYN file
 * @param baseVa - page-aligned virtual address for the image's first page
 */
export function pieLoadBiasAt(elf: ElfExecutable, baseVa: number): number {
  return Math.max(baseVa - pageStart(elf.loadSegments[0]!.vaddr), 0);
}

/**
 * Plans how to load a parsed ELF executable: one page-aligned region per PT_LOAD (permissions
 * from `p_flags`, NX wherever X is absent), what of each page comes from the file and what is
 * zero, the biased entry point and AT_PHDR. Nothing is read or copied here.
 *
 * @param elf - from {@link parseElf64} or {@link parseElf32}
 * @param options - load bias for a PIE, the layout's user range, whether to accept PT_INTERP
 * @returns the plan
 * @throws {@link ElfLoadError} (`E_ELF_LOAD`) for a dynamically linked program (unless
 *   `allowInterpreter`), a bias on an ET_EXEC, a bias or user range that is not page aligned, or
 *   an image or entry point that falls outside `[userStartVa, userEndVa)`; `offset` names the
 *   file offset of the program header (or header field) at fault where there is one
 */
export function elfLoadPlan(elf: ElfExecutable, options: ElfLoadOptions = {}): ElfLoadPlan {
  const cls = elfClassOf(elf.bits);
  const hexVa = cls.formatVa;
  const userStartVa = options.userStartVa ?? DEFAULT_USER_START_VA;
  const userEndVa = options.userEndVa ?? defaultUserEndVa(elf.bits);
  if (!isPageAligned(userStartVa) || !isPageAligned(userEndVa) || userEndVa > cls.userSpaceEnd || userStartVa >= userEndVa) {
    throw new ElfLoadError(
      `user range [${show(userStartVa)}, ${show(userEndVa)}) must be page aligned, ascending and within ${cls.bits === 64 ? 'the user half (below 2^47)' : 'the 32-bit address space (below 2^32)'}`,
    );
  }
  const interpHeader = elf.programHeaders.find((ph) => ph.type === PT.Interp);
  if (elf.interpreter !== null && options.allowInterpreter !== true) {
    throw new ElfLoadError(
      `dynamically linked program: it needs the interpreter ${elf.interpreter}, which the simulator does not load (link with -static or -static-pie, or pass allowInterpreter: true to plan the program alone)`,
      interpHeader?.headerOffset ?? null,
    );
  }
  let loadBias: number;
  if (options.loadBias !== undefined) {
    if (!isPageAligned(options.loadBias)) throw new ElfLoadError(`load bias ${show(options.loadBias)} is not a non-negative multiple of 4096`);
    if (!elf.positionIndependent && options.loadBias !== 0) {
      throw new ElfLoadError(`load bias ${hexVa(options.loadBias)} given for an ET_EXEC program, which only loads at its link addresses`, 16);
    }
    loadBias = options.loadBias;
  } else {
    loadBias = elf.positionIndependent ? defaultPieLoadBias(elf, userEndVa) : 0;
  }
  if (loadBias >= userEndVa) throw new ElfLoadError(`load bias ${hexVa(loadBias)} is past the end of user space ${hexVa(userEndVa)}`);

  const segments: ElfSegmentPlan[] = [];
  for (const ph of elf.loadSegments) {
    if (ph.memSizeBytes === 0) continue; // maps nothing (binfmt_elf maps zero bytes too)
    const va = ph.vaddr + loadBias;
    const start = pageStart(va);
    const end = pageEnd(va + ph.memSizeBytes);
    if (start < userStartVa || end > userEndVa) {
      throw new ElfLoadError(
        `PT_LOAD ${ph.index} would occupy [${hexVa(start)}, ${hexVa(end)}), outside user space [${hexVa(userStartVa)}, ${hexVa(userEndVa)})`,
        ph.headerOffset,
      );
    }
    const fileEndVa = va + ph.fileSizeBytes;
    const filePagesEnd = ph.fileSizeBytes === 0 ? start : pageEnd(fileEndVa);
    segments.push({
      phdrIndex: ph.index,
      start,
      end,
      pageCount: (end - start) / ELF_PAGE_SIZE,
      permissions: { read: ph.read, write: ph.write, execute: ph.execute },
      file: { offset: ph.offset, va, sizeBytes: ph.fileSizeBytes },
      filePages: { start, end: filePagesEnd, fileOffset: ph.offset - (va & PAGE_MASK) },
      bss: { start: fileEndVa, end: va + ph.memSizeBytes },
      zeroPages: { start: filePagesEnd, end },
    });
  }
  const entry = elf.entry + loadBias;
  if (entry >= userEndVa) throw new ElfLoadError(`entry point ${hexVa(entry)} is past the end of user space ${hexVa(userEndVa)}`, cls.ehdr.entry);

  let phdrVa: number | null = null;
  for (const ph of elf.loadSegments) {
    if (ph.offset <= elf.phoff && elf.phoff - ph.offset < ph.fileSizeBytes) {
      phdrVa = elf.phoff - ph.offset + ph.vaddr + loadBias;
      break;
    }
  }

  return {
    elf,
    loadBias,
    entry,
    segments,
    imageStart: segments[0]?.start ?? 0,
    imageEnd: segments[segments.length - 1]?.end ?? 0,
    phdrVa,
    phentBytes: cls.phdrBytes,
    phnum: elf.phnum,
    stackExecutable: elf.stackExecutable,
    interpreter: elf.interpreter,
  };
}

/**
 * Index in `plan.segments` of the segment whose pages contain `va`, or -1. Binary search over
 * the sorted segments; no allocation. The page-fault handler's first question.
 *
 * @param plan - from {@link elfLoadPlan}
 * @param va - a virtual address (48-bit linear form)
 */
export function findSegment(plan: ElfLoadPlan, va: number): number {
  const segments = plan.segments;
  let lo = 0;
  let hi = segments.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const s = segments[mid]!;
    if (va < s.start) hi = mid - 1;
    else if (va >= s.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/**
 * Fills `out[0, 4096)` with what page `pageVa` of segment `segmentIndex` holds when first
 * touched: the file's bytes where the segment maps the file, zero elsewhere - including the tail
 * of the last file page when the segment has a bss (binfmt_elf's padzero), and anything past the
 * end of the file. As with Linux's mmap of whole file pages, a segment without bss keeps the
 * file's bytes up to its last page's end, and a first page starting below `p_vaddr` holds the
 * file bytes before it (that is how the ELF header and AT_PHDR become visible in memory).
 *
 * Validates its arguments first; writes nothing on error. One subarray view, no other allocation.
 *
 * @param plan - from {@link elfLoadPlan}
 * @param segmentIndex - index into `plan.segments`
 * @param pageVa - page-aligned virtual address inside that segment's `[start, end)`
 * @param out - at least 4096 bytes; bytes past 4096 are left alone
 * @returns how many of the 4096 bytes came from the file (the rest are zero)
 * @throws {@link ElfPageError} (`E_ELF_PAGE`) for an unknown segment, a page outside it or not
 *   page aligned, or an `out` shorter than a page
 */
export function pageContents(plan: ElfLoadPlan, segmentIndex: number, pageVa: number, out: Uint8Array): number {
  const segment = plan.segments[segmentIndex];
  if (segment === undefined || !Number.isInteger(segmentIndex)) {
    throw new ElfPageError(`segment ${show(segmentIndex)} does not exist (the plan has ${plan.segments.length})`);
  }
  if (!Number.isSafeInteger(pageVa) || pageVa % ELF_PAGE_SIZE !== 0 || pageVa < segment.start || pageVa >= segment.end) {
    throw new ElfPageError(
      `page ${Number.isSafeInteger(pageVa) && pageVa >= 0 ? hexVa(pageVa) : show(pageVa)} is not a page of segment ${segmentIndex} [${hexVa(segment.start)}, ${hexVa(segment.end)})`,
    );
  }
  if (out.length < ELF_PAGE_SIZE) throw new ElfPageError(`output buffer of ${out.length} bytes is shorter than a ${ELF_PAGE_SIZE}-byte page`);

  if (pageVa >= segment.filePages.end) {
    out.fill(0, 0, ELF_PAGE_SIZE);
    return 0;
  }
  const bytes = plan.elf.bytes;
  const from = segment.filePages.fileOffset + (pageVa - segment.filePages.start);
  // With a bss, file bytes stop at p_offset + p_filesz; without, at the end of the page (or file).
  const hasBss = segment.bss.end > segment.bss.start;
  const limit = hasBss ? segment.file.offset + segment.file.sizeBytes : bytes.length;
  let count = Math.min(limit, bytes.length) - from;
  if (count > ELF_PAGE_SIZE) count = ELF_PAGE_SIZE;
  if (count < 0) count = 0;
  if (count > 0) out.set(bytes.subarray(from, from + count), 0);
  if (count < ELF_PAGE_SIZE) out.fill(0, count, ELF_PAGE_SIZE);
  return count;
}
