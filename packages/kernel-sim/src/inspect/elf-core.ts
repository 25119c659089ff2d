// QEMU's `dump-guest-memory` ELF core (ELF64, ET_CORE, EM_X86_64): PT_LOAD segments give the
// guest's physical layout (p_paddr, the bytes at p_offset), PT_NOTE segments carry one "QEMU"
// note per CPU with its control registers (QEMU's QEMUCPUState, target/i386/arch_dump.c).
// Reads only the headers and notes; segment bytes stay in the file.
import { formatPhysical } from '../hex';
import type { DumpSource } from './dump-source';
import { DumpArchitectureError, DumpFormatError, DumpTruncatedError } from './inspect-errors';

/** One PT_LOAD segment: `memBytes` of physical memory at `pa`, the first `fileBytes` at `fileOffset`. */
export interface DumpSegment {
  /** Physical address of the segment's first byte. */
  readonly pa: number;
  /** Where its bytes start in the dump. */
  readonly fileOffset: number;
  /** Bytes present in the file. */
  readonly fileBytes: number;
  /** Bytes of physical memory it covers (`>= fileBytes`; the rest reads as zero, as ELF says). */
  readonly memBytes: number;
}

/** The control state of one CPU, from its QEMU note. EFER is not in the note (QEMU does not save it). */
export interface QemuCpuState {
  /** CPU number (order of the notes). */
  readonly index: number;
  /** CR0 (PG bit 31, WP bit 16, PE bit 0). */
  readonly cr0: number;
  /** CR2 (the last page-fault address, a canonical 64-bit value) as 16 hex digits. */
  readonly cr2Hex: string;
  /** CR3: the root table's address (and the PCID with CR4.PCIDE). */
  readonly cr3: number;
  /** CR4 (PAE bit 5, PGE 7, LA57 12, PCIDE 17, SMEP 20, SMAP 21, PKE 22). */
  readonly cr4: number;
  /** RIP (low 53 bits are exact; a kernel-half RIP is shown in canonical form by callers). */
  readonly ripHex: string;
  /** True when CS has L = 1: the CPU was running 64-bit code, so EFER.LMA was 1. */
  readonly longMode: boolean;
}

