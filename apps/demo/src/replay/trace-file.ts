// Opening a trace file for streaming: plain or gzip (Node's zlib), with a count of the file's
// bytes read so far for the progress bar. Memory: one chunk at a time, whatever the size.
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { DemoInputError } from '../load';

/** A trace file being read. */
export interface TraceFile {
  /** Decompressed chunks. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Bytes of the file (compressed, for .gz). */
  readonly fileBytes: number;
  /** Bytes of the file read so far. */
  readonly fileBytesRead: () => number;
  /** Whether it is gzip-compressed. */
  readonly gzip: boolean;
}

/**
 * Opens `path` (gzip recognised by its magic bytes, whatever the name).
 * @throws DemoInputError for a missing or unreadable file
 */
export async function openTraceFile(path: string): Promise<TraceFile> {
  let fileBytes: number;
  const head = new Uint8Array(2);
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new DemoInputError(`cannot read trace ${path}: is a directory`, 'E_FILE_UNREADABLE');
    fileBytes = st.size;
    const fh = await open(path, 'r');
    try {
      await fh.read(head, 0, 2, 0);
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof DemoInputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new DemoInputError(`cannot read trace ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`, 'E_FILE_UNREADABLE');
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  let read = 0;
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  raw.on('data', (c: Buffer | string) => {
    read += c.length;
  });
  const stream = gzip ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw;
  if (gzip) raw.on('error', (e) => stream.destroy(e));
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for await (const c of stream as AsyncIterable<Buffer>) yield new Uint8Array(c.buffer, c.byteOffset, c.length);
    } catch (e) {
      throw new DemoInputError(`cannot read trace ${path}: ${(e as Error).message}`, 'E_FILE_UNREADABLE');
    }
  }
  return { chunks: chunks(), fileBytes, fileBytesRead: () => read, gzip };
}
