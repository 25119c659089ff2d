// A translation lookaside buffer with the behaviour that bites kernel developers (SDM vol. 3A
// 4.10): it keeps answering with what the tables said when the translation was cached, until
// INVLPG, a CR3 write or a CR4 change drops it. Entries live in typed arrays, set-associative by
// a hash of the 4 KiB page number; no object per entry.
import { formatPa, formatVa, InvalidOptionError, InvariantViolationError } from './api';
import { type Access, accessName, type Mode, modeName } from './access-mode';

const PAGE = 4096;
/** Flags-word bit D (entry bit 6). */
const DIRTY = 0x40;

/** Geometry of a {@link Tlb}. */
export interface TlbOptions {
  /**
   * Number of sets, a power of two in 1..65536; default 1024. The set of a page is a hash of its
   * page number (see {@link Tlb.setIndex}), not just its low bits.
   */
  readonly setCount?: number;
  /**
   * Entries per set (associativity), 1..32; default 2. 1024 × 2 = 2,048 entries, the size of a
   * modern second-level TLB (SDM 4.10 leaves the organisation to the implementation). One and two
   * ways are answered by an unrolled probe on the Mmu's fast path; more ways by a loop.
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
  /** Linear address translated. */
  readonly va: number;
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

/** 32-bit words per slot in {@link Tlb.keys}: tag low, tag high | PCID << 16, flags, level, frame (f64 at words 4-5), global. */
export const TLB_SLOT_WORDS = 8;

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
 * Counters: `hits` and `misses` count lookups made by `Mmu.translate`.
 */
export class Tlb {
  /** Number of sets. */
  readonly setCount: number;
  /** Entries per set. */
  readonly wayCount: number;
  /** setCount × wayCount. */
  readonly entryCount: number;
  /** Tag: 4 KiB page number (va / 4096) of each entry, or -1 when the slot is empty. */
  readonly pageNumbers: Float64Array;
  /** PCID each entry was filled under. */
  readonly pcids: Uint16Array;
  /** 1 for a global entry (G = 1 in the leaf and CR4.PGE = 1 at fill time): used under any PCID. */
  readonly globals: Uint8Array;
  /** Physical address of the cached 4 KiB piece. */
  readonly frames: Float64Array;
  /** Effective flags word of each entry (see `TranslationResult.flags`). */
  readonly flags: Int32Array;
  /** Level of the leaf: 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB. */
  readonly levels: Uint8Array;
  /**
   * The same entries packed for the Mmu's fast path, {@link TLB_SLOT_WORDS} words per slot so a
   * hit touches one cache line instead of six arrays: word 0 = page bits 31:12 (va bits 31:12 as
   * 0..2^20-1; -1 = empty), word 1 = va bits 47:32 | PCID << 16, word 2 = flags, word 3 = level,
   * words 4-5 = the frame as a float64 (read through {@link Tlb.keyFrames}), word 6 = global.
   * Written only by the Tlb; kept equal to the arrays above (checked by `checkInvariants`). One
   * extra slot at the end stays empty.
   */
  readonly keys: Int32Array;
  /** Float64 view of {@link Tlb.keys}: the frame of slot `s` is `keyFrames[s * 4 + 2]`. */
  readonly keyFrames: Float64Array;
  /** Round-robin victim pointer per set. */
  private readonly victims: Uint8Array;
  private readonly setMask: number;
  /** Number of valid entries with level > 1. */
  private hugeEntries = 0;
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
   * probe (which sees PCID 0 only) finds every entry `lookup(…, 0)` would, so a miss there is a miss.
   */
  foreignGlobals = 0;

  /** Lookups answered by the TLB. */
  hits = 0;
  /** Lookups that needed a page walk. */
  misses = 0;
  /** When false the Mmu neither looks up nor fills (a CPU without a TLB; for measuring walks). */
  enabled = true;
  /**
   * Debugging mode: when true, the Mmu re-walks the tables on every hit and reports each use of
   * a stale entry to `onStaleUse` and `staleUses`. Costs a walk per hit; for tests and teaching.
   */
  detectStaleUses = false;
  /** Called for every stale use found while `detectStaleUses` is on. */
  onStaleUse: ((use: StaleTlbUse) => void) | null = null;
  /** Stale uses found so far (the first `maxStaleReports`). */
  readonly staleUses: StaleTlbUse[] = [];
  /** Number of stale uses found so far (may exceed `staleUses.length`). */
  staleUseCount = 0;
  private readonly maxStaleReports: number;

