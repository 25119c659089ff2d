// The in-package swap device: a sparse store of 4 KiB slots that costs host memory only for the
// slots holding data, with a bitmap of those slots and I/O counters.
import { SWAP_PAGE_WORDS, resolveSwapCost, type SwapCost, type SwapCostPreset, type SwapDevice } from './swap-device';
import { MAX_SWAP_SLOTS } from './swap-entry';
import { KernelInvariantError } from '../kernel-errors';
import { SwapDeviceSizeError, SwapSlotRangeError } from './swap-errors';

/** Options of {@link MemorySwapDevice}. */
export interface MemorySwapDeviceOptions {
  /** Size in 4 KiB slots (a positive integer below 2^39). */
  readonly slotCount: number;
  /** A name for people (default `swap<n>`). */
  readonly name?: string;
  /** Cost per page: a preset (`nvme` default, `ssd`, `disk`, `zram`, `free`) or `{ readNs, writeNs }`. */
  readonly cost?: SwapCostPreset | SwapCost;
}

let deviceCounter = 0;

/**
 * A swap device in host memory. Slots are backed on first write (a `Uint32Array` of 1024 words
 * each, reused after a discard), so a large device costs nothing until used. `hasData` (a bitmap)
 * says which slots hold a page; `reads` / `writes` / `discards` count operations.
 */
export class MemorySwapDevice implements SwapDevice {
  readonly name: string;
  readonly slotCount: number;
  readonly readNs: number;
  readonly writeNs: number;
  /** Pages read so far. */
  reads = 0;
  /** Pages written so far. */
  writes = 0;
  /** Slots discarded so far. */
  discards = 0;
  private readonly store = new Map<number, Uint32Array>();
  private readonly spare: Uint32Array[] = [];
  private readonly bitmap: Uint32Array;

  /** @throws SwapDeviceSizeError for a slot count that is not a positive integer below 2^39; SwapOptionError for a bad cost */
  constructor(options: MemorySwapDeviceOptions) {
    const n = options.slotCount;
    if (!Number.isSafeInteger(n) || n <= 0) throw new SwapDeviceSizeError(n);
    if (n >= MAX_SWAP_SLOTS) throw new SwapDeviceSizeError(n, `must be below 2^39 (the swap entry's offset field)`);
    const cost = resolveSwapCost(options.cost);
    this.slotCount = n;
    this.readNs = cost.readNs;
    this.writeNs = cost.writeNs;
    this.name = options.name ?? `swap${deviceCounter++}`;
    this.bitmap = new Uint32Array(Math.ceil(n / 32));
  }

  /** @throws SwapSlotRangeError */
  readSlot(slot: number, into: Uint32Array): void {
    this.check(slot);
    const page = this.store.get(slot);
    if (page === undefined) into.fill(0, 0, SWAP_PAGE_WORDS);
    else into.set(page);
    this.reads++;
  }

  /** @throws SwapSlotRangeError */
  writeSlot(slot: number, from: Uint32Array): void {
    this.check(slot);
    let page = this.store.get(slot);
    if (page === undefined) {
      page = this.spare.pop() ?? new Uint32Array(SWAP_PAGE_WORDS);
      this.store.set(slot, page);
      this.bitmap[slot >>> 5]! |= 1 << (slot & 31);
    }
    page.set(from.length === SWAP_PAGE_WORDS ? from : from.subarray(0, SWAP_PAGE_WORDS));
    this.writes++;
  }

  /** @throws SwapSlotRangeError */
  discardSlot(slot: number): void {
    this.check(slot);
    const page = this.store.get(slot);
    if (page === undefined) return;
    this.store.delete(slot);
    this.bitmap[slot >>> 5]! &= ~(1 << (slot & 31));
    if (this.spare.length < 64) this.spare.push(page);
    this.discards++;
  }

  /** Whether slot `slot` holds a page (written and not discarded). @throws SwapSlotRangeError */
  hasData(slot: number): boolean {
    this.check(slot);
    return (this.bitmap[slot >>> 5]! & (1 << (slot & 31))) !== 0;
  }

  /** Slots holding a page. */
  get usedSlotCount(): number {
    return this.store.size;
  }

  /** Host bytes held by stored pages. */
  get hostBytes(): number {
    return (this.store.size + this.spare.length) * SWAP_PAGE_WORDS * 4 + this.bitmap.byteLength;
  }

  /** The bitmap agrees with the store. @throws KernelInvariantError describing the first mismatch */
  checkInvariants(): void {
    let bits = 0;
    for (let i = 0; i < this.bitmap.length; i++) {
      let w = this.bitmap[i]!;
      while (w !== 0) {
        w &= w - 1;
        bits++;
      }
    }
    if (bits !== this.store.size) throw new KernelInvariantError(`swap device ${this.name}: bitmap has ${bits} slots, store ${this.store.size}`);
    for (const slot of this.store.keys()) if (!this.hasData(slot)) throw new KernelInvariantError(`swap device ${this.name}: slot ${slot} stored but not in the bitmap`);
  }

  private check(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slotCount) throw new SwapSlotRangeError(slot, this.slotCount);
  }
}
