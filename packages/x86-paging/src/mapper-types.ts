// Option and result types of the Mapper (mapper.ts): page sizes, the intermediate-entry policy,
// what the constructor takes, and the reusable objects translate / leafEntry fill in.
import type { FrameAllocator, PhysicalMemory, TlbInvalidator } from './api';
import { PAGE_SIZE_1G, PAGE_SIZE_2M, PAGE_SIZE_4K } from './address';
import type { PagingMode } from './paging-mode';
import type { TableAccess } from './table-access';

/** Page sizes, in bytes (which ones a mode has: 4K everywhere, 4M in 32-bit paging, 2M in the others, 1G in the long modes). */
export const PageSize = {
  /** 4 KiB, mapped by a PTE. */
  Size4K: PAGE_SIZE_4K,
  /** 2 MiB, mapped by a PDE with PS = 1 (PAE, 4-level, 5-level). */
  Size2M: PAGE_SIZE_2M,
  /** 4 MiB, mapped by a PDE with PS = 1 in 32-bit paging (CR4.PSE = 1). */
  Size4M: 4194304,
  /** 1 GiB, mapped by a PDPTE with PS = 1 (4-level, 5-level). */
  Size1G: PAGE_SIZE_1G,
} as const;
/** 4096 | 2097152 | 4194304 | 1073741824. */
export type PageSize = (typeof PageSize)[keyof typeof PageSize];

/**
 * A linear address as the Mapper's methods take it: a number (a safe integer, the linear form) or a
 * bigint (the canonical 64-bit form in the long modes, a 32-bit value in the 32-bit modes). 5-level
 * addresses at or above 2^53 exist only as bigints at the API; results report them as numbers that
 * are exact because they are page aligned (convert with `BigInt(x)`; a byte address there reads NaN).
 */
export type LinearAddress = number | bigint;

/** How intermediate (table-pointer) entries get their R/W and U/S bits; see the file header. */
export type TablePolicy = 'permissive' | 'leaf';

/** Options of {@link Mapper}. */
export interface MapperOptions {
  /** How the mapper reaches table entries (strategy (a) PhysicalTableAccess, or B's (b)-(d)). */
  readonly access: TableAccess;
  /** Where new page-table frames (and `mapAllocated`'s data frames) come from. */
  readonly allocator: FrameAllocator;
  /**
   * Physical address of the root table (the CR3 address: PML4, PML5, PAE PDPT or 32-bit page
   * directory). It must already be a valid table (zeroed or populated).
   */
  readonly root: number;
  /**
   * Paging mode whose tables this mapper builds (default `PagingMode.FourLevel`). The `access`
   * must reach entries of that mode's size (`TableAccess.entryBytes`).
   */
  readonly mode?: PagingMode;
  /** Physical address width in bits, 32..52 (default 52). Addresses beyond it are rejected. */
  readonly maxPhysAddr?: number;
  /** Told about every changed or removed present leaf (`invlpg(va)`), e.g. a TLB or a Cpu. */
  readonly tlb?: TlbInvalidator;
  /** Intermediate-entry policy (default 'permissive'). */
  readonly tablePolicy?: TablePolicy;
  /** PML4 slots the mapper must never map in, walk or free (e.g. a recursive slot). */
  readonly reservedPml4Slots?: readonly number[];
  /**
   * If given, `mapAllocated` zeroes each data frame it maps (no stale data leaks to a new owner),
   * and a call undoing itself after a TableAccess exception writes an entry back here, physically,
   * when the TableAccess faults on the undo too.
   */
  readonly memory?: PhysicalMemory;
}

/** Options of {@link Mapper.create}: as {@link MapperOptions} but the root is allocated. */
export type MapperCreateOptions = Omit<MapperOptions, 'root'>;

/**
 * Result of {@link Mapper.leafEntry}: the entry that decides `va`, present or not. ONE object per
 * mapper, overwritten by the next call.
 */
export interface LeafEntry {
  /** The linear address looked up. */
  va: number;
  /** Level of the entry: 1 (PTE), or 2 / 3 for a huge leaf. */
  level: number;
  /** Raw low half (u32). */
  lo: number;
  /** Raw high half (u32). */
  hi: number;
  /** P bit. */
  present: boolean;
  /** Flags word of the entry (bit 12 read as PAT for a huge leaf). */
  flags: number;
  /** Address field: the page (present) or whatever the OS stored there (not present). */
  pa: number;
}

