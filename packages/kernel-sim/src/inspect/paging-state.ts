// The control state that decides how the tables read (SDM vol. 3A 4.1.1, Table 4-1): which paging
// mode is in force, where the root is, and the bits that change what an entry means.
import type { ControlRegisterState } from '../memory-image';
import type { QemuCpuState } from './elf-core';
import { InvalidRegisterError, PagingModeError } from './inspect-errors';
import { show } from '../show-value';

/** Where a register's value came from. */
export type RegisterSource = 'dump' | 'given' | 'assumed';

/** 4-level paging's control state, checked. */
export interface PagingState {
  /** The values in force (given, from the dump, or assumed). */
  readonly registers: ControlRegisterState;
  /** Where each register came from ('assumed': neither the dump nor the caller had it). */
  readonly sources: Readonly<Record<keyof ControlRegisterState, RegisterSource>>;
  /** Physical address of the PML4 (CR3 bits MAXPHYADDR-1:12). */
  readonly rootPa: number;
  /** PCID (CR3 bits 11:0) when CR4.PCIDE = 1, else 0. */
  readonly pcid: number;
  /** Physical address width the entries are read with. */
  readonly maxPhysAddr: number;
  /** EFER.NXE: bit 63 of an entry is XD (else it is reserved). */
  readonly nxe: boolean;
  /** CR0.WP: supervisor writes obey R/W. */
  readonly wp: boolean;
  /** CR4.PGE: G entries survive CR3 writes. */
  readonly pge: boolean;
  /** CR4.SMEP: supervisor fetches from user pages fault. */
  readonly smep: boolean;
  /** CR4.SMAP: supervisor data accesses to user pages fault (unless RFLAGS.AC). */
  readonly smap: boolean;
  /** CR4.PKE: bits 62:59 of user leaves are protection keys. */
  readonly pke: boolean;
}

/** Register values given by the caller (command line); each overrides the dump's. */
export type GivenRegisters = Partial<ControlRegisterState>;

/** CR0.PE | CR0.WP | CR0.PG: what a 64-bit kernel runs with. */
export const ASSUMED_CR0 = 0x8001_0001;
/** CR4.PAE. */
export const ASSUMED_CR4 = 0x20;
/** EFER.LME | EFER.LMA | EFER.NXE. */
export const ASSUMED_EFER = 0xd00;

const CR0_PG = 0x8000_0000;
const CR0_WP = 1 << 16;
const CR4_PAE = 1 << 5;
const CR4_PGE = 1 << 7;
const CR4_LA57 = 1 << 12;
const CR4_PCIDE = 1 << 17;
const CR4_SMEP = 1 << 20;
const CR4_SMAP = 1 << 21;
const CR4_PKE = 1 << 22;
const EFER_LME = 1 << 8;
const EFER_NXE = 1 << 11;
const TWO_32 = 0x1_0000_0000;

function lo32(v: number): number {
  return v % TWO_32;
}

/**
 * Combines given registers, the dump's CPU note and assumptions (EFER is never in a QEMU note:
 * LME/LMA/NXE are assumed unless given) into a checked 4-level paging state.
 * @param maxPhysAddr physical address width, 36..52 (default 52)
 * @throws InvalidRegisterError when there is no CR3, or a value is not a non-negative safe integer
 * @throws PagingModeError when the registers select no paging, 32-bit, PAE or 5-level paging
 */
export function resolvePagingState(given: GivenRegisters, cpu: QemuCpuState | undefined, maxPhysAddr = 52): PagingState {
  if (!Number.isInteger(maxPhysAddr) || maxPhysAddr < 36 || maxPhysAddr > 52) throw new InvalidRegisterError(`MAXPHYADDR ${show(maxPhysAddr)} is not an integer in 36..52`);
  const pick = (name: keyof ControlRegisterState, fromDump: number | undefined, assumed: number | undefined): [number, RegisterSource] => {
    const g = given[name];
    if (g !== undefined) {
      if (!Number.isSafeInteger(g) || g < 0) throw new InvalidRegisterError(`${name.toUpperCase()} ${show(g)} is not a non-negative integer below 2^53`);
      return [g, 'given'];
    }
    if (fromDump !== undefined) return [fromDump, 'dump'];
    if (assumed === undefined) throw new InvalidRegisterError(`no ${name.toUpperCase()}: the dump carries no CPU state; give it (e.g. --${name} 0x...)`);
    return [assumed, 'assumed'];
  };
  const [cr3, s3] = pick('cr3', cpu?.cr3, undefined);
  const [cr0, s0] = pick('cr0', cpu?.cr0, ASSUMED_CR0);
  const [cr4, s4] = pick('cr4', cpu?.cr4, ASSUMED_CR4);
  const [efer, se] = pick('efer', undefined, ASSUMED_EFER);
  const c0 = lo32(cr0);
  const c4 = lo32(cr4);
  const e = lo32(efer);
  // SDM 4.1.1: CR0.PG selects paging; CR4.PAE and EFER.LME then pick 32-bit, PAE or 4/5-level.
  if ((c0 & CR0_PG) === 0) throw new PagingModeError(`paging is off (CR0 = 0x${cr0.toString(16)}, PG = 0): linear addresses are physical, there are no tables`);
  if ((c4 & CR4_PAE) === 0) throw new PagingModeError(`32-bit paging (CR4.PAE = 0): this reads 4-level tables`);
  if ((e & EFER_LME) === 0) throw new PagingModeError(`PAE paging (EFER.LME = 0): this reads 4-level tables`);
  if ((c4 & CR4_LA57) !== 0) throw new PagingModeError(`5-level paging (CR4.LA57 = 1) is not read yet: boot the guest without LA57 (e.g. -cpu qemu64, or the kernel option no5lvl)`);
  const pcide = (c4 & CR4_PCIDE) !== 0;
  const addrBits = 2 ** maxPhysAddr;
  const root = (cr3 % addrBits) - (cr3 % 4096);
  return {
    registers: { cr0, cr3, cr4, efer },
    sources: { cr0: s0, cr3: s3, cr4: s4, efer: se },
    rootPa: root,
    pcid: pcide ? cr3 % 4096 : 0,
    maxPhysAddr,
    nxe: (e & EFER_NXE) !== 0,
    wp: (c0 & CR0_WP) !== 0,
    pge: (c4 & CR4_PGE) !== 0,
    smep: (c4 & CR4_SMEP) !== 0,
    smap: (c4 & CR4_SMAP) !== 0,
    pke: (c4 & CR4_PKE) !== 0,
  };
}