  /** @throws InvalidOptionError for a geometry outside the documented ranges */
  constructor(options: TlbOptions = {}) {
    const setCount = options.setCount ?? 1024;
    const wayCount = options.wayCount ?? 2;
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
    this.pageNumbers = new Float64Array(this.entryCount).fill(-1);
    this.pcids = new Uint16Array(this.entryCount);
    this.globals = new Uint8Array(this.entryCount);
    this.frames = new Float64Array(this.entryCount);
    this.flags = new Int32Array(this.entryCount);
    this.levels = new Uint8Array(this.entryCount);
    // One spare slot at the end (always empty): the Mmu probes two ways even of a one-way set.
    const packed = new ArrayBuffer((this.entryCount + 1) * TLB_SLOT_WORDS * 4);
    this.keys = new Int32Array(packed);
    this.keyFrames = new Float64Array(packed);
    for (let i = 0; i <= this.entryCount; i++) this.keys[i * TLB_SLOT_WORDS] = -1;
    this.victims = new Uint8Array(setCount);
    let capacity = 16;
    while (capacity < 2 * this.entryCount) capacity *= 2;
    this.hugeKeys = new Int32Array(capacity).fill(-1);
    this.hugeCounts = new Int32Array(capacity);
    this.hugeMask = capacity - 1;
  }

