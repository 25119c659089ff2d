// kmem's own compact binary trace: what a simulation's accesses were, to replay them exactly.
import { TraceOptionError, TraceParseError } from './trace-errors';
import { MAX_ACCESS_BYTES } from './lackey-trace-reader';
import { TraceReader } from './text-trace-reader';

/** `KMEMTRC\0`: the first 8 bytes of a kmem trace. */
export const KMEM_TRACE_MAGIC = new Uint8Array([0x4b, 0x4d, 0x45, 0x4d, 0x54, 0x52, 0x43, 0x00]);
/** Format version written and read. */
export const KMEM_TRACE_VERSION = 1;
/** Header size in bytes (magic, u32 version, u32 flags = 0). */
export const KMEM_TRACE_HEADER_BYTES = 16;
/** The end-marker tag (kind 3 with the size field 63). */
const END_TAG = 0xff;
const LINEAR_LIMIT = 2 ** 48;

/**
 * Writes the kmem binary trace format:
 *
 * ```
 * header  16 bytes: "KMEMTRC\0", u32 version = 1, u32 flags = 0 (little-endian)
 * record  tag: bits 1:0 kind (0 fetch, 1 load, 2 store, 3 modify), bits 7:2 size 1..62
 *              (0: the size follows as a LEB128 varint, 1..4096)
 *         [size varint]
 *         address: zigzag(va - previous va) as a LEB128 varint (previous va starts at 0)
 * end     tag 0xff, then the record count as a varint; nothing may follow
 * ```
 *
 * A loop's accesses cost 2-3 bytes each. Bytes go to `onChunk` in pieces of `chunkBytes`
 * (each a fresh array the callee may keep), the last at `end()`.
 */
export class KmemTraceWriter {
  /** Records written. */
  recordCount = 0;
  private readonly buffer: Uint8Array;
  private used = 0;
  private previousVa = 0;
  private ended = false;

  /** @throws TraceOptionError for a chunk size below 64 bytes */
  constructor(
    private readonly onChunk: (bytes: Uint8Array) => void,
    chunkBytes = 65536,
  ) {
    if (!Number.isInteger(chunkBytes) || chunkBytes < 64) throw new TraceOptionError(`chunkBytes ${chunkBytes} must be an integer >= 64`);
    this.buffer = new Uint8Array(chunkBytes);
    this.buffer.set(KMEM_TRACE_MAGIC, 0);
    this.buffer[8] = KMEM_TRACE_VERSION;
    this.used = KMEM_TRACE_HEADER_BYTES;
  }

  /**
   * Appends one access: `va` linear (48-bit), `sizeBytes` 1..4096, `kind` an AccessKind.
   * @throws TraceOptionError for a value out of range or after `end()` (nothing written)
   */
  write(va: number, sizeBytes: number, kind: number): void {
    if (this.ended) throw new TraceOptionError('write after end()');
    if (!(va >= 0 && va < LINEAR_LIMIT && Number.isInteger(va))) throw new TraceOptionError(`address ${va} is not a 48-bit linear address`);
    if (!(sizeBytes >= 1 && sizeBytes <= MAX_ACCESS_BYTES && Number.isInteger(sizeBytes))) throw new TraceOptionError(`size ${sizeBytes} must be 1..${MAX_ACCESS_BYTES}`);
    if (!(kind >= 0 && kind <= 3 && Number.isInteger(kind))) throw new TraceOptionError(`kind ${kind} must be 0..3`);
    if (this.used + 16 > this.buffer.length) this.flush();
    const b = this.buffer;
    if (sizeBytes <= 62) b[this.used++] = kind | (sizeBytes << 2);
    else {
      b[this.used++] = kind;
      this.varint(sizeBytes);
    }
    const delta = va - this.previousVa;
    this.varint(delta >= 0 ? delta * 2 : -delta * 2 - 1);
    this.previousVa = va;
    this.recordCount++;
  }

  /** Writes the end marker and hands over the last bytes. Idempotent. */
  end(): void {
    if (this.ended) return;
    if (this.used + 16 > this.buffer.length) this.flush();
    this.buffer[this.used++] = END_TAG;
    this.varint(this.recordCount);
    this.ended = true;
    this.flush();
  }

