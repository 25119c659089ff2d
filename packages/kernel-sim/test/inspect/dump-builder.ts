// Test support: page tables built by x86-paging's Mapper in a flat memory (a raw dump), and ELF
// cores laid out as QEMU's dump-guest-memory writes them (ELF64 ET_CORE, a PT_NOTE with one
// "QEMU" note per CPU holding QEMUCPUState, PT_LOAD segments of physical memory).
import { ArrayBufferPhysicalMemory, Mapper, PhysicalTableAccess, SimpleFrameAllocator } from '@kmem/x86-paging';

/** A flat memory of `sizeBytes` with a Mapper whose tables come from its upper half. */
export function tablesInMemory(sizeBytes = 4 << 20): { memory: ArrayBufferPhysicalMemory; mapper: Mapper } {
  const memory = new ArrayBufferPhysicalMemory(sizeBytes);
  const allocator = new SimpleFrameAllocator({ start: sizeBytes / 2, frameCount: sizeBytes / 2 / 4096 });
  const mapper = Mapper.create({ access: new PhysicalTableAccess(memory), allocator, memory })!;
  return { memory, mapper };
}

/** A CPU note's registers. */
export interface CoreCpu {
  readonly cr0: number;
  readonly cr3: number;
  readonly cr4: number;
  /** CS.L: the CPU runs 64-bit code. */
  readonly longMode: boolean;
}

/** Options of {@link elfCore}. */
export interface ElfCoreOptions {
  /** Physical memory pieces: `bytes` at `pa`. */
  readonly segments: readonly { readonly pa: number; readonly bytes: Uint8Array }[];
  readonly cpus?: readonly CoreCpu[];
  /** e_machine (default 62, EM_X86_64). */
  readonly machine?: number;
}

/** Bytes of an ELF64 core like QEMU's `dump-guest-memory` (paging off, physical layout). */
export function elfCore(options: ElfCoreOptions): Uint8Array {
  const cpus = options.cpus ?? [];
  const noteBytes = cpus.length * (12 + 8 + 440);
  const phnum = 1 + options.segments.length;
  const phoff = 64;
  const notesOff = phoff + phnum * 56;
  let dataOff = notesOff + noteBytes;
  dataOff = Math.ceil(dataOff / 4096) * 4096;
  const total = dataOff + options.segments.reduce((s, x) => s + x.bytes.length, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const u64 = (off: number, n: number): void => {
    v.setUint32(off, n % 2 ** 32, true);
    v.setUint32(off + 4, Math.floor(n / 2 ** 32), true);
  };
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  v.setUint16(16, 4, true); // ET_CORE
  v.setUint16(18, options.machine ?? 62, true);
  v.setUint32(20, 1, true);
  u64(32, phoff);
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, phnum, true);
  // PT_NOTE
  v.setUint32(phoff, 4, true);
  u64(phoff + 8, notesOff);
  u64(phoff + 32, noteBytes);
  u64(phoff + 40, noteBytes);
  let at = notesOff;
  for (const c of cpus) {
    v.setUint32(at, 5, true);
    v.setUint32(at + 4, 440, true);
    v.setUint32(at + 8, 0, true);
    out.set([0x51, 0x45, 0x4d, 0x55, 0], at + 12); // "QEMU\0"
    const d = at + 20;
    v.setUint32(d, 1, true); // version
    v.setUint32(d + 4, 440, true);
    v.setUint32(d + 160, c.longMode ? 1 << 21 : 0, true); // CS flags: L
    u64(d + 392, c.cr0);
    u64(d + 416, c.cr3);
    u64(d + 424, c.cr4);
    at += 460;
  }
  let off = dataOff;
  options.segments.forEach((s, i) => {
    const ph = phoff + (i + 1) * 56;
    v.setUint32(ph, 1, true); // PT_LOAD
    u64(ph + 8, off);
    u64(ph + 24, s.pa);
    u64(ph + 32, s.bytes.length);
    u64(ph + 40, s.bytes.length);
    out.set(s.bytes, off);
    off += s.bytes.length;
  });
  return out;
}

/** CR0 with PE, WP and PG; CR4 with PAE; EFER with LME, LMA and NXE: a 64-bit kernel's. */
export const LONG_MODE = { cr0: 0x8001_0001, cr4: 0x20, efer: 0xd00 } as const;
