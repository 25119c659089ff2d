// Argument checks the Mapper runs before it touches anything (DESIGN.md "Errors": misuse throws
// at once, before any state changes). Mode-dependent limits come from the PagingGeometry.
import { InvalidFrameError, InvalidOptionError } from './api';
import { DEFAULT_MAX_PHYS_ADDR, addressMaskHi } from './entry';
import type { MapperCreateOptions } from './mapper-types';
import type { PagingGeometry } from './paging-geometry';

/**
 * Throws for a bad `maxPhysAddr`, `tablePolicy` or reserved slot — what `Mapper.create` checks
 * before it takes a frame for the root.
 */
export function checkMapperOptions(options: MapperCreateOptions, g: PagingGeometry): void {
  addressMaskHi(options.maxPhysAddr ?? DEFAULT_MAX_PHYS_ADDR);
  const policy = options.tablePolicy ?? 'permissive';
  if (policy !== 'permissive' && policy !== 'leaf') throw new InvalidOptionError('tablePolicy', policy, "must be 'permissive' or 'leaf'");
  const last = g.entryCount(g.topLevel) - 1;
  for (const slot of options.reservedPml4Slots ?? []) {
    if (!Number.isInteger(slot) || slot < 0 || slot > last) throw new InvalidOptionError('reservedPml4Slots', slot, `slots are integers 0..${last}`);
  }
}

/**
 * Throws InvalidFrameError unless `frame` (from a FrameAllocator) is a 4 KiB-aligned address
 * below `paLimit`, which an entry's address field can hold (SDM 4.3, 4.5). A NaN or a fraction
 * fails the alignment test.
 */
export function checkFrame(frame: number, paLimit: number): void {
  if (frame % 4096 !== 0 || !(frame >= 0 && frame < paLimit)) throw new InvalidFrameError(frame, paLimit);
}
