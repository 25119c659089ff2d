// A validating reader for x86 ELF executables: ELF64 (x86_64) and ELF32 (i386) through one parser
// that reads field offsets and widths from a class descriptor (elf-class.ts). System V gABI,
// "ELF-64 Object File Format", the x86-64 psABI and the i386 psABI. It reads what an exec(2)
// needs - the file header and the program header table - and checks everything Linux's
// binfmt_elf checks and a little more, so that a file it accepts always yields a load plan whose
// regions are page aligned and disjoint.
import { ELF32_CLASS, ELF64_CLASS, ELF64_PHDR_SIZE, type ElfClass } from './elf-class';
import { ElfParseError } from './elf-errors';
import { hex64, hexOffset } from './hex';

/** The page size ELF segments are mapped with on x86 (bytes). */
export const ELF_PAGE_SIZE = 4096;

/** First address past the user half of a 4-level address space: 2^47 (0x0000_8000_0000_0000). */
export const USER_SPACE_END = 0x8000_0000_0000;

/** `e_type` values this reader accepts: a fixed-address executable or a PIE / shared object. */
export const ElfType = {
  /** ET_EXEC: linked at fixed addresses, loaded with a bias of 0. */
  Exec: 2,
  /** ET_DYN: position independent (a PIE or a shared object), loaded at a bias the kernel picks. */
  Dyn: 3,
} as const;

/** Program header `p_type` values the loader knows (others are kept and ignored). */
export const PT = {
  Null: 0,
  Load: 1,
  Dynamic: 2,
  Interp: 3,
  Note: 4,
  Shlib: 5,
  Phdr: 6,
  Tls: 7,
  GnuEhFrame: 0x6474_e550,
  GnuStack: 0x6474_e551,
  GnuRelro: 0x6474_e552,
  GnuProperty: 0x6474_e553,
} as const;

/** Program header `p_flags` bits. */
export const PF = { X: 1, W: 2, R: 4 } as const;

/** `e_phnum` value meaning "the real count is in section header 0's sh_info" (gABI). */
export const PN_XNUM = 0xffff;

/**
 * The largest ELF64 program header table Linux's exec accepts: 64 KiB (binfmt_elf's
 * `e_phnum > 65536 / sizeof(struct elf_phdr)` check), i.e. 1170 entries. Also bounds our time.
 * An ELF32 table may hold `65536 / 32` = 2048 entries.
 */
export const MAX_PROGRAM_HEADERS = Math.floor(65536 / ELF64_PHDR_SIZE);

const TWO32 = 0x1_0000_0000;
const PAGE_MASK = ELF_PAGE_SIZE - 1;
/** Linux's PATH_MAX: binfmt_elf rejects a longer PT_INTERP. */
const PATH_MAX = 4096;

/** One entry of the program header table, every field an exact number (< 2^53). */
export interface ElfProgramHeader {
  /** Position in the program header table (0-based). */
  readonly index: number;
  /** Byte offset of this entry in the file. */
  readonly headerOffset: number;
  /** `p_type`, see {@link PT}. */
  readonly type: number;
  /** `p_flags` as in the file, see {@link PF}. */
  readonly flags: number;
  /** `p_flags & PF_R`. */
  readonly read: boolean;
  /** `p_flags & PF_W`. */
  readonly write: boolean;
  /** `p_flags & PF_X`. Absent X means the pages are mapped NX. */
  readonly execute: boolean;
  /** `p_offset`: where the segment's bytes start in the file. */
  readonly offset: number;
  /** `p_vaddr` (unbiased): where the segment starts in memory. */
  readonly vaddr: number;
  /** `p_paddr`, unused by the loader. */
  readonly paddr: number;
  /** `p_filesz`: bytes taken from the file (bytes). */
  readonly fileSizeBytes: number;
  /** `p_memsz`: bytes in memory; beyond fileSizeBytes they read as zero (bss) (bytes). */
  readonly memSizeBytes: number;
  /** `p_align` (bytes). */
  readonly alignBytes: number;
}

