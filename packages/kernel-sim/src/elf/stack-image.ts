// The initial user stack of a new program, byte for byte as Linux builds it on x86_64 (System V
// x86-64 psABI §3.4.1 "Initial Stack and Register State") and on i386 (i386 psABI §2.3.1: the
// same table with 4-byte words); fs/exec.c copy_strings and fs/binfmt_elf.c create_elf_tables,
// with address randomisation off:
//
//   top ─────────► ┌────────────────────────────┐  stackTopVa (exclusive)
//                  │ end marker (pointer-sized) │  8 bytes on x86_64, 4 on an i386 kernel
//                  │ execfn "\0"                │  AT_EXECFN points here
//                  │ envp strings "\0"…         │  envp[0] lowest
//                  │ argv strings "\0"…         │  argv[0] lowest
//                  ├── round down to 16 ────────┤
//                  │ platform "x86_64\0"/"i686" │  AT_PLATFORM
//                  │ 16 random bytes            │  AT_RANDOM
//                  │ padding                    │
//                  │ auxv pairs …, AT_NULL 0    │
//                  │ NULL                       │
//                  │ envp[0..m-1]               │
//                  │ NULL                       │
//                  │ argv[0..n-1]               │
//   rsp, base ───► │ argc                       │  16-byte aligned
//                  └────────────────────────────┘
//
// Every pointer and auxv word is 8 bytes for an ELF64 program and 4 bytes for an ELF32 one.
import { elfClassOf } from './elf-class';
import { StackImageError } from './elf-errors';
import type { ElfLoadPlan } from './load-plan';
import { defaultUserEndVa } from './load-plan';
import { ELF_PAGE_SIZE } from './parse-elf';
import { show } from '../show-value';

/** Auxiliary vector entry types (include/uapi/linux/auxvec.h). */
export const AT = {
  NULL: 0,
  IGNORE: 1,
  EXECFD: 2,
  PHDR: 3,
  PHENT: 4,
  PHNUM: 5,
  PAGESZ: 6,
  BASE: 7,
  FLAGS: 8,
  ENTRY: 9,
  NOTELF: 10,
  UID: 11,
  EUID: 12,
  GID: 13,
  EGID: 14,
  PLATFORM: 15,
  HWCAP: 16,
  CLKTCK: 17,
  SECURE: 23,
  BASE_PLATFORM: 24,
  RANDOM: 25,
  HWCAP2: 26,
  EXECFN: 31,
  SYSINFO: 32,
  SYSINFO_EHDR: 33,
  RSEQ_FEATURE_SIZE: 27,
  RSEQ_ALIGN: 28,
  MINSIGSTKSZ: 51,
} as const;

/** Options of {@link buildInitialStack}. */
export interface InitialStackOptions {
  /** The load plan: gives AT_PHDR, AT_PHENT, AT_PHNUM, AT_ENTRY. */
  readonly plan: ElfLoadPlan;
  /** Arguments, `argv[0]` first (UTF-8 encoded; no NUL inside). */
  readonly argv: readonly string[];
  /** Environment strings such as `PATH=/bin`. Default none. */
  readonly envp?: readonly string[];
  /** The 16 bytes AT_RANDOM points at (libc seeds its stack canary from them). Required: the caller chooses how random the simulation is. */
  readonly random: Uint8Array;
  /**
   * End (exclusive) of the stack, 16-byte aligned, ≤ 2^47 (ELF64) or ≤ 2^32 (ELF32). Default
   * {@link defaultUserEndVa} of the program's class (Linux's STACK_TOP: 0x0000_7fff_ffff_f000 on
   * x86_64, 0xc000_0000 on i386 with the 3G/1G split).
   */
  readonly stackTopVa?: number;
  /**
   * Size of the zero end marker at the top (fs/exec.c: `sizeof(void *)` of the *kernel*). Default
   * the program's word size: 8 on x86_64, 4 under a native i386 kernel. An i386 program run by an
   * x86_64 kernel (compat mode) gets 8.
   */
  readonly endMarkerBytes?: 4 | 8;
  /** The path AT_EXECFN names. Default `argv[0]`, or '' when argv is empty. */
  readonly execFn?: string;
  /** The AT_PLATFORM string. Default 'x86_64' for ELF64, 'i686' for ELF32 (as Linux says). */
  readonly platform?: string;
  /** AT_UID / AT_EUID. Default 0. */
  readonly uid?: number;
  /** AT_GID / AT_EGID. Default 0. */
  readonly gid?: number;
  /** AT_HWCAP (CPUID.1:EDX on x86). Default 0. */
  readonly hwcap?: number;
  /** AT_HWCAP2 (x86: bit 0 ring3mwait, bit 1 fsgsbase); written after AT_RANDOM only when non-zero, as Linux does. Default 0. */
  readonly hwcap2?: number;
  /**
   * Architecture entries placed first, where x86's ARCH_DLINFO puts AT_SYSINFO_EHDR (the vDSO)
   * and AT_MINSIGSTKSZ (i386 adds AT_SYSINFO, the vDSO's syscall entry, before them). Default
   * none (the simulator has no vDSO).
   */
  readonly archAuxv?: readonly (readonly [number, number])[];
  /** AT_CLKTCK. Default 100 (USER_HZ). */
  readonly clockTicksPerSecond?: number;
  /** AT_BASE: where the interpreter was loaded; 0 for a static program. Default 0. */
  readonly interpreterBase?: number;
  /** Further auxv pairs `[type, value]`, placed after AT_PLATFORM and before AT_NULL (where Linux puts AT_RSEQ_*). */
  readonly extraAuxv?: readonly (readonly [number, number])[];
  /** Largest image allowed (bytes). Default 131072 (32 pages, Linux's classic ARG_MAX). */
  readonly maxBytes?: number;
}

