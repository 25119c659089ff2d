// The swap space: every device `swapon` added, with the kernel's records of each slot — a bitmap
// of slots in use, a reference count per slot (Linux's swap_map) and the swap cache (a slot whose
// page is also in a frame). Slots are handed out from the highest-priority device first; devices
// of equal priority take turns (as Linux does with `swapon -p`).
import { KernelInvariantError } from '../kernel-errors';
import type { SwapDevice } from './swap-device';
import { MAX_SWAP_SLOTS, MAX_SWAP_TYPES, handleOffset, handleType, swapHandle } from './swap-entry';
import { SwapDeviceSizeError, SwapOptionError, SwapSlotRangeError, SwapSlotStateError } from './swap-errors';
import { show } from '../show-value';

/** Options of {@link SwapSpace.swapon}. */
export interface SwaponOptions {
  /** Priority (higher first, as `swapon -p`); default: -1, -2, ... in the order added, as Linux. */
  readonly priority?: number;
}

/** One device in the swap space, with its slot records. */
export interface SwapArea {
  /** Its index: the swap type written into swap entries (0..31). */
  readonly type: number;
  /** The device. */
  readonly device: SwapDevice;
  /** Its priority. */
  readonly priority: number;
  /** Slots in use (count > 0). */
  readonly usedSlots: number;
  /** The device's slot count. */
  readonly slotCount: number;
}

class Area implements SwapArea {
  usedSlots = 0;
  cursor = 0;
  /** New slots may be taken here (Linux's SWP_WRITEOK; cleared while swapoff empties the device). */
  writeOk = true;
  readonly bitmap: Uint32Array;
  readonly counts: Uint32Array;
  constructor(
    readonly type: number,
    readonly device: SwapDevice,
    readonly priority: number,
    readonly slotCount: number,
  ) {
    this.bitmap = new Uint32Array(Math.ceil(slotCount / 32));
    this.counts = new Uint32Array(slotCount);
  }

  /** A free slot from the cursor on (next fit), or -1. */
  take(): number {
    const words = this.bitmap.length;
    let w = this.cursor >>> 5;
    for (let scanned = 0; scanned <= words; scanned++, w = w + 1 === words ? 0 : w + 1) {
      const word = this.bitmap[w]!;
      if (word === 0xffff_ffff) continue;
      const bit = 31 - Math.clz32(~word & (word + 1));
      const slot = w * 32 + bit;
      if (slot >= this.slotCount) continue;
      this.bitmap[w] = word | (1 << bit);
      this.usedSlots++;
      this.cursor = slot + 1 === this.slotCount ? 0 : slot + 1;
      return slot;
    }
    return -1;
  }

  release(slot: number): void {
    this.bitmap[slot >>> 5]! &= ~(1 << (slot & 31));
    this.usedSlots--;
  }

  inUse(slot: number): boolean {
    return (this.bitmap[slot >>> 5]! & (1 << (slot & 31))) !== 0;
  }
}

/**
 * All swap devices and their slot records. A slot is named by a handle (`type * 2^40 + offset`,
 * see `swapHandle`). Its count is the number of swap entries (PTEs) naming it plus one while its
 * page is in the swap cache; the slot is freed (and discarded on the device) when the count
 * drops to 0.
 */
export class SwapSpace {
  /** By swap type; null where swapoff removed a device (the type is reused by the next swapon). */
  private readonly areas_: (Area | null)[] = [];
  /** The devices in use, by type (`areas`). */
  private active: Area[] = [];
  /** Areas sorted by priority (highest first), for allocation. */
  private order: Area[] = [];
  private rotate = 0;
  /** Swap cache: slot handle → frame holding its page. */
  private readonly cacheBySlot = new Map<number, number>();
  /** Swap cache: frame → slot handle. */
  private readonly cacheByFrame = new Map<number, number>();
  private nextDefaultPriority = -1;
  /** Simulated nanoseconds of I/O charged so far. */
  ioNs = 0;
  /** Pages read from devices. */
  pagesRead = 0;
  /** Pages written to devices. */
  pagesWritten = 0;

  /**
   * Adds a device (swapon). @returns its type (index in swap entries)
   * @throws SwapDeviceSizeError for a device whose slotCount is not a positive integer below 2^39;
   *   SwapOptionError for a bad priority, a device already added or more than 32 devices
   */
  swapon(device: SwapDevice, options: SwaponOptions = {}): number {
    const n = device.slotCount;
    if (!Number.isSafeInteger(n) || n <= 0) throw new SwapDeviceSizeError(n);
    if (n >= MAX_SWAP_SLOTS) throw new SwapDeviceSizeError(n, 'must be below 2^39 (the swap entry offset field)');
    let type = this.areas_.indexOf(null);
    if (type < 0) type = this.areas_.length;
    if (type >= MAX_SWAP_TYPES) throw new SwapOptionError(`at most ${MAX_SWAP_TYPES} swap devices (5-bit swap type)`);
    if (this.active.some((a) => a.device === device)) throw new SwapOptionError(`swap device ${device.name} is already in use`);
    const priority = options.priority ?? this.nextDefaultPriority--;
    if (!Number.isSafeInteger(priority) || priority < -32768 || priority > 32767) throw new SwapOptionError(`swap priority ${show(priority)} must be an integer in -32768..32767`);
    const area = new Area(type, device, priority, n);
    this.areas_[type] = area;
    this.reorder();
    return area.type;
  }

