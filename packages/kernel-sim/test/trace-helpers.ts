// Shared by the trace tests: collect records from a reader, read committed traces.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createTraceReader, type TraceFormat, type TraceReaderOptions } from '../src/index';

export const TRACE_DIR = join(import.meta.dirname, 'fixtures', 'trace');

/** One record as plain data. */
export interface Rec {
  va: number;
  sizeBytes: number;
  kind: number;
  position: number;
}

/** Reads `bytes` in chunks of the given sizes (cycled) and returns every record. */
export function readAll(format: TraceFormat, bytes: Uint8Array, chunkSizes: readonly number[] = [bytes.length || 1], options: TraceReaderOptions = {}): { records: Rec[]; skipped: number } {
  const records: Rec[] = [];
  const reader = createTraceReader(
    format,
    (b) => {
      for (let i = 0; i < b.length; i++) records.push({ va: b.va[i]!, sizeBytes: b.sizeBytes[i]!, kind: b.kind[i]!, position: b.position[i]! });
    },
    { batchRecords: 7, ...options },
  );
  let p = 0;
  let k = 0;
  while (p < bytes.length) {
    const n = Math.max(1, chunkSizes[k++ % chunkSizes.length]!);
    reader.push(bytes.subarray(p, p + n));
    p += n;
  }
  reader.end();
  return { records, skipped: reader.skippedRecords };
}

/** Text as bytes. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** The committed lackey trace of the big-bss fixture, decompressed. */
export function bigBssTrace(): Uint8Array {
  return new Uint8Array(gunzipSync(readFileSync(join(TRACE_DIR, 'big-bss.lackey.gz'))));
}

/** The chunks joined into one array. */
export function concatChunks(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
