// Which kernel runs which layout: the 4-level `Kernel` runs 4-level layouts (LAYOUTS), `Kernel32`
// runs 32-bit ones (LAYOUTS_32). A layout of the other mode is refused by name with its own error
// before anything is built, rather than failing later on a rule of the wrong mode (a 32-bit
// layout's 4 MiB kernel alignment read as a 2 MiB boot-table rule, say).
import { KmemError } from '../api';
import type { Layout, LayoutPagingMode } from '../layout';
import { LAYOUTS, LAYOUTS_32 } from '../layouts';

/** The kernel class that runs layouts of each paging mode. */
const KERNEL_FOR: Readonly<Record<LayoutPagingMode, string>> = { '4-level': 'Kernel', '32-bit': 'Kernel32' };

/**
 * A layout of one paging mode given to the kernel of the other: a 32-bit layout (2-level tables,
 * a 4 GiB linear space) to the 64-bit `Kernel`, or a 4-level layout to `Kernel32`. Nothing was built.
 */
export class LayoutPagingModeError extends KmemError {
  readonly code = 'E_LAYOUT_PAGING_MODE';
  constructor(
    /** The layout's name. */
    readonly layoutName: string,
    /** The layout's paging mode. */
    readonly layoutPagingMode: LayoutPagingMode,
    /** The paging mode of the kernel it was given to. */
    readonly kernelPagingMode: LayoutPagingMode,
  ) {
    super(`layout "${layoutName}" is a ${layoutPagingMode} layout, but ${KERNEL_FOR[kernelPagingMode]} runs ${kernelPagingMode} layouts: boot it with ${KERNEL_FOR[layoutPagingMode]}`);
  }
}

/**
 * Refuses `layout` (an object, or a shipped layout's name) unless its paging mode is `kernelMode`.
 * Names that are not shipped layouts and objects of the right mode pass (the kernel validates them).
 * @throws LayoutPagingModeError for a layout of the other paging mode
 */
export function requireLayoutPagingMode(layout: Layout | string | undefined, kernelMode: LayoutPagingMode): void {
  if (layout === undefined || layout === null) return;
  let mode: LayoutPagingMode | undefined;
  let name: string;
  if (typeof layout === 'string') {
    name = layout;
    if (Object.hasOwn(LAYOUTS_32, layout)) mode = '32-bit';
    else if (Object.hasOwn(LAYOUTS, layout)) mode = '4-level';
  } else {
    if (typeof layout !== 'object') return;
    name = typeof layout.name === 'string' ? layout.name : '(unnamed)';
    const m: unknown = layout.pagingMode ?? '4-level';
    if (m === '4-level' || m === '32-bit') mode = m;
  }
  if (mode !== undefined && mode !== kernelMode) throw new LayoutPagingModeError(name, mode, kernelMode);
}
