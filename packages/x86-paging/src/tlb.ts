// A translation lookaside buffer with the behaviour that bites kernel developers (SDM vol. 3A
// 4.10): it keeps answering with what the tables said when the translation was cached, until
// INVLPG, a CR3 write or a CR4 change drops it. Entries live in typed arrays, set-associative by
// a hash of the 4 KiB page number; no object per entry.
import { formatPa, formatVa, InvalidOptionError, InvariantViolationError } from './api';
import { type Access, accessName, type Mode, modeName } from './access-mode';
import { brand } from './brand';

const PAGE = 4096;
/** Flags-word bit D (entry bit 6). */
const DIRTY = 0x40;
/** PCID shift in `Tlb.tagsHigh` (below it: linear bits 56:44 of the page). */
const PCID_SHIFT = 13;
const HIGH_PAGE_MASK = 0x1fff;

/**
 * Size class of a cached translation, stored in `Tlb.levels`: the level of the leaf (1 = PT,
 * 2 = PD, 3 = PDPT) except for a 4 MiB page of 32-bit paging (a PDE, level 2), which has its own
 * class so the TLB knows its pieces span 4 MiB.
 */
export const TlbPageSize = {
  /** A 4 KiB page (PTE). */
  Size4K: 1,
  /** A 2 MiB page (PDE with PS = 1 in PAE, 4-level or 5-level paging). */
  Size2M: 2,
  /** A 1 GiB page (PDPTE with PS = 1). */
  Size1G: 3,
  /** A 4 MiB page (PDE with PS = 1 in 32-bit paging, CR4.PSE = 1). */
  Size4M: 4,
} as const;
/** One of the `TlbPageSize` values. */
export type TlbPageSize = (typeof TlbPageSize)[keyof typeof TlbPageSize];

/** Bytes of a page of size class `size` (a {@link TlbPageSize}). */
export function tlbPageSizeBytes(size: number): number {
  return size === 1 ? 4096 : size === 2 ? 2097152 : size === 3 ? 1073741824 : 4194304;
}

/** 4 KiB pages in a page of size class `size` (1, 512, 262,144 or 1,024). */
function piecesPerPage(size: number): number {
  return size === 1 ? 1 : size === 2 ? 512 : size === 3 ? 262144 : 1024;
}

/** Geometry of a {@link Tlb}. */
export interface TlbOptions {
  /**
   * Number of sets, a power of two in 1..65536; default 256. The set of a page is a hash of its
   * page number (see {@link Tlb.setIndex}), not just its low bits.
   */
  readonly setCount?: number;
  /**
   * Entries per set (associativity), 1..32; default 8. 256 × 8 = 2,048 entries, the size of a
   * modern second-level TLB, 8-way like Haswell's (SDM 4.10 leaves the organisation to the
   * implementation). The Mmu's fast path checks the way its way predictor names; a 2-way set is
   * also told absent from the two tags alone, more ways by a scan.
   */
  readonly wayCount?: number;
  /** Maximum stale-use reports kept in `staleUses` (the callback still sees all); default 1,000. */
  readonly maxStaleReports?: number;
}

/**
 * One use of a stale TLB entry, found by the debugging mode (`Tlb.detectStaleUses`): the TLB
 * answered with a translation the page tables no longer give. The usual cause is a missing
 * `invlpg` after changing or removing a present entry (SDM 4.10.4.2, 4.10.4.3).
 */
export interface StaleTlbUse {
  /** Linear address translated (exact; NaN for a 5-level address at or above 2^53: see `vaText`). */
  readonly va: number;
  /** The address in the paging mode's printed form (`0xc000_0000`, canonical 48- or 57-bit hex). */
  readonly vaText: string;
  /** PCID the access ran under. */
  readonly pcid: number;
  /** The access that used the entry. */
  readonly access: Access;
  /** Its mode. */
  readonly mode: Mode;
  /** Physical address the TLB gave. */
  readonly cachedPa: number;
  /** Effective flags word the TLB holds. */
  readonly cachedFlags: number;
  /** Page size of the cached translation, in bytes. */
  readonly cachedPageSizeBytes: number;
  /**
   * True when the cached rights denied the access, so it faulted although the tables may now
   * allow it: the "spurious" page fault after a permission upgrade without INVLPG (SDM
   * 4.10.4.3). The fault drops the entry; a retry walks the current tables.
   */
  readonly cachedFault: boolean;
  /** True when a walk of the current tables faults (the page was unmapped). */
  readonly currentFault: boolean;
  /** Error code the current tables would give for a read (valid when `currentFault`). */
  readonly currentErrorCode: number;
  /** Physical address the current tables give (valid when not `currentFault`). */
  readonly currentPa: number;
  /** Effective flags the current tables give (valid when not `currentFault`). */
  readonly currentFlags: number;
  /** Page size the current tables give, in bytes (valid when not `currentFault`). */
  readonly currentPageSizeBytes: number;
  /** One readable line. */
  readonly description: string;
}