/** What {@link parseElfCore} reads. */
export interface ElfCore {
  /** PT_LOAD segments sorted by physical address, non-overlapping. */
  readonly segments: readonly DumpSegment[];
  /** One entry per QEMU CPU note, in file order. */
  readonly cpus: readonly QemuCpuState[];
  /**
   * ELF machine: 62 (EM_X86_64) when QEMU found the CPU in long mode, 3 (EM_386) when it did not
   * (QEMU picks the machine from the CPU's mode, target/i386/arch_dump.c): same physical memory,
   * but the note's registers then describe no 4-level paging.
   */
  readonly elfMachine: number;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const EM_386 = 3;
const EM_X86_64 = 62;
const ET_CORE = 4;
const PT_LOAD = 1;
const PT_NOTE = 4;
const PN_XNUM = 0xffff;
const MAX_SEGMENTS = 1 << 16;
const MAX_NOTES_BYTES = 1 << 24;
const TWO_32 = 0x1_0000_0000;
const TWO_52 = 2 ** 52;
/** Byte offsets inside QEMUCPUState (version 1): u32 version, u32 size, 18 u64, 10 segments of 24 bytes, cr[5]. */
const QEMU_STATE_CS_FLAGS = 8 + 18 * 8 + 8;
const QEMU_STATE_CR = 8 + 18 * 8 + 10 * 24;
const QEMU_STATE_MIN_BYTES = QEMU_STATE_CR + 5 * 8;
/** CS descriptor flags as QEMU keeps them (the descriptor's high dword): L is bit 21. */
const DESC_L = 1 << 21;

/** True when the source starts with the ELF magic. */
export function isElf(source: DumpSource): boolean {
  const b = new Uint8Array(4);
  return source.read(0, b) === 4 && ELF_MAGIC.every((m, i) => b[i] === m);
}

function readExact(source: DumpSource, offset: number, length: number, what: string): DataView {
  const buf = new Uint8Array(length);
  if (offset + length > source.sizeBytes || source.read(offset, buf) !== length) throw new DumpTruncatedError(offset, length, source.sizeBytes, what);
  return new DataView(buf.buffer);
}

function u64(v: DataView, off: number, fileOffset: number, what: string): number {
  const hi = v.getUint32(off + 4, true);
  if (hi >= 0x20_0000) throw new DumpFormatError(fileOffset + off, `${what} is 2^53 or more`);
  return hi * TWO_32 + v.getUint32(off, true);
}

function hex64(v: DataView, off: number): string {
  return `0x${v.getUint32(off + 4, true).toString(16).padStart(8, '0')}${v.getUint32(off, true).toString(16).padStart(8, '0')}`;
}

/**
 * Reads an x86_64 ELF core's segments and CPU notes.
 * @throws DumpArchitectureError for an ELF of another machine, an ELF32 core (a 32-bit guest), or big-endian
 * @throws DumpFormatError (with the byte offset) for a file that is not a core, bad header sizes,
 *   a segment outside 2^52 or overlapping another, malformed notes
 * @throws DumpTruncatedError when a header, segment or note lies past the end of the file
 */
export function parseElfCore(source: DumpSource): ElfCore {
  const ident = readExact(source, 0, 16, 'the ELF identification');
  for (let i = 0; i < 4; i++) if (ident.getUint8(i) !== ELF_MAGIC[i]) throw new DumpFormatError(i, 'not an ELF file (bad magic)');
  const elfClass = ident.getUint8(4);
  const data = ident.getUint8(5);
  if (data !== 1) throw new DumpArchitectureError(`ELF data encoding ${data} is not little-endian: not an x86 dump`);
  if (elfClass === 1) {
    const h = readExact(source, 16, 4, 'the ELF32 header');
    const machine = h.getUint16(2, true);
    throw new DumpArchitectureError(machine === EM_386 ? 'an ELF32 i386 core: 32-bit paging, not the x86_64 4-level tables this reads' : `an ELF32 core for machine ${machine}, not x86_64`);
  }
  if (elfClass !== 2) throw new DumpFormatError(4, `ELF class ${elfClass} is neither 32 nor 64-bit`);
  const h = readExact(source, 0, 64, 'the ELF64 header');
  const type = h.getUint16(16, true);
  const machine = h.getUint16(18, true);
  if (machine !== EM_X86_64 && machine !== EM_386) throw new DumpArchitectureError(`ELF machine ${machine} is not x86 (${EM_X86_64} or, for a CPU outside long mode, ${EM_386})`);
  if (type !== ET_CORE) throw new DumpFormatError(16, `ELF type ${type} is not a core file (${ET_CORE})`);
  const phoff = u64(h, 32, 0, 'e_phoff');
  const shoff = u64(h, 40, 0, 'e_shoff');
  const phentsize = h.getUint16(54, true);
  let phnum = h.getUint16(56, true);
  if (phentsize < 56) throw new DumpFormatError(54, `program header size ${phentsize} is below 56`);
  if (phnum === PN_XNUM) {
    // More than 65534 headers: the real count is section header 0's sh_info (ELF gABI).
    if (shoff === 0) throw new DumpFormatError(56, 'e_phnum is PN_XNUM but there is no section header 0');
    phnum = readExact(source, shoff + 44, 4, 'section header 0').getUint32(0, true);
  }
  if (phnum > MAX_SEGMENTS) throw new DumpFormatError(56, `${phnum} program headers (at most ${MAX_SEGMENTS} read)`);
  const ph = readExact(source, phoff, phnum * phentsize, 'the program headers');
  const segments: DumpSegment[] = [];
  const notes: { offset: number; sizeBytes: number }[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize;
    const off = phoff + at;
    const ptype = ph.getUint32(at, true);
    const fileOffset = u64(ph, at + 8, phoff, 'p_offset');
    const fileBytes = u64(ph, at + 32, phoff, 'p_filesz');
    if (ptype === PT_NOTE) {
      if (fileBytes > MAX_NOTES_BYTES) throw new DumpFormatError(off, `note segment of ${fileBytes} bytes (at most ${MAX_NOTES_BYTES} read)`);
      notes.push({ offset: fileOffset, sizeBytes: fileBytes });
      continue;
    }
    if (ptype !== PT_LOAD) continue;
    const pa = u64(ph, at + 24, phoff, 'p_paddr');
    const memBytes = u64(ph, at + 40, phoff, 'p_memsz');
    if (fileBytes > memBytes) throw new DumpFormatError(off, `segment ${i}: p_filesz ${fileBytes} exceeds p_memsz ${memBytes}`);
    if (pa + memBytes > TWO_52) throw new DumpFormatError(off, `segment ${i} at ${formatPhysical(pa)} ends above 2^52`);
    if (fileOffset + fileBytes > source.sizeBytes) throw new DumpTruncatedError(fileOffset, fileBytes, source.sizeBytes, `segment ${i} (physical ${formatPhysical(pa)})`);
    if (memBytes > 0) segments.push({ pa, fileOffset, fileBytes, memBytes });
  }
  segments.sort((a, b) => a.pa - b.pa);
  for (let i = 1; i < segments.length; i++) {
    const p = segments[i - 1]!;
    if (segments[i]!.pa < p.pa + p.memBytes) throw new DumpFormatError(phoff, `segments at ${formatPhysical(p.pa)} and ${formatPhysical(segments[i]!.pa)} overlap`);
  }
  const cpus: QemuCpuState[] = [];
  for (const n of notes) readNotes(source, n.offset, n.sizeBytes, cpus);
  return { segments, cpus, elfMachine: machine };
}

function readNotes(source: DumpSource, offset: number, sizeBytes: number, cpus: QemuCpuState[]): void {
  const v = readExact(source, offset, sizeBytes, 'a note segment');
  let at = 0;
  while (at + 12 <= sizeBytes) {
    const nameBytes = v.getUint32(at, true);
    const descBytes = v.getUint32(at + 4, true);
    const type = v.getUint32(at + 8, true);
    const nameAt = at + 12;
    const descAt = nameAt + Math.ceil(nameBytes / 4) * 4;
    const next = descAt + Math.ceil(descBytes / 4) * 4;
    if (next > sizeBytes) throw new DumpFormatError(offset + at, `note of ${nameBytes}+${descBytes} bytes runs past its segment`);
    let name = '';
    for (let i = 0; i < nameBytes && i < 16; i++) {
      const c = v.getUint8(nameAt + i);
      if (c !== 0) name += String.fromCharCode(c);
    }
    if (name === 'QEMU' && type === 0 && descBytes >= QEMU_STATE_MIN_BYTES && v.getUint32(descAt, true) === 1) {
      const cr = descAt + QEMU_STATE_CR;
      cpus.push({
        index: cpus.length,
        cr0: u64(v, cr, offset, 'CR0'),
        cr2Hex: hex64(v, cr + 16),
        cr3: u64(v, cr + 24, offset, 'CR3'),
        cr4: u64(v, cr + 32, offset, 'CR4'),
        ripHex: hex64(v, descAt + 8 + 16 * 8),
        longMode: (v.getUint32(descAt + QEMU_STATE_CS_FLAGS, true) & DESC_L) !== 0,
      });
    }
    at = next;
  }
}
