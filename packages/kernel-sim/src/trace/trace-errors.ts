// Errors of the trace readers and the replay: each names where in the trace it happened.
import { KmemError } from '../api';

/**
 * A malformed trace record: a truncated or unparsable line, an unknown record kind, a size of
 * zero, an address that is not canonical, a binary trace with a bad header, a cut record or no end
 * marker. `line` is the 1-based line of a text trace (0 for a binary one); `offset` the byte
 * offset of the record from the start of the (uncompressed) stream.
 */
export class TraceParseError extends KmemError {
  readonly code = 'E_TRACE_PARSE';
  constructor(
    /** Trace format being read (`lackey`, `plain` or `kmem`). */
    readonly format: string,
    /** 1-based line number of a text trace; 0 for a binary trace. */
    readonly line: number,
    /** Byte offset of the record in the uncompressed stream. */
    readonly offset: number,
    /** What is wrong, in a sentence. */
    readonly reason: string,
  ) {
    super(line > 0 ? `${format} trace, line ${line}: ${reason}` : `${format} trace, byte offset ${offset}: ${reason}`);
  }
}

/**
 * An access that does not fit the address space it is replayed onto: outside the user range (the
 * kernel half), or one the given ELF's own regions forbid (a store into its text, an instruction
 * fetch from its data) — the trace was probably not recorded from that program.
 */
export class TraceAddressError extends KmemError {
  readonly code = 'E_TRACE_ADDRESS';
  constructor(
    /** Line (text) or byte offset (binary) of the record, as the reader reported it. */
    readonly position: number,
    /** The linear address. */
    readonly va: number,
    /** What is wrong, in a sentence. */
    readonly reason: string,
  ) {
    super(`trace record at ${position}: address 0x${va.toString(16)}: ${reason}`);
  }
}

/** A replay or reader option out of range (an empty frame list, a TLB geometry that does not divide, ...). */
export class TraceOptionError extends KmemError {
  readonly code = 'E_TRACE_OPTION';
}