/**
 * INVPCID types (SDM vol. 2 INVPCID; SDM 4.10.4.1).
 */
export const InvpcidType = {
  /** Individual address: the page's non-global entries of one PCID. */
  IndividualAddress: 0,
  /** Single context: every non-global entry of one PCID. */
  SingleContext: 1,
  /** All contexts, global entries included. */
  AllContextsIncludingGlobal: 2,
  /** All contexts, global entries kept. */
  AllContexts: 3,
} as const;
/** One of the `InvpcidType` values. */
export type InvpcidType = (typeof InvpcidType)[keyof typeof InvpcidType];

/** `Tlb.tagsHigh` of an empty slot (a valid entry's is 0..2^25 − 1). */
export const TLB_EMPTY = -1;

/**
 * Set-associative TLB over 4 KiB page numbers, tagged by PCID, with global entries.
 *
 * What it caches (SDM 4.10.2.2): for a 4 KiB piece of a page, the physical address, the
 * effective rights combined over all levels (R/W and U/S AND-ed, XD OR-ed), the leaf's D, G,
 * PAT/PCD/PWT and OS bits (the flags word the Mmu returns), and the level of the leaf. A 2 MiB or
 * 1 GiB page is cached as the 4 KiB pieces that were used ("fractured", as SDM 4.10.2.3 allows);
 * `invalidatePage` drops every piece of the huge page containing the address, as INVLPG does.
 *
 * Who fills it: the {@link Mmu}, after a successful walk. Who empties it: `Cpu.invlpg`,
 * `Cpu.writeCr3`, `Cpu.writeCr4`, page faults (SDM 4.10.4.1: a #PF drops the faulting page's
 * entries), and the methods below.
 *
 * Storage: one typed array per field, indexed by slot = set × wayCount + way, so the tags of a
 * set sit side by side (the Mmu's probe reads one short run of `tags`) and an entry is written
 * once, in place. Replacement: an empty way of the set, else round robin per set.
 *
 * Counters: `hits` and `misses` count lookups made by `Mmu.translate`.
 */
export class Tlb {
  static {
    brand(this, 'Tlb'); // instanceof across the import and require copies (brand.ts)
  }
  /** Number of sets. */
  readonly setCount: number;
  /** Entries per set. */
  readonly wayCount: number;
  /** setCount × wayCount. */
  readonly entryCount: number;
  /**
   * Tag, low part: bits 43:12 of the cached page's linear address (its page number's low 32
   * bits, as an int32). -1 in an empty slot (also the tag of the top page of the address space,
   * so `tagsHigh` decides validity). Read-only outside the Tlb; the Mmu's probe scans it.
   */
  readonly tags: Int32Array;
  /**
   * Tag, high part: bits 56:44 of the linear address (47:44 in 4-level paging, 0 in 32-bit and
   * PAE paging) | PCID << 13; {@link TLB_EMPTY} in an empty slot.
   */
  readonly tagsHigh: Int32Array;
  /** 1 for a global entry (G = 1 in the leaf and CR4.PGE = 1 at fill time): used under any PCID. */
  readonly globals: Uint8Array;
  /** Physical address of the cached 4 KiB piece. */
  readonly frames: Float64Array;
  /** Effective flags word of each entry (see `TranslationResult.flags`). */
  readonly flags: Int32Array;
  /** Size class of each entry (see {@link TlbPageSize}): 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB, 4 = 4 MiB. */
  readonly levels: Uint8Array;
  /**
   * Way predictor: for each value of the page hash (see {@link Tlb.hash}) masked by `hintMask`,
   * the way that last held or answered a page with that hash, in the page's set. A guess only —
   * the Mmu checks that slot's tags before using it, and scans the set when the guess is wrong —
   * so it changes how fast an entry is found, never what the TLB holds or answers (AMD's L1 data
   * cache picks a way the same way, from a hash of the linear address, before the full tag
   * compare). With 16 hints per entry a hot page's hint is right ~97 % of the time, so most hits
   * skip the scan of the set (whose exit the host CPU cannot predict).
   */
  readonly hints: Uint8Array;
  /** hints.length - 1 (a power of two minus one). */
  readonly hintMask: number;
  /** Round-robin victim pointer per set. */
  private readonly victims: Uint8Array;
  /** Valid entries per set: a full set needs no search for an empty way. */
  private readonly validCounts: Uint8Array;
  /** setCount - 1: `hash & setMask` is the set of a page. */
  readonly setMask: number;
  /** Number of valid entries with level > 1. */
  private hugeEntries = 0;