/** The initial stack image: write `bytes` at virtual address `base`, start the program with RSP (ESP) = `rsp`. */
export interface InitialStack {
  /** Initial RSP (ESP for i386): points at argc, 16-byte aligned. */
  readonly rsp: number;
  /** Virtual address of `bytes[0]` (equal to `rsp`: the image starts at the stack pointer). */
  readonly base: number;
  /** End (exclusive) of the image: the stack top. */
  readonly top: number;
  /** The image of `[base, top)`. */
  readonly bytes: Uint8Array;
  /** Address of each argv string. */
  readonly argvVa: readonly number[];
  /** Address of each envp string. */
  readonly envpVa: readonly number[];
  /** Address of the 16 AT_RANDOM bytes. */
  readonly randomVa: number;
  /** Address of the AT_EXECFN string. */
  readonly execFnVa: number;
  /** Address of the AT_PLATFORM string. */
  readonly platformVa: number;
  /** The auxiliary vector as written, AT_NULL last. */
  readonly auxv: readonly (readonly [number, number])[];
  /** Number of stack pages the image touches: `ceil((top - pageStart(base)) / 4096)`. */
  readonly pageCount: number;
}

function encodeString(text: string, what: string): Uint8Array {
  const encoded = new TextEncoder().encode(text);
  if (encoded.includes(0)) throw new StackImageError(`${what} contains a NUL byte, which would end it early`);
  return encoded;
}

function checkWord(value: number, wordBytes: 4 | 8, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new StackImageError(`${what} ${show(value)} is not a non-negative safe integer`);
  if (wordBytes === 4 && value > 0xffff_ffff) throw new StackImageError(`${what} ${show(value)} does not fit a 4-byte word`);
}

/**
 * Builds the initial user stack of a program per the x86_64 (ELF64) or i386 (ELF32) System V ABI,
 * laid out exactly as Linux does with randomisation off: argc, argv pointers, NULL, envp pointers, NULL, the
 * auxiliary vector (`archAuxv`, AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, AT_PHENT, AT_PHNUM, AT_BASE,
 * AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE, AT_RANDOM, AT_HWCAP2 if non-zero,
 * AT_EXECFN, AT_PLATFORM, `extraAuxv`, AT_NULL), then the 16 random bytes and the strings up to the top.
 * Every pointer is a little-endian word of the program's class: u64 for ELF64, u32 for ELF32.
 *
 * @param options - see {@link InitialStackOptions}
 * @returns the image and where it goes
 * @throws {@link StackImageError} (`E_STACK_IMAGE`) for a string with a NUL byte, a stack top that is
 *   not 16-byte aligned or outside `(0, 2^47]` (`(0, 2^32]` for ELF32), `random` not 16 bytes, an
 *   auxv value that is not a non-negative safe integer (or above 2^32 - 1 for ELF32), or an image
 *   larger than `maxBytes`
 */
