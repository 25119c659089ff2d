// Bootstrap page tables: what a higher-half kernel's entry code builds before any frame allocator
// exists. The tables come from a fixed pool of frames reserved inside the kernel image (like
// Linux's early_top_pgt / level2_kernel_pgt in head_64.S, or a `.bss` array of page-aligned
// tables), and map the kernel twice:
//   - identity (va = pa), so the instruction after `mov cr3` still has a mapping, and
//   - the higher-half alias (va = higherHalfBase + pa), where the kernel runs from then on,
// with 2 MiB pages wherever va and pa are both 2 MiB aligned and 4 KiB pages at unaligned edges.
// The real tables (built later with a real allocator) take over by a CR3 write.
import { show } from './show-value';
import {
  BootstrapPoolExhaustedError,
  InvalidAddressError,
  InvalidOptionError,
  MisalignedAddressError,
  PhysicalAddressRangeError,
  formatVa,
  type PhysicalMemory,
} from './api';
import { PAGE_SIZE_1G, PAGE_SIZE_2M, PAGE_SIZE_4K, PML4_ENTRY_SPAN, alignDown, assertLinear, assertRangeInOneHalf, virt } from './address';
import { DEFAULT_MAX_PHYS_ADDR, PTE, addressMaskHi, checkFlagsWord } from './entry';
import { assertPoolInMemory, checkKernelAndPool } from './bootstrap-checks';
import { Mapper } from './mapper';
import { SimpleFrameAllocator } from './simple-frame-allocator';
import { PhysicalTableAccess } from './table-access';

/** Linear form of 0xffff_ffff_8000_0000, the -2 GiB kernel base used by Linux (`__START_KERNEL_map`). */
export const DEFAULT_HIGHER_HALF_BASE = virt('0xffff_ffff_8000_0000');

/** Options of {@link buildBootstrapTables}. */
export interface BootstrapOptions {
  /** Physical memory holding the kernel image (and so the pool). */
  readonly memory: PhysicalMemory;
  /** Physical extent of the kernel image; rounded out to 4 KiB boundaries. */
  readonly kernel: {
    /** Physical address of the image's first byte. */
    readonly pa: number;
    /** Its size in bytes. */
    readonly sizeBytes: number;
  };
  /** Page-table frames reserved inside the kernel image (4 KiB aligned, wholly inside `kernel`). */
  readonly pool: {
    /** Physical address of the first pool frame. */
    readonly pa: number;
    /** Frames in the pool. */
    readonly frameCount: number;
  };
  /** Linear address where physical address 0 would appear in the alias: kernel byte `pa` is at `higherHalfBase + pa`. Default {@link DEFAULT_HIGHER_HALF_BASE}. */
  readonly higherHalfBase?: number;
  /** Also map the kernel at va = pa (default true). */
  readonly identityMap?: boolean;
  /** Flags of the identity mapping (default P|RW; never Global, so it dies with the boot CR3). */
  readonly identityFlags?: number;
  /** Flags of the higher-half alias (default P|RW|G). */
  readonly higherHalfFlags?: number;
  /** Physical address width, 32..52 (default 52). */
  readonly maxPhysAddr?: number;
}

/** The boot page tables, ready for `mov cr3, root`. */
export interface BootstrapTables {
  /** PML4 frame: the value for CR3. */
  readonly root: number;
  /** A mapper over the boot tables (PhysicalTableAccess, the pool as its allocator), for inspection. */
  readonly mapper: Mapper;
  /** Pool frames used. */
  readonly tableFrameCount: number;
  /** Linear range of the identity mapping, or null. */
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
}

interface Plan {
  start: number;
  end: number;
  base: number;
  identity: boolean;
  identityFlags: number;
  higherFlags: number;
}

/**
 * Checks every option and everything the build could trip over later — so that
 * `buildBootstrapTables` throws before it writes a single word (DESIGN.md "Errors").
 */