  /** Key of the huge page holding 4 KiB page `pageHi * 2^20 + pageLo` cached at `level` (2 or 3) in the huge-page table. */
  private static hugeKey(pageHi: number, pageLo: number, level: number): number {
    // 2 MiB page number = page >> 9 (< 2^27); 1 GiB page number = page >> 18 (< 2^18).
    return level === 2 ? ((pageHi << 11) | (pageLo >>> 9)) * 2 : ((pageHi << 2) | (pageLo >>> 18)) * 2 + 1;
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

  /**
   * Slot holding the translation of the 4 KiB page `pageHi * 2^20 + pageLo` usable under `pcid`
   * (its own PCID, or global), or -1. Counts nothing; the Mmu counts.
   * The page number comes split so the Mmu passes small integers (V8 boxes a double argument of a
   * call it does not inline; see README "Design decisions").
   * @param pageHi bits 47:32 of the linear address
   * @param pageLo bits 31:12 of the linear address (0 .. 2^20 - 1)
   */
  lookup(pageHi: number, pageLo: number, pcid: number): number {
    const pageNumber = pageHi * 1048576 + pageLo;
    const ways = this.wayCount;
    const base = this.setIndex(pageHi, pageLo) * ways;
    const tags = this.pageNumbers;
    for (let i = base, end = base + ways; i < end; i++) {
      if (tags[i] === pageNumber && (this.pcids[i] === pcid || this.globals[i] === 1)) return i;
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
    return (pageLo ^ (pageLo >>> 12) ^ (pageHi << 8) ^ (pageHi >>> 4)) & this.setMask;
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
   * @param level level of the leaf (1, 2, 3)
   * @param global true to make the entry global (G = 1 and CR4.PGE = 1)
   */
  insert(pageHi: number, pageLo: number, pcid: number, frameHi: number, frameLo: number, flags: number, level: number, global: boolean): void {
    const pageNumber = pageHi * 1048576 + pageLo;
    const ways = this.wayCount;
    const base = this.setIndex(pageHi, pageLo) * ways;
    const tags = this.pageNumbers;
    let slot = -1;
    for (let i = base, end = base + ways; i < end; i++) {
      if (tags[i] === pageNumber && (this.pcids[i] === pcid || this.globals[i] === 1)) {
        slot = i;
        break;
      }
    }
    if (slot < 0) {
      for (let i = base, end = base + ways; i < end; i++) {
        if (tags[i] === -1) {
          slot = i;
          break;
        }
      }
    }
    if (slot < 0) {
      const set = base / ways;
      const v = this.victims[set]!;
      slot = base + v;
      this.victims[set] = v + 1 === ways ? 0 : v + 1;
    }
    if (tags[slot] !== -1) this.forget(slot);
    const frame = frameHi * 4294967296 + (frameLo >>> 0);
    tags[slot] = pageNumber;
    this.pcids[slot] = pcid;
    this.globals[slot] = global ? 1 : 0;
    this.frames[slot] = frame;
    this.flags[slot] = flags;
    this.levels[slot] = level;
    const k = slot * TLB_SLOT_WORDS;
    const keys = this.keys;
    keys[k] = pageLo;
    keys[k + 1] = pageHi | (pcid << 16);
    keys[k + 2] = flags;
    keys[k + 3] = level;
    this.keyFrames[slot * 4 + 2] = frame;
    keys[k + 6] = global ? 1 : 0;
    if (level > 1) this.hugeAdd(pageHi, pageLo, level);
    if (global && pcid !== 0) this.foreignGlobals++;
  }

  /**
   * The Mmu's fill after a miss under PCID 0 that its probe found absent (and `foreignGlobals`
   * was 0, so no other entry of the page is usable under PCID 0): takes an empty way of the
   * page's set, else the set's round-robin victim. Same result as {@link Tlb.insert}.
   */
  fill(pageHi: number, pageLo: number, frameHi: number, frameLo: number, flags: number, level: number, global: boolean): void {
    const ways = this.wayCount;
    const set = this.setIndex(pageHi, pageLo);
    const base = set * ways;
    const keys = this.keys;
    let slot = -1;
    for (let i = base, end = base + ways; i < end; i++) {
      if (keys[i * TLB_SLOT_WORDS] === -1) {
        slot = i;
        break;
      }
    }
    if (slot < 0) {
      const v = this.victims[set]!;
      slot = base + v;
      this.victims[set] = v + 1 === ways ? 0 : v + 1;
      this.forget(slot);
    }
    const frame = frameHi * 4294967296 + (frameLo >>> 0);
    this.pageNumbers[slot] = pageHi * 1048576 + pageLo;
    this.pcids[slot] = 0;
    this.globals[slot] = global ? 1 : 0;
    this.frames[slot] = frame;
    this.flags[slot] = flags;
    this.levels[slot] = level;
    const k = slot * TLB_SLOT_WORDS;
    keys[k] = pageLo;
    keys[k + 1] = pageHi;
    keys[k + 2] = flags;
    keys[k + 3] = level;
    this.keyFrames[slot * 4 + 2] = frame;
    keys[k + 6] = global ? 1 : 0;
    if (level > 1) this.hugeAdd(pageHi, pageLo, level);
  }

  /**
   * Counter upkeep for a valid slot about to be overwritten or emptied. Reads the packed copy: the
   * fill writes that cache line anyway (three separate arrays otherwise).
   */
  private forget(slot: number): void {
    const k = slot * TLB_SLOT_WORDS;
    const keys = this.keys;
    const level = keys[k + 3]!;
    if (level > 1) this.hugeRemove(keys[k + 1]! & 0xffff, keys[k]!, level);
    if (keys[k + 6] === 1 && keys[k + 1]! >>> 16 !== 0) this.foreignGlobals--;
  }

  /** Empties one slot. */
  private drop(slot: number): void {
    if (this.pageNumbers[slot] === -1) return;
    this.forget(slot);
    this.pageNumbers[slot] = -1;
    this.keys[slot * TLB_SLOT_WORDS] = -1;
  }

  /**
   * INVLPG semantics (SDM 4.10.4.1): drops the entries for the page containing `va` that belong
   * to `pcid`, and global entries for it under any PCID. When the page was cached as part of a
   * 2 MiB / 1 GiB page, every cached piece of that huge page goes too.
   * @returns number of entries dropped
   */
  invalidatePage(va: number, pcid: number, keepGlobal = false): number {
    const pageNumber = Math.floor(va / PAGE);
    let dropped = 0;
    const pageHi = Math.floor(pageNumber / 1048576);
    const pageLo = pageNumber - pageHi * 1048576;
    const base = this.setIndex(pageHi, pageLo) * this.wayCount;
    for (let i = base, end = base + this.wayCount; i < end; i++) {
      if (this.pageNumbers[i] === pageNumber && this.matches(i, pcid, keepGlobal)) {
        this.drop(i);
        dropped++;
      }
    }
    // Pieces of a huge page sit in the sets of their own 4 KiB page numbers: scan for them only
    // when the 2 MiB or 1 GiB page containing `va` has pieces cached (any PCID).
    if (this.hugeEntries > 0 && (this.hugeCached(pageHi, pageLo, 2) || this.hugeCached(pageHi, pageLo, 3))) {
      const pn2 = Math.floor(pageNumber / 512);
      const pn1 = Math.floor(pageNumber / 262144);
      for (let i = 0; i < this.entryCount; i++) {
        const level = this.levels[i]!;
        const tag = this.pageNumbers[i]!;
        if (tag === -1 || level === 1 || !this.matches(i, pcid, keepGlobal)) continue;
        if ((level === 2 && Math.floor(tag / 512) === pn2) || (level === 3 && Math.floor(tag / 262144) === pn1)) {
          this.drop(i);
          dropped++;
        }
      }
    }
    return dropped;
  }

  private matches(slot: number, pcid: number, keepGlobal: boolean): boolean {
    if (this.globals[slot] === 1) return !keepGlobal;
    return this.pcids[slot] === pcid;
  }

  /**
   * Drops every non-global entry of `pcid` (a CR3 write, SDM 4.10.4.1), or of every PCID when
   * `pcid` is -1. Global entries stay.
   * @returns number of entries dropped
   */
  flushNonGlobal(pcid = -1): number {
    let dropped = 0;
    for (let i = 0; i < this.entryCount; i++) {
      if (this.pageNumbers[i] !== -1 && this.globals[i] === 0 && (pcid === -1 || this.pcids[i] === pcid)) {
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
      if (this.pageNumbers[i] !== -1 && (pcid === -1 || this.pcids[i] === pcid)) {
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
    for (let i = 0; i < this.entryCount; i++) if (this.pageNumbers[i] !== -1) n++;
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

  /** Valid entries, decoded (for display and tests; allocates). */
  entries(): Array<{ va: number; pcid: number; global: boolean; pa: number; flags: number; level: number }> {
    const out: Array<{ va: number; pcid: number; global: boolean; pa: number; flags: number; level: number }> = [];
    for (let i = 0; i < this.entryCount; i++) {
      const tag = this.pageNumbers[i]!;
      if (tag === -1) continue;
      out.push({ va: tag * PAGE, pcid: this.pcids[i]!, global: this.globals[i] === 1, pa: this.frames[i]!, flags: this.flags[i]!, level: this.levels[i]! });
    }
    return out;
  }

  /** @throws InvariantViolationError on inconsistent internal state */
  checkInvariants(): void {
    let huge = 0;
    let foreign = 0;
    for (let i = 0; i < this.entryCount; i++) {
      const tag = this.pageNumbers[i]!;
      if (tag === -1) {
        if (this.keys[i * TLB_SLOT_WORDS] !== -1) throw new InvariantViolationError(`TLB slot ${i}: empty but its packed copy is not`);
        continue;
      }
      if (!Number.isInteger(tag) || tag < 0 || tag >= 2 ** 36) throw new InvariantViolationError(`TLB slot ${i}: bad page number ${tag}`);
      const tagHi = Math.floor(tag / 1048576);
      if (this.setIndex(tagHi, tag - tagHi * 1048576) !== Math.floor(i / this.wayCount)) {
        throw new InvariantViolationError(`TLB slot ${i}: page ${formatVa(tag * PAGE)} in the wrong set`);
      }
      const k = i * TLB_SLOT_WORDS;
      if (
        this.keys[k] !== tag - tagHi * 1048576 ||
        this.keys[k + 1] !== (tagHi | (this.pcids[i]! << 16)) ||
        this.keys[k + 2] !== this.flags[i] ||
        this.keys[k + 3] !== this.levels[i] ||
        this.keyFrames[i * 4 + 2] !== this.frames[i] ||
        this.keys[k + 6] !== this.globals[i]
      ) {
        throw new InvariantViolationError(`TLB slot ${i}: packed copy differs from the entry`);
      }
      const level = this.levels[i]!;
      if (level < 1 || level > 3) throw new InvariantViolationError(`TLB slot ${i}: bad level ${level}`);
      if (level > 1) huge++;
      if (this.globals[i] === 1 && this.pcids[i] !== 0) foreign++;
      const frame = this.frames[i]!;
      if (!Number.isSafeInteger(frame) || frame < 0 || frame % PAGE !== 0) throw new InvariantViolationError(`TLB slot ${i}: bad frame ${formatPa(frame)}`);
      if ((this.flags[i]! & 1) === 0) throw new InvariantViolationError(`TLB slot ${i}: cached a non-present translation`);
      for (let j = i + 1; j < (Math.floor(i / this.wayCount) + 1) * this.wayCount; j++) {
        if (this.pageNumbers[j] === tag && this.pcids[j] === this.pcids[i] && this.globals[j] === this.globals[i]) {
          throw new InvariantViolationError(`TLB: page ${formatVa(tag * PAGE)} cached twice for PCID ${this.pcids[i]}`);
        }
      }
    }
    if (huge !== this.hugeEntries) throw new InvariantViolationError(`TLB: huge-entry count ${this.hugeEntries}, found ${huge}`);
    const pieces = new Map<number, number>();
    for (let i = 0; i < this.entryCount; i++) {
      const tag = this.pageNumbers[i]!;
      const level = this.levels[i]!;
      if (tag === -1 || level === 1) continue;
      const tagHi = Math.floor(tag / 1048576);
      const key = Tlb.hugeKey(tagHi, tag - tagHi * 1048576, level);
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

/** A readable line for a stale use (used by the Mmu when it builds a report). */
export function describeStaleUse(va: number, access: Access, mode: Mode, cachedPa: number, currentFault: boolean, currentPa: number): string {
  const now = currentFault ? 'the page is no longer mapped' : `the tables now give ${formatPa(currentPa)}`;
  return `stale TLB entry used: ${modeName(mode)} ${accessName(access)} at ${formatVa(va)} went to ${formatPa(cachedPa)} but ${now} (missing invlpg?)`;
}

/** Flags-word bit D, exported for the Mmu's write-through-clean-entry rule. */
export const TLB_DIRTY_BIT = DIRTY;
