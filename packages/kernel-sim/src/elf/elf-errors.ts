import { KmemError } from '../api';
import { hexOffset } from './hex';

/**
 * A malformed or unsupported ELF file: thrown by {@link parseElf64} and {@link parseElf32} with the byte offset (from the
 * start of the file) of the field that is wrong, so a reader can find it with `xxd -s`.
 */
export class ElfParseError extends KmemError {
  readonly code = 'E_ELF_PARSE';
  /**
   * @param offset - byte offset in the file of the offending field (or of the data it points at)
   * @param reason - what is wrong, in a sentence
   */
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`ELF at byte offset ${hexOffset(offset)}: ${reason}`);
  }
}

/**
 * A program that cannot be loaded as asked although its file is well formed: a load bias that is
 * not page aligned or puts the image outside user space, a bias for a non-PIE executable, a
 * program that needs a dynamic linker (PT_INTERP) the simulator does not load, or a file of the
 * other ELF class than the kernel's (an ELF64 given to the 32-bit kernel, an ELF32 to a 64-bit one).
 */
export class ElfLoadError extends KmemError {
  readonly code = 'E_ELF_LOAD';
  /**
   * @param reason - what is wrong, in a sentence
   * @param offset - byte offset in the file of the program header (or header field) at fault, or
   *   null when the problem is in the caller's options alone
   */
  constructor(
    readonly reason: string,
    readonly offset: number | null = null,
  ) {
    super(offset === null ? reason : `ELF at byte offset ${hexOffset(offset)}: ${reason}`);
  }
}

/**
 * {@link pageContents} asked for a page that the segment does not cover, for a segment index that
 * does not exist, or with an output buffer shorter than a page.
 */
export class ElfPageError extends KmemError {
  readonly code = 'E_ELF_PAGE';
  /** @param reason What is wrong, in words. */
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * {@link buildInitialStack} was given arguments it cannot place: a string with a NUL byte inside,
 * a stack top that is misaligned or outside user space, an AT_RANDOM buffer that is not 16
 * bytes, or an image larger than the allowed size.
 */
export class StackImageError extends KmemError {
  readonly code = 'E_STACK_IMAGE';
  /** @param reason What is wrong, in words. */
  constructor(readonly reason: string) {
    super(reason);
  }
}
