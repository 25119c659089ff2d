// Colours, bars and tables for the terminal (picocolors + cli-table3), one palette for all sections.
import Table from 'cli-table3';
import pc from 'picocolors';
type Colors = ReturnType<typeof pc.createColors>;

/** A palette: picocolors' functions, switched off for --no-color, NO_COLOR or a pipe. */
export interface Style {
  readonly c: Colors;
  readonly color: boolean;
  /** Section heading. */
  heading(title: string, note?: string): string;
  /** Colour for a memory kind or frame owner. */
  kind(kind: string, text?: string): string;
  /** A bar `width` cells wide: filled share `used / total`. */
  bar(used: number, total: number, width?: number, paint?: (s: string) => string): string;
  /** A table with the demo's borders. */
  table(head: readonly string[], options?: { readonly colAligns?: readonly ('left' | 'right' | 'center')[] }): Table.Table;
}

/** Section titles, in the order the report prints them (the test checks each is present). */
export const SECTIONS = {
  memoryMap: 'Firmware memory map',
  boot: 'Boot',
  zones: 'Frame allocator by zone',
  owners: 'Who owns the frames',
  picture: 'Physical memory',
  layout: 'Kernel virtual memory layout',
  scenario: 'Scenario',
  events: 'Event log',
  processes: 'Processes',
  walk: 'Page walk',
  heap: 'Kernel heap size classes',
  tlb: 'TLB',
  panic: 'Kernel panic report',
  trace: 'Trace replay',
  swap: 'Swap and page replacement',
} as const;

/** Makes the palette. */
export function makeStyle(color: boolean): Style {
  const c = pc.createColors(color);
  const kinds: Record<string, (s: string) => string> = {
    usable: c.green,
    free: c.green,
    reserved: c.dim,
    hole: c.dim,
    'acpi-reclaimable': c.yellow,
    'acpi-nvs': c.yellow,
    'bad-memory': c.red,
    'bootloader-reclaimable': c.cyan,
    'kernel-and-modules': c.magenta,
    framebuffer: c.blue,
    'kernel-image': c.magenta,
    module: c.magenta,
    bitmap: c.cyan,
    'page-table': c.blue,
    heap: c.yellow,
    'kernel-data': c.magenta,
    'kernel-stack': c.magenta,
    user: c.green,
  };
  return {
    c,
    color,
    heading(title, note) {
      const line = `── ${title} ${'─'.repeat(Math.max(3, 72 - title.length))}`;
      return `\n${c.bold(c.cyan(line))}${note === undefined ? '' : `\n${c.dim(note)}`}`;
    },
    kind(kind, text = kind) {
      return (kinds[kind] ?? ((s: string) => s))(text);
    },
    bar(used, total, width = 40, paint = c.green) {
      const share = total <= 0 ? 0 : Math.min(1, used / total);
      let full = Math.round(share * width);
      if (used > 0 && full === 0) full = 1;
      return paint('█'.repeat(full)) + c.dim('░'.repeat(width - full));
    },
    table(head, options = {}) {
      return new Table({
        head: head.map((h) => c.bold(h)),
        style: { head: [], border: color ? ['grey'] : [], compact: true, 'padding-left': 1, 'padding-right': 1 },
        ...(options.colAligns === undefined ? {} : { colAligns: [...options.colAligns] }),
      });
    },
  };
}
