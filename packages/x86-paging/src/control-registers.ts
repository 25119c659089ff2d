// The architectural registers paging depends on (SDM vol. 3A 2.5 "Control Registers", 4.1.1),
// as named bit constants plus a small state holder the Mmu reads on every translation.
import { show } from './show-value';
import { formatPa, KmemError, type PhysicalMemory } from './api';
import { PDPTE_PAE_RESERVED_LO, pdptePaeReservedHi } from './entry-pae';
import { type PagingMode, pagingModeOf } from './paging-mode';
import { brand } from './brand';

/** CR0 bits that matter to paging (SDM 2.5). `PG` is bit 31: a negative int32, test with `!== 0`. */
export const CR0 = {
  /** Protection enable (bit 0). */
  PE: 1 << 0,
  /** Write protect (bit 16): when 1, supervisor writes honour R/W (SDM 4.6.1). */
  WP: 1 << 16,
  /** Paging (bit 31): when 0 the Mmu translates linear = physical. */
  PG: (1 << 31) | 0,
} as const;

/** CR4 bits that matter to paging (SDM 2.5). */
export const CR4 = {
  /** Physical address extension (bit 5): PAE paging, or 4-/5-level paging with EFER.LMA (SDM 4.1.1). */
  PAE: 1 << 5,
  /** Page global enable (bit 7): honour G in leaf entries, so they survive CR3 writes (SDM 4.10.2.4). */
  PGE: 1 << 7,
  /** Page size extensions (bit 4): in 32-bit paging a PDE with PS = 1 maps a 4 MiB page (SDM 4.3). */
  PSE: 1 << 4,
  /** 57-bit linear addresses (bit 12): 5-level paging when IA-32e mode is active (SDM 4.5). */
  LA57: 1 << 12,
  /** Process-context identifiers (bit 17): CR3 bits 11:0 are a 12-bit PCID tagging TLB entries (SDM 4.10.1). */
  PCIDE: 1 << 17,
  /** Supervisor-mode execution prevention (bit 20): the kernel may not fetch from user pages (SDM 4.6.1). */
  SMEP: 1 << 20,
  /** Supervisor-mode access prevention (bit 21): the kernel may not read/write user pages unless RFLAGS.AC = 1. */
  SMAP: 1 << 21,
  /** Protection keys for user-mode pages (bit 22): PKRU governs data accesses to user pages (SDM 4.6.2). */
  PKE: 1 << 22,
  /** Protection keys for supervisor pages (bit 24). Not modelled. */
  PKS: 1 << 24,
} as const;

/** IA32_EFER bits that matter to paging. */
export const EFER = {
  /** System call extensions (bit 0). */
  SCE: 1 << 0,
  /** Long mode enable (bit 8). */
  LME: 1 << 8,
  /** Long mode active (bit 10). */
  LMA: 1 << 10,
  /** No-execute enable (bit 11): bit 63 of entries is XD; when 0 that bit is reserved (SDM 4.5, Table 4-19). */
  NXE: 1 << 11,
} as const;

/** RFLAGS bits that matter to paging. */
export const RFLAGS = {
  /** Alignment check / access control (bit 18): with CR4.SMAP, 1 lets the kernel touch user pages (STAC/CLAC). */
  AC: 1 << 18,
} as const;

/**
 * CR3 layout in 4-level paging (SDM 4.5, Table 4-12/4-13): bits 51:12 the PML4 frame; bits 11:0
 * are PWT (3) and PCD (4) when CR4.PCIDE = 0, or the 12-bit PCID when CR4.PCIDE = 1. Bit 63 of
 * the value written by MOV to CR3 (not stored) asks not to flush the new PCID's TLB entries.
 */
export const CR3 = {
  /** Page-level write-through for the PML4 (bit 3, CR4.PCIDE = 0). */
  PWT: 1 << 3,
  /** Page-level cache disable for the PML4 (bit 4, CR4.PCIDE = 0). */
  PCD: 1 << 4,
  /** PCID field mask (bits 11:0, CR4.PCIDE = 1). */
  PCID_MASK: 0xfff,
} as const;

/**
 * Initial register values; anything omitted takes the value a running 64-bit kernel typically has.
 * EFER.LMA is the processor's own bit (SDM 10.8.5): whatever `efer` says, it is set to
 * EFER.LME AND CR0.PG. For PAE paging, CR3 holds the 32-byte aligned PDPT address: give it as
 * `cr3Frame` (bits 31:12) plus `cr3Low` (bits 11:5, with PWT/PCD in 3, 4), or just call
 * `Cpu.writeCr3(pdptPa)`; a `Cpu` loads the four PDPTE registers from it at construction.
 */
