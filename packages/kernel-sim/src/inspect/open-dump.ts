// Opening a dump: an ELF core (QEMU `dump-guest-memory`) or a raw image (QEMU `pmemsave 0 SIZE`,
// byte n = physical address n), detected from the first bytes.
import { DumpPhysicalMemory, type DumpPhysicalMemoryOptions } from './dump-memory';
import type { DumpSource } from './dump-source';
import { isElf, parseElfCore, type DumpSegment, type QemuCpuState } from './elf-core';
import { DumpFormatError, DumpTruncatedError } from './inspect-errors';

/** How a dump lays out physical memory. */
export type DumpFormat = 'elf-core' | 'raw';

/** A dump opened for reading. */
export interface OpenedDump {
  /** 'elf-core' or 'raw'. */
  readonly format: DumpFormat;
  /** Its physical memory (lazy, read-only). */
  readonly memory: DumpPhysicalMemory;
  /** Where physical memory sits in the file. */
  readonly segments: readonly DumpSegment[];
  /** CPU states from the dump's notes (none in a raw dump). */
  readonly cpus: readonly QemuCpuState[];
  /** Size of the dump file in bytes. */
  readonly fileBytes: number;
}

/**
 * Opens a dump. Reads only headers and notes.
 * @throws DumpFormatError for an empty file
 * @throws DumpTruncatedError for a raw dump that ends mid-frame (RAM is whole frames), or an ELF
 *   core whose headers or segments run past the end of the file
 * @throws DumpArchitectureError for an ELF core of another machine
 */
export function openDump(source: DumpSource, options: DumpPhysicalMemoryOptions = {}): OpenedDump {
  if (source.sizeBytes === 0) throw new DumpFormatError(0, 'the dump is empty');
  if (isElf(source)) {
    const core = parseElfCore(source);
    return { format: 'elf-core', memory: new DumpPhysicalMemory(source, core.segments, options), segments: core.segments, cpus: core.cpus, fileBytes: source.sizeBytes };
  }
  if (source.sizeBytes % 4096 !== 0) {
    const whole = source.sizeBytes - (source.sizeBytes % 4096);
    throw new DumpTruncatedError(whole, 4096, source.sizeBytes, 'a raw dump of whole 4 KiB frames (this one ends mid-frame)');
  }
  const segments = [{ pa: 0, fileOffset: 0, fileBytes: source.sizeBytes, memBytes: source.sizeBytes }];
  return { format: 'raw', memory: new DumpPhysicalMemory(source, segments, options), segments, cpus: [], fileBytes: source.sizeBytes };
}
