// The swap device port: where swapped-out pages live. Structural, so a user can plug in their own
// store (a file in Node, IndexedDB in a browser, a model of a disk with queues).
import { SwapOptionError } from './swap-errors';
import { show } from '../show-value';

/** Words in one 4 KiB page (the unit of swap I/O). */
export const SWAP_PAGE_WORDS = 1024;

/**
 * A block device of 4 KiB slots, as `swapon` sees one. The kernel decides which slot holds what
 * (its slot bitmap and reference counts live in the swap space); the device only stores pages.
 * Costs are simulated time charged to the simulation clock per page moved.
 */
export interface SwapDevice {
  /** A name for people (`nvme0n1p3`, `swapfile`). */
  readonly name: string;
  /** Size in 4 KiB slots (>= 1). */
  readonly slotCount: number;
  /** Simulated nanoseconds to read one page. */
  readonly readNs: number;
  /** Simulated nanoseconds to write one page. */
  readonly writeNs: number;
  /** Copies slot `slot` into `into` (1024 words). A slot never written reads as zeros. */
  readSlot(slot: number, into: Uint32Array): void;
  /** Stores `from` (1024 words) in slot `slot`. */
  writeSlot(slot: number, from: Uint32Array): void;
  /** The kernel no longer needs slot `slot` (TRIM / discard): its storage may be dropped. */
  discardSlot(slot: number): void;
}

/** Cost of one page moved, in simulated nanoseconds. */
export interface SwapCost {
  /** Per page read. */
  readonly readNs: number;
  /** Per page written. */
  readonly writeNs: number;
}

/**
 * Cost presets (order-of-magnitude figures for a 4 KiB random access): `nvme` ~ 20 µs read /
 * 30 µs write, `ssd` (SATA) ~ 100 / 150 µs, `disk` (7200 rpm) ~ 8 ms seek + rotation each way,
 * `zram` (compressed RAM) ~ 2 / 4 µs, `free` 0 (counting only).
 */
export const SWAP_COST_PRESETS: Readonly<Record<'nvme' | 'ssd' | 'disk' | 'zram' | 'free', SwapCost>> = Object.freeze({
  nvme: Object.freeze({ readNs: 20_000, writeNs: 30_000 }),
  ssd: Object.freeze({ readNs: 100_000, writeNs: 150_000 }),
  disk: Object.freeze({ readNs: 8_000_000, writeNs: 8_000_000 }),
  zram: Object.freeze({ readNs: 2_000, writeNs: 4_000 }),
  free: Object.freeze({ readNs: 0, writeNs: 0 }),
});

/** Name of a cost preset. */
export type SwapCostPreset = keyof typeof SWAP_COST_PRESETS;

/** Resolves a preset name or explicit cost, checking it. @throws SwapOptionError */
export function resolveSwapCost(cost: SwapCostPreset | SwapCost | undefined): SwapCost {
  const c = cost === undefined ? SWAP_COST_PRESETS.nvme : typeof cost === 'string' ? SWAP_COST_PRESETS[cost] : cost;
  if (c === undefined) throw new SwapOptionError(`unknown swap cost preset "${typeof cost === 'string' ? cost : '?'}" (presets: ${Object.keys(SWAP_COST_PRESETS).join(', ')})`);
  for (const k of ['readNs', 'writeNs'] as const) {
    if (!Number.isFinite(c[k]) || c[k] < 0) throw new SwapOptionError(`swap cost ${k} = ${show(c[k])} must be a finite number >= 0`);
  }
  return c;
}
