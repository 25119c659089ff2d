// Test helper: builds page tables by writing raw entries into physical memory, independent of the
// Mapper, so MMU/TLB tests can set any bit at any level (including ones the Mapper refuses).
import { ArrayBufferPhysicalMemory, PTE } from '../src/index';

const TWO_32 = 4294967296;
/** Table flags used for intermediate entries unless a test says otherwise. */
export const TABLE = PTE.Present | PTE.Writable | PTE.User;

export function entryHalves(pa: number, flags: number, huge = false): [number, number] {
  const lo = ((pa % TWO_32) & 0xffff_f000 & (huge ? 0xffff_e000 : 0xffff_f000)) | (flags & (huge ? 0x1fff : 0xfff));
  const hi = (Math.floor(pa / TWO_32) & 0xfffff) | (flags & (0xfff0_0000 | 0));
  return [lo >>> 0, hi >>> 0];
}

function index(va: number, level: number): number {
  return Math.floor(va / 2 ** (12 + 9 * (level - 1))) % 512;
}

export class RawPaging {
  readonly memory: ArrayBufferPhysicalMemory;
  readonly pml4: number;
  private next: number;

  constructor(sizeBytes = 8 * 1024 * 1024, firstTableFrame = 0x10_0000) {
    this.memory = new ArrayBufferPhysicalMemory(sizeBytes);
    this.next = firstTableFrame;
    this.pml4 = this.alloc();
  }

  alloc(): number {
    const f = this.next;
    this.next += 4096;
    this.memory.zeroFrame(f);
    return f;
  }

  /** Frame of the table at `level` on va's path, creating missing tables with `tableFlags`. */
  table(level: number, va: number, tableFlags = TABLE): number {
    let frame = this.pml4;
    for (let l = 4; l > level; l--) {
      const pa = frame + index(va, l) * 8;
      const lo = this.memory.read32(pa);
      const hi = this.memory.read32(pa + 4);
      if ((lo & 1) === 0) {
        const child = this.alloc();
        const [nlo, nhi] = entryHalves(child, tableFlags);
        this.memory.write32(pa, nlo);
        this.memory.write32(pa + 4, nhi);
        frame = child;
      } else {
        frame = (hi & 0xfffff) * TWO_32 + ((lo & 0xffff_f000) >>> 0);
      }
    }
    return frame;
  }

  /** Physical address of the entry at `level` for `va`. */
  entryPa(level: number, va: number, tableFlags = TABLE): number {
    return this.table(level, va, tableFlags) + index(va, level) * 8;
  }

  set(level: number, va: number, lo: number, hi: number, tableFlags = TABLE): void {
    const pa = this.entryPa(level, va, tableFlags);
    this.memory.write32(pa, lo >>> 0);
    this.memory.write32(pa + 4, hi >>> 0);
  }

  get(level: number, va: number): [number, number] {
    const pa = this.entryPa(level, va);
    return [this.memory.read32(pa), this.memory.read32(pa + 4)];
  }

  /** Maps one page of size given by `level` (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB). */
  map(va: number, pa: number, flags: number, level = 1, tableFlags = TABLE): void {
    const huge = level > 1;
    const [lo, hi] = entryHalves(pa, huge ? flags | PTE.HugePage : flags, huge);
    this.set(level, va, lo, hi, tableFlags);
  }

  /** Sets / clears flag bits of the entry at `level` for `va` (low and high halves). */
  modify(level: number, va: number, set: number, clear = 0): void {
    const pa = this.entryPa(level, va);
    const lo = this.memory.read32(pa);
    const hi = this.memory.read32(pa + 4);
    this.memory.write32(pa, ((lo & ~(clear & 0x1fff)) | (set & 0x1fff)) >>> 0);
    this.memory.write32(pa + 4, ((hi & ~(clear & (0xfff0_0000 | 0))) | (set & (0xfff0_0000 | 0))) >>> 0);
  }
}
