// Line splitting shared by the text trace readers: chunks in, lines out, constant memory.
import { TraceBatch, type TraceBatchSink } from './trace-batch';
import { TraceParseError } from './trace-errors';

/** Longest line a text trace may have, in bytes (a longer one is an error: memory stays bounded). */
export const MAX_TRACE_LINE_BYTES = 4096;

/** Options of the trace readers. */
export interface TraceReaderOptions {
  /** Skip malformed records and count them (`skippedRecords`) instead of throwing. Default false. */
  readonly lenient?: boolean;
  /** Records per batch handed to the sink (default 8,192). */
  readonly batchRecords?: number;
}

/** How many skipped-record messages a lenient reader keeps (it counts them all). */
export const MAX_SKIP_SAMPLES = 10;

/**
 * Base of the streaming readers. `push(chunk)` any number of times, then `end()`; full batches go
 * to the sink as they fill, the last one at `end()`. A reader works on bytes as they come, keeps at
 * most one partial line (text) or record (binary) between chunks, and so runs in constant memory
 * whatever the trace's length.
 */
export abstract class TraceReader {
  /** Format name used in errors and results. */
  abstract readonly format: string;
  /** Records produced so far. */
  recordCount = 0;
  /** Malformed records skipped (lenient mode only). */
  skippedRecords = 0;
  /** The first few skipped records' errors (lenient mode). */
  readonly skipSamples: string[] = [];
  /** Bytes consumed so far (uncompressed). */
  bytesRead = 0;
  protected readonly batch: TraceBatch;
  protected readonly sink: TraceBatchSink;
  protected readonly lenient: boolean;
  protected ended = false;

  constructor(sink: TraceBatchSink, options: TraceReaderOptions = {}) {
    this.sink = sink;
    this.lenient = options.lenient ?? false;
    this.batch = new TraceBatch(options.batchRecords);
  }

  /** Feeds the next bytes of the stream. @throws TraceParseError (unless lenient) */
  abstract push(chunk: Uint8Array): void;

  /** Ends the stream: checks nothing is cut off and hands over the last batch. @throws TraceParseError */
  end(): void {
    if (this.ended) return;
    this.finish();
    this.ended = true;
    this.flush();
  }

  /** Format-specific end-of-stream check. */
  protected abstract finish(): void;

  /** Hands the batch to the sink if it holds records. */
  protected flush(): void {
    if (this.batch.length > 0) {
      this.sink(this.batch);
      this.batch.length = 0;
    }
  }

  /** Appends one record. */
  protected emit(va: number, sizeBytes: number, kind: number, position: number): void {
    const b = this.batch;
    const i = b.length;
    b.va[i] = va;
    b.sizeBytes[i] = sizeBytes;
    b.kind[i] = kind;
    b.position[i] = position;
    this.recordCount++;
    if ((b.length = i + 1) === b.capacity) this.flush();
  }

  /** A malformed record: thrown, or counted when lenient. */
  protected bad(line: number, offset: number, reason: string): void {
    const error = new TraceParseError(this.format, line, offset, reason);
    if (!this.lenient) throw error;
    this.skippedRecords++;
    if (this.skipSamples.length < MAX_SKIP_SAMPLES) this.skipSamples.push(error.message);
  }
}

/**
 * A reader of a line-oriented format: splits chunks into lines (LF or CRLF) and calls `parseLine`
 * for each, straight from the chunk when the line lies inside it.
 */
export abstract class TextTraceReader extends TraceReader {
  /** 1-based number of the line being read. */
  protected line = 0;
  private readonly carry = new Uint8Array(MAX_TRACE_LINE_BYTES);
  private carryLength = 0;
  private carryOffset = 0;
  /** Lenient mode dropping the rest of an over-long line. */
  private dropping = false;

  /** Parses `bytes[start, end)` (no newline; a trailing CR already removed). */
  protected abstract parseLine(bytes: Uint8Array, start: number, end: number, offset: number): void;

  push(chunk: Uint8Array): void {
    if (this.ended) throw new TraceParseError(this.format, this.line, this.bytesRead, 'data after the end of the stream');
    const base = this.bytesRead;
    let start = 0;
    const n = chunk.length;
    if (this.carryLength > 0 || this.dropping) {
      const nl = chunk.indexOf(10);
      if (!this.dropping) this.appendCarry(chunk, 0, nl < 0 ? n : nl);
      if (nl < 0) {
        this.bytesRead += n;
        return;
      }
      if (this.dropping) {
        this.dropping = false;
        this.line++;
      } else {
        this.lineFrom(this.carry, 0, this.carryLength, this.carryOffset);
      }
      this.carryLength = 0;
      start = nl + 1;
    }
    for (;;) {
      start = this.fastLines(chunk, start, base);
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      this.lineFrom(chunk, start, nl, base + start);
      start = nl + 1;
    }
    if (start < n) {
      this.carryOffset = base + start;
      this.appendCarry(chunk, start, n);
    }
    this.bytesRead += n;
  }

  /**
   * A format's fast path: parses the well-formed complete lines from `start` on and returns the
   * start of the first line it leaves to `parseLine` (an odd one, or the cut last line). The
   * default parses none.
   */
  protected fastLines(_chunk: Uint8Array, start: number, _base: number): number {
    return start;
  }

  protected finish(): void {
    if (this.dropping) {
      this.dropping = false;
      this.line++;
    } else if (this.carryLength > 0) {
      this.lineFrom(this.carry, 0, this.carryLength, this.carryOffset);
      this.carryLength = 0;
    }
  }

  private appendCarry(chunk: Uint8Array, from: number, to: number): void {
    if (this.carryLength + (to - from) > MAX_TRACE_LINE_BYTES) {
      this.bad(this.line + 1, this.carryOffset, `line longer than ${MAX_TRACE_LINE_BYTES} bytes (is this a trace?)`);
      this.dropping = true;
      this.carryLength = 0;
      return;
    }
    this.carry.set(chunk.subarray(from, to), this.carryLength);
    this.carryLength += to - from;
  }

  private lineFrom(bytes: Uint8Array, start: number, end: number, offset: number): void {
    this.line++;
    if (end - start > MAX_TRACE_LINE_BYTES) {
      this.bad(this.line, offset, `line longer than ${MAX_TRACE_LINE_BYTES} bytes (is this a trace?)`);
      return;
    }
    if (end > start && bytes[end - 1] === 13) end--;
    this.parseLine(bytes, start, end, offset);
  }
}
