// A validating reader for x86_64 ELF64 executables (System V gABI, "ELF-64 Object File Format"
// and the x86-64 psABI). It reads what an exec(2) needs - the file header and the program header
// table - and checks everything Linux's binfmt_elf checks and a little more, so that a file it
// accepts always yields a load plan whose regions are page aligned and disjoint.
import { ElfParseError } from './elf-errors';
import { hex64, hexOffset, hexVa } from './hex';

/** The page size ELF segments are mapped with on x86_64 (bytes). */
export const ELF_PAGE_SIZE = 4096;

/** First address past the user half of a 4-level address space: 2^47 (0x0000_8000_0000_0000). */
export const USER_SPACE_END = 0x8000_0000_0000;

/** `e_machine` of x86_64 (EM_X86_64). */
export const EM_X86_64 = 62;

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

/** Size of one Elf64_Phdr (bytes); `e_phentsize` must equal it. */
export const ELF64_PHDR_SIZE = 56;

/**
 * The largest program header table Linux's exec accepts: 64 KiB (binfmt_elf's
 * `e_phnum > 65536 / sizeof(struct elf_phdr)` check), i.e. 1170 entries. Also bounds our time.
 */
export const MAX_PROGRAM_HEADERS = Math.floor(65536 / ELF64_PHDR_SIZE);

const TWO32 = 0x1_0000_0000;
const PAGE_MASK = ELF_PAGE_SIZE - 1;
/** Linux's PATH_MAX: binfmt_elf rejects a longer PT_INTERP. */
const PATH_MAX = 4096;

/** One entry of the program header table, every 64-bit field an exact number (< 2^53). */
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

/** A validated x86_64 ELF64 executable: what {@link parseElf64} returns. */
export interface Elf64 {
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
  /** `e_phentsize` (always 56 once validated). */
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
   * program gets an NX stack too (Linux >= 5.8 only implies exec for 32-bit programs).
   */
  readonly stackExecutable: boolean;
  /** The PT_TLS header (thread-local storage template), noted but not used by the loader. */
  readonly tls: ElfProgramHeader | null;
  /** The PT_DYNAMIC header (a static PIE relocates itself; the kernel applies nothing). */
  readonly dynamic: ElfProgramHeader | null;
}

function fail(offset: number, reason: string): never {
  throw new ElfParseError(offset, reason);
}

/** Reads a u64 size/offset field; ≥ 2^53 is rejected, never rounded. */
function u64(view: DataView, at: number, what: string): number {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  if (hi >= 0x20_0000) fail(at, `${what} ${hex64(hi, lo)} is 2^53 or more and cannot be represented exactly`);
  return hi * TWO32 + lo;
}

