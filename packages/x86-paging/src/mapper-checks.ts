// Argument checks the Mapper runs before it touches anything (DESIGN.md "Errors": misuse throws
// at once, before any state changes). Mode-dependent limits come from the PagingGeometry.
import { InvalidFrameError, InvalidOptionError } from './api';
import { DEFAULT_MAX_PHYS_ADDR, PTE, addressMaskHi } from './entry';
import { PagingModeError } from './paging-mode';
import type { MapperCreateOptions } from './mapper-types';
import type { PagingGeometry } from './paging-geometry';

/**
 * Throws InvalidOptionError unless a method's `options` argument is an object: `null` (or a number
 * or string) would otherwise fail later as a raw TypeError reading a property of it.
 */
export function checkOptionsObject(options: unknown): void {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'must be an object (or omitted)');
}

/**
 * Throws for a bad `maxPhysAddr`, `tablePolicy` or reserved slot — what `Mapper.create` checks
 * before it takes a frame for the root.
 */
export function checkMapperOptions(options: MapperCreateOptions, g: PagingGeometry): void {
  addressMaskHi(options.maxPhysAddr ?? DEFAULT_MAX_PHYS_ADDR);
  const policy = options.tablePolicy ?? 'permissive';
  if (policy !== 'permissive' && policy !== 'leaf') throw new InvalidOptionError('tablePolicy', policy, "must be 'permissive' or 'leaf'");
  const accessBytes = options.access.entryBytes ?? 8;
  if (accessBytes !== g.entryBytes) {
    throw new InvalidOptionError('access', `${accessBytes}-byte entries`, `${g.name} paging has ${g.entryBytes}-byte entries: give the table access the same mode`);
  }
  const last = g.entryCount(g.topLevel) - 1;
  for (const slot of options.reservedPml4Slots ?? []) {
    if (!Number.isInteger(slot) || slot < 0 || slot > last) throw new InvalidOptionError('reservedPml4Slots', slot, `slots are integers 0..${last}`);
  }
}

/**
 * Throws PagingModeError if the flags word `f` (checked by `checkFlagsWord`) has a bit an entry of
 * this mode cannot hold: XD in 32-bit paging, bits 52-62 in 32-bit and PAE paging (reserved there,
 * SDM 4.4.2 Tables 4-8 to 4-11).
 */
export function checkModeFlags(f: number, g: PagingGeometry): void {
  const extra = f & ~g.flagsMask;
  if (extra === 0) return;
  if ((extra & ~PTE.NoExecute) === 0) throw new PagingModeError(g.mode, 'the XD (no-execute) bit', 'PAE, 4-level or 5-level paging');
  throw new PagingModeError(g.mode, `flags-word bits 0x${(extra >>> 0).toString(16)} (entry bits 52-62)`, '4-level or 5-level paging');
}

/**
 * Throws InvalidFrameError unless `frame` (from a FrameAllocator) is a 4 KiB-aligned address
 * below `paLimit`, which an entry's address field can hold (SDM 4.3, 4.5). A NaN or a fraction
 * fails the alignment test.
 */
export function checkFrame(frame: number, paLimit: number): void {
  if (frame % 4096 !== 0 || !(frame >= 0 && frame < paLimit)) throw new InvalidFrameError(frame, paLimit);
}
