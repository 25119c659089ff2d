/**
 * Interns block tags as small reference-counted integers, so a block record holds its tag in one
 * of its own 32-bit fields instead of a parallel JS array (one more cache miss per operation at
 * 10^5 blocks). Id 0 is "no tag". A tag's id is recycled once no block holds it, so unique
 * per-allocation tags do not leak.
 * @internal
 */
export class TagTable<Tag> {
  private ids = new Map<Tag, number>();
  private values: (Tag | undefined)[] = [undefined];
  private refs: number[] = [0];
  private freeIds: number[] = [];

  clone(): TagTable<Tag> {
    const c = new TagTable<Tag>();
    c.ids = new Map(this.ids);
    c.values = this.values.slice();
    c.refs = this.refs.slice();
    c.freeIds = this.freeIds.slice();
    return c;
  }

  /** The id for `tag` with one more reference (0 for undefined). */
  acquire(tag: Tag | undefined): number {
    if (tag === undefined) return 0;
    let id = this.ids.get(tag);
    if (id === undefined) {
      id = this.freeIds.pop() ?? this.values.length;
      this.ids.set(tag, id);
      this.values[id] = tag;
      this.refs[id] = 0;
    }
    this.refs[id]!++;
    return id;
  }

  /** One more reference to an id already held. */
  retain(id: number): number {
    if (id !== 0) this.refs[id]!++;
    return id;
  }

  /** Drops one reference; the tag is forgotten when none remain. */
  release(id: number): void {
    if (id === 0) return;
    if (--this.refs[id]! === 0) {
      this.ids.delete(this.values[id]!);
      this.values[id] = undefined;
      this.freeIds.push(id);
    }
  }

  value(id: number): Tag | undefined {
    return this.values[id];
  }

  /** Throws unless `counts` (id -> number of blocks holding it) matches the reference counts. */
  check(counts: Map<number, number>, fail: (msg: string) => never): void {
    for (let id = 1; id < this.refs.length; id++) {
      const want = counts.get(id) ?? 0;
      if (this.refs[id] !== want) fail(`tag id ${id} has ${this.refs[id]} references, ${want} blocks hold it`);
      if (want > 0 && this.ids.get(this.values[id]!) !== id) fail(`tag id ${id} not interned`);
    }
    if (this.ids.size + this.freeIds.length + 1 !== this.values.length) fail('tag ids leak');
  }
}
