// Test helper: memory seen only through the PhysicalMemory port (no flat `words`), as kernel-sim's
// sparse RAM is, so a test reaches the MMU's paths for such memory.
import type { ArrayBufferPhysicalMemory, PhysicalMemory } from '../src/index';

/** `m` behind the port alone: the Mmu finds no `words` to walk directly. */
export function portOnly(m: ArrayBufferPhysicalMemory): PhysicalMemory {
  return {
    read32: (pa) => m.read32(pa),
    write32: (pa, v) => m.write32(pa, v),
    read8: (pa) => m.read8(pa),
    write8: (pa, v) => m.write8(pa, v),
    frameWords: (f) => m.frameWords(f),
    zeroFrame: (f) => m.zeroFrame(f),
  };
}
