// The shape of meta.json (written by export.ts, read by gdb-script.ts and compare.ts).

export interface Meta {
  layout: string;
  fixture: string;
  /** QEMU's -m for the machine the fixture came from. */
  qemuMemory: string;
  imageBytes: number;
  registers: { cr0: number; cr3: number; cr4: number; efer: number };
  roots: {
    name: string;
    cr3: number;
    ranges: { start: number; end: number; pa: number; flags: number; pageSizeBytes: number }[];
    samples: { va: number; pa: number | null }[];
  }[];
}

/** A 48-bit linear address in canonical form as QEMU prints it (16 hex digits, sign-extended from bit 47). */
export function canonical(va: number): string {
  const v = BigInt(va);
  return ((v & (1n << 47n)) !== 0n ? v | 0xffff_0000_0000_0000n : v).toString(16).padStart(16, '0');
}

/** A canonical address as QEMU prints it, back to the 48-bit linear number the simulator uses. */
export function linear(hex: string): number {
  return Number(BigInt('0x' + hex) & 0xffff_ffff_ffffn);
}