export interface ControlRegistersInit {
  /** CR0; default `PE | WP | PG`. */
  cr0?: number;
  /** Physical address of the PML4 frame (CR3 bits 51:12), 4 KiB aligned; default 0. */
  cr3Frame?: number;
  /** CR3 bits 11:0 (the PCID when CR4.PCIDE = 1); default 0. */
  cr3Low?: number;
  /** CR4; default `PAE | PGE`. */
  cr4?: number;
  /** IA32_EFER; default `LME | LMA | NXE`. */
  efer?: number;
  /** RFLAGS; default 0x2 (bit 1 always reads 1). */
  rflags?: number;
  /** PKRU (2 bits per key: AD = bit 2k, WD = bit 2k+1); default 0 (all keys allow everything). */
  pkru?: number;
  /** MAXPHYADDR used to validate `cr3Frame`; default 52. */
  maxPhysAddrBits?: number;
}

/** A register value or a CR3 frame that the register cannot hold, or an illegal combination of register values. */
export class InvalidControlRegisterError extends KmemError {
  readonly code = 'E_INVALID_CONTROL_REGISTER';
  /**
   * @param register The register written (`cr0`, `cr3`, `cr4`, `efer`).
   * @param value The value (or CR3 frame) rejected.
   */
  constructor(
    readonly register: string,
    readonly value: number,
    reason: string,
  ) {
    super(`${register} = ${Number.isSafeInteger(value) && value >= 0 ? formatPa(value) : show(value)}: ${reason}`);
  }
}

function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= -0x8000_0000 && value <= 0xffff_ffff;
}

/**
 * The paging-relevant register file of one logical processor: CR0, CR3 (frame + low 12 bits),
 * CR4, EFER, RFLAGS and PKRU, each held as a 32-bit number (every bit paging uses lies below 32,
 * except CR3's frame, held as a whole physical address).
 *
 * This is plain state: changing a field here does not flush any TLB. `Cpu` wraps the writes
 * that have architectural side effects (`writeCr3`, `writeCr4`, `invlpg`).
 */
export class ControlRegisters {
  static {
    brand(this, 'ControlRegisters'); // instanceof across the import and require copies (brand.ts)
  }
  /** CR0 as a 32-bit value. */
  cr0: number;
  /** CR4 as a 32-bit value. */
  cr4: number;
  /** IA32_EFER as a 32-bit value (the low half; the high half is reserved). */
  efer: number;
  /** RFLAGS as a 32-bit value. */
  rflags: number;
  /** PKRU: for key k, bit 2k = AD (access disable), bit 2k+1 = WD (write disable). */
  pkru: number;
  /** Physical address of the current PML4 (CR3 bits 51:12). */
  cr3Frame: number;
  /** CR3 bits 11:0: the PCID when CR4.PCIDE = 1, otherwise PWT/PCD. */
  cr3Low: number;
  /** MAXPHYADDR, in bits (32..52). */
  readonly maxPhysAddrBits: number;
  /**
   * The four PAE PDPTE registers (SDM 4.4.1): PDPTE i is words 2i (bits 31:0) and 2i + 1 (bits
   * 63:32). Loaded from memory by `loadPdptes` (the Cpu calls it on MOV to CR3 and on the CR0 / CR4
   * writes that SDM 4.4.1 names, while PAE paging is in force); the PAE walk reads these, never the
   * PDPT in memory. Zero (not present) until loaded.
   */
  readonly pdptes = new Uint32Array(8);