/** Reads a u64 user virtual address: it must lie in the user half, below 2^47. */
function userVa(view: DataView, at: number, what: string): number {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  if (hi >= 0x8000) {
    if (hi >= 0xffff_8000) {
      fail(at, `${what} ${hex64(hi, lo)} is in the kernel half; a user program must lie below ${hexVa(USER_SPACE_END)}`);
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
 */
export function parseElf64(bytes: Uint8Array): Elf64 {
  const length = bytes.length;
  if (length < 64) {
    if (length >= 4 && !(bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46)) {
      fail(0, 'bad magic: not an ELF file (expected 7f 45 4c 46)');
    }
    fail(length, `truncated header: the file is ${length} bytes, an ELF64 header needs 64`);
  }
  if (!(bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46)) {
    fail(0, 'bad magic: not an ELF file (expected 7f 45 4c 46)');
  }
  const elfClass = bytes[4]!;
  if (elfClass !== 2) {
    fail(4, elfClass === 1 ? 'ELFCLASS32: a 32-bit file, only ELF64 is supported' : `bad EI_CLASS ${elfClass} (expected 2, ELFCLASS64)`);
  }
  const data = bytes[5]!;
  if (data !== 1) {
    fail(5, data === 2 ? 'ELFDATA2MSB: big-endian, x86_64 is little-endian' : `bad EI_DATA ${data} (expected 1, little-endian)`);
  }
  if (bytes[6] !== 1) fail(6, `bad EI_VERSION ${bytes[6]} (expected 1, EV_CURRENT)`);
  const osAbi = bytes[7]!;

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(16, true);
  if (type !== ElfType.Exec && type !== ElfType.Dyn) {
    fail(16, `${typeName(type)} is not an executable (expected ET_EXEC 2 or ET_DYN 3)`);
  }
  const machine = view.getUint16(18, true);
  if (machine !== EM_X86_64) fail(18, `e_machine ${machine} is not x86_64 (expected EM_X86_64 = 62)`);
  const version = view.getUint32(20, true);
  if (version !== 1) fail(20, `bad e_version ${version} (expected 1)`);
  const entry = userVa(view, 24, 'entry point');
  const phoff = u64(view, 32, 'e_phoff');
  const phentsize = view.getUint16(54, true);
  let phnum = view.getUint16(56, true);

  if (phnum === PN_XNUM) {
    // gABI: with PN_XNUM the real count is sh_info of section header 0 (Elf64_Shdr, 64 bytes).
    const shoff = u64(view, 40, 'e_shoff');
    if (shoff === 0) fail(56, 'e_phnum is PN_XNUM but there is no section header 0 holding the real count');
    const shentsize = view.getUint16(58, true);
    if (shentsize !== 64) fail(58, `e_shentsize ${shentsize} is not 64 (needed to read the PN_XNUM count)`);
    if (shoff > length - 64) fail(40, `section header 0 at ${hexOffset(shoff)} lies outside the ${length}-byte file`);
    phnum = view.getUint32(shoff + 44, true);
  }
  if (phnum === 0) fail(56, 'no program headers: nothing to load');
  if (phentsize !== ELF64_PHDR_SIZE) fail(54, `e_phentsize ${phentsize} does not match sizeof(Elf64_Phdr) = 56`);
  if (phnum > MAX_PROGRAM_HEADERS) {
    fail(56, `${phnum} program headers: more than the ${MAX_PROGRAM_HEADERS} (64 KiB of table) an exec accepts`);
  }
  const tableBytes = phnum * ELF64_PHDR_SIZE;
  if (phoff > length || tableBytes > length - phoff) {
    fail(32, `program header table [${hexOffset(phoff)}, +${hexOffset(tableBytes)}) lies outside the ${length}-byte file`);
  }

  const programHeaders: ElfProgramHeader[] = [];
  const loadSegments: ElfProgramHeader[] = [];
  let interpreter: string | null = null;
  let hasGnuStack = false;
  let stackExecutable = false;
  let tls: ElfProgramHeader | null = null;
  let dynamic: ElfProgramHeader | null = null;
  // The last PT_LOAD with pages (p_memsz > 0): sortedness and disjointness are checked against it.
  let lastNonEmpty: ElfProgramHeader | undefined;

  for (let index = 0; index < phnum; index++) {
    const at = phoff + index * ELF64_PHDR_SIZE;
    const ptype = view.getUint32(at, true);
    const flags = view.getUint32(at + 4, true);
    const isLoad = ptype === PT.Load;
    const offset = u64(view, at + 8, `p_offset of program header ${index}`);
    const vaddr = isLoad ? userVa(view, at + 16, `p_vaddr of PT_LOAD ${index}`) : u64(view, at + 16, `p_vaddr of program header ${index}`);
    const paddr = u64(view, at + 24, `p_paddr of program header ${index}`);
    const fileSizeBytes = u64(view, at + 32, `p_filesz of program header ${index}`);
    const memSizeBytes = u64(view, at + 40, `p_memsz of program header ${index}`);
    const alignBytes = u64(view, at + 48, `p_align of program header ${index}`);
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
      checkLoad(ph, length, lastNonEmpty);
      loadSegments.push(ph);
      if (ph.memSizeBytes > 0) lastNonEmpty = ph;
    } else if (ptype === PT.Interp) {
      if (interpreter === null) interpreter = readInterp(bytes, ph);
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
  if (loadSegments.length === 0) fail(32, 'no PT_LOAD segment: nothing to load');

  return {
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

function checkLoad(ph: ElfProgramHeader, fileLength: number, previous: ElfProgramHeader | undefined): void {
  const at = ph.headerOffset;
  const name = `PT_LOAD ${ph.index}`;
  if (ph.offset > fileLength || ph.fileSizeBytes > fileLength - ph.offset) {
    fail(at + 8, `${name} file range [${hexOffset(ph.offset)}, +${hexOffset(ph.fileSizeBytes)}) lies outside the ${fileLength}-byte file`);
  }
  if (ph.fileSizeBytes > ph.memSizeBytes) {
    fail(at + 32, `${name} p_filesz ${hexOffset(ph.fileSizeBytes)} exceeds p_memsz ${hexOffset(ph.memSizeBytes)}`);
  }
  if (ph.memSizeBytes > USER_SPACE_END - ph.vaddr) {
    fail(at + 40, `${name} [${hexVa(ph.vaddr)}, +${hexOffset(ph.memSizeBytes)}) runs past the end of user space ${hexVa(USER_SPACE_END)}`);
  }
  // mmap maps whole pages of the file: the byte at p_offset must land at p_vaddr (binfmt_elf's
  // elf_map maps file offset p_offset - PAGEOFFSET(p_vaddr) at PAGESTART(p_vaddr)).
  if (ph.offset % ELF_PAGE_SIZE !== ph.vaddr % ELF_PAGE_SIZE) {
    fail(at + 8, `${name} p_offset ${hexOffset(ph.offset)} and p_vaddr ${hexVa(ph.vaddr)} differ modulo the 4096-byte page`);
  }
  if (previous === undefined || ph.memSizeBytes === 0) return;
  // gABI: "loadable segment entries in the program header table appear in ascending order,
  // sorted on the p_vaddr member". Sorted, disjointness only needs checking against the previous.
  if (ph.vaddr < previous.vaddr) {
    fail(at + 16, `${name} p_vaddr ${hexVa(ph.vaddr)} is below that of PT_LOAD ${previous.index} (${hexVa(previous.vaddr)}): PT_LOAD segments must be sorted`);
  }
  const previousEnd = previous.vaddr + previous.memSizeBytes;
  if (ph.vaddr < previousEnd) {
    fail(at + 16, `${name} [${hexVa(ph.vaddr)}, ${hexVa(ph.vaddr + ph.memSizeBytes)}) overlaps PT_LOAD ${previous.index} [${hexVa(previous.vaddr)}, ${hexVa(previousEnd)})`);
  }
  // Each segment becomes a region with its own permissions, page by page: two segments in one
  // page would need one page with two sets of permissions. ld keeps them apart (-z separate-code,
  // DATA_SEGMENT_ALIGN); a file that does not is refused rather than loaded with merged rights.
  const previousLastPage = (previousEnd - 1) - ((previousEnd - 1) & PAGE_MASK);
  const firstPage = ph.vaddr - (ph.vaddr & PAGE_MASK);
  if (firstPage <= previousLastPage) {
    fail(at + 16, `${name} at ${hexVa(ph.vaddr)} shares the page ${hexVa(firstPage)} with PT_LOAD ${previous.index}; each segment needs pages of its own`);
  }
}

function readInterp(bytes: Uint8Array, ph: ElfProgramHeader): string {
  const at = ph.headerOffset;
  if (ph.offset > bytes.length || ph.fileSizeBytes > bytes.length - ph.offset) {
    fail(at + 8, `PT_INTERP [${hexOffset(ph.offset)}, +${hexOffset(ph.fileSizeBytes)}) lies outside the ${bytes.length}-byte file`);
  }
  if (ph.fileSizeBytes < 2 || ph.fileSizeBytes > PATH_MAX) {
    fail(at + 32, `PT_INTERP size ${ph.fileSizeBytes} is not a path (2..${PATH_MAX} bytes with its NUL)`);
  }
  const end = ph.offset + ph.fileSizeBytes - 1;
  if (bytes[end] !== 0) fail(end, 'PT_INTERP path is not NUL-terminated');
  let text = '';
  for (let i = ph.offset; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}
