// Where a dump's bytes come from. The inspector reads through this port only, at file offsets,
// so a 4 GiB dump is never held in memory: a Node host reads a file with positioned reads, a
// browser or a test hands over bytes it already has.

/** Random-access, synchronous reads of a dump's bytes. */
export interface DumpSource {
  /** Size of the dump in bytes (a non-negative safe integer). */
  readonly sizeBytes: number;
  /**
   * Copies up to `into.length` bytes starting at byte `offset` into `into`; returns how many it
   * copied (fewer only where the dump ends).
   */
  read(offset: number, into: Uint8Array): number;
}

/** A {@link DumpSource} over bytes already in memory. */
export class BytesDumpSource implements DumpSource {
  readonly sizeBytes: number;
  constructor(private readonly bytes: Uint8Array) {
    this.sizeBytes = bytes.length;
  }

  read(offset: number, into: Uint8Array): number {
    if (!(offset >= 0) || offset >= this.bytes.length) return 0;
    const n = Math.min(into.length, this.bytes.length - offset);
    into.set(this.bytes.subarray(offset, offset + n));
    return n;
  }
}