/** A validated x86 executable of either class: what {@link parseElf64} and {@link parseElf32} return. */
export interface ElfExecutable {
  /** 64 for an x86_64 ELF64 file, 32 for an i386 ELF32 file. */
  readonly bits: 32 | 64;
  /** The file, unchanged (kept so segment pages can be read lazily). Do not mutate it. */
  readonly bytes: Uint8Array;
  /** `e_type`: {@link ElfType.Exec} or {@link ElfType.Dyn}. */
  readonly type: number;
  /** True for ET_DYN (position independent: the kernel chooses a load bias). */
  readonly positionIndependent: boolean;
  /** `e_ident[EI_OSABI]` (0 System V, 3 GNU/Linux); not checked, as Linux does not. */
  readonly osAbi: number;
  /** `e_entry` (unbiased virtual address). */
  readonly entry: number;
  /** `e_phoff`: file offset of the program header table. */
  readonly phoff: number;
  /** `e_phentsize` (always 56 for ELF64, 32 for ELF32, once validated). */
  readonly phentsize: number;
  /** Number of program headers (from `e_phnum`, or section header 0 when it is PN_XNUM). */
  readonly phnum: number;
  /** Every program header, in table order. */
  readonly programHeaders: readonly ElfProgramHeader[];
  /** The PT_LOAD headers, in table order, which is ascending `p_vaddr` (checked). */
  readonly loadSegments: readonly ElfProgramHeader[];
  /**
   * The PT_INTERP path (e.g. `/lib64/ld-linux-x86-64.so.2`) or null for a static program. A
   * program with an interpreter is dynamically linked: the simulator does not load ld.so, so
   * {@link elfLoadPlan} refuses it unless asked to plan the main program alone.
   */
  readonly interpreter: string | null;
  /** Whether a PT_GNU_STACK header is present. */
  readonly hasGnuStack: boolean;
  /**
   * Whether the stack must be executable: PT_GNU_STACK with PF_X. Without PT_GNU_STACK an x86_64
   * program gets an NX stack (Linux >= 5.8) and an i386 program an executable one (Linux's
   * `elf_read_implies_exec` still holds for ia32).
   */
  readonly stackExecutable: boolean;
  /** The PT_TLS header (thread-local storage template), noted but not used by the loader. */
  readonly tls: ElfProgramHeader | null;
  /** The PT_DYNAMIC header (a static PIE relocates itself; the kernel applies nothing). */
  readonly dynamic: ElfProgramHeader | null;
}

/** A validated x86_64 ELF64 executable: what {@link parseElf64} returns. */
export interface Elf64 extends ElfExecutable {
  readonly bits: 64;
}

/** A validated i386 ELF32 executable: what {@link parseElf32} returns. */
export interface Elf32 extends ElfExecutable {
  readonly bits: 32;
}

function fail(offset: number, reason: string): never {
  throw new ElfParseError(offset, reason);
}

/**
 * Reads a size/offset field of the class's width (an ELF32 word or an ELF64 u64 read as two u32
 * halves); ≥ 2^53 is rejected, never rounded.
 */
function word(cls: ElfClass, view: DataView, at: number, what: string): number {
  const lo = view.getUint32(at, true);
  if (cls.wordBytes === 4) return lo;
  const hi = view.getUint32(at + 4, true);
  if (hi >= 0x20_0000) fail(at, `${what} ${hex64(hi, lo)} is 2^53 or more and cannot be represented exactly`);
  return hi * TWO32 + lo;
}

/**
 * Reads a user virtual address: for ELF64 it must lie in the user half, below 2^47; every ELF32
 * address is a 32-bit one (which of them are user space is the kernel's split, checked by the
 * load plan).
 */
function userVa(cls: ElfClass, view: DataView, at: number, what: string): number {
  const lo = view.getUint32(at, true);
  if (cls.wordBytes === 4) return lo;
  const hi = view.getUint32(at + 4, true);
  if (hi >= 0x8000) {
    if (hi >= 0xffff_8000) {
      fail(at, `${what} ${hex64(hi, lo)} is in the kernel half; a user program must lie below ${cls.formatVa(USER_SPACE_END)}`);
    }
    fail(at, `${what} ${hex64(hi, lo)} is not canonical (bits 63:47 must all equal bit 47)`);
  }
  return hi * TWO32 + lo;
}

function typeName(type: number): string {
  switch (type) {
    case 0:
      return 'ET_NONE';
    case 1:
      return 'ET_REL (a relocatable object)';
    case 4:
      return 'ET_CORE (a core dump)';
    default:
      return `e_type ${type}`;
  }
}

