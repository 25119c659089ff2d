// Test helper: a small machine (flat memory, a frame allocator for tables, a Mapper over strategy (a)).
import { ArrayBufferPhysicalMemory, Mapper, PhysicalTableAccess, SimpleFrameAllocator, type MapperCreateOptions, type TlbInvalidator } from '../src/index';

/** Records every invlpg the mapper issues. */
export class RecordingTlb implements TlbInvalidator {
  readonly invalidated: number[] = [];
  invlpg(va: number): void {
    this.invalidated.push(va);
  }
}

export interface Machine {
  memory: ArrayBufferPhysicalMemory;
  allocator: SimpleFrameAllocator;
  access: PhysicalTableAccess;
  mapper: Mapper;
  tlb: RecordingTlb;
}

/** 8 MiB of RAM; table frames from [1 MiB, 1 MiB + frameCount * 4 KiB). */
export function machine(frameCount = 512, extra: Partial<MapperCreateOptions> = {}): Machine {
  const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
  const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount });
  const access = new PhysicalTableAccess(memory);
  const tlb = new RecordingTlb();
  const mapper = Mapper.create({ access, allocator, tlb, ...extra })!;
  return { memory, allocator, access, mapper, tlb };
}

/** Reads the raw 64-bit entry at `pa` as [lo, hi]. */
export function rawEntry(memory: ArrayBufferPhysicalMemory, pa: number): [number, number] {
  return [memory.read32(pa), memory.read32(pa + 4)];
}

/** A cheap fingerprint of all of memory (deep-equal on 8 MiB arrays is far too slow). */
export function snapshot(memory: ArrayBufferPhysicalMemory): string {
  let h1 = 0x811c9dc5;
  let h2 = 0;
  const w = memory.words;
  for (let i = 0; i < w.length; i++) {
    const v = w[i]!;
    if (v !== 0) {
      h1 = Math.imul(h1 ^ v, 16777619) ^ i;
      h2 = (h2 + Math.imul(v, i + 1)) | 0;
    }
  }
  return `${h1 >>> 0}:${h2 >>> 0}`;
}
