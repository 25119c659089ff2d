// Minimal readers for the shared firmware memory-map fixtures, enough to feed fromMemoryMap.
// The real parsers (with their error handling) live in kernel-sim; these trust their input.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MemoryRegion, RegionKind } from '../../src/index';

export const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'fixtures', 'memory-maps');

/** Linux `BIOS-e820: [mem 0xSTART-0xEND] TYPE` lines, END inclusive (X86-FACTS.md). */
export function readE820(name: string): MemoryRegion[] {
  const text = readFileSync(join(FIXTURES, name), 'utf8');
  const out: MemoryRegion[] = [];
  for (const m of text.matchAll(/BIOS-e820: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] (.+)$/gm)) {
    const start = Number.parseInt(m[1]!, 16);
    const end = Number.parseInt(m[2]!, 16);
    const type = m[3]!.trim();
    const kind: RegionKind =
      type === 'usable'
        ? 'usable'
        : type === 'ACPI data'
          ? 'acpi-reclaimable'
          : type === 'ACPI NVS'
            ? 'acpi-nvs'
            : type === 'unusable'
              ? 'bad-memory'
              : 'reserved';
    out.push({ base: start, lengthBytes: end - start + 1, kind });
  }
  return out;
}

/**
 * A raw UEFI memory map (array of EFI_MEMORY_DESCRIPTOR walked by DescriptorSize, 48 here):
 * `{u32 Type, u32 pad, u64 PhysicalStart, u64 VirtualStart, u64 NumberOfPages, u64 Attribute}`.
 * Kinds as Limine reports them after ExitBootServices: BootServices* and Conventional usable,
 * Loader* bootloader-reclaimable.
 */
export function readEfiMemmap(name: string, descriptorSize = 48): MemoryRegion[] {
  const bytes = readFileSync(join(FIXTURES, name));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (o: number): number => view.getUint32(o, true) + view.getUint32(o + 4, true) * 2 ** 32;
  const out: MemoryRegion[] = [];
  for (let o = 0; o + 40 <= bytes.byteLength; o += descriptorSize) {
    const type = view.getUint32(o, true);
    const kind: RegionKind =
      type === 3 || type === 4 || type === 7
        ? 'usable'
        : type === 1 || type === 2
          ? 'bootloader-reclaimable'
          : type === 9
            ? 'acpi-reclaimable'
            : type === 10
              ? 'acpi-nvs'
              : type === 8
                ? 'bad-memory'
                : 'reserved';
    out.push({ base: u64(o + 8), lengthBytes: u64(o + 24) * 4096, kind });
  }
  return out;
}