  private varint(v: number): void {
    const b = this.buffer;
    while (v >= 128) {
      b[this.used++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    b[this.used++] = v;
  }

  private flush(): void {
    if (this.used > 0) this.onChunk(this.buffer.slice(0, this.used));
    this.used = 0;
  }
}

/** Reads the kmem binary trace (see {@link KmemTraceWriter}); positions are byte offsets. */
export class KmemTraceReader extends TraceReader {
  readonly format = 'kmem';
  private readonly carry = new Uint8Array(64);
  private carryLength = 0;
  private headerDone = false;
  private previousVa = 0;
  private sawEnd = false;
  // Set by parseRecord for the caller.
  private next = 0;

  push(chunk: Uint8Array): void {
    if (this.ended) this.fail(this.bytesRead, 'data after the end of the stream');
    let start = 0;
    const n = chunk.length;
    while (this.carryLength > 0 || !this.headerDone) {
      // Complete the header or a record cut by the previous chunk from the carry buffer.
      const take = Math.min(this.carry.length - this.carryLength, n - start);
      this.carry.set(chunk.subarray(start, start + take), this.carryLength);
      const avail = this.carryLength + take;
      const carryOffset = this.bytesRead - this.carryLength;
      const q = this.headerDone ? this.parseRecord(this.carry, 0, avail, carryOffset) : this.parseHeader(this.carry, avail);
      if (q < 0) {
        this.carryLength = avail;
        this.bytesRead += take;
        return;
      }
      const fromChunk = q - this.carryLength;
      start += fromChunk;
      this.bytesRead += fromChunk;
      this.carryLength = 0;
    }
    const base = this.bytesRead - start;
    let p = start;
    while (p < n) {
      const q = this.parseRecord(chunk, p, n, base + p);
      if (q < 0) break;
      p = q;
    }
    this.carry.set(chunk.subarray(p, n), 0);
    this.carryLength = n - p;
    this.bytesRead = base + n;
  }

  protected finish(): void {
    if (!this.headerDone) this.fail(this.bytesRead, `truncated header (${this.carryLength} of ${KMEM_TRACE_HEADER_BYTES} bytes)`);
    if (this.carryLength > 0) this.fail(this.bytesRead - this.carryLength, 'truncated record at the end of the stream');
    if (!this.sawEnd) this.fail(this.bytesRead, 'no end marker: the trace is cut short');
  }

  private parseHeader(b: Uint8Array, avail: number): number {
    if (avail < KMEM_TRACE_HEADER_BYTES) return -1;
    for (let i = 0; i < 8; i++) if (b[i] !== KMEM_TRACE_MAGIC[i]) this.fail(i, 'not a kmem trace (bad magic)');
    const version = b[8]! | (b[9]! << 8) | (b[10]! << 16) | (b[11]! << 24);
    if (version !== KMEM_TRACE_VERSION) this.fail(8, `unsupported version ${version >>> 0} (this reader reads ${KMEM_TRACE_VERSION})`);
    if ((b[12]! | b[13]! | b[14]! | b[15]!) !== 0) this.fail(12, 'flags must be 0');
    this.headerDone = true;
    return KMEM_TRACE_HEADER_BYTES;
  }

  /** Parses one record at `p`; returns the offset after it, or -1 when `end` cuts it. */
  private parseRecord(b: Uint8Array, p: number, end: number, offset: number): number {
    if (this.sawEnd) this.fail(offset, 'data after the end marker');
    const tag = b[p]!;
    let q = p + 1;
    if (tag === END_TAG) {
      if (!this.readVarint(b, q, end, offset)) return -1;
      if (this.next !== this.recordCount + this.skippedRecords) this.fail(offset, `end marker counts ${this.next} records, the stream held ${this.recordCount + this.skippedRecords}`);
      this.sawEnd = true;
      return this.varintEnd;
    }
    let sizeBytes = tag >>> 2;
    if (sizeBytes === 63) this.fail(offset, `unknown record tag 0x${tag.toString(16)}`);
    if (sizeBytes === 0) {
      if (!this.readVarint(b, q, end, offset)) return -1;
      sizeBytes = this.next;
      q = this.varintEnd;
      if (sizeBytes < 1 || sizeBytes > MAX_ACCESS_BYTES) this.fail(offset, `access size ${sizeBytes} outside 1..${MAX_ACCESS_BYTES}`);
    }
    if (!this.readVarint(b, q, end, offset)) return -1;
    const z = this.next;
    const va = this.previousVa + (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
    if (!(va >= 0 && va < LINEAR_LIMIT)) this.fail(offset, `address delta leaves the 48-bit linear space`);
    this.previousVa = va;
    this.emit(va, sizeBytes, tag & 3, offset);
    return this.varintEnd;
  }

  private varintEnd = 0;

  /** Reads a LEB128 varint of at most 8 bytes at `p` into `next`; false when `end` cuts it. */
  private readVarint(b: Uint8Array, p: number, end: number, offset: number): boolean {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (p + i >= end) return false;
      const c = b[p + i]!;
      v += (c & 127) * mul;
      if (c < 128) {
        this.next = v;
        this.varintEnd = p + i + 1;
        return true;
      }
      mul *= 128;
    }
    this.fail(offset, 'varint longer than 8 bytes');
  }

  private fail(offset: number, reason: string): never {
    // A binary stream cannot resynchronise after a bad record: lenient or not, it stops here.
    throw new TraceParseError(this.format, 0, offset, reason);
  }
}
