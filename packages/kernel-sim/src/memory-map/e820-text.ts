// Linux boot-log e820 lines: `BIOS-e820: [mem 0xSTART-0xEND] TYPE` (END inclusive).
import type { MemoryKind, MemoryRegion } from '../api';
import { e820TypeToKind } from './kinds';
import { failAt, inclusiveRegion, parseHex, splitLines, type TextLine } from './text';

const MARK = 'BIOS-e820:';
// Since Linux 3.x (arch/x86/kernel/e820.c, e820__print_table): [mem %#018Lx-%#018Lx] then the type.
const MODERN = /^BIOS-e820: \[mem 0x([0-9a-fA-F]+)-0x([0-9a-fA-F]+)\]\s+(.*)$/;
// Linux 2.6 era: `BIOS-e820: 0000000000000000 - 000000000009fc00 (usable)`, END exclusive.
const LEGACY = /^BIOS-e820: ([0-9a-fA-F]+) - ([0-9a-fA-F]+) \((.*)\)\s*$/;
// Newer kernels may print a size before the type ("639 KB usable"): skip it.
const SIZE_PREFIX = /^\d+(?:\.\d+)?\s*[KMGTP]?B\s+/;

/**
 * Kind of an e820 type as Linux prints it (e820_print_type): `usable`, `reserved`,
 * `ACPI data`, `ACPI NVS`, `unusable`, `persistent (type N)`, `soft reserved`, `type N`.
 * @returns null for text Linux never prints.
 */
export function e820TextToKind(type: string): MemoryKind | null {
  const t = type.trim().toLowerCase();
  switch (t) {
    case 'usable':
      return 'usable';
    case 'reserved':
    case 'soft reserved':
      return 'reserved';
    case 'acpi data':
      return 'acpi-reclaimable';
    case 'acpi nvs':
      return 'acpi-nvs';
    case 'unusable':
      return 'bad-memory';
  }
  const persistent = /^persistent \(type (\d{1,10})\)$/.exec(t);
  if (persistent) return 'reserved';
  const numbered = /^type (\d{1,10})$/.exec(t);
  if (numbered) return e820TypeToKind(Number(numbered[1]));
  return null;
}

/**
 * Parses the `BIOS-e820:` lines of a Linux boot log (dmesg text; other lines are ignored, as
 * are dmesg timestamps before the marker). Also reads the Linux 2.6 form with an exclusive end.
 * Regions come back in log order, not normalised.
 * @throws MemoryMapParseError (with line, column and character offset) for a `BIOS-e820:` line
 *   that does not parse, an unknown type, an end below the start, or an address of 2^53 or more.
 */
export function parseE820Log(text: string): MemoryRegion[] {
  const regions: MemoryRegion[] = [];
  for (const line of splitLines(text)) {
    const at = line.text.indexOf(MARK);
    if (at < 0) continue;
    regions.push(parseE820Line(line, at));
  }
  return regions;
}

function parseE820Line(line: TextLine, at: number): MemoryRegion {
  const rest = line.text.slice(at);
  const modern = MODERN.exec(rest);
  if (modern) {
    const [, startHex, endHex, typeRaw] = modern as unknown as [string, string, string, string];
    const startCol = at + rest.indexOf('0x') + 2;
    const endCol = at + rest.indexOf('-0x') + 3;
    const typeText = typeRaw.trim().replace(SIZE_PREFIX, '');
    const typeCol = at + rest.indexOf(']') + 1;
    const kind = e820TextToKind(typeText);
    if (kind === null) failAt(line, typeCol, `unknown e820 type "${typeText.slice(0, 40)}"`);
    const start = parseHex(line, startCol, startHex, 'start address');
    const end = parseHex(line, endCol, endHex, 'end address');
    return inclusiveRegion(line, endCol, start, end, kind, typeText);
  }
  const legacy = LEGACY.exec(rest);
  if (legacy) {
    const [, startHex, endHex, typeText] = legacy as unknown as [string, string, string, string];
    const startCol = at + MARK.length + 1;
    const endCol = at + rest.indexOf(' - ') + 3;
    const kind = e820TextToKind(typeText);
    if (kind === null) failAt(line, at + rest.lastIndexOf('('), `unknown e820 type "${typeText.slice(0, 40)}"`);
    const start = parseHex(line, startCol, startHex, 'start address');
    const end = parseHex(line, endCol, endHex, 'end address');
    if (end <= start) failAt(line, endCol, 'end address is not above start address');
    return { base: start, lengthBytes: end - start, kind, firmwareType: typeText.trim() };
  }
  failAt(line, at, 'expected "BIOS-e820: [mem 0xSTART-0xEND] TYPE"');
}
