// The 32-bit kernel's image as its linker script lays it out: loaded at 1 MiB physical by a
// multiboot1 loader, linked at 0xc010_0000 (0xc000_0000 + physical), sections in order
// text | rodata | data | bss, the bss ending with the boot page directory and the boot stack the
// entry code runs on before sysinit relocates it.
import { KernelConfigError } from '../kernel-errors';
import { show } from '../show-value';

const PAGE = 4096;

/** Section sizes of the 32-bit kernel image (bytes, page multiples). */
export interface KernelImage32Options {
  /** .text (R-X). Default 256 KiB. */
  readonly textBytes?: number;
  /** .rodata (R--). Default 64 KiB. */
  readonly rodataBytes?: number;
  /** .data and the bss before the boot structures (RW-). Default 64 KiB. */
  readonly dataBytes?: number;
  /** The boot stack at the end of .bss (RW-). Default 16 KiB. */
  readonly bootStackBytes?: number;
}

/** Where each part of the image is, physically and virtually. */
export interface KernelImage32 {
  /** Physical load address (1 MiB). */
  readonly pa: number;
  /** Linked (virtual) address of the first byte: `higherHalfBase + pa`. */
  readonly va: number;
  /** Whole image (bytes, page multiple). */
  readonly sizeBytes: number;
  /** Sections as `[start, end)` offsets from the image start, with their rights. */
  readonly sections: readonly { readonly name: 'text' | 'rodata' | 'data' | 'bss'; readonly start: number; readonly end: number; readonly writable: boolean }[];
  /** Physical address of the boot page directory (one frame in .bss). */
  readonly bootDirectoryPa: number;
  /** Virtual range of the boot stack (in .bss); the stack grows down from `bootStack.end`. */
  readonly bootStack: { readonly start: number; readonly end: number };
}

function pages(what: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0 || v % PAGE !== 0) throw new KernelConfigError(`kernel image ${what} of ${show(v)} bytes is not a positive multiple of 4096`);
  return v;
}

/**
 * Lays out the image at `pa` (linked at `higherHalfBase + pa`).
 * @throws KernelConfigError for a section size that is not a positive page multiple
 */
export function kernelImage32(pa: number, higherHalfBase: number, options: KernelImage32Options = {}): KernelImage32 {
  const text = pages('text', options.textBytes, 0x4_0000);
  const rodata = pages('rodata', options.rodataBytes, 0x1_0000);
  const data = pages('data', options.dataBytes, 0x1_0000);
  const stack = pages('boot stack', options.bootStackBytes, 0x4000);
  const bssStart = text + rodata + data;
  const sizeBytes = bssStart + PAGE + stack;
  const va = higherHalfBase + pa;
  return {
    pa,
    va,
    sizeBytes,
    sections: [
      { name: 'text', start: 0, end: text, writable: false },
      { name: 'rodata', start: text, end: text + rodata, writable: false },
      { name: 'data', start: text + rodata, end: bssStart, writable: true },
      { name: 'bss', start: bssStart, end: sizeBytes, writable: true },
    ],
    bootDirectoryPa: pa + bssStart,
    bootStack: { start: va + bssStart + PAGE, end: va + sizeBytes },
  };
}
