// kfree trusts a TLSF header only inside the pointer's own arena: a pointer at the very start of
// an arena has its would-be header in the page before, which belongs to another run (here a large
// block, whose bytes the caller owns). A header forged there — size word and a matching check
// word (README: a hash of the header's offset and its size word) — must not make it a block.
import { describe, expect, it } from 'vitest';
import { InvalidPointerError } from '../src/index';
import { makeHeap } from './helpers';

/** The check word kheap's TLSF writes in a header at offset `b` with size word `sizeWord`. */
const checkOf = (b: number, sizeWord: number) => Math.imul(b ^ 0x7b1f_5a3d, 0x9e37_79b1) ^ sizeWord;

describe('TLSF header check', () => {
  it('does not take a header forged in the run before an arena for a block', () => {
    const { heap, backing } = makeHeap(1024 * 1024);
    const large = heap.kmalloc(40_960)!; // 10 pages at the region's start
    const live = heap.kmalloc(1000)!; // the TLSF arena right after them
    const arena = large + 40_960;
    expect(heap.blocks().find((b) => b.ptr === live)!.start).toBe(arena);
    // A used 1,024-byte block's header, 16 bytes before the arena, inside the large block.
    const b = arena - 16 - backing.base;
    backing.write32(arena - 12, 1024);
    backing.write32(arena - 8, 100);
    backing.write32(arena - 4, checkOf(b, 1024));
    const before = JSON.stringify(heap.stats());
    expect(() => heap.kfree(arena)).toThrow(InvalidPointerError);
    expect(JSON.stringify(heap.stats())).toBe(before);
    heap.checkInvariants();
    heap.kfree(live);
    heap.kfree(large);
  });
});