export function buildInitialStack(options: InitialStackOptions): InitialStack {
  const plan = options.plan;
  const cls = elfClassOf(plan.elf.bits);
  const wordBytes = cls.wordBytes;
  const top = options.stackTopVa ?? defaultUserEndVa(plan.elf.bits);
  const limitText = cls.bits === 64 ? '2^47' : '2^32';
  if (!Number.isSafeInteger(top) || top <= 0 || top > Math.min(cls.userSpaceEnd, 0x8000_0000_0000) || top % 16 !== 0) {
    throw new StackImageError(`stack top ${show(top)} must be 16-byte aligned and within (0, ${limitText}]`);
  }
  const endMarkerBytes = options.endMarkerBytes ?? wordBytes;
  if (endMarkerBytes !== 4 && endMarkerBytes !== 8) throw new StackImageError(`end marker of ${show(endMarkerBytes)} bytes: a pointer is 4 or 8 bytes`);
  if (options.random.length !== 16) throw new StackImageError(`AT_RANDOM needs exactly 16 bytes, got ${options.random.length}`);
  const maxBytes = options.maxBytes ?? 131072;
  const argv = options.argv.map((s, i) => encodeString(s, `argv[${i}]`));
  const envp = (options.envp ?? []).map((s, i) => encodeString(s, `envp[${i}]`));
  const execFn = encodeString(options.execFn ?? options.argv[0] ?? '', 'execFn');
  const platform = encodeString(options.platform ?? cls.platform, 'platform');

  // fs/exec.c: bprm->p starts one pointer below the top (the end marker), then the file name,
  // then envp and argv strings copied last-first downwards, so argv[0] ends up lowest.
  let p = top - endMarkerBytes;
  p -= execFn.length + 1;
  const execFnVa = p;
  const envpVa = new Array<number>(envp.length);
  for (let i = envp.length - 1; i >= 0; i--) {
    p -= envp[i]!.length + 1;
    envpVa[i] = p;
  }
  const argvVa = new Array<number>(argv.length);
  for (let i = argv.length - 1; i >= 0; i--) {
    p -= argv[i]!.length + 1;
    argvVa[i] = p;
  }
  // create_elf_tables: arch_align_stack (no randomisation: round down to 16), platform string,
  // 16 random bytes.
  p -= p % 16;
  p -= platform.length + 1;
  const platformVa = p;
  p -= 16;
  const randomVa = p;

  const uid = options.uid ?? 0;
  const gid = options.gid ?? 0;
  const hwcap2 = options.hwcap2 ?? 0;
  const auxv: (readonly [number, number])[] = [
    ...(options.archAuxv ?? []),
    [AT.HWCAP, options.hwcap ?? 0],
    [AT.PAGESZ, ELF_PAGE_SIZE],
    [AT.CLKTCK, options.clockTicksPerSecond ?? 100],
    [AT.PHDR, plan.phdrVa ?? 0],
    [AT.PHENT, plan.phentBytes],
    [AT.PHNUM, plan.phnum],
    [AT.BASE, options.interpreterBase ?? 0],
    [AT.FLAGS, 0],
    [AT.ENTRY, plan.entry],
    [AT.UID, uid],
    [AT.EUID, uid],
    [AT.GID, gid],
    [AT.EGID, gid],
    [AT.SECURE, 0],
    [AT.RANDOM, randomVa],
    ...(hwcap2 !== 0 ? [[AT.HWCAP2, hwcap2] as const] : []),
    [AT.EXECFN, execFnVa],
    [AT.PLATFORM, platformVa],
    ...(options.extraAuxv ?? []),
    [AT.NULL, 0],
  ];
  for (const [type, value] of auxv) {
    checkWord(type, wordBytes, 'auxv type');
    checkWord(value, wordBytes, `auxv value of type ${type}`);
  }
  // STACK_ROUND(sp - words): the table's start (argc) is 16-byte aligned.
  const words = auxv.length * 2 + 1 + (argv.length + 1) + (envp.length + 1);
  let rsp = p - words * wordBytes;
  rsp -= rsp % 16;
  const sizeBytes = top - rsp;
  if (sizeBytes > maxBytes || rsp <= 0) {
    throw new StackImageError(`initial stack of ${sizeBytes} bytes below ${cls.formatVa(top)} exceeds the ${maxBytes}-byte limit`);
  }

  // Everything validated: build the image.
  const bytes = new Uint8Array(sizeBytes);
  const view = new DataView(bytes.buffer);
  let at = 0;
  const putWord = (value: number): void => {
    view.setUint32(at, value >>> 0, true);
    if (wordBytes === 8) view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
    at += wordBytes;
  };
  putWord(argv.length);
  for (const va of argvVa) putWord(va);
  putWord(0);
  for (const va of envpVa) putWord(va);
  putWord(0);
  for (const [type, value] of auxv) {
    putWord(type);
    putWord(value);
  }
  bytes.set(options.random, randomVa - rsp);
  bytes.set(platform, platformVa - rsp); // NUL terminators: the array is zeroed
  for (let i = 0; i < argv.length; i++) bytes.set(argv[i]!, argvVa[i]! - rsp);
  for (let i = 0; i < envp.length; i++) bytes.set(envp[i]!, envpVa[i]! - rsp);
  bytes.set(execFn, execFnVa - rsp);

  const firstPage = rsp - (rsp % ELF_PAGE_SIZE);
  return {
    rsp,
    base: rsp,
    top,
    bytes,
    argvVa,
    envpVa,
    randomVa,
    execFnVa,
    platformVa,
    auxv,
    pageCount: Math.ceil((top - firstPage) / ELF_PAGE_SIZE),
  };
}
