// What the replay remembers of the Cpu's recent TLB hits, so that a reference the Cpu would
// answer from an unchanged TLB entry is counted instead of asked (see TranslationMemo).
import { AccessKind } from './access-kind';

/** Entries of the memo (direct-mapped by the page number's low bits). */
export const MEMO_ENTRIES = 8;

/** `kinds` bit of an instruction fetch. */
export const MEMO_FETCH = 1 << AccessKind.Fetch;
/** `kinds` bit of a load. */
export const MEMO_LOAD = 1 << AccessKind.Load;
/** `kinds` bits of a store and a modify (load then store): both need a writable, dirty entry. */
export const MEMO_STORE = (1 << AccessKind.Store) | (1 << AccessKind.Modify);

/**
 * Pages the Cpu recently answered from its TLB's quick path, direct-mapped by page number mod 8,
 * each with the access kinds the same entry answers on that path (Mmu's quickHit in user mode: a
 * load always, a fetch when the effective NX is clear, a store when R/W and D are both set in the
 * cached rights), its page id and its TLB-set key.
 *
 * Why it is exact: x86-paging's TLB changes only when it is filled (a walk) or invalidated (the
 * kernel: INVLPG, CR3 loads, all inside a fault's handling). A hit moves nothing — replacement is
 * round-robin, not LRU — and the CPU does not rewrite A or D on a hit (SDM vol. 3A 4.8: they are
 * set when a walk uses the entry). So while every translation since an entry was recorded has
 * been a hit, asking the Cpu again about that page would return the same cached rights and change
 * nothing but its hit counter. The replay clears the memo at every walk, fault or kernel call, and
 * counts the answers it gave in `hits` (added to the Cpu's TLB hits in the result).
 *
 * Plain typed arrays, read directly by the replay's loop.
 */
export class TranslationMemo {
  /** Page number held in each entry, -1 for none. */
  readonly page = new Float64Array(MEMO_ENTRIES).fill(-1);
  /** Access kinds the entry answers: bits `1 << AccessKind`. */
  readonly kinds = new Int32Array(MEMO_ENTRIES);
  /** The page's id (PageIdTable). */
  readonly id = new Int32Array(MEMO_ENTRIES);
  /** The page number mod 2^30 (the simulated TLBs' set key). */
  readonly setKey = new Int32Array(MEMO_ENTRIES);
  /** References answered from the memo. */
  hits = 0;

  /** Entry of page number `page` (a non-negative integer below 2^36). */
  static slotOf(page: number): number {
    // ToInt32 keeps the low 32 bits of an integer-valued double: exact low bits for any page.
    return (page | 0) & (MEMO_ENTRIES - 1);
  }

  /** Records that the Cpu answered `page` from a TLB entry with rights `flags` (x86-paging's 32-bit flags word). */
  record(page: number, flags: number, id: number, setKey: number): void {
    const slot = TranslationMemo.slotOf(page);
    this.page[slot] = page;
    // PTE.NoExecute is bit 31 of the flags word; R/W = 0x2, D = 0x40.
    this.kinds[slot] = MEMO_LOAD | ((flags & 0x8000_0000) === 0 ? MEMO_FETCH : 0) | ((flags & 0x42) === 0x42 ? MEMO_STORE : 0);
    this.id[slot] = id;
    this.setKey[slot] = setKey;
  }

  /** Forgets every entry (the TLB may have changed: a walk filled it, or the kernel ran). */
  clear(): void {
    this.page.fill(-1);
  }
}