/**
 * Parses and validates an x86_64 ELF64 executable (ET_EXEC or ET_DYN / PIE).
 *
 * Checks: header present and not truncated, magic, ELFCLASS64, little-endian, version 1,
 * e_type EXEC or DYN, e_machine EM_X86_64, entry in the user half, e_phentsize = 56, the program
 * header table inside the file (PN_XNUM resolved through section header 0; at most
 * {@link MAX_PROGRAM_HEADERS} entries as Linux allows), and for every PT_LOAD: file range inside
 * the file, `p_filesz <= p_memsz`, `[p_vaddr, p_vaddr + p_memsz)` inside the user half (below
 * 2^47), `p_offset ≡ p_vaddr (mod 4096)` (mmap needs it), ascending `p_vaddr`, and no two
 * segments overlapping or sharing a page. PT_INTERP must be inside the file and NUL-terminated.
 * Every 64-bit field is read as two u32 halves; a value ≥ 2^53 is rejected, never rounded.
 *
 * The returned view keeps a reference to `bytes` (no copy).
 *
 * @param bytes - the whole file
 * @returns the validated header and program headers
 * @throws {@link ElfParseError} (`E_ELF_PARSE`) with the byte offset of the first problem found
 *   (an ELF32 file is refused at offset 4, EI_CLASS)
 */
export function parseElf64(bytes: Uint8Array): Elf64 {
  return parseElfClass(bytes, ELF64_CLASS) as Elf64;
}

/**
 * Parses and validates an i386 ELF32 executable (ET_EXEC or ET_DYN / PIE), with the same checks
 * as {@link parseElf64} on the ELF32 layout: 52-byte header, ELFCLASS32, e_machine EM_386,
 * e_phentsize 32, at most 2048 program headers (64 KiB of table), and every PT_LOAD's
 * `[p_vaddr, p_vaddr + p_memsz)` inside the 4 GiB address space (no wrap). Which part of it is
 * user space is the kernel's choice: {@link elfLoadPlan} checks the segments against it.
 *
 * @param bytes - the whole file
 * @returns the validated header and program headers (`bits: 32`)
 * @throws {@link ElfParseError} (`E_ELF_PARSE`) with the byte offset of the first problem found
 *   (an ELF64 file is refused at offset 4, EI_CLASS)
 */
export function parseElf32(bytes: Uint8Array): Elf32 {
  return parseElfClass(bytes, ELF32_CLASS) as Elf32;
}