  /**
   * Number of cached pieces of 2 MiB, 4 MiB and 1 GiB pages (entries with a size class above
   * 4 KiB). While it is 0, dropping a page's entries never has to look beyond the page's own set:
   * the Mmu skips the INVLPG-style drop after a fault on a page it found uncached.
   */
  get hugePieceCount(): number {
    return this.hugeEntries;
  }
  /**
   * Which huge pages have cached pieces, so INVLPG scans for pieces only when the huge page
   * containing its address has some (a kernel's direct map keeps 2 MiB / 1 GiB pieces cached
   * all the time; an INVLPG of a user page must not pay a full scan for them). An open-addressing
   * hash table (linear probing, no tombstones) of keys `2 × (va >> 21)` for a 2 MiB page and
   * `2 × (va >> 30) + 1` for a 1 GiB one, -1 = empty, with the number of cached pieces of each.
   * Capacity is a power of two ≥ 2 × entryCount, so it never fills.
   */
  private readonly hugeKeys: Int32Array;
  private readonly hugeCounts: Int32Array;
  private readonly hugeMask: number;
  /**
   * Number of valid global entries filled under a PCID other than 0. While it is 0, the Mmu's fast
   * probe (which sees PCID 0 only) finds every entry `lookup(…, 0)` would.
   */
  foreignGlobals = 0;

  /** Lookups answered by the TLB. */
  hits = 0;
  /** Lookups that needed a page walk. */
  misses = 0;
  /**
   * `enabled` (bit 0) and `detectStaleUses` (bit 1) as one small integer: the Mmu's probe tests
   * `probeMode === 1` (on, no stale-use detection) with one compare. As two boolean fields each
   * test compiled to V8's generic truthiness check (false, "", undetectable, number, BigInt):
   * ~20 instructions of a ~200-instruction TLB hit.
   */
  private modeBits = 1;
  /** 1 when the Mmu may answer from its quick probe: `enabled` and not `detectStaleUses`. */
  get probeMode(): number {
    return this.modeBits;
  }
  /** When false the Mmu neither looks up nor fills (a CPU without a TLB; for measuring walks). */
  get enabled(): boolean {
    return (this.modeBits & 1) !== 0;
  }
  /** Turns the TLB on or off (off: every translation walks, nothing is cached). */
  set enabled(on: boolean) {
    this.modeBits = on ? this.modeBits | 1 : this.modeBits & ~1;
  }
  /**
   * Debugging mode: when true, the Mmu re-walks the tables on every hit and reports each use of
   * a stale entry to `onStaleUse` and `staleUses`. Costs a walk per hit; for tests and teaching.
   */
  get detectStaleUses(): boolean {
    return (this.modeBits & 2) !== 0;
  }
  /** Turns stale-use detection on or off (on: every hit re-walks the tables to compare). */
  set detectStaleUses(on: boolean) {
    this.modeBits = on ? this.modeBits | 2 : this.modeBits & ~2;
  }
  /**
   * With `detectStaleUses`: also report a hit on an entry whose leaf had A = 1 when cached and has
   * A = 0 in the tables now — A cleared without INVLPG, so the access does not set it again and a
   * clear A stops meaning "not used since" (SDM 4.10.4.3). The bug of a page-replacement policy
   * that ages pages by A. Off by default: the CPU acts on nothing here, and Linux clears A without
   * a flush on purpose (x86's ptep_clear_flush_young), accepting that loss of accuracy.
   */
  detectClearedAccessed = false;
  /** Called for every stale use found while `detectStaleUses` is on. */
  onStaleUse: ((use: StaleTlbUse) => void) | null = null;
  /** Stale uses found so far (the first `maxStaleReports`). */
  readonly staleUses: StaleTlbUse[] = [];
  /** Number of stale uses found so far (may exceed `staleUses.length`). */
  staleUseCount = 0;
  private readonly maxStaleReports: number;

  /** @throws InvalidOptionError for a geometry outside the documented ranges */
  constructor(options: TlbOptions = {}) {
    const setCount = options.setCount ?? 256;
    const wayCount = options.wayCount ?? 8;
    const maxStaleReports = options.maxStaleReports ?? 1000;
    if (!Number.isInteger(setCount) || setCount < 1 || setCount > 65536 || (setCount & (setCount - 1)) !== 0) {
      throw new InvalidOptionError('setCount', setCount, 'must be a power of two in 1..65536');
    }
    if (!Number.isInteger(wayCount) || wayCount < 1 || wayCount > 32) {
      throw new InvalidOptionError('wayCount', wayCount, 'must be an integer in 1..32');
    }
    if (!Number.isInteger(maxStaleReports) || maxStaleReports < 0) {
      throw new InvalidOptionError('maxStaleReports', maxStaleReports, 'must be a non-negative integer');
    }
    this.setCount = setCount;
    this.wayCount = wayCount;
    this.entryCount = setCount * wayCount;
    this.setMask = setCount - 1;
    this.maxStaleReports = maxStaleReports;
    this.tags = new Int32Array(this.entryCount).fill(-1);
    this.tagsHigh = new Int32Array(this.entryCount).fill(TLB_EMPTY);
    this.globals = new Uint8Array(this.entryCount);
    this.frames = new Float64Array(this.entryCount);
    this.flags = new Int32Array(this.entryCount);
    this.levels = new Uint8Array(this.entryCount);
    let hintCount = 64;
    while (hintCount < 16 * this.entryCount && hintCount < 1 << 22) hintCount *= 2;
    this.hints = new Uint8Array(hintCount);
    this.hintMask = hintCount - 1;
    this.victims = new Uint8Array(setCount);
    this.validCounts = new Uint8Array(setCount);
    let capacity = 16;
    while (capacity < 2 * this.entryCount) capacity *= 2;
    this.hugeKeys = new Int32Array(capacity).fill(-1);
    this.hugeCounts = new Int32Array(capacity);
    this.hugeMask = capacity - 1;
  }

