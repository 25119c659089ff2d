// Bootstrap page tables for a 32-bit higher-half kernel (seed 002's boot): before any frame
// allocator exists, the entry code fills ONE page directory reserved in the kernel image with
// 4 MiB pages (CR4.PSE = 1, SDM 4.3), so no page table is needed at all:
//   - an identity map of low memory (va = pa), so the instruction after `mov cr3` / setting
//     CR0.PG still has a mapping — by default the first 3 GiB, up to the kernel's base;
//   - the higher-half alias: 0xc000_0000 -> physical 0 for the 4 MiB pages holding the kernel
//     image (GRUB loads it at 1 MiB, so one 4 MiB page);
//   - optionally the recursive PDE (default 1023 -> the directory itself), through which the
//     kernel later edits its tables: the directory at 0xffff_f000, the page tables at
//     0xffc0_0000-0xffff_ffff.
// The kernel then builds its real tables with 4 KiB pages and switches CR3 (issue 16).
import { BootstrapPoolExhaustedError, InvalidOptionError, InvalidSizeError, MisalignedAddressError, PhysicalAddressRangeError, type PhysicalMemory } from './api';
import { alignDown, alignUp } from './address';
import { formatVa32 } from './address-32bit';
import { PAGE_SIZE_4M } from './entry-32bit';
import { DEFAULT_MAX_PHYS_ADDR, PTE, addressMaskHi, checkFlagsWord } from './entry';
import { assertPoolInMemory, checkKernelAndPool } from './bootstrap-checks';
import { Mapper } from './mapper';
import { checkModeFlags } from './mapper-checks';
import { PagingMode } from './paging-mode';
import { RecursiveTableAccess } from './recursive-table-access';
import { SimpleFrameAllocator } from './simple-frame-allocator';
import { PhysicalTableAccess } from './table-access';
import { THIRTY_TWO_BIT_GEOMETRY } from './thirty-two-bit-geometry';

/** 0xc000_0000: where seed 002's kernel (and Linux's i386 PAGE_OFFSET) puts physical 0. */
export const HIGHER_HALF_BASE_32 = 0xc000_0000;
/** 1023: the classic recursive PDE (directory at 0xffff_f000, page tables at 0xffc0_0000). */
export const RECURSIVE_PDE_32 = 1023;

const TWO_32 = 4294967296;

/** Options of {@link buildBootstrapTables32}. */
export interface Bootstrap32Options {
  /** Physical memory holding the kernel image (and so the pool). */
  readonly memory: PhysicalMemory;
  /** Physical extent of the kernel image (e.g. loaded at 1 MiB by GRUB); the alias covers it in whole 4 MiB pages. */
  readonly kernel: {
    /** Physical address of the image's first byte. */
    readonly pa: number;
    /** Its size in bytes. */
    readonly sizeBytes: number;
  };
  /** Frames reserved inside the kernel image for the page directory (4 KiB aligned; one is enough). */
  readonly pool: {
    /** Physical address of the first pool frame. */
    readonly pa: number;
    /** Frames in the pool. */
    readonly frameCount: number;
  };
  /** Linear address of physical 0 in the alias (4 MiB aligned); default 0xc000_0000. */
  readonly higherHalfBase?: number;
  /**
   * Bytes identity-mapped from physical 0 with 4 MiB pages (a multiple of 4 MiB, 0 for none);
   * default: everything below `higherHalfBase` (3 GiB with the default base), as seed 002 does.
   */
  readonly identitySizeBytes?: number;
  /** Flags of the identity map (default P|RW; never Global, so it dies with the boot CR3). */
  readonly identityFlags?: number;
  /** Flags of the higher-half alias (default P|RW|G). */
  readonly higherHalfFlags?: number;
  /** PDE slot pointing back at the directory, or null for none (default 1023). */
  readonly recursiveSlot?: number | null;
  /** Physical address width, 32..52 (default 52): 4 MiB pages reach 2^min(MAXPHYADDR, 40) (PSE-36). */
  readonly maxPhysAddr?: number;
}

/** The 32-bit boot page directory, ready for `mov cr3, root` with CR4.PSE = 1. */
export interface Bootstrap32Tables {
  /** Page directory frame: the value for CR3. */
  readonly root: number;
  /** A 32-bit mapper over the directory (PhysicalTableAccess, the pool as its allocator; the recursive slot reserved). */
  readonly mapper: Mapper;
  /** Pool frames used (1: the directory). */
  readonly tableFrameCount: number;
  /** Linear range of the identity map, or null. */
  readonly identity: {
    /** First linear address. */
    readonly start: number;
    /** End (exclusive). */
    readonly end: number;
  } | null;
  /** Linear range of the higher-half alias. */
  readonly higherHalf: {
    /** First linear address. */
    readonly start: number;
    /** End (exclusive). */
    readonly end: number;
  };
  /** The recursive PDE, or null. */
  readonly recursiveSlot: number | null;
}

