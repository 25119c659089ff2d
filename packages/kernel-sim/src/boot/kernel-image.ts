// Where the kernel image's sections lie, physically and virtually, and what the boot carves out
// of its .bss (the bootstrap page-table pool and the boot stack).
import { bootstrapFramesNeeded } from '@kmem/x86-paging';
import type { Layout, LayoutRegion } from '../layout';
import { KernelConfigError } from '../kernel-errors';
import { formatCanonical, formatPhysical } from '../hex';
import { show } from '../show-value';

const PAGE = 4096;
const TWO_MIB = 2 * 1024 * 1024;

/** The kernel image as the boot loader loaded it: physical base and section sizes. */
export interface KernelImageSpec {
  /** Physical address of the first byte (4 KiB aligned). Default: the layout's `kernelPhysicalBase`. */
  readonly pa?: number;
  /** Bytes of .text (rounded up to pages). Default 1 MiB. */
  readonly textBytes?: number;
  /** Bytes of .rodata (rounded up to pages). Default 256 KiB. */
  readonly rodataBytes?: number;
  /** Bytes of .data (rounded up to pages). Default 256 KiB. */
  readonly dataBytes?: number;
  /** Bytes of .bss (rounded up to pages; must hold the boot page-table pool and the boot stack). Default 512 KiB. */
  readonly bssBytes?: number;
}

/** A section of the kernel image: `[va, va + sizeBytes)` at `[pa, pa + sizeBytes)`. */
export interface KernelSection {
  readonly name: '.text' | '.rodata' | '.data' | '.bss';
  readonly pa: number;
  readonly va: number;
  readonly sizeBytes: number;
}

/** The resolved kernel image. */
export interface KernelImage {
  readonly pa: number;
  readonly va: number;
  readonly sizeBytes: number;
  readonly sections: readonly KernelSection[];
  /** Frames of .bss holding the bootstrap page tables (`buildBootstrapTables`' pool). */
  readonly bootstrapPool: { readonly pa: number; readonly frameCount: number };
  /** The boot stack in .bss: `[bottom, top)` virtual. */
  readonly bootStack: { readonly bottom: number; readonly top: number };
  /** What the boot tables map: the image rounded out to 2 MiB (so they use 2 MiB pages). */
  readonly bootstrapExtent: { readonly pa: number; readonly sizeBytes: number };
  /** Linear address of physical 0 in the alias (`va - pa`). */
  readonly higherHalfBase: number;
  /** The kernel runs at va = pa (identity-low). */
  readonly identity: boolean;
}

/** Bytes of the boot stack carved from .bss. */
export const BOOT_STACK_BYTES = 16 * 1024;

function pages(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new KernelConfigError(`kernelImage.${what} ${show(n)} is not a positive safe integer`);
  return Math.ceil(n / PAGE) * PAGE;
}

/**
 * Resolves the image's sections for `layout`.
 * @throws KernelConfigError for bad sizes, a misaligned base, an image larger than the layout's
 *   kernel-image region, a va - pa offset that is not a 2 MiB multiple, or a .bss too small for
 *   the boot page tables and the boot stack
 */
export function resolveKernelImage(layout: Layout, region: LayoutRegion, spec: KernelImageSpec = {}): KernelImage {
  const pa = spec.pa ?? layout.kernelPhysicalBase;
  if (!Number.isSafeInteger(pa) || pa < 0 || pa % PAGE !== 0) throw new KernelConfigError(`kernel image physical base ${formatPhysical(pa)} is not 4 KiB aligned`);
  const va = region.start;
  const identity = region.identityMapped === true;
  if (identity && va !== pa) throw new KernelConfigError(`identity-mapped kernel at ${formatCanonical(va)} must be loaded at the same physical address, not ${formatPhysical(pa)}`);
  if ((va - pa) % TWO_MIB !== 0) throw new KernelConfigError(`kernel va ${formatCanonical(va)} - pa ${formatPhysical(pa)} is not a multiple of 2 MiB (the boot tables alias it with 2 MiB pages)`);
  const sizes = [pages(spec.textBytes ?? 1024 * 1024, 'textBytes'), pages(spec.rodataBytes ?? 256 * 1024, 'rodataBytes'), pages(spec.dataBytes ?? 256 * 1024, 'dataBytes'), pages(spec.bssBytes ?? 512 * 1024, 'bssBytes')];
  const names = ['.text', '.rodata', '.data', '.bss'] as const;
  const sections: KernelSection[] = [];
  let off = 0;
  for (let i = 0; i < 4; i++) {
    sections.push({ name: names[i]!, pa: pa + off, va: va + off, sizeBytes: sizes[i]! });
    off += sizes[i]!;
  }
  const sizeBytes = off;
  if (va + sizeBytes > region.end) throw new KernelConfigError(`kernel image of ${sizeBytes} bytes does not fit its region ${region.name} (${formatCanonical(region.start)}..${formatCanonical(region.end)})`);
  const extentPa = Math.floor(pa / TWO_MIB) * TWO_MIB;
  const extentEnd = Math.ceil((pa + sizeBytes) / TWO_MIB) * TWO_MIB;
  const higherHalfBase = va - pa;
  const bootstrapExtent = { pa: extentPa, sizeBytes: extentEnd - extentPa };
  const bss = sections[3]!;
  // The pool size depends only on the extent, not on where the pool is; ask with a placeholder.
  const frameCount = bootstrapFramesNeeded({ kernel: bootstrapExtent, pool: { pa: bss.pa, frameCount: 1 }, higherHalfBase, identityMap: !identity });
  const need = frameCount * PAGE + BOOT_STACK_BYTES;
  if (need > bss.sizeBytes) throw new KernelConfigError(`.bss of ${bss.sizeBytes} bytes cannot hold ${frameCount} boot page tables and a ${BOOT_STACK_BYTES}-byte boot stack`);
  // .bss ends with the boot stack; the page-table pool sits just below it (both page aligned).
  const stackBottomPa = bss.pa + bss.sizeBytes - BOOT_STACK_BYTES;
  const poolPa = stackBottomPa - frameCount * PAGE;
  return {
    pa,
    va,
    sizeBytes,
    sections,
    bootstrapPool: { pa: poolPa, frameCount },
    bootStack: { bottom: stackBottomPa + higherHalfBase, top: stackBottomPa + higherHalfBase + BOOT_STACK_BYTES },
    bootstrapExtent,
    higherHalfBase,
    identity,
  };
}