  /**
   * Key of the huge page holding 4 KiB page `pageHi * 2^20 + pageLo` cached with size class
   * `level` (2, 3 or 4) in the huge-page table: the huge page number's low bits, times 4, plus the
   * class, in 31 bits. Exact for every 4-level, PAE and 32-bit address; for 5-level addresses high
   * bits fold away, so two huge pages may share a key — the table is only a filter (a shared key
   * costs a scan in `invalidatePage`, which compares exact page numbers).
   */
  private static hugeKey(pageHi: number, pageLo: number, level: number): number {
    // 2 MiB page number = page >> 9; 1 GiB = page >> 18; 4 MiB = page >> 10 (pageHi = 0).
    const n = level === 2 ? (pageHi << 11) | (pageLo >>> 9) : level === 3 ? (pageHi << 2) | (pageLo >>> 18) : (pageHi << 10) | (pageLo >>> 10);
    return ((n << 2) | level) & 0x7fff_ffff;
  }

  private hugeHome(key: number): number {
    return (key ^ (key >>> 11) ^ (key >>> 19)) & this.hugeMask;
  }

  /** Slot of `key` in the huge-page table, or of the empty slot where it would go. */
  private hugeFind(key: number): number {
    const keys = this.hugeKeys;
    const mask = this.hugeMask;
    let i = this.hugeHome(key);
    while (keys[i] !== -1 && keys[i] !== key) i = (i + 1) & mask;
    return i;
  }

  /** One more cached piece of a huge page. */
  private hugeAdd(pageHi: number, pageLo: number, level: number): void {
    this.hugeEntries++;
    const key = Tlb.hugeKey(pageHi, pageLo, level);
    const i = this.hugeFind(key);
    if (this.hugeKeys[i] === -1) {
      this.hugeKeys[i] = key;
      this.hugeCounts[i] = 1;
    } else {
      this.hugeCounts[i]!++;
    }
  }