/** Options of {@link Mapper.mapPages}. */
export interface MapOptions {
  /** Size of each page: 4 KiB (default), 2 MiB or 1 GiB. `va` and `pa` must be aligned to it. */
  readonly pageSize?: PageSize;
}

/** Options of {@link Mapper.mapRange}. */
export interface MapRangeOptions {
  /** Largest page size to use (default 1 GiB). */
  readonly maxPageSize?: PageSize;
}

/** Options of {@link Mapper.unmapPages}. */
export interface UnmapOptions {
  /**
   * Free page tables (allocated by this mapper) that the unmapping leaves with all 512 entries
   * zero, and clear their parent entries. Default true.
   */
  readonly freeTables?: boolean;
}

/** A run of pages an `unmapPages` call removed: free `[pa, pa + sizeBytes)` if you own it. */
export interface UnmappedRange {
  /** Linear address of the first page. */
  readonly va: number;
  /** Physical address the first page mapped; the run's frames are contiguous. */
  readonly pa: number;
  /** Bytes of the run (a multiple of `pageSizeBytes`). */
  readonly sizeBytes: number;
  /** Leaf flags word as stored (including A, D, PS for huge pages, OS bits); equal for the run. */
  readonly flags: number;
  /** 4096, 2 MiB or 1 GiB (after any split). */
  readonly pageSizeBytes: number;
}

/** Result of {@link Mapper.translate}: ONE object per mapper, overwritten by the next call. */
export interface Translation {
  /** The linear address translated. */
  va: number;
  /** Physical address of that byte. */
  pa: number;
  /** Size of the page it lies in: 4096, 2 MiB or 1 GiB. */
  pageSizeBytes: number;
  /** Level of the leaf entry: 1 (PT), 2 (PD) or 3 (PDPT). */
  level: number;
  /** Effective flags: leaf flags with R/W, U/S ANDed and NX ORed over all levels (SDM 4.6). */
  flags: number;
}

/** Options of {@link Mapper.locatePage}. */
export interface LocateOptions {
  /**
   * Create the missing tables down to the entry's level (default false: a pure read). All or
   * nothing: when the allocator runs out, the tables this call made are freed and it returns null.
   */
  readonly create?: boolean;
  /**
   * Size of the page whose entry you want (default 4 KiB: the PTE; 2 MiB / 4 MiB: the PDE;
   * 1 GiB: the PDPTE), one of the mode's page sizes.
   */
  readonly pageSize?: PageSize;
  /**
   * Flags of the leaf you mean to write there (default `Writable | User`). Only the 'leaf' table
   * policy reads them: new tables get, and tables on the path are widened to, their R/W and U/S.
   */
  readonly flags?: number;
}

/**
 * Result of {@link Mapper.locatePage}: where the entry that maps an address lives, so a kernel can
 * read or write it in place. ONE object per mapper, overwritten by the next call.
 */
export interface PageLocation {
  /** Linear address of the first byte the entry maps (the address rounded down to `pageSizeBytes`). */
  va: number;
  /** Level of the entry: 1 (PTE), 2 (PDE), 3 (PDPTE), 4 (PML4E) or 5 (PML5E). */
  level: number;
  /** Bytes one entry of that level maps: 4096, 2 MiB / 4 MiB, 1 GiB. */
  pageSizeBytes: number;
  /** Physical address of the table that holds the entry. */
  table: number;
  /** Index of the entry in that table. */
  index: number;
  /** Physical address of the entry itself: `table + index * entryBytes`. */
  entryPa: number;
  /** Bytes per entry: 8, or 4 in 32-bit paging. */
  entryBytes: number;
  /** The entry's raw low half (u32) as the call found it. */
  lo: number;
  /** The entry's raw high half (u32; 0 for a 4-byte entry) as the call found it. */
  hi: number;
  /** P bit of the entry. */
  present: boolean;
  /**
   * True when the entry is a present huge leaf (PS = 1 at level 2 or 3). At a level above 1, a
   * present entry that is not huge points at a table.
   */
  huge: boolean;
  /** Page tables this call created (0 without `create`). */
  tablesCreated: number;
}