function parseElfClass(bytes: Uint8Array, cls: ElfClass): ElfExecutable {
  const length = bytes.length;
  const name = `ELF${cls.bits}`;
  if (length < cls.headerBytes) {
    if (length >= 4 && !(bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46)) {
      fail(0, 'bad magic: not an ELF file (expected 7f 45 4c 46)');
    }
    fail(length, `truncated header: the file is ${length} bytes, an ${name} header needs ${cls.headerBytes}`);
  }
  if (!(bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46)) {
    fail(0, 'bad magic: not an ELF file (expected 7f 45 4c 46)');
  }
  const elfClass = bytes[4]!;
  if (elfClass !== cls.identClass) {
    if (elfClass === 1) fail(4, `ELFCLASS32: a 32-bit (i386) file, this loader reads ELF64 (${cls.machineName}) only`);
    if (elfClass === 2) fail(4, `ELFCLASS64: a 64-bit (x86_64) file, this loader reads ELF32 (${cls.machineName}) only`);
    fail(4, `bad EI_CLASS ${elfClass} (expected ${cls.identClass}, ELFCLASS${cls.bits})`);
  }
  const data = bytes[5]!;
  if (data !== 1) {
    fail(5, data === 2 ? `ELFDATA2MSB: big-endian, ${cls.machineName} is little-endian` : `bad EI_DATA ${data} (expected 1, little-endian)`);
  }
  if (bytes[6] !== 1) fail(6, `bad EI_VERSION ${bytes[6]} (expected 1, EV_CURRENT)`);
  const osAbi = bytes[7]!;

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(16, true);
  if (type !== ElfType.Exec && type !== ElfType.Dyn) {
    fail(16, `${typeName(type)} is not an executable (expected ET_EXEC 2 or ET_DYN 3)`);
  }
  const machine = view.getUint16(18, true);
  if (machine !== cls.machine) {
    const other = cls === ELF64_CLASS ? ELF32_CLASS : ELF64_CLASS;
    const known = machine === other.machine ? `; ${machine} is ${other.machineName}` : '';
    fail(18, `e_machine ${machine} is not ${cls.machineName} (expected ${cls.machine}${known})`);
  }
  const version = view.getUint32(20, true);
  if (version !== 1) fail(20, `bad e_version ${version} (expected 1)`);
  const eh = cls.ehdr;
  const entry = userVa(cls, view, eh.entry, 'entry point');
  const phoff = word(cls, view, eh.phoff, 'e_phoff');
  const phentsize = view.getUint16(eh.phentsize, true);
  let phnum = view.getUint16(eh.phnum, true);

  if (phnum === PN_XNUM) {
    // gABI: with PN_XNUM the real count is sh_info of section header 0.
    const shoff = word(cls, view, eh.shoff, 'e_shoff');
    if (shoff === 0) fail(eh.phnum, 'e_phnum is PN_XNUM but there is no section header 0 holding the real count');
    const shentsize = view.getUint16(eh.shentsize, true);
    if (shentsize !== cls.shdrBytes) fail(eh.shentsize, `e_shentsize ${shentsize} is not ${cls.shdrBytes} (needed to read the PN_XNUM count)`);
    if (shoff > length - cls.shdrBytes) fail(eh.shoff, `section header 0 at ${hexOffset(shoff)} lies outside the ${length}-byte file`);
    phnum = view.getUint32(shoff + cls.shInfo, true);
  }
  if (phnum === 0) fail(eh.phnum, 'no program headers: nothing to load');
  if (phentsize !== cls.phdrBytes) fail(eh.phentsize, `e_phentsize ${phentsize} does not match sizeof(Elf${cls.bits}_Phdr) = ${cls.phdrBytes}`);
  const maxHeaders = Math.floor(65536 / cls.phdrBytes);
  if (phnum > maxHeaders) {
    fail(eh.phnum, `${phnum} program headers: more than the ${maxHeaders} (64 KiB of table) an exec accepts`);
  }
  const tableBytes = phnum * cls.phdrBytes;
  if (phoff > length || tableBytes > length - phoff) {
    fail(eh.phoff, `program header table [${hexOffset(phoff)}, +${hexOffset(tableBytes)}) lies outside the ${length}-byte file`);
  }

  const programHeaders: ElfProgramHeader[] = [];
  const loadSegments: ElfProgramHeader[] = [];
  let interpreter: string | null = null;
  let hasGnuStack = false;
  let stackExecutable = cls.execStackByDefault;
  let tls: ElfProgramHeader | null = null;
  let dynamic: ElfProgramHeader | null = null;
  // The last PT_LOAD with pages (p_memsz > 0): sortedness and disjointness are checked against it.
  let lastNonEmpty: ElfProgramHeader | undefined;

  const f = cls.phdr;
  for (let index = 0; index < phnum; index++) {
    const at = phoff + index * cls.phdrBytes;
    const ptype = view.getUint32(at, true);
    const flags = view.getUint32(at + f.flags, true);
    const isLoad = ptype === PT.Load;
    const offset = word(cls, view, at + f.offset, `p_offset of program header ${index}`);
    const vaddr = isLoad ? userVa(cls, view, at + f.vaddr, `p_vaddr of PT_LOAD ${index}`) : word(cls, view, at + f.vaddr, `p_vaddr of program header ${index}`);
    const paddr = word(cls, view, at + f.paddr, `p_paddr of program header ${index}`);
    const fileSizeBytes = word(cls, view, at + f.filesz, `p_filesz of program header ${index}`);
    const memSizeBytes = word(cls, view, at + f.memsz, `p_memsz of program header ${index}`);
    const alignBytes = word(cls, view, at + f.align, `p_align of program header ${index}`);
    const ph: ElfProgramHeader = {
      index,
      headerOffset: at,
      type: ptype,
      flags,
      read: (flags & PF.R) !== 0,
      write: (flags & PF.W) !== 0,
      execute: (flags & PF.X) !== 0,
      offset,
      vaddr,
      paddr,
      fileSizeBytes,
      memSizeBytes,
      alignBytes,
    };
    programHeaders.push(ph);

    if (isLoad) {
      checkLoad(cls, ph, length, lastNonEmpty);
      loadSegments.push(ph);
      if (ph.memSizeBytes > 0) lastNonEmpty = ph;
    } else if (ptype === PT.Interp) {
      if (interpreter === null) interpreter = readInterp(cls, bytes, ph);
    } else if (ptype === PT.GnuStack) {
      // binfmt_elf: the last PT_GNU_STACK wins.
      hasGnuStack = true;
      stackExecutable = ph.execute;
    } else if (ptype === PT.Tls) {
      tls ??= ph;
    } else if (ptype === PT.Dynamic) {
      dynamic ??= ph;
    }
  }
  if (loadSegments.length === 0) fail(eh.phoff, 'no PT_LOAD segment: nothing to load');

  return {
    bits: cls.bits,
    bytes,
    type,
    positionIndependent: type === ElfType.Dyn,
    osAbi,
    entry,
    phoff,
    phentsize,
    phnum,
    programHeaders,
    loadSegments,
    interpreter,
    hasGnuStack,
    stackExecutable,
    tls,
    dynamic,
  };
}

