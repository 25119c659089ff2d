// The one memory-map vocabulary, its restrictiveness order, and the firmware type tables.
import type { MemoryKind } from '../api';

/**
 * Every {@link MemoryKind}, from least to most restrictive. Where firmware entries overlap,
 * the byte belongs to the most restrictive kind covering it:
 * `bad-memory > reserved > acpi-nvs > framebuffer > kernel-and-modules > acpi-reclaimable >
 * bootloader-reclaimable > usable`. Why: whatever a more restrictive kind forbids (touching bad
 * cells, firmware-owned memory, NVS the firmware saves across sleep, device memory, the loaded
 * kernel, tables not yet parsed, the loader's structures) must win over "free to allocate".
 */
export const MEMORY_KINDS_BY_RESTRICTIVENESS: readonly MemoryKind[] = Object.freeze([
  'usable',
  'bootloader-reclaimable',
  'acpi-reclaimable',
  'kernel-and-modules',
  'framebuffer',
  'acpi-nvs',
  'reserved',
  'bad-memory',
]);

const RANK = new Map<string, number>(MEMORY_KINDS_BY_RESTRICTIVENESS.map((k, i) => [k, i]));

/** Rank of `kind` in {@link MEMORY_KINDS_BY_RESTRICTIVENESS} (0 = usable), or -1 if not a kind. */
export function restrictivenessOf(kind: string): number {
  return RANK.get(kind) ?? -1;
}

/** Whether `value` is one of the eight {@link MemoryKind} strings. */
export function isMemoryKind(value: unknown): value is MemoryKind {
  return typeof value === 'string' && RANK.has(value);
}

/** Kind of an e820 / multiboot type number (ACPI spec table "Address Range Types"; GRUB's 20 = runtime code). */
export function e820TypeToKind(type: number): MemoryKind {
  switch (type) {
    case 1:
      return 'usable';
    case 3:
      return 'acpi-reclaimable';
    case 4:
      return 'acpi-nvs';
    case 5:
      return 'bad-memory';
    default:
      // 2 reserved, 7 persistent memory, 12 legacy PRAM, 20 GRUB_MEMORY_CODE, 0xefffffff soft
      // reserved, anything unknown: not RAM the kernel may allocate.
      return 'reserved';
  }
}

/** Name of an e820 / multiboot type number, for {@link MemoryRegion.firmwareType}. */
export function e820TypeName(type: number): string {
  const names: Record<number, string> = {
    1: 'available',
    2: 'reserved',
    3: 'ACPI reclaimable',
    4: 'ACPI NVS',
    5: 'bad RAM',
    7: 'persistent memory',
    12: 'persistent memory (legacy)',
    20: 'GRUB_MEMORY_CODE',
  };
  return `${names[type] ?? 'unknown'} (${type})`;
}

/** UEFI memory types 0..15 (UEFI spec 2.10, 7.2 EFI_MEMORY_TYPE). */
export const UEFI_MEMORY_TYPE_NAMES: readonly string[] = Object.freeze([
  'EfiReservedMemoryType',
  'EfiLoaderCode',
  'EfiLoaderData',
  'EfiBootServicesCode',
  'EfiBootServicesData',
  'EfiRuntimeServicesCode',
  'EfiRuntimeServicesData',
  'EfiConventionalMemory',
  'EfiUnusableMemory',
  'EfiACPIReclaimMemory',
  'EfiACPIMemoryNVS',
  'EfiMemoryMappedIO',
  'EfiMemoryMappedIOPortSpace',
  'EfiPalCode',
  'EfiPersistentMemory',
  'EfiUnacceptedMemoryType',
]);

/**
 * Kind of a UEFI memory type. After ExitBootServices, loader and boot-services code/data
 * (1-4) are free for the kernel (UEFI spec 7.2, table "Memory Type Usage after
 * ExitBootServices()"); before it, they are still the firmware's and the loader's, reported
 * as `bootloader-reclaimable`.
 */
export function uefiTypeToKind(type: number, exitedBootServices: boolean): MemoryKind {
  switch (type) {
    case 1:
    case 2:
    case 3:
    case 4:
      return exitedBootServices ? 'usable' : 'bootloader-reclaimable';
    case 7:
      return 'usable';
    case 8:
      return 'bad-memory';
    case 9:
      return 'acpi-reclaimable';
    case 10:
      return 'acpi-nvs';
    default:
      // 0 reserved, 5/6 runtime services (must stay mapped for runtime calls), 11/12 MMIO,
      // 13 PAL code, 14 persistent, 15 unaccepted (needs acceptance first), OEM/OS-defined.
      return 'reserved';
  }
}

/** Limine memmap entry types 0..8 (Limine PROTOCOL.md, "Memory Map Feature"). */
export const LIMINE_TYPE_NAMES: readonly string[] = Object.freeze([
  'LIMINE_MEMMAP_USABLE',
  'LIMINE_MEMMAP_RESERVED',
  'LIMINE_MEMMAP_ACPI_RECLAIMABLE',
  'LIMINE_MEMMAP_ACPI_NVS',
  'LIMINE_MEMMAP_BAD_MEMORY',
  'LIMINE_MEMMAP_BOOTLOADER_RECLAIMABLE',
  'LIMINE_MEMMAP_EXECUTABLE_AND_MODULES',
  'LIMINE_MEMMAP_FRAMEBUFFER',
  'LIMINE_MEMMAP_ACPI_TABLES',
]);

/**
 * Older Limine type names that still appear in bootloader dumps and kernels written against
 * earlier protocol revisions, with the type number each names. Limine renamed type 6
 * `LIMINE_MEMMAP_KERNEL_AND_MODULES` to `LIMINE_MEMMAP_EXECUTABLE_AND_MODULES`; the value
 * stayed 6, so both names mean the same entries.
 */
export const LIMINE_TYPE_ALIASES: Readonly<Record<string, number>> = Object.freeze({
  LIMINE_MEMMAP_KERNEL_AND_MODULES: 6,
});

/** Type number of a `LIMINE_MEMMAP_*` name (current or older, see {@link LIMINE_TYPE_ALIASES}), or -1. */
export function limineTypeNumber(name: string): number {
  const current = LIMINE_TYPE_NAMES.indexOf(name);
  return current >= 0 ? current : Object.hasOwn(LIMINE_TYPE_ALIASES, name) ? LIMINE_TYPE_ALIASES[name]! : -1;
}

const LIMINE_KINDS: readonly MemoryKind[] = [
  'usable',
  'reserved',
  'acpi-reclaimable',
  'acpi-nvs',
  'bad-memory',
  'bootloader-reclaimable',
  'kernel-and-modules',
  'framebuffer',
  // 8, ACPI tables (newer base revisions): the tables must survive; no kind of ours says
  // "ACPI tables that are never reclaimable", so the safe choice is reserved.
  'reserved',
];

/** Kind of a Limine memmap type number; unknown types are `reserved`. */
export function limineTypeToKind(type: number): MemoryKind {
  return LIMINE_KINDS[type] ?? 'reserved';
}
