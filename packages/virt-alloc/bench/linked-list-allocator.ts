// The peer for the benchmark: the same first-fit model on a plain doubly linked list of objects,
// as a textbook kernel would write it first. alloc scans from the head for the first free block
// that fits; free scans from the head for the block at the address. Both O(n) in blocks.

interface Node {
  start: number;
  end: number;
  used: boolean;
  prev: Node | null;
  next: Node | null;
}

export class LinkedListAllocator {
  private head: Node;

  constructor(start: number, end: number) {
    this.head = { start, end, used: false, prev: null, next: null };
  }

  /** Builds the list from blocks in address order (to start from the same state as another allocator). */
  static fromBlocks(blocks: Iterable<{ start: number; end: number; used: boolean }>): LinkedListAllocator {
    const l = new LinkedListAllocator(0, 0);
    let last: Node | null = null;
    for (const b of blocks) {
      const n: Node = { start: b.start, end: b.end, used: b.used, prev: last, next: null };
      if (last) last.next = n;
      else l.head = n;
      last = n;
    }
    return l;
  }

  alloc(sizeBytes: number, alignBytes: number): number | null {
    for (let n: Node | null = this.head; n !== null; n = n.next) {
      if (n.used || n.end - n.start < sizeBytes) continue;
      const rem = n.start % alignBytes;
      const a = rem === 0 ? n.start : n.start + alignBytes - rem;
      if (a + sizeBytes > n.end) continue;
      if (a > n.start) {
        const m: Node = { start: a, end: n.end, used: false, prev: n, next: n.next };
        if (n.next) n.next.prev = m;
        n.next = m;
        n.end = a;
        n = m;
      }
      if (a + sizeBytes < n.end) {
        const r: Node = { start: a + sizeBytes, end: n.end, used: false, prev: n, next: n.next };
        if (n.next) n.next.prev = r;
        n.next = r;
        n.end = a + sizeBytes;
      }
      n.used = true;
      return a;
    }
    return null;
  }

  free(addr: number): number {
    let n: Node | null = this.head;
    while (n !== null && n.start !== addr) n = n.next;
    if (n === null || !n.used) throw new Error(`not in use: ${addr}`);
    const sizeBytes = n.end - n.start;
    n.used = false;
    const nx = n.next;
    if (nx !== null && !nx.used) {
      n.end = nx.end;
      n.next = nx.next;
      if (nx.next) nx.next.prev = n;
    }
    const pv = n.prev;
    if (pv !== null && !pv.used) {
      pv.end = n.end;
      pv.next = n.next;
      if (n.next) n.next.prev = pv;
    }
    return sizeBytes;
  }

  *blocks(): IterableIterator<{ start: number; end: number; used: boolean }> {
    for (let n: Node | null = this.head; n !== null; n = n.next) yield { start: n.start, end: n.end, used: n.used };
  }
}
