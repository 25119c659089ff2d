// Hex as the exercises print it: 4-digit groups joined by _ (0x0000_0000_0012_3067).

/** `n` (a safe integer) in hex with _ every 4 digits, at least `digits` wide. */
export function groupedHex(n: number, digits = 1): string {
  const h = n.toString(16).padStart(digits, '0');
  return `0x${h.replace(/\B(?=([0-9a-f]{4})+$)/g, '_')}`;
}

/** A 64-bit entry from its halves, 16 digits grouped. */
export function entryHex(lo: number, hi: number): string {
  return groupedHex(hi >>> 0, 8).slice(0, 12) + '_' + groupedHex(lo >>> 0, 8).slice(2);
}

/** A number the student typed (`0x12_3000`, `123000h` not accepted), or null. */
export function parseTypedNumber(text: string): number | null {
  const t = text.trim().replace(/_/g, '').toLowerCase();
  if (!/^(0x[0-9a-f]+|[0-9]+)$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}
