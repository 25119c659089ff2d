// Valgrind lackey's memory trace (`valgrind --tool=lackey --trace-mem=yes --log-file=F prog`).
import { AccessKind } from './access-kind';
import { HEX_BAD_DIGIT, HEX_NON_CANONICAL, HEX_TOO_LONG, parseHexAddress } from './hex-address';
import { TextTraceReader } from './text-trace-reader';

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