  /** The devices in use, in order of swap type. */
  get areas(): readonly SwapArea[] {
    return this.active;
  }

  /** The device of swap type `type`, or undefined (none, or removed by swapoff). */
  area(type: number): SwapArea | undefined {
    return this.areas_[type] ?? undefined;
  }

  /** The swap type of `device`, or -1 when it is not in use. */
  typeOf(device: SwapDevice): number {
    return this.active.find((a) => a.device === device)?.type ?? -1;
  }

  /**
   * Whether new slots may be taken from the device (Linux's SWP_WRITEOK): swapoff clears it before
   * it brings the device's pages back, and sets it again when it fails.
   */
  /** @throws SwapOptionError for a type with no device */
  setWritable(type: number, writable: boolean): void {
    this.areaOf(type).writeOk = writable;
  }

  /**
   * Removes the device of swap type `type` (the end of swapoff); its type is free for the next swapon.
   * @throws SwapOptionError for a type with no device, or while a slot of it is still in use
   */
  remove(type: number): SwapDevice {
    const area = this.areaOf(type);
    if (area.usedSlots !== 0) throw new SwapOptionError(`swap device ${area.device.name} still has ${area.usedSlots} slot(s) in use`);
    this.areas_[type] = null;
    while (this.areas_.length > 0 && this.areas_[this.areas_.length - 1] === null) this.areas_.pop();
    this.reorder();
    return area.device;
  }

  private areaOf(type: number): Area {
    const area = this.areas_[type];
    if (area === undefined || area === null) throw new SwapOptionError(`no swap device has type ${show(type)}`);
    return area;
  }

  private reorder(): void {
    this.active = this.areas_.filter((a): a is Area => a !== null);
    this.order = [...this.active].sort((a, b) => b.priority - a.priority || a.type - b.type);
    this.rotate = 0;
  }

  /** Slots on all devices. */
  get totalSlots(): number {
    let n = 0;
    for (const a of this.active) n += a.slotCount;
    return n;
  }

  /** Slots in use on all devices. */
  get usedSlots(): number {
    let n = 0;
    for (const a of this.active) n += a.usedSlots;
    return n;
  }

  /** Pages in the swap cache. */
  get cachedPages(): number {
    return this.cacheBySlot.size;
  }

  /**
   * Takes a free slot (count 0: the caller adds the references it stores, before anything else
   * looks), from the highest-priority device with room; equal priorities alternate.
   * @returns its handle, or -1 when every device is full
   */
  alloc(): number {
    const order = this.order;
    for (let i = 0; i < order.length; ) {
      const prio = order[i]!.priority;
      let j = i;
      while (j < order.length && order[j]!.priority === prio) j++;
      const group = j - i;
      for (let k = 0; k < group; k++) {
        const area = order[i + ((this.rotate + k) % group)]!;
        if (!area.writeOk) continue;
        const slot = area.take();
        if (slot >= 0) {
          if (group > 1) this.rotate = (this.rotate + k + 1) % group;
          return swapHandle(area.type, slot);
        }
      }
      i = j;
    }
    return -1;
  }

  /** Whether `type`/`offset` name a slot of a device in use (the check for a swap entry read from a PTE). */
  isValid(type: number, offset: number): boolean {
    const a = this.areas_[type];
    return a !== undefined && a !== null && offset >= 0 && offset < a.slotCount && a.inUse(offset);
  }

  /** The slot's reference count. @throws SwapSlotRangeError */
  count(handle: number): number {
    const { area, slot } = this.locate(handle);
    return area.counts[slot]!;
  }

  /** One more reference (a PTE now names the slot). @throws SwapSlotRangeError, SwapSlotStateError for a free slot */
  dup(handle: number): void {
    const { area, slot } = this.locate(handle);
    if (!area.inUse(slot)) throw new SwapSlotStateError(area.type, slot, 'is free');
    area.counts[slot]!++;
  }

  /**
   * One reference fewer; at 0 the slot is free and discarded on its device.
   * @returns the references left
   * @throws SwapSlotRangeError, SwapSlotStateError when the slot has no reference
   */
  put(handle: number): number {
    const { area, slot } = this.locate(handle);
    const n = area.counts[slot]!;
    if (n === 0 || !area.inUse(slot)) throw new SwapSlotStateError(area.type, slot, 'has no reference to drop');
    area.counts[slot] = n - 1;
    if (n === 1) {
      if (this.cacheBySlot.has(handle)) throw new SwapSlotStateError(area.type, slot, 'freed while its page is in the swap cache');
      area.release(slot);
      area.device.discardSlot(slot);
    }
    return n - 1;
  }

