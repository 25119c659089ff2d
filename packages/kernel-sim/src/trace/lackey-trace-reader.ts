// Valgrind lackey's memory trace (`valgrind --tool=lackey --trace-mem=yes --log-file=F prog`).
import { AccessKind } from './access-kind';
import { HEX_BAD_DIGIT, HEX_NON_CANONICAL, HEX_TOO_LONG, parseHexAddress } from './hex-address';
import { TextTraceReader } from './text-trace-reader';

/** Hex digit values by ASCII code, -1 for other bytes. */
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) HEX[65 + c] = HEX[97 + c] = 10 + c;

/** Largest access a trace record may name, in bytes (a page; lackey's largest are AVX-512's 64). */
export const MAX_ACCESS_BYTES = 4096;

/**
 * Reads lackey's `--trace-mem=yes` output: `I  ADDR,SIZE` (instruction fetch), ` L ADDR,SIZE`
 * (load), ` S ADDR,SIZE` (store), ` M ADDR,SIZE` (modify: load then store); ADDR in hex without
 * `0x`, SIZE in decimal. Valgrind's own lines (`==PID== ...`, `--PID-- ...`) and blank lines are
 * skipped silently; anything else is a `TraceParseError` with its line (or, lenient, counted).
 */
export class LackeyTraceReader extends TextTraceReader {
  readonly format = 'lackey';

  /**
   * The hot loop: lines of the exact shape lackey writes (`I  ` / ` L ` / ` S ` / ` M `, 1 to 12
   * hex digits, `,`, a decimal size 1..4096, LF) parsed byte by byte straight into the batch.
   * Anything else (Valgrind's own lines, CRLF, long addresses, errors) stops it at that line.
   */
  protected override fastLines(b: Uint8Array, start: number): number {
    const n = b.length;
    const batch = this.batch;
    const vas = batch.va;
    const sizes = batch.sizeBytes;
    const kinds = batch.kind;
    const positions = batch.position;
    const capacity = batch.capacity;
    // The table in a local: a bundler makes module consts vars, which the loop would reload.
    const hex = HEX;
    let line = this.line;
    let length = batch.length;
    let records = this.recordCount;
    let p = start;
    for (;;) {
      const lineStart = p;
      if (p + 6 > n) break;
      const c0 = b[p]!;
      const c1 = b[p + 1]!;
      let kind: number;
      if (c0 === 73 && c1 === 32) kind = 0;
      else if (c0 === 32 && c1 === 76) kind = 1;
      else if (c0 === 32 && c1 === 83) kind = 2;
      else if (c0 === 32 && c1 === 77) kind = 3;
      else break;
      if (b[p + 2] !== 32) break;
      // The commonest lines, parsed without a loop: 8 hex digits (lackey's %08lx of an address
      // below 4 GiB) or 10 (a stack near 2^37), then a one-digit size. All digits are checked at
      // once: -1 marks a non-digit, so their OR is negative. Any other line: the loops below.
      let va = -1;
      let sizeBytes = 0;
      const wide = p + 16 <= n && b[p + 13] === 44 && b[p + 15] === 10 ? 2 : 0;
      if (wide !== 0 || (p + 14 <= n && b[p + 11] === 44 && b[p + 13] === 10)) {
        const q = p + wide;
        const top = wide !== 0 ? (hex[b[p + 3]!]! << 4) | hex[b[p + 4]!]! : 0;
        const d0 = hex[b[q + 3]!]!;
        const d1 = hex[b[q + 4]!]!;
        const d2 = hex[b[q + 5]!]!;
        const d3 = hex[b[q + 6]!]!;
        const d4 = hex[b[q + 7]!]!;
        const d5 = hex[b[q + 8]!]!;
        const d6 = hex[b[q + 9]!]!;
        const d7 = hex[b[q + 10]!]!;
        const size1 = b[q + 12]! - 48;
        // A 10-digit address is below 2^40: canonical, in the lower half.
        if ((top | d0 | d1 | d2 | d3 | d4 | d5 | d6 | d7) >= 0 && size1 >= 1 && size1 <= 9) {
          va = top * 4294967296 + ((d0 << 12) | (d1 << 8) | (d2 << 4) | d3) * 65536 + ((d4 << 12) | (d5 << 8) | (d6 << 4) | d7);
          sizeBytes = size1;
          p = q + 14;
        }
      }
      if (va < 0) {
        p += 3;
        va = 0;
        const hexEnd = Math.min(n, p + 13);
        const hexStart = p;
        let d = 0;
        while (p < hexEnd && (d = hex[b[p]!]!) >= 0) {
          va = va * 16 + d;
          p++;
        }
        // 12 digits at most and below 2^47 (a 12-digit address above is not canonical: the slow path says so).
        if (p === hexStart || p >= n || b[p] !== 44 || p - hexStart > 12 || va >= 140737488355328 /* 2^47 */) {
          p = lineStart;
          break;
        }
        p++;
        const sizeStart = p;
        let c = 0;
        while (p < n && (c = b[p]!) !== 10) {
          const digit = c - 48;
          if (digit < 0 || digit > 9 || p - sizeStart > 4) break;
          sizeBytes = sizeBytes * 10 + digit;
          p++;
        }
        if (p >= n || c !== 10 || sizeBytes < 1 || sizeBytes > 4096 /* MAX_ACCESS_BYTES */) {
          p = lineStart;
          break;
        }
        p++;
      }
      line++;
      vas[length] = va;
      sizes[length] = sizeBytes;
      kinds[length] = kind;
      positions[length] = line;
      records++;
      if (++length === capacity) {
        this.line = line;
        this.recordCount = records;
        batch.length = length;
        this.flush();
        length = 0;
      }
    }
    this.line = line;
    this.recordCount = records;
    batch.length = length;
    return p;
  }

