// Misuse errors of the swap subsystem: devices, slots, swap entries, replacement policies.
import { KmemError } from '../api';
import { formatCanonical } from '../hex';
import { show } from '../show-value';

/** A swap device whose size is zero, negative, fractional or too large (nothing was created). */
export class SwapDeviceSizeError extends KmemError {
  readonly code = 'E_SWAP_DEVICE_SIZE';
  constructor(
    /** The slot count given. */
    readonly slotCount: number,
    reason = 'must be a positive integer below 2^32',
  ) {
    super(`swap device of ${show(slotCount)} slots: ${reason}`);
  }
}

/** A slot number outside the device (or not an integer). Nothing was read or written. */
export class SwapSlotRangeError extends KmemError {
  readonly code = 'E_SWAP_SLOT_RANGE';
  constructor(
    /** The slot given. */
    readonly slot: number,
    /** Slots the device has. */
    readonly slotCount: number,
    what = 'slot',
  ) {
    super(`${what} ${show(slot)} is outside the swap device (slots 0..${slotCount - 1})`);
  }
}

/** An option of a swap device, swap space, reclaim or policy that cannot work (nothing changed). */
export class SwapOptionError extends KmemError {
  readonly code = 'E_SWAP_OPTION';
}

/** A swap-slot reference operation that does not match the slot's count (double free, unused slot). */
export class SwapSlotStateError extends KmemError {
  readonly code = 'E_SWAP_SLOT_STATE';
  constructor(
    /** Device index (swap type). */
    readonly type: number,
    /** Slot (swap offset). */
    readonly offset: number,
    reason: string,
  ) {
    super(`swap slot ${type}:${offset}: ${reason}`);
  }
}

/**
 * A replacement policy returned a victim the kernel cannot evict: a page it was never offered
 * (not resident, or already removed) or a pinned page. The eviction did not happen.
 */
export class PolicyVictimError extends KmemError {
  readonly code = 'E_POLICY_VICTIM';
  constructor(
    /** The policy's name. */
    readonly policy: string,
    /** The page (frame number in the kernel) it returned. */
    readonly page: number,
    /** `not-offered` or `pinned`. */
    readonly why: 'not-offered' | 'pinned',
  ) {
    super(`replacement policy ${policy} chose page ${show(page)}, which ${why === 'pinned' ? 'is pinned' : 'it was not offered (not a resident evictable page)'}`);
  }
}

/**
 * A not-present PTE that is neither empty, nor a PROT_NONE marker, nor a valid swap entry for a
 * device in use: a corrupted page table. The kernel panics with this as the reason.
 */
export class CorruptSwapEntryError extends KmemError {
  readonly code = 'E_CORRUPT_SWAP_ENTRY';
  constructor(
    /** The page's linear address. */
    readonly va: number,
    /** Low half of the entry (bits 31:0). */
    readonly lo: number,
    /** High half of the entry (bits 63:32). */
    readonly hi: number,
    reason: string,
  ) {
    super(`corrupted swap entry 0x${(hi >>> 0).toString(16).padStart(8, '0')}_${(lo >>> 0).toString(16).padStart(8, '0')} at ${formatCanonical(va)}: ${reason}`);
  }
}

/** OPT was asked to evict at an access that does not follow the sequence it was given. */
export class OptSequenceError extends KmemError {
  readonly code = 'E_OPT_SEQUENCE';
}

/** swapoff of a device that is not in use (Linux: EINVAL). Nothing changed. */
export class SwapoffDeviceError extends KmemError {
  readonly code = 'E_SWAPOFF_DEVICE';
  constructor(
    /** The device's name. */
    readonly deviceName: string,
  ) {
    super(`swapoff: ${deviceName} is not an active swap device`);
  }
}

/**
 * swapoff could not bring a device's pages back (Linux: ENOMEM). Raised before anything changed
 * when the pages cannot fit (`pagesRestored` 0), or when a page found no frame part way: then the
 * pages already read stay resident (ordinary pages, as after their faults), the rest stay on the
 * device, which is back in use (Linux's reinsert_swap_info); every invariant holds.
 */
export class SwapoffNoMemoryError extends KmemError {
  readonly code = 'E_SWAPOFF_NOMEM';
  constructor(
    /** The device's name. */
    readonly deviceName: string,
    /** Swap entries mapped back into memory before it stopped. */
    readonly pagesRestored: number,
    /** Slots still in use on the device. */
    readonly slotsLeft: number,
    reason: string,
  ) {
    super(`swapoff ${deviceName}: out of memory (${reason}); ${pagesRestored} page(s) brought back, ${slotsLeft} slot(s) still on the device, which stays in use`);
  }
}
