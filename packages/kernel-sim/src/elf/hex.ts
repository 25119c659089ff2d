// Formatting helpers for error text (not hot paths). DESIGN.md: addresses print in canonical hex
// grouped by 4 digits, `0x0000_7fff_ffff_f000`.

function group4(digits: string): string {
  let out = '';
  for (let i = 0; i < digits.length; i += 4) out += (i === 0 ? '' : '_') + digits.slice(i, i + 4);
  return out;
}

/** A user-half virtual address (a number below 2^47) as `0x0000_7fff_ffff_f000`. */
export function hexVa(va: number): string {
  const hi = Math.floor(va / 0x1_0000_0000);
  const lo = va >>> 0;
  return hex64(hi, lo);
}

/** A 32-bit virtual address as `0x0804_8000` (4 GiB and above print as {@link hexVa}). */
export function hexVa32(va: number): string {
  if (va >= 0x1_0000_0000 || va < 0) return hexVa(va); // an exclusive end at 4 GiB
  return '0x' + group4((va >>> 0).toString(16).padStart(8, '0'));
}

/** A raw 64-bit field given as two u32 halves, as `0xffff_8000_0000_0000`. */
export function hex64(hi: number, lo: number): string {
  return '0x' + group4((hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0'));
}

/** A file offset or a size: plain hex without padding, `0x1da708`. */
export function hexOffset(n: number): string {
  return '0x' + n.toString(16);
}