  protected parseLine(b: Uint8Array, start: number, end: number, offset: number): void {
    if (end - start < 4) {
      if (end === start || isBlank(b, start, end)) return;
      this.bad(this.line, offset, 'truncated record');
      return;
    }
    const c0 = b[start]!;
    const c1 = b[start + 1]!;
    const c2 = b[start + 2]!;
    let kind: number;
    if (c0 === 73 /* I */ && c1 === 32 && c2 === 32) kind = AccessKind.Fetch;
    else if (c0 === 32 && c2 === 32 && c1 === 76 /* L */) kind = AccessKind.Load;
    else if (c0 === 32 && c2 === 32 && c1 === 83 /* S */) kind = AccessKind.Store;
    else if (c0 === 32 && c2 === 32 && c1 === 77 /* M */) kind = AccessKind.Modify;
    else {
      if ((c0 === 61 && c1 === 61) || (c0 === 45 && c1 === 45) || isBlank(b, start, end)) return; // ==PID== / --PID--
      this.bad(this.line, offset, `unknown record kind ${JSON.stringify(String.fromCharCode(c0, c1, c2))} (expected "I  ", " L ", " S " or " M ")`);
      return;
    }
    const comma = b.indexOf(44, start + 3);
    if (comma < 0 || comma >= end) {
      this.bad(this.line, offset, 'truncated record: no ",SIZE" after the address');
      return;
    }
    const va = parseHexAddress(b, start + 3, comma);
    if (va < 0) {
      this.bad(this.line, offset, addressProblem(va));
      return;
    }
    let sizeBytes = 0;
    let p = comma + 1;
    if (p === end) {
      this.bad(this.line, offset, 'truncated record: no size');
      return;
    }
    for (; p < end; p++) {
      const d = b[p]! - 48;
      if (d < 0 || d > 9) {
        this.bad(this.line, offset, `bad size: ${JSON.stringify(String.fromCharCode(...b.subarray(comma + 1, end)))}`);
        return;
      }
      sizeBytes = sizeBytes * 10 + d;
      if (sizeBytes > MAX_ACCESS_BYTES) break;
    }
    if (sizeBytes < 1 || sizeBytes > MAX_ACCESS_BYTES) {
      this.bad(this.line, offset, `access size must be 1..${MAX_ACCESS_BYTES} bytes`);
      return;
    }
    this.emit(va, sizeBytes, kind, this.line);
  }
}

/** Whether `b[start, end)` is only spaces and tabs. */
export function isBlank(b: Uint8Array, start: number, end: number): boolean {
  for (let p = start; p < end; p++) if (b[p] !== 32 && b[p] !== 9) return false;
  return true;
}

/** A sentence for a negative result of `parseHexAddress`. */
export function addressProblem(code: number): string {
  if (code === HEX_TOO_LONG) return 'address has more than 64 bits';
  if (code === HEX_NON_CANONICAL) return 'address is not canonical (bits 63:47 must be all 0 or all 1)';
  if (code === HEX_BAD_DIGIT) return 'address is not a hex number';
  return 'bad address';
}