  /** @throws InvalidControlRegisterError if a value does not fit its register */
  constructor(init: ControlRegistersInit = {}) {
    const maxPhysAddrBits = init.maxPhysAddrBits ?? 52;
    if (!Number.isInteger(maxPhysAddrBits) || maxPhysAddrBits < 32 || maxPhysAddrBits > 52) {
      throw new InvalidControlRegisterError('MAXPHYADDR', maxPhysAddrBits, 'must be an integer in 32..52');
    }
    const values: ReadonlyArray<readonly [string, number]> = [
      ['CR0', init.cr0 ?? CR0.PE | CR0.WP | CR0.PG],
      ['CR4', init.cr4 ?? CR4.PAE | CR4.PGE],
      ['EFER', init.efer ?? EFER.LME | EFER.LMA | EFER.NXE],
      ['RFLAGS', init.rflags ?? 0x2],
      ['PKRU', init.pkru ?? 0],
    ];
    for (const [name, v] of values) if (!isU32(v)) throw new InvalidControlRegisterError(name, v, 'must be a 32-bit integer');
    const cr3Frame = init.cr3Frame ?? 0;
    const cr3Low = init.cr3Low ?? 0;
    checkCr3(cr3Frame, cr3Low, maxPhysAddrBits);
    this.maxPhysAddrBits = maxPhysAddrBits;
    const cr0 = values[0]![1] | 0;
    const cr4 = values[1]![1] | 0;
    checkModeBits(cr0, cr4, values[2]![1] | 0);
    this.cr0 = cr0;
    this.cr4 = cr4;
    this.efer = withLma(cr0, values[2]![1] | 0);
    this.rflags = values[3]![1] | 0;
    this.pkru = values[4]![1] | 0;
    this.cr3Frame = cr3Frame;
    this.cr3Low = cr3Low;
  }

  /** The paging mode these registers select (SDM 4.1.1), recomputed on every read. */
  get pagingMode(): PagingMode {
    return pagingModeOf(this.cr0, this.cr4, this.efer);
  }
  /**
   * Physical address of the PAE page-directory-pointer table: CR3 bits 31:5 (SDM 4.4.1). Only
   * meaningful in PAE paging.
   */
  get pdptAddress(): number {
    return (this.cr3Frame % 4294967296) + (this.cr3Low & 0xfe0);
  }

  /**
   * Loads the four PDPTE registers from the PDPT at CR3 bits 31:5 (SDM 4.4.1), as MOV to CR3 does
   * in PAE paging. All-or-nothing: a present PDPTE with a reserved bit set (bits 2:1, 8:5,
   * 63:MAXPHYADDR) leaves the registers unchanged and throws (on hardware the MOV raises #GP(0)).
   * @throws InvalidPdpteError for a present PDPTE with a reserved bit
   */
  loadPdptes(memory: PhysicalMemory): void {
    const base = this.pdptAddress;
    const loaded = new Uint32Array(8);
    for (let i = 0; i < 8; i++) loaded[i] = memory.read32(base + i * 4);
    const reservedHi = pdptePaeReservedHi(this.maxPhysAddrBits);
    for (let i = 0; i < 4; i++) {
      const lo = loaded[2 * i]!;
      const hi = loaded[2 * i + 1]!;
      if ((lo & 1) !== 0 && ((lo & PDPTE_PAE_RESERVED_LO) !== 0 || (hi & reservedHi) !== 0)) throw new InvalidPdpteError(i, base + i * 8, lo, hi);
    }
    this.pdptes.set(loaded);
  }

  /** CR0.PG: paging is on. */
  get paging(): boolean {
    return (this.cr0 & CR0.PG) !== 0;
  }
  /** CR0.WP: supervisor writes honour R/W. */
  get writeProtect(): boolean {
    return (this.cr0 & CR0.WP) !== 0;
  }
  /** EFER.NXE: bit 63 of entries means execute-disable. */
  get noExecuteEnabled(): boolean {
    return (this.efer & EFER.NXE) !== 0;
  }
  /** CR4.PGE: global pages enabled. */
  get globalPagesEnabled(): boolean {
    return (this.cr4 & CR4.PGE) !== 0;
  }
  /** CR4.PCIDE: PCIDs enabled. */
  get pcidEnabled(): boolean {
    return (this.cr4 & CR4.PCIDE) !== 0;
  }
  /** CR4.SMEP. */
  get smep(): boolean {
    return (this.cr4 & CR4.SMEP) !== 0;
  }
  /** CR4.SMAP. */
  get smap(): boolean {
    return (this.cr4 & CR4.SMAP) !== 0;
  }
  /** CR4.PKE. */
  get protectionKeys(): boolean {
    return (this.cr4 & CR4.PKE) !== 0;
  }
  /** RFLAGS.AC. */
  get alignmentCheck(): boolean {
    return (this.rflags & RFLAGS.AC) !== 0;
  }
  /** The current PCID: CR3 bits 11:0 when CR4.PCIDE = 1, otherwise 0 (SDM 4.10.1). */
  get pcid(): number {
    return (this.cr4 & CR4.PCIDE) !== 0 ? this.cr3Low & CR3.PCID_MASK : 0;
  }

