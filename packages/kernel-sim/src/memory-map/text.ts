// Line handling shared by the text memory-map parsers (e820 log lines, sysfs memmap).
import { MemoryMapParseError, type MemoryKind, type MemoryRegion } from '../api';
import { hexHalves, regionLimitProblem } from './binary';

const TWO_32 = 0x1_0000_0000;

/** One line of a text input with its 1-based number and the character offset of its start. */
export interface TextLine {
  readonly text: string;
  readonly line: number;
  readonly offset: number;
}

/** Splits text into lines (LF or CRLF), in one linear pass. */
export function splitLines(input: string): TextLine[] {
  const lines: TextLine[] = [];
  let start = 0;
  let n = 1;
  while (start <= input.length) {
    let nl = input.indexOf('\n', start);
    if (nl < 0) nl = input.length;
    let end = nl;
    if (end > start && input.charCodeAt(end - 1) === 0x0d) end--;
    lines.push({ text: input.slice(start, end), line: n, offset: start });
    n++;
    start = nl + 1;
  }
  return lines;
}

/** Throws a MemoryMapParseError pointing at `column` (0-based) of `line`. */
export function failAt(line: TextLine, column: number, reason: string): never {
  throw new MemoryMapParseError(line.offset + column, reason, line.line, column + 1);
}

/** Parses a hex number (digits only) that must be below 2^53. */
export function parseHex(line: TextLine, column: number, digits: string, what: string): number {
  const h = hexHalves(digits);
  if (h === null) failAt(line, column, `${what} 0x${digits} does not fit 64 bits`);
  if (h.hi >= 0x20_0000) failAt(line, column, `${what} 0x${digits} is 2^53 or more (beyond any MAXPHYADDR)`);
  return h.hi * TWO_32 + h.lo;
}

/** A region from an inclusive `[start, endInclusive]` pair read from text. */
export function inclusiveRegion(line: TextLine, column: number, start: number, endInclusive: number, kind: MemoryKind, firmwareType: string): MemoryRegion {
  if (endInclusive < start) failAt(line, column, 'end address is below start address');
  const lengthBytes = endInclusive - start + 1;
  const problem = regionLimitProblem(start, lengthBytes);
  if (problem !== null) failAt(line, column, problem);
  return { base: start, lengthBytes, kind, firmwareType };
}
