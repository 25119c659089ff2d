// /sys/firmware/memmap-style text: one entry a line, `N START END TYPE` (END inclusive).
import type { MemoryKind, MemoryRegion } from '../api';
import { e820TextToKind } from './e820-text';
import { failAt, inclusiveRegion, parseHex, splitLines } from './text';

// `N START END TYPE`; TYPE may contain spaces. `(\S.*)$` rather than a lazy group keeps the match linear.
const ENTRY = /^\s*(\d{1,10})\s+(?:0x)?([0-9a-fA-F]+)\s+(?:0x)?([0-9a-fA-F]+)\s+(\S.*)$/;

/**
 * Kind of a /sys/firmware/memmap `type` string (Linux e820_type_to_string): `System RAM`,
 * `Reserved`, `ACPI Tables`, `ACPI Non-volatile Storage`, `Unusable memory`,
 * `Persistent Memory`, `Persistent Memory (legacy)`, `Soft Reserved`; the e820 log names
 * (`usable`, `ACPI data`...) are accepted too.
 * @returns null for any other string.
 */
export function sysfsTypeToKind(type: string): MemoryKind | null {
  switch (type.trim().toLowerCase()) {
    case 'system ram':
      return 'usable';
    case 'reserved':
    case 'soft reserved':
    case 'persistent memory':
    case 'persistent memory (legacy)':
      return 'reserved';
    case 'acpi tables':
      return 'acpi-reclaimable';
    case 'acpi non-volatile storage':
      return 'acpi-nvs';
    case 'unusable memory':
      return 'bad-memory';
  }
  return e820TextToKind(type);
}

/**
 * Parses /sys/firmware/memmap-style text: per line `N START END TYPE` where N is the entry's
 * directory number, START/END are hex (with or without `0x`), END is inclusive and TYPE is
 * the `type` file's content. Blank lines and lines starting with `#` are skipped.
 * @throws MemoryMapParseError (line, column, offset) for a line that does not parse, an unknown
 *   type, an end below the start, or an address of 2^53 or more.
 */
export function parseSysfsMemmap(text: string): MemoryRegion[] {
  const regions: MemoryRegion[] = [];
  for (const line of splitLines(text)) {
    const trimmed = line.text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = ENTRY.exec(line.text);
    if (!m) failAt(line, 0, 'expected "N START END TYPE"');
    const [, , startHex, endHex, typeRaw] = m as unknown as [string, string, string, string, string];
    const typeText = typeRaw.trim();
    const startCol = line.text.indexOf(startHex, line.text.indexOf(m[1]!) + m[1]!.length);
    const endCol = line.text.indexOf(endHex, startCol + startHex.length);
    const kind = sysfsTypeToKind(typeText);
    if (kind === null) failAt(line, line.text.lastIndexOf(typeText), `unknown memmap type "${typeText.slice(0, 40)}"`);
    const start = parseHex(line, startCol, startHex, 'start address');
    const end = parseHex(line, endCol, endHex, 'end address');
    regions.push(inclusiveRegion(line, endCol, start, end, kind, typeText));
  }
  return regions;
}