  /** CR3 as its 64-bit value (frame | low 12 bits), for display; never used on a hot path. */
  cr3Value(): bigint {
    return BigInt(this.cr3Frame) | BigInt(this.cr3Low);
  }

  /** @throws InvariantViolation-style InvalidControlRegisterError if a field no longer fits its register */
  checkInvariants(): void {
    for (const [name, v] of [
      ['CR0', this.cr0],
      ['CR4', this.cr4],
      ['EFER', this.efer],
      ['RFLAGS', this.rflags],
      ['PKRU', this.pkru],
    ] as const) {
      if (!isU32(v)) throw new InvalidControlRegisterError(name, v, 'must be a 32-bit integer');
    }
    checkCr3(this.cr3Frame, this.cr3Low, this.maxPhysAddrBits);
    if ((this.cr4 & CR4.PCIDE) !== 0 && (this.efer & EFER.LMA) === 0) {
      throw new InvalidControlRegisterError('CR4', this.cr4, 'PCIDE requires IA-32e mode (EFER.LMA = 1)');
    }
    checkModeBits(this.cr0, this.cr4, this.efer);
    if ((this.cr0 & CR0.PG) !== 0 && ((this.efer & EFER.LMA) !== 0) !== ((this.efer & EFER.LME) !== 0)) {
      throw new InvalidControlRegisterError('EFER', this.efer, 'EFER.LMA must equal EFER.LME while CR0.PG = 1 (the processor sets it)');
    }
  }
}

/** A present PAE PDPTE with a reserved bit set, found when loading the PDPTE registers (SDM 4.4.1: #GP(0) at the MOV). */
export class InvalidPdpteError extends KmemError {
  readonly code = 'E_INVALID_PDPTE';
  /**
   * @param index PDPTE number (0..3)
   * @param pa physical address of the entry
   * @param lo bits 31:0 of the entry
   * @param hi bits 63:32 of the entry
   */
  constructor(
    readonly index: number,
    readonly pa: number,
    readonly lo: number,
    readonly hi: number,
  ) {
    super(`PDPTE ${index} at ${formatPa(pa)} = 0x${hi.toString(16).padStart(8, '0')}_${lo.toString(16).padStart(8, '0')}: present with a reserved bit set (bits 2:1, 8:5 or above MAXPHYADDR)`);
  }
}

/**
 * EFER with LMA recomputed as the processor keeps it: LMA = LME AND CR0.PG (SDM 10.8.5).
 * @param cr0 CR0 as a 32-bit value
 * @param efer IA32_EFER (low 32 bits)
 */
export function withLma(cr0: number, efer: number): number {
  return (cr0 & CR0.PG) !== 0 && (efer & EFER.LME) !== 0 ? efer | EFER.LMA : efer & ~EFER.LMA;
}

/**
 * Register combinations no processor can be in (SDM 2.5, 10.8.5): CR0.PG = 1 with CR0.PE = 0;
 * CR0.PG = 1 with EFER.LME = 1 and CR4.PAE = 0 (MOV to CR0 raises #GP).
 * @throws InvalidControlRegisterError
 */
export function checkModeBits(cr0: number, cr4: number, efer: number): void {
  if ((cr0 & CR0.PG) === 0) return;
  if ((cr0 & CR0.PE) === 0) throw new InvalidControlRegisterError('CR0', cr0, 'CR0.PG = 1 requires CR0.PE = 1 (SDM 2.5)');
  if ((efer & EFER.LME) !== 0 && (cr4 & CR4.PAE) === 0) throw new InvalidControlRegisterError('CR0', cr0, 'CR0.PG = 1 with EFER.LME = 1 requires CR4.PAE = 1 (SDM 10.8.5)');
}

/** Validates a CR3 frame and low bits. @throws InvalidControlRegisterError */
export function checkCr3(cr3Frame: number, cr3Low: number, maxPhysAddrBits = 52): void {
  if (!Number.isSafeInteger(cr3Frame) || cr3Frame < 0 || cr3Frame % 4096 !== 0 || cr3Frame >= 2 ** maxPhysAddrBits) {
    throw new InvalidControlRegisterError('CR3', cr3Frame, `PML4 frame must be 4 KiB aligned and below 2^${maxPhysAddrBits}`);
  }
  if (!Number.isInteger(cr3Low) || cr3Low < 0 || cr3Low > 0xfff) {
    throw new InvalidControlRegisterError('CR3[11:0]', cr3Low, 'must be an integer in 0..0xfff');
  }
}
