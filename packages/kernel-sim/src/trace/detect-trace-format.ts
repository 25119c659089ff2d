// Which reader a trace needs, from its first bytes.
import { KMEM_TRACE_MAGIC, KmemTraceReader } from './kmem-trace';
import { LackeyTraceReader } from './lackey-trace-reader';
import { PlainTraceReader } from './plain-trace-reader';
import type { TraceBatchSink } from './trace-batch';
import { TraceOptionError } from './trace-errors';
import type { TraceReader, TraceReaderOptions } from './text-trace-reader';

/** The trace formats read. */
export type TraceFormat = 'lackey' | 'plain' | 'kmem';

/** The gzip magic (1f 8b): a caller must decompress first (the demo does, with Node's zlib). */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * Guesses the format from the first bytes (give at least the first few lines): the kmem magic;
 * else the first line that is not blank, a comment or a Valgrind message: `I  `, ` L `, ` S `,
 * ` M ` mean lackey, anything else plain. Returns null when the bytes hold no record yet.
 */
export function detectTraceFormat(head: Uint8Array): TraceFormat | null {
  if (head.length >= 8 && KMEM_TRACE_MAGIC.every((m, i) => head[i] === m)) return 'kmem';
  let start = 0;
  while (start < head.length) {
    let end = head.indexOf(10, start);
    if (end < 0) end = head.length;
    const c0 = head[start];
    const c1 = head[start + 1];
    const c2 = head[start + 2];
    const blank = head.subarray(start, end).every((c) => c === 32 || c === 9 || c === 13);
    if (!blank && c0 !== 35 && !((c0 === 61 && c1 === 61) || (c0 === 45 && c1 === 45))) {
      if (c0 === 73 && c1 === 32 && c2 === 32) return 'lackey';
      if (c0 === 32 && c2 === 32 && (c1 === 76 || c1 === 83 || c1 === 77)) return 'lackey';
      return 'plain';
    }
    start = end + 1;
  }
  return null;
}

/** A reader for `format` writing batches to `sink`. @throws TraceOptionError for an unknown format */
export function createTraceReader(format: TraceFormat, sink: TraceBatchSink, options: TraceReaderOptions = {}): TraceReader {
  if (format === 'lackey') return new LackeyTraceReader(sink, options);
  if (format === 'plain') return new PlainTraceReader(sink, options);
  if (format === 'kmem') return new KmemTraceReader(sink, options);
  throw new TraceOptionError(`unknown trace format ${JSON.stringify(format)} (lackey, plain or kmem)`);
}

/**
 * Reads a whole trace from an async iterable of byte chunks (a Node stream, a fetch body's
 * reader, an array), detecting the format from the first chunk unless `format` is given, and
 * hands batches to `sink`. Memory stays constant: one chunk and one batch at a time.
 * @returns the reader (counts, skipped records)
 * @throws TraceParseError for a malformed trace; TraceOptionError when the format cannot be told
 */
export async function readTrace(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  sink: TraceBatchSink,
  options: TraceReaderOptions & { readonly format?: TraceFormat; readonly onProgress?: (bytesRead: number) => void } = {},
): Promise<TraceReader> {
  let reader: TraceReader | null = options.format !== undefined ? createTraceReader(options.format, sink, options) : null;
  let pending: Uint8Array | null = null;
  for await (const chunk of chunks) {
    if (reader === null) {
      const head: Uint8Array = pending === null ? chunk : concat(pending, chunk);
      if (isGzip(head)) throw new TraceOptionError('the trace is gzip-compressed: decompress it first (the demo CLI does)');
      const format = detectTraceFormat(head.subarray(0, 65536));
      if (format === null && head.length < 65536) {
        pending = head;
        continue;
      }
      reader = createTraceReader(format ?? 'plain', sink, options);
      pending = null;
      reader.push(head);
    } else reader.push(chunk);
    options.onProgress?.(reader.bytesRead);
  }
  if (reader === null) reader = createTraceReader(pending === null ? 'plain' : (detectTraceFormat(pending) ?? 'plain'), sink, options);
  if (pending !== null && reader.bytesRead === 0) reader.push(pending);
  reader.end();
  return reader;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
