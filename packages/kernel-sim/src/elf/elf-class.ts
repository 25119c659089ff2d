// The two ELF classes the loader reads, as data: where each field sits in the file header and a
// program header, how wide a word is, and what address space the class's programs live in. One
// parser and one load planner read both classes through these tables (System V gABI "ELF Header"
// and "Program Header"; Elf32_* fields are 4 bytes where Elf64_* ones are 8, and Elf32_Phdr puts
// p_flags after p_memsz).
import { hexVa, hexVa32 } from './hex';

/** `e_machine` of x86_64 (EM_X86_64). */
export const EM_X86_64 = 62;

/** `e_machine` of i386 (EM_386). */
export const EM_386 = 3;

/** Size of one Elf64_Phdr (bytes); `e_phentsize` of an ELF64 file must equal it. */
export const ELF64_PHDR_SIZE = 56;

/** Size of one Elf32_Phdr (bytes); `e_phentsize` of an ELF32 file must equal it. */
export const ELF32_PHDR_SIZE = 32;

/** Where each field lives and what the class allows: see {@link ELF64_CLASS} and {@link ELF32_CLASS}. */
export interface ElfClass {
  /** 64 for ELFCLASS64 (x86_64), 32 for ELFCLASS32 (i386). */
  readonly bits: 32 | 64;
  /** `e_ident[EI_CLASS]`: 2 for ELFCLASS64, 1 for ELFCLASS32. */
  readonly identClass: 1 | 2;
  /** The only `e_machine` accepted. */
  readonly machine: number;
  /** For messages: `x86_64`, `i386`. */
  readonly machineName: string;
  /** `sizeof(ElfN_Ehdr)` (bytes). */
  readonly headerBytes: number;
  /** `sizeof(ElfN_Phdr)` (bytes). */
  readonly phdrBytes: number;
  /** `sizeof(ElfN_Shdr)` (bytes). */
  readonly shdrBytes: number;
  /** Width of an address or an offset field, and of a word on the initial stack (bytes). */
  readonly wordBytes: 4 | 8;
  /** First address past the class's user address space: 2^47 (4-level user half), 2^32. */
  readonly userSpaceEnd: number;
  /** File-header field offsets. */
  readonly ehdr: { readonly entry: number; readonly phoff: number; readonly shoff: number; readonly phentsize: number; readonly phnum: number; readonly shentsize: number };
  /** Program-header field offsets. */
  readonly phdr: { readonly flags: number; readonly offset: number; readonly vaddr: number; readonly paddr: number; readonly filesz: number; readonly memsz: number; readonly align: number };
  /** Offset of `sh_info` in a section header (where PN_XNUM keeps the real program header count). */
  readonly shInfo: number;
  /**
   * Whether a program without PT_GNU_STACK gets an executable stack: true for i386 (Linux's
   * `elf_read_implies_exec` for ia32), false for x86_64 (Linux >= 5.8).
   */
  readonly execStackByDefault: boolean;
  /** The AT_PLATFORM string Linux gives the class's programs: `x86_64`, `i686`. */
  readonly platform: string;
  /** Formats a user virtual address of this class for messages. */
  readonly formatVa: (va: number) => string;
}

/** ELFCLASS64, x86_64: 64-byte header, 56-byte program headers, user half below 2^47. */
export const ELF64_CLASS: ElfClass = Object.freeze({
  bits: 64,
  identClass: 2,
  machine: EM_X86_64,
  machineName: 'x86_64',
  headerBytes: 64,
  phdrBytes: ELF64_PHDR_SIZE,
  shdrBytes: 64,
  wordBytes: 8,
  userSpaceEnd: 0x8000_0000_0000,
  ehdr: Object.freeze({ entry: 24, phoff: 32, shoff: 40, phentsize: 54, phnum: 56, shentsize: 58 }),
  phdr: Object.freeze({ flags: 4, offset: 8, vaddr: 16, paddr: 24, filesz: 32, memsz: 40, align: 48 }),
  shInfo: 44,
  execStackByDefault: false,
  platform: 'x86_64',
  formatVa: hexVa,
});

/** ELFCLASS32, i386: 52-byte header, 32-byte program headers, a 4 GiB address space. */
export const ELF32_CLASS: ElfClass = Object.freeze({
  bits: 32,
  identClass: 1,
  machine: EM_386,
  machineName: 'i386',
  headerBytes: 52,
  phdrBytes: ELF32_PHDR_SIZE,
  shdrBytes: 40,
  wordBytes: 4,
  userSpaceEnd: 0x1_0000_0000,
  ehdr: Object.freeze({ entry: 24, phoff: 28, shoff: 32, phentsize: 42, phnum: 44, shentsize: 46 }),
  phdr: Object.freeze({ offset: 4, vaddr: 8, paddr: 12, filesz: 16, memsz: 20, flags: 24, align: 28 }),
  shInfo: 28,
  execStackByDefault: true,
  platform: 'i686',
  formatVa: hexVa32,
});

/** The class descriptor for `bits`. */
export function elfClassOf(bits: 32 | 64): ElfClass {
  return bits === 32 ? ELF32_CLASS : ELF64_CLASS;
}

