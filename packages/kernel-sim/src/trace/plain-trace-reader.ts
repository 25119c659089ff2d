// The plain format of classic course traces: one access per line, a hex address and R or W.
import { AccessKind } from './access-kind';
import { addressProblem, isBlank } from './lackey-trace-reader';
import { parseHexAddress } from './hex-address';
import { TextTraceReader } from './text-trace-reader';

/**
 * Reads `ADDR R` / `ADDR W` lines (ADDR in hex, `0x` optional; R/W in either case; spaces or
 * tabs between), as the page-replacement traces of OS courses are written (e.g. `0041f7a0 R`).
 * Each access is one byte. Blank lines and lines starting with `#` are skipped.
 */
export class PlainTraceReader extends TextTraceReader {
  readonly format = 'plain';

  protected parseLine(b: Uint8Array, start: number, end: number, offset: number): void {
    let p = start;
    while (p < end && (b[p] === 32 || b[p] === 9)) p++;
    if (p === end || b[p] === 35 /* # */) return;
    const addrStart = p;
    while (p < end && b[p] !== 32 && b[p] !== 9) p++;
    const addrEnd = p;
    while (p < end && (b[p] === 32 || b[p] === 9)) p++;
    if (p === end) {
      this.bad(this.line, offset, 'truncated record: expected "ADDRESS R" or "ADDRESS W"');
      return;
    }
    const rw = b[p]! | 0x20;
    if ((rw !== 114 && rw !== 119) || !isBlank(b, p + 1, end)) {
      this.bad(this.line, offset, `unknown access ${JSON.stringify(String.fromCharCode(...b.subarray(p, Math.min(end, p + 8))))} (expected R or W)`);
      return;
    }
    const va = parseHexAddress(b, addrStart, addrEnd);
    if (va < 0) {
      this.bad(this.line, offset, addressProblem(va));
      return;
    }
    this.emit(va, 1, rw === 114 ? AccessKind.Load : AccessKind.Store, this.line);
  }
}