  /** Writes a page to the slot (charging the device's cost). @throws SwapSlotRangeError */
  write(handle: number, from: Uint32Array): void {
    const { area, slot } = this.locate(handle);
    area.device.writeSlot(slot, from);
    this.ioNs += area.device.writeNs;
    this.pagesWritten++;
  }

  /** Reads the slot's page (charging the device's cost). @throws SwapSlotRangeError */
  read(handle: number, into: Uint32Array): void {
    const { area, slot } = this.locate(handle);
    area.device.readSlot(slot, into);
    this.ioNs += area.device.readNs;
    this.pagesRead++;
  }

  /** The frame holding the slot's page (swap cache), or -1. */
  cachedFrame(handle: number): number {
    return this.cacheBySlot.get(handle) ?? -1;
  }

  /** The slot whose page `frame` holds (swap cache), or -1. */
  slotOfFrame(frame: number): number {
    return this.cacheByFrame.get(frame) ?? -1;
  }

  /** Puts `frame` in the swap cache for the slot (one more reference). @throws SwapSlotStateError */
  addToCache(handle: number, frame: number): void {
    if (this.cacheBySlot.has(handle) || this.cacheByFrame.has(frame)) throw new SwapSlotStateError(handleType(handle), handleOffset(handle), `already in the swap cache`);
    this.dup(handle);
    this.cacheBySlot.set(handle, frame);
    this.cacheByFrame.set(frame, handle);
  }

  /**
   * Takes the slot's page out of the swap cache (one reference fewer; the slot is freed if that
   * was the last). @returns the references left
   */
  dropFromCache(handle: number): number {
    const frame = this.cacheBySlot.get(handle);
    if (frame === undefined) throw new SwapSlotStateError(handleType(handle), handleOffset(handle), 'is not in the swap cache');
    this.cacheBySlot.delete(handle);
    this.cacheByFrame.delete(frame);
    return this.put(handle);
  }

  /** A copy of every used slot's count, by handle (for checks and views). */
  slotCounts(): Map<number, number> {
    const out = new Map<number, number>();
    for (const a of this.active) {
      for (let w = 0; w < a.bitmap.length; w++) {
        let word = a.bitmap[w]!;
        while (word !== 0) {
          const bit = 31 - Math.clz32(word & -word);
          word &= word - 1;
          const slot = w * 32 + bit;
          out.set(swapHandle(a.type, slot), a.counts[slot]!);
        }
      }
    }
    return out;
  }

  /**
   * Bitmap, counts and swap cache agree: a slot is used exactly when its count is positive; the
   * used counter equals the bitmap; every cached slot is used and maps one frame both ways.
   * `expected` (handle → references from PTEs, as the kernel counts them) is compared when given.
   * @throws KernelInvariantError
   */
  checkInvariants(expected?: ReadonlyMap<number, number>): void {
    for (const a of this.active) {
      let used = 0;
      for (let s = 0; s < a.slotCount; s++) {
        const inUse = a.inUse(s);
        if (inUse) used++;
        if (inUse !== a.counts[s]! > 0) throw new KernelInvariantError(`swap slot ${a.type}:${s}: ${inUse ? 'used with count 0' : `free with count ${a.counts[s]!}`}`);
      }
      if (used !== a.usedSlots) throw new KernelInvariantError(`swap device ${a.type}: ${used} slots in the bitmap, counter says ${a.usedSlots}`);
    }
    for (const [h, f] of this.cacheBySlot) {
      if (this.cacheByFrame.get(f) !== h) throw new KernelInvariantError(`swap cache: slot ${handleType(h)}:${handleOffset(h)} -> frame ${f} is not mapped back`);
      if (!this.isValid(handleType(h), handleOffset(h))) throw new KernelInvariantError(`swap cache holds free slot ${handleType(h)}:${handleOffset(h)}`);
    }
    if (this.cacheByFrame.size !== this.cacheBySlot.size) throw new KernelInvariantError('swap cache maps differ in size');
    if (expected !== undefined) {
      const actual = this.slotCounts();
      for (const [h, n] of actual) {
        const want = (expected.get(h) ?? 0) + (this.cacheBySlot.has(h) ? 1 : 0);
        if (n !== want) throw new KernelInvariantError(`swap slot ${handleType(h)}:${handleOffset(h)} has count ${n} but ${want} reference(s) exist`);
      }
      for (const [h, n] of expected) if (!actual.has(h) && n > 0) throw new KernelInvariantError(`swap slot ${handleType(h)}:${handleOffset(h)} is named by ${n} PTE(s) but free`);
    }
  }

  private locate(handle: number): { area: Area; slot: number } {
    const type = handleType(handle);
    const slot = handleOffset(handle);
    const area = this.areas_[type];
    if (area === undefined || area === null || !Number.isSafeInteger(handle) || handle < 0) throw new SwapSlotRangeError(slot, area?.slotCount ?? 0, `slot of swap type ${type}`);
    if (slot >= area.slotCount) throw new SwapSlotRangeError(slot, area.slotCount);
    this.loc.area = area;
    this.loc.slot = slot;
    return this.loc;
  }
  private readonly loc: { area: Area; slot: number } = { area: null as unknown as Area, slot: 0 };
}