function checkLoad(cls: ElfClass, ph: ElfProgramHeader, fileLength: number, previous: ElfProgramHeader | undefined): void {
  const at = ph.headerOffset;
  const f = cls.phdr;
  const hexVa = cls.formatVa;
  const name = `PT_LOAD ${ph.index}`;
  if (ph.offset > fileLength || ph.fileSizeBytes > fileLength - ph.offset) {
    fail(at + f.offset, `${name} file range [${hexOffset(ph.offset)}, +${hexOffset(ph.fileSizeBytes)}) lies outside the ${fileLength}-byte file`);
  }
  if (ph.fileSizeBytes > ph.memSizeBytes) {
    fail(at + f.filesz, `${name} p_filesz ${hexOffset(ph.fileSizeBytes)} exceeds p_memsz ${hexOffset(ph.memSizeBytes)}`);
  }
  if (ph.memSizeBytes > cls.userSpaceEnd - ph.vaddr) {
    fail(at + f.memsz, `${name} [${hexVa(ph.vaddr)}, +${hexOffset(ph.memSizeBytes)}) runs past the end of ${cls.bits === 64 ? 'user space' : 'the 32-bit address space'} ${hexVa(cls.userSpaceEnd)}`);
  }
  // mmap maps whole pages of the file: the byte at p_offset must land at p_vaddr (binfmt_elf's
  // elf_map maps file offset p_offset - PAGEOFFSET(p_vaddr) at PAGESTART(p_vaddr)).
  if (ph.offset % ELF_PAGE_SIZE !== ph.vaddr % ELF_PAGE_SIZE) {
    fail(at + f.offset, `${name} p_offset ${hexOffset(ph.offset)} and p_vaddr ${hexVa(ph.vaddr)} differ modulo the 4096-byte page`);
  }
  if (previous === undefined || ph.memSizeBytes === 0) return;
  // gABI: "loadable segment entries in the program header table appear in ascending order,
  // sorted on the p_vaddr member". Sorted, disjointness only needs checking against the previous.
  if (ph.vaddr < previous.vaddr) {
    fail(at + f.vaddr, `${name} p_vaddr ${hexVa(ph.vaddr)} is below that of PT_LOAD ${previous.index} (${hexVa(previous.vaddr)}): PT_LOAD segments must be sorted`);
  }
  const previousEnd = previous.vaddr + previous.memSizeBytes;
  if (ph.vaddr < previousEnd) {
    fail(at + f.vaddr, `${name} [${hexVa(ph.vaddr)}, ${hexVa(ph.vaddr + ph.memSizeBytes)}) overlaps PT_LOAD ${previous.index} [${hexVa(previous.vaddr)}, ${hexVa(previousEnd)})`);
  }
  // Each segment becomes a region with its own permissions, page by page: two segments in one
  // page would need one page with two sets of permissions. ld keeps them apart (-z separate-code,
  // DATA_SEGMENT_ALIGN); a file that does not is refused rather than loaded with merged rights.
  const previousLastPage = (previousEnd - 1) - ((previousEnd - 1) & PAGE_MASK);
  const firstPage = ph.vaddr - (ph.vaddr & PAGE_MASK);
  if (firstPage <= previousLastPage) {
    fail(at + f.vaddr, `${name} at ${hexVa(ph.vaddr)} shares the page ${hexVa(firstPage)} with PT_LOAD ${previous.index}; each segment needs pages of its own`);
  }
}

function readInterp(cls: ElfClass, bytes: Uint8Array, ph: ElfProgramHeader): string {
  const at = ph.headerOffset;
  if (ph.offset > bytes.length || ph.fileSizeBytes > bytes.length - ph.offset) {
    fail(at + cls.phdr.offset, `PT_INTERP [${hexOffset(ph.offset)}, +${hexOffset(ph.fileSizeBytes)}) lies outside the ${bytes.length}-byte file`);
  }
  if (ph.fileSizeBytes < 2 || ph.fileSizeBytes > PATH_MAX) {
    fail(at + cls.phdr.filesz, `PT_INTERP size ${ph.fileSizeBytes} is not a path (2..${PATH_MAX} bytes with its NUL)`);
  }
  const end = ph.offset + ph.fileSizeBytes - 1;
  if (bytes[end] !== 0) fail(end, 'PT_INTERP path is not NUL-terminated');
  let text = '';
  for (let i = ph.offset; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}
