// The geometry of each paging mode, looked up by PagingMode (what Mapper, the table-access
// strategies and the printing code take as their `mode` option).
import { FIVE_LEVEL_GEOMETRY } from './five-level-geometry';
import { FOUR_LEVEL_GEOMETRY } from './four-level-geometry';
import { PAE_GEOMETRY } from './pae-geometry';
import { PagingMode, PagingModeError } from './paging-mode';
import type { PagingGeometry } from './paging-geometry';
import { THIRTY_TWO_BIT_GEOMETRY } from './thirty-two-bit-geometry';

/**
 * The table layout of `mode`.
 * @throws PagingModeError for `PagingMode.None` (no tables without paging) or an unknown value
 */
export function geometryOf(mode: PagingMode): PagingGeometry {
  switch (mode) {
    case PagingMode.FourLevel:
      return FOUR_LEVEL_GEOMETRY;
    case PagingMode.FiveLevel:
      return FIVE_LEVEL_GEOMETRY;
    case PagingMode.ThirtyTwoBit:
      return THIRTY_TWO_BIT_GEOMETRY;
    case PagingMode.Pae:
      return PAE_GEOMETRY;
    default:
      throw new PagingModeError(mode, 'page tables', '32-bit, PAE, 4-level or 5-level paging');
  }
}