  /** One cached piece of a huge page fewer; the key leaves the table with its last piece. */
  private hugeRemove(pageHi: number, pageLo: number, level: number): void {
    this.hugeEntries--;
    const keys = this.hugeKeys;
    const counts = this.hugeCounts;
    const mask = this.hugeMask;
    let hole = this.hugeFind(Tlb.hugeKey(pageHi, pageLo, level));
    if (--counts[hole]! > 0) return;
    // Backward-shift deletion: move up every later key of the run that may live in the hole.
    for (let j = (hole + 1) & mask; keys[j] !== -1; j = (j + 1) & mask) {
      const home = this.hugeHome(keys[j]!);
      // keys[j] may move into the hole unless its home lies cyclically in (hole, j].
      const homeAfterHole = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!homeAfterHole) {
        keys[hole] = keys[j]!;
        counts[hole] = counts[j]!;
        hole = j;
      }
    }
    keys[hole] = -1;
    counts[hole] = 0;
  }

  /** True when some piece of the huge page (level 2 or 3) holding 4 KiB page `pageHi * 2^20 + pageLo` is cached. */
  private hugeCached(pageHi: number, pageLo: number, level: number): boolean {
    return this.hugeKeys[this.hugeFind(Tlb.hugeKey(pageHi, pageLo, level))] !== -1;
  }

  /** True when `slot` holds an entry. */
  isValid(slot: number): boolean {
    return this.tagsHigh[slot] !== TLB_EMPTY;
  }

  /** 4 KiB page number (linear address / 4096, below 2^45) cached in `slot`, or -1 when the slot is empty. */
  pageNumberAt(slot: number): number {
    const high = this.tagsHigh[slot]!;
    return high === TLB_EMPTY ? -1 : (high & HIGH_PAGE_MASK) * 4294967296 + (this.tags[slot]! >>> 0);
  }

  /** PCID `slot` was filled under (0 for an empty slot). */
  pcidAt(slot: number): number {
    const high = this.tagsHigh[slot]!;
    return high === TLB_EMPTY ? 0 : high >>> PCID_SHIFT;
  }

  /**
   * Slot holding the translation of the 4 KiB page `pageHi * 2^20 + pageLo` usable under `pcid`
   * (its own PCID, or global), or -1. Counts nothing; the Mmu counts.
   * The page number comes split so the Mmu passes small integers (V8 boxes a double argument of a
   * call it does not inline; see README "Design decisions").
   * @param pageHi bits 47:32 of the linear address (56:32 in 5-level paging)
   * @param pageLo bits 31:12 of the linear address (0 .. 2^20 - 1)
   */
  lookup(pageHi: number, pageLo: number, pcid: number): number {
    const tag = (pageHi << 20) | pageLo;
    const high = pageHi >>> 12;
    const own = high | (pcid << PCID_SHIFT);
    const ways = this.wayCount;
    const hash = Tlb.hash(pageHi, pageLo);
    const base = (hash & this.setMask) * ways;
    const tags = this.tags;
    const tagsHigh = this.tagsHigh;
    for (let i = base, end = base + ways; i < end; i++) {
      // An empty slot has tagsHigh -1 and global 0, so it matches neither test.
      if (tags[i] === tag && (tagsHigh[i] === own || (this.globals[i] === 1 && (tagsHigh[i]! & HIGH_PAGE_MASK) === high))) {
        this.hints[hash & this.hintMask] = i - base;
        return i;
      }
    }
    return -1;
  }

  /**
   * The Mmu's probe after a wrong hint: the first slot of the page's set whose tag holds linear-
   * address bits 43:12 of the page (whatever its bits 47:44 and PCID), or -1 when none does — then
   * no entry of the page exists under any PCID. Records the slot as the page's hint.
   * @param pageHi bits 47:32 of the linear address
   * @param pageLo bits 31:12 of the linear address (0 .. 2^20 - 1)
   */
  findTag(pageHi: number, pageLo: number): number {
    const tag = (pageHi << 20) | pageLo;
    const hash = Tlb.hash(pageHi, pageLo);
    const tags = this.tags;
    const ways = this.wayCount;
    const base = (hash & this.setMask) * ways;
    for (let i = base, end = base + ways; i < end; i++) {
      if (tags[i] === tag) {
        this.hints[hash & this.hintMask] = i - base;
        return i;
      }
    }
    return -1;
  }

  /**
   * Set of a 4 KiB page: its page number's low bits XOR-ed with higher ones, so that pages a fixed
   * power of two apart (the same offset in different 16 MiB regions, or in different address
   * spaces' identical layouts) do not all fall into one set, while a run of consecutive pages still
   * lands in distinct sets (any `setCount` consecutive pages inside a block of `setCount` aligned ones). Hardware TLBs hash their index
   * too; the SDM leaves it unspecified.
   * @param pageHi bits 47:32 of the linear address
   * @param pageLo bits 31:12 of the linear address (0 .. 2^20 - 1)
   */
  setIndex(pageHi: number, pageLo: number): number {
    return Tlb.hash(pageHi, pageLo) & this.setMask;
  }

  /**
   * Hash of a 4 KiB page number (an int32; 0 .. 2^24 - 1 for 4-level, PAE and 32-bit pages, any int32
   * for 5-level ones): its low bits select the set (`& (setCount - 1)`)
   * and the hint (`& hintMask`).
   * @param pageHi bits 47:32 of the linear address
   * @param pageLo bits 31:12 of the linear address (0 .. 2^20 - 1)
   */
  static hash(pageHi: number, pageLo: number): number {
    return pageLo ^ (pageLo >>> 12) ^ (pageHi << 8) ^ (pageHi >>> 4);
  }

  /**
   * Caches the translation of 4 KiB page `pageNumber` (= va / 4096) to the 4 KiB piece at `frame`.
   * Convenience form of {@link Tlb.insert}.
   */
  insertPage(pageNumber: number, pcid: number, frame: number, flags: number, level: number, global: boolean): void {
    const pageHi = Math.floor(pageNumber / 1048576);
    const frameHi = Math.floor(frame / 4294967296);
    this.insert(pageHi, pageNumber - pageHi * 1048576, pcid, frameHi, (frame - frameHi * 4294967296) | 0, flags, level, global);
  }

  /**
   * Caches a translation: replaces the entry for the same page and PCID (or a global one) if
   * present, else an empty way, else the set's round-robin victim. Split arguments as in `lookup`.
   * @param frameHi bits 51:32 of the physical address of the 4 KiB piece containing the page
   * @param frameLo bits 31:0 of it (as a signed or unsigned 32-bit integer)
   * @param flags effective flags word
   * @param level size class of the page (a TlbPageSize: 1, 2, 3, or 4 for a 32-bit 4 MiB page)
   * @param global true to make the entry global (G = 1 and CR4.PGE = 1)
   */
  insert(pageHi: number, pageLo: number, pcid: number, frameHi: number, frameLo: number, flags: number, level: number, global: boolean): void {
    const slot = this.lookup(pageHi, pageLo, pcid);
    if (slot < 0) {
      this.fill(pageHi, pageLo, pcid, frameHi, frameLo, flags, level, global);
      return;
    }
    this.forget(slot);
    this.write(slot, pageHi, pageLo, pcid, frameHi, frameLo, flags, level, global);
  }

  /**
   * Caches a translation known to be absent (no entry of the page usable under `pcid`): takes an
   * empty way of the page's set, else the set's round-robin victim. The Mmu's fill after a miss.
   */
  fill(pageHi: number, pageLo: number, pcid: number, frameHi: number, frameLo: number, flags: number, level: number, global: boolean): void {
    const ways = this.wayCount;
    const hash = Tlb.hash(pageHi, pageLo);
    const set = hash & this.setMask;
    let slot = set * ways;
    if (this.validCounts[set] === ways) {
      const v = this.victims[set]!;
      slot += v;
      this.victims[set] = v + 1 === ways ? 0 : v + 1;
      // Only huge and global entries have counters to keep.
      if (this.levels[slot] !== 1 || this.globals[slot] !== 0) this.forget(slot);
    } else {
      while (this.tagsHigh[slot] !== TLB_EMPTY) slot++;
      this.validCounts[set]!++;
    }
    this.hints[hash & this.hintMask] = slot - set * ways;
    this.write(slot, pageHi, pageLo, pcid, frameHi, frameLo, flags, level, global);
  }

  /** Writes an entry into `slot` (whose previous entry, if any, was forgotten). */
  private write(slot: number, pageHi: number, pageLo: number, pcid: number, frameHi: number, frameLo: number, flags: number, level: number, global: boolean): void {
    this.tags[slot] = (pageHi << 20) | pageLo;
    this.tagsHigh[slot] = (pageHi >>> 12) | (pcid << PCID_SHIFT);
    this.frames[slot] = frameHi * 4294967296 + (frameLo >>> 0);
    this.flags[slot] = flags;
    this.levels[slot] = level;
    this.globals[slot] = global ? 1 : 0;
    if (level > 1) this.hugeAdd(pageHi, pageLo, level);
    if (global && pcid !== 0) this.foreignGlobals++;
  }

  /** Counter upkeep for a valid slot about to be overwritten or emptied. */
  private forget(slot: number): void {
    const level = this.levels[slot]!;
    const high = this.tagsHigh[slot]!;
    const tag = this.tags[slot]!;
    if (level > 1) this.hugeRemove(((high & HIGH_PAGE_MASK) << 12) | (tag >>> 20), tag & 0xfffff, level);
    if (this.globals[slot] === 1 && high >>> PCID_SHIFT !== 0) this.foreignGlobals--;
  }

  /** Empties one slot. */
  private drop(slot: number): void {
    if (this.tagsHigh[slot] === TLB_EMPTY) return;
    this.forget(slot);
    this.tags[slot] = -1;
    this.tagsHigh[slot] = TLB_EMPTY;
    this.globals[slot] = 0;
    this.levels[slot] = 0;
    this.validCounts[(slot / this.wayCount) | 0]!--;
  }

  /**
   * INVLPG semantics (SDM 4.10.4.1): drops the entries for the page containing `va` that belong
   * to `pcid`, and global entries for it under any PCID. When the page was cached as part of a
   * 2 MiB / 4 MiB / 1 GiB page, every cached piece of that page goes too.
   * @param va linear address below 2^53 (a 5-level address above: `invalidatePageSplit`)
   * @returns number of entries dropped
   */
  invalidatePage(va: number, pcid: number, keepGlobal = false): number {
    const vaHi = Math.floor(va / 4294967296);
    return this.invalidatePageSplit(vaHi, (va - vaHi * 4294967296) | 0, pcid, keepGlobal);
  }

  /**
   * `invalidatePage` for a linear address given as bits 56:32 (`vaHi`) and 31:0 (`vaLo`).
   * @returns number of entries dropped
   */
  invalidatePageSplit(vaHi: number, vaLo: number, pcid: number, keepGlobal = false): number {
    let dropped = 0;
    const pageHi = vaHi;
    const pageLo = vaLo >>> 12;
    const pageNumber = pageHi * 1048576 + pageLo;
    const tag = (pageHi << 20) | pageLo;
    const high = pageHi >>> 12;
    const base = this.setIndex(pageHi, pageLo) * this.wayCount;
    for (let i = base, end = base + this.wayCount; i < end; i++) {
      if (this.tags[i] === tag && (this.tagsHigh[i]! & HIGH_PAGE_MASK) === high && this.tagsHigh[i] !== TLB_EMPTY && this.matches(i, pcid, keepGlobal)) {
        this.drop(i);
        dropped++;
      }
    }
    // Pieces of a huge page sit in the sets of their own 4 KiB page numbers: scan for them only
    // when the 2 MiB, 4 MiB or 1 GiB page containing `va` has pieces cached (any PCID).
    if (this.hugeEntries > 0 && (this.hugeCached(pageHi, pageLo, 2) || this.hugeCached(pageHi, pageLo, 3) || this.hugeCached(pageHi, pageLo, 4))) {
      for (let i = 0; i < this.entryCount; i++) {
        const level = this.levels[i]!;
        if (level === 1 || this.tagsHigh[i] === TLB_EMPTY || !this.matches(i, pcid, keepGlobal)) continue;
        const pieces = piecesPerPage(level);
        if (Math.floor(this.pageNumberAt(i) / pieces) === Math.floor(pageNumber / pieces)) {
          this.drop(i);
          dropped++;
        }
      }
    }
    return dropped;
  }

  private matches(slot: number, pcid: number, keepGlobal: boolean): boolean {
    if (this.globals[slot] === 1) return !keepGlobal;
    return this.tagsHigh[slot]! >>> PCID_SHIFT === pcid;
  }

  /**
   * Drops every non-global entry of `pcid` (a CR3 write, SDM 4.10.4.1), or of every PCID when
   * `pcid` is -1. Global entries stay.
   * @returns number of entries dropped
   */
  flushNonGlobal(pcid = -1): number {
    let dropped = 0;
    for (let i = 0; i < this.entryCount; i++) {
      const high = this.tagsHigh[i]!;
      if (high !== TLB_EMPTY && this.globals[i] === 0 && (pcid === -1 || high >>> PCID_SHIFT === pcid)) {
        this.drop(i);
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * Drops every entry, global ones included (a CR4.PGE change, SDM 4.10.4.1), or every entry
   * of one PCID (global ones included) when `pcid` is given.
   * @returns number of entries dropped
   */
  flushAll(pcid = -1): number {
    let dropped = 0;
    for (let i = 0; i < this.entryCount; i++) {
      const high = this.tagsHigh[i]!;
      if (high !== TLB_EMPTY && (pcid === -1 || high >>> PCID_SHIFT === pcid)) {
        this.drop(i);
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * INVPCID (SDM vol. 2): type 0 drops `va`'s non-global entries of `pcid`; 1 every non-global
   * entry of `pcid`; 2 everything; 3 every non-global entry.
   * @throws InvalidOptionError for an unknown type or a PCID outside 0..4095
   */
  invpcid(type: InvpcidType, pcid: number, va = 0): number {
    if (!Number.isInteger(pcid) || pcid < 0 || pcid > 0xfff) throw new InvalidOptionError('pcid', pcid, 'a PCID is an integer in 0..4095');
    switch (type) {
      case InvpcidType.IndividualAddress:
        return this.invalidatePage(va, pcid, true);
      case InvpcidType.SingleContext:
        return this.flushNonGlobal(pcid);
      case InvpcidType.AllContextsIncludingGlobal:
        return this.flushAll();
      case InvpcidType.AllContexts:
        return this.flushNonGlobal();
      default:
        throw new InvalidOptionError('type', type, 'INVPCID type must be 0..3');
    }
  }

  /** Number of valid entries. */
  validCount(): number {
    let n = 0;
    for (let set = 0; set < this.setCount; set++) n += this.validCounts[set]!;
    return n;
  }

  /** hits / (hits + misses), or 0 before any lookup. */
  hitRate(): number {
    const total = this.hits + this.misses;
    return total === 0 ? 0 : this.hits / total;
  }

  /** Zeroes the hit/miss counters. */
  resetCounters(): void {
    this.hits = 0;
    this.misses = 0;
  }

  /** Records a stale use (called by the Mmu in debugging mode). */
  reportStaleUse(use: StaleTlbUse): void {
    this.staleUseCount++;
    if (this.staleUses.length < this.maxStaleReports) this.staleUses.push(use);
    this.onStaleUse?.(use);
  }

  /** Valid entries, decoded, with their slots (for display and tests; allocates). */
  entries(): TlbEntry[] {
    const out: TlbEntry[] = [];
    for (let i = 0; i < this.entryCount; i++) {
      if (this.tagsHigh[i] === TLB_EMPTY) continue;
      const pageNumber = this.pageNumberAt(i);
      out.push({ slot: i, pageNumber, va: pageNumber < 2 ** 41 ? pageNumber * PAGE : Number.NaN, pcid: this.pcidAt(i), global: this.globals[i] === 1, pa: this.frames[i]!, flags: this.flags[i]!, level: this.levels[i]! });
    }
    return out;
  }

  /** @throws InvariantViolationError on inconsistent internal state */
  checkInvariants(): void {
    let huge = 0;
    let foreign = 0;
    for (let set = 0; set < this.setCount; set++) {
      let valid = 0;
      for (let i = set * this.wayCount; i < (set + 1) * this.wayCount; i++) if (this.tagsHigh[i] !== TLB_EMPTY) valid++;
      if (valid !== this.validCounts[set]) throw new InvariantViolationError(`TLB set ${set}: counts ${this.validCounts[set]} valid entries, holds ${valid}`);
      if (this.victims[set]! >= this.wayCount) throw new InvariantViolationError(`TLB set ${set}: victim pointer ${this.victims[set]} past the last way`);
    }
    for (let i = 0; i < this.entryCount; i++) {
      const high = this.tagsHigh[i]!;
      if (high === TLB_EMPTY) {
        if (this.tags[i] !== -1 || this.globals[i] !== 0) throw new InvariantViolationError(`TLB slot ${i}: empty but not cleared`);
        continue;
      }
      if (high < 0 || high > 0x1ff_ffff) throw new InvariantViolationError(`TLB slot ${i}: bad high tag ${high}`);
      const page = this.pageNumberAt(i);
      const pageHi = Math.floor(page / 1048576);
      if (this.setIndex(pageHi, page - pageHi * 1048576) !== Math.floor(i / this.wayCount)) {
        throw new InvariantViolationError(`TLB slot ${i}: page number 0x${page.toString(16)} in the wrong set`);
      }
      const level = this.levels[i]!;
      if (level < 1 || level > 4) throw new InvariantViolationError(`TLB slot ${i}: bad size class ${level}`);
      if (level === 4 && page >= 1048576) throw new InvariantViolationError(`TLB slot ${i}: a 4 MiB piece above 4 GiB`);
      if (level > 1) huge++;
      const global = this.globals[i]!;
      if (global > 1) throw new InvariantViolationError(`TLB slot ${i}: bad global flag ${global}`);
      if (global === 1 && high >>> PCID_SHIFT !== 0) foreign++;
      const frame = this.frames[i]!;
      if (!Number.isSafeInteger(frame) || frame < 0 || frame % PAGE !== 0) throw new InvariantViolationError(`TLB slot ${i}: bad frame ${formatPa(frame)}`);
      if ((this.flags[i]! & 1) === 0) throw new InvariantViolationError(`TLB slot ${i}: cached a non-present translation`);
      for (let j = i + 1; j < (Math.floor(i / this.wayCount) + 1) * this.wayCount; j++) {
        if (this.tags[j] === this.tags[i] && this.tagsHigh[j] === high && this.globals[j] === global) {
          throw new InvariantViolationError(`TLB: page number 0x${page.toString(16)} cached twice for PCID ${high >>> PCID_SHIFT}`);
        }
      }
    }
    if (huge !== this.hugeEntries) throw new InvariantViolationError(`TLB: huge-entry count ${this.hugeEntries}, found ${huge}`);
    const pieces = new Map<number, number>();
    for (let i = 0; i < this.entryCount; i++) {
      const level = this.levels[i]!;
      if (this.tagsHigh[i] === TLB_EMPTY || level === 1) continue;
      const page = this.pageNumberAt(i);
      const pageHi = Math.floor(page / 1048576);
      const key = Tlb.hugeKey(pageHi, page - pageHi * 1048576, level);
      pieces.set(key, (pieces.get(key) ?? 0) + 1);
    }
    let keyCount = 0;
    for (let i = 0; i <= this.hugeMask; i++) {
      const key = this.hugeKeys[i]!;
      if (key === -1) continue;
      keyCount++;
      if (pieces.get(key) !== this.hugeCounts[i]) {
        throw new InvariantViolationError(`TLB: huge page key ${key} counts ${this.hugeCounts[i]} pieces, found ${pieces.get(key) ?? 0}`);
      }
      if (this.hugeFind(key) !== i) throw new InvariantViolationError(`TLB: huge page key ${key} unreachable from its home slot`);
    }
    if (keyCount !== pieces.size) throw new InvariantViolationError(`TLB: ${pieces.size} huge pages cached, table holds ${keyCount}`);
    if (foreign !== this.foreignGlobals) throw new InvariantViolationError(`TLB: foreign-global count ${this.foreignGlobals}, found ${foreign}`);
  }
}

/** One valid TLB entry, decoded (see `Tlb.entries`). */
export interface TlbEntry {
  /** Slot index (set × wayCount + way). */
  readonly slot: number;
  /** 4 KiB page number of the cached page (linear address / 4096; exact in every mode). */
  readonly pageNumber: number;
  /** Linear address of the cached 4 KiB page (NaN for a 5-level page at or above 2^53: use `pageNumber`). */
  readonly va: number;
  /** PCID it was filled under. */
  readonly pcid: number;
  /** Global entry (usable under any PCID, kept across CR3 writes). */
  readonly global: boolean;
  /** Physical address of the cached 4 KiB piece. */
  readonly pa: number;
  /** Effective flags word. */
  readonly flags: number;
  /** Size class (see {@link TlbPageSize}): 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB, 4 = 4 MiB. */
  readonly level: number;
}

/** A readable line for a stale use (used by the Mmu when it builds a report). */
export function describeStaleUse(va: number, access: Access, mode: Mode, cachedPa: number, currentFault: boolean, currentPa: number, cachedFault = false, vaText = formatVa(va), why = 'missing invlpg?'): string {
  const now = currentFault ? 'the page is no longer mapped' : `the tables now give ${formatPa(currentPa)}`;
  const used = cachedFault ? `faulted on the cached rights of ${formatPa(cachedPa)}` : `went to ${formatPa(cachedPa)}`;
  return `stale TLB entry used: ${modeName(mode)} ${accessName(access)} at ${vaText} ${used} but ${now} (${why})`;
}

/** Flags-word bit D, exported for the Mmu's write-through-clean-entry rule. */
export const TLB_DIRTY_BIT = DIRTY;