/**
 * Builds seed 002's boot page directory in the pool: identity map and higher-half alias with
 * 4 MiB pages, and the recursive PDE. Every check comes first: when it throws, not a byte of
 * memory has been written.
 * @throws InvalidOptionError (pool outside the kernel image, ranges that overlap each other or the
 *   recursive slot's 4 MiB, a bad slot or maxPhysAddr), InvalidSizeError, MisalignedAddressError
 *   (a base or identity size that is not a multiple of 4 MiB), PhysicalAddressRangeError (a
 *   kernel beyond 4 GiB or 2^MAXPHYADDR), InvalidAddressError (ranges leaving 32-bit space),
 *   InvalidFlagsError / PagingModeError (flags a 32-bit entry cannot hold), BootstrapPoolExhaustedError
 *   (an empty pool), PhysicalAccessError (a pool `memory` does not hold)
 */
export function buildBootstrapTables32(options: Bootstrap32Options): Bootstrap32Tables {
  const { kernel, pool } = options;
  const g = THIRTY_TWO_BIT_GEOMETRY;
  const image = checkKernelAndPool(options);
  if (image.end > TWO_32) throw new PhysicalAddressRangeError(kernel.pa, kernel.sizeBytes, TWO_32);
  const start = alignDown(image.start, PAGE_SIZE_4M);
  const end = alignUp(image.end, PAGE_SIZE_4M);
  const maxPhysAddr = options.maxPhysAddr ?? DEFAULT_MAX_PHYS_ADDR;
  addressMaskHi(maxPhysAddr); // InvalidOptionError outside 32..52
  const base = options.higherHalfBase ?? HIGHER_HALF_BASE_32;
  g.assertLinear(base);
  if (base % PAGE_SIZE_4M !== 0) throw new MisalignedAddressError('va', base, PAGE_SIZE_4M);
  g.assertRange(base + start, end - start);
  const identitySize = options.identitySizeBytes ?? base;
  if (!Number.isSafeInteger(identitySize) || identitySize < 0 || identitySize > TWO_32) throw new InvalidSizeError('identitySizeBytes', identitySize, 'must be 0..4 GiB');
  if (identitySize % PAGE_SIZE_4M !== 0) throw new MisalignedAddressError('va', identitySize, PAGE_SIZE_4M);
  if (identitySize > 2 ** Math.min(maxPhysAddr, 40)) throw new PhysicalAddressRangeError(0, identitySize, 2 ** Math.min(maxPhysAddr, 40));
  if (identitySize > base + start) {
    throw new InvalidOptionError('identitySizeBytes', identitySize, `the identity map [0, ${formatVa32(identitySize - 1)}] overlaps the higher-half alias from ${formatVa32(base + start)}`);
  }
  const slot = options.recursiveSlot === undefined ? RECURSIVE_PDE_32 : options.recursiveSlot;
  if (slot !== null) {
    if (!Number.isInteger(slot) || slot < 0 || slot > 1023) throw new InvalidOptionError('recursiveSlot', slot, 'a PDE slot is an integer in 0..1023 (or null)');
    const slotVa = slot * PAGE_SIZE_4M;
    if (slotVa < identitySize || (slotVa >= base + start && slotVa < base + end)) {
      throw new InvalidOptionError('recursiveSlot', slot, `the recursive PDE's 4 MiB at ${formatVa32(slotVa)} is already mapped by the boot tables`);
    }
  }
  const identityFlags = checkFlagsWord(options.identityFlags ?? PTE.Present | PTE.Writable, 'identityFlags');
  const higherFlags = checkFlagsWord(options.higherHalfFlags ?? PTE.Present | PTE.Writable | PTE.Global, 'higherHalfFlags');
  checkModeFlags(identityFlags, g);
  checkModeFlags(higherFlags, g);
  assertPoolInMemory(options.memory, pool); // reads, not writes

  const allocator = new SimpleFrameAllocator({ start: pool.pa, frameCount: pool.frameCount });
  const access = new PhysicalTableAccess(options.memory, { mode: PagingMode.ThirtyTwoBit });
  const mapper = Mapper.create({
    access,
    allocator,
    mode: PagingMode.ThirtyTwoBit,
    maxPhysAddr,
    ...(slot === null ? {} : { reservedPml4Slots: [slot] }),
  });
  if (mapper === null) throw new BootstrapPoolExhaustedError(pool.frameCount, 1);
  // Only 4 MiB pages: the directory is the one table, and the checks above leave nothing to fail.
  const mapped = (identitySize === 0 || mapper.mapPages(0, 0, identitySize / PAGE_SIZE_4M, identityFlags, { pageSize: PAGE_SIZE_4M })) && mapper.mapPages(base + start, start, (end - start) / PAGE_SIZE_4M, higherFlags, { pageSize: PAGE_SIZE_4M });
  if (!mapped) throw new BootstrapPoolExhaustedError(pool.frameCount, 1); // not reached: 4 MiB pages need no table
  if (slot !== null) RecursiveTableAccess.install(access, mapper.root, slot, PagingMode.ThirtyTwoBit);
  return {
    root: mapper.root,
    mapper,
    tableFrameCount: mapper.tableFrameCount,
    identity: identitySize > 0 ? { start: 0, end: identitySize } : null,
    higherHalf: { start: base + start, end: base + end },
    recursiveSlot: slot,
  };
}
