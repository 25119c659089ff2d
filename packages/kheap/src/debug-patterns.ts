// Byte patterns of debug mode, as Linux's include/linux/poison.h defines them, so a memory dump
// of the simulated kernel reads like one of a real SLUB-debug kernel.
import type { Mem } from './mem';

/** Freed object contents (POISON_FREE). */
export const POISON_FREE = 0x6b;
/** Last byte of a freed slab object (POISON_END). */
export const POISON_END = 0xa5;
/** Red zone of an allocated block (SLUB_RED_ACTIVE). */
export const RED_ACTIVE = 0xcc;
/** Red zone of a free slab object (SLUB_RED_INACTIVE). */
export const RED_INACTIVE = 0xbb;

/** Offset of the first byte in `[off, off + len)` that is not `value`, or -1. */
export function firstMismatch(m: Mem, off: number, len: number, value: number): number {
  const end = off + len;
  let i = off;
  while (i < end && (i & 3) !== 0) {
    if (m.rd8(i) !== value) return i;
    i++;
  }
  const word = ((value & 0xff) * 0x01010101) | 0;
  for (; i + 4 <= end; i += 4) {
    if (m.rd(i) !== word) {
      for (let j = i; j < i + 4; j++) if (m.rd8(j) !== value) return j;
    }
  }
  for (; i < end; i++) if (m.rd8(i) !== value) return i;
  return -1;
}