function plan(options: Omit<BootstrapOptions, 'memory'>): Plan {
  const { start, end } = checkKernelAndPool(options);
  const maxPhysAddr = options.maxPhysAddr ?? DEFAULT_MAX_PHYS_ADDR;
  addressMaskHi(maxPhysAddr); // InvalidOptionError outside 32..52
  const paLimit = 2 ** maxPhysAddr;
  if (end > paLimit) throw new PhysicalAddressRangeError(start, end - start, paLimit);
  const base = options.higherHalfBase ?? DEFAULT_HIGHER_HALF_BASE;
  assertLinear(base);
  if (base % PAGE_SIZE_4K !== 0) throw new MisalignedAddressError('va', base, PAGE_SIZE_4K);
  // The alias [base + start, base + end) must be linear and in one canonical half.
  if (base + start >= 2 ** 48) throw new InvalidAddressError(show(base + start), 'the higher-half alias of the kernel starts beyond 2^48 (higherHalfBase + kernel.pa)');
  assertRangeInOneHalf(base + start, end - start);
  const identity = options.identityMap ?? true;
  if (identity) {
    // va = pa: the kernel must lie in the lower canonical half (SDM 3.3.7.1).
    assertLinear(start);
    assertRangeInOneHalf(start, end - start);
    // Two mappings of the same pages at overlapping addresses: the second would find the first
    // (E_ALREADY_MAPPED / E_PARENT_HUGE_PAGE) after the first had been written.
    if (base + start < end && start < base + end) {
      throw new InvalidOptionError(
        'higherHalfBase',
        formatVa(base),
        `the higher-half alias [${formatVa(base + start)}, ${formatVa(base + end)}) overlaps the identity map [${formatVa(start)}, ${formatVa(end)}); choose a base at least the kernel's size away, or identityMap: false`,
      );
    }
  }
  const identityFlags = checkFlagsWord(options.identityFlags ?? PTE.Present | PTE.Writable, 'identityFlags');
  const higherFlags = checkFlagsWord(options.higherHalfFlags ?? PTE.Present | PTE.Writable | PTE.Global, 'higherHalfFlags');
  return { start, end, base, identity, identityFlags, higherFlags };
}

/**
 * Exact number of table frames (PML4 included) the boot tables need for these options, counting
 * one PDPT per PML4 slot, one PD per GiB and one PT per 2 MiB region that needs 4 KiB pages.
 * @throws as {@link buildBootstrapTables} for invalid options
 */
export function bootstrapFramesNeeded(options: Omit<BootstrapOptions, 'memory'>): number {
  const p = plan(options);
  const pdpts = new Set<number>();
  const pds = new Set<number>();
  const pts = new Set<number>();
  const region = (va: number, pa: number, sizeBytes: number): void => {
    const end = va + sizeBytes;
    const huge = (va - pa) % PAGE_SIZE_2M === 0;
    for (let c = alignDown(va, PAGE_SIZE_2M); c < end; c += PAGE_SIZE_2M) {
      pdpts.add(Math.floor(c / PML4_ENTRY_SPAN));
      pds.add(Math.floor(c / PAGE_SIZE_1G));
      if (!(huge && c >= va && c + PAGE_SIZE_2M <= end)) pts.add(c / PAGE_SIZE_2M);
    }
  };
  if (p.identity) region(p.start, p.start, p.end - p.start);
  region(p.base + p.start, p.start, p.end - p.start);
  return 1 + pdpts.size + pds.size + pts.size;
}

/**
 * Builds the boot page tables in the pool: identity map (optional) and higher-half alias of the
 * kernel image, 2 MiB pages where alignment allows, 4 KiB at the edges. Every check comes first:
 * when it throws, not a byte of memory has been written.
 * @throws BootstrapPoolExhaustedError if the pool is smaller than {@link bootstrapFramesNeeded}
 * @throws InvalidOptionError (pool outside the kernel image, an alias overlapping the identity
 *   map, a bad maxPhysAddr), InvalidSizeError, InvalidAddressError, MisalignedAddressError,
 *   CanonicalHoleError (a mapping that would cross the hole or 2^48), PhysicalAddressRangeError
 *   (a kernel reaching 2^MAXPHYADDR), InvalidFlagsError, PhysicalAccessError (a pool `memory`
 *   does not hold)
 */
export function buildBootstrapTables(options: BootstrapOptions): BootstrapTables {
  const p = plan(options);
  const needed = bootstrapFramesNeeded(options);
  if (needed > options.pool.frameCount) throw new BootstrapPoolExhaustedError(options.pool.frameCount, needed);
  assertPoolInMemory(options.memory, options.pool); // reads, not writes
  const allocator = new SimpleFrameAllocator({ start: options.pool.pa, frameCount: options.pool.frameCount });
  const access = new PhysicalTableAccess(options.memory);
  const mapperOptions = options.maxPhysAddr === undefined ? { access, allocator } : { access, allocator, maxPhysAddr: options.maxPhysAddr };
  const mapper = Mapper.create(mapperOptions)!; // the pool holds at least `needed` ≥ 1 frames
  const sizeBytes = p.end - p.start;
  // `plan` ruled out everything these calls could throw for, and the pool holds `needed` frames.
  if (p.identity && !mapper.mapRange(p.start, p.start, sizeBytes, p.identityFlags, { maxPageSize: PAGE_SIZE_2M })) {
    throw new BootstrapPoolExhaustedError(options.pool.frameCount, needed);
  }
  if (!mapper.mapRange(p.base + p.start, p.start, sizeBytes, p.higherFlags, { maxPageSize: PAGE_SIZE_2M })) {
    throw new BootstrapPoolExhaustedError(options.pool.frameCount, needed);
  }
  return {
    root: mapper.root,
    mapper,
    tableFrameCount: mapper.tableFrameCount,
    identity: p.identity ? { start: p.start, end: p.end } : null,
    higherHalf: { start: p.base + p.start, end: p.base + p.end },
  };
}
