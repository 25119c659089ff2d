// A dump file read with positioned reads (Node): nothing but the frames asked for is read, so a
// 4 GiB guest's dump costs the inspector a file descriptor, not 4 GiB.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { DumpSource } from '@kmem/kernel-sim';

/** A {@link DumpSource} over an open file. Call {@link close} when done. */
export class FileDumpSource implements DumpSource {
  readonly sizeBytes: number;
  private fd: number | null;
  /** Bytes read from the file so far. */
  bytesRead = 0;

  /** @throws the fs error (ENOENT, EACCES, EISDIR...) */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    const st = fstatSync(this.fd);
    if (st.isDirectory()) {
      closeSync(this.fd);
      throw Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR' });
    }
    this.sizeBytes = st.size;
  }

  read(offset: number, into: Uint8Array): number {
    if (this.fd === null) throw new Error(`${this.path} is closed`);
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd, into, done, into.length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    this.bytesRead += done;
    return done;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
