// Test helper: per paging mode, a small machine whose kernel edits its tables with one of the four
// table-access strategies — physical (a), direct map (b), recursive slot (c), windows (d) — and a
// Cpu running in that mode, so a table the Mapper builds can be walked by the MMU of the mode.
import {
  ArrayBufferPhysicalMemory,
  CR0,
  CR4,
  Cpu,
  DirectMapTableAccess,
  EFER,
  Mapper,
  PTE,
  PagingMode,
  PhysicalTableAccess,
  RecursiveTableAccess,
  SimpleFrameAllocator,
  WindowTableAccess,
  type ControlRegistersInit,
  type TableAccess,
} from '../src/index';
import { RecordingTlb } from './mapper-fixture';

/** A strategy name. */
export type Strategy = 'physical' | 'direct map' | 'recursive' | 'window';

/** What differs between modes for the tests. */
export interface ModeConfig {
  readonly name: string;
  readonly mode: PagingMode;
  /** Control registers that put a Cpu in this mode (CR3 added by the machine). */
  readonly registers: ControlRegistersInit;
  /** Strategies that make sense in this mode. */
  readonly strategies: readonly Strategy[];
  /** Huge page size (4 MiB in 32-bit paging, else 2 MiB). */
  readonly hugeBytes: number;
  /** Linear base of the area the random operations use (user memory). */
  readonly userBase: number;
  /** Where the kernel direct-maps physical 0. */
  readonly directMapOffset: number;
  /** Leaf flags the random operations choose from. */
  readonly flagChoices: readonly number[];
  /** Top-level slots the window area and the recursive slot use (left out of tree dumps). */
  readonly recursiveSlot: number;
}

export const THIRTY_TWO_BIT: ModeConfig = {
  name: '32-bit',
  mode: PagingMode.ThirtyTwoBit,
  registers: { cr0: CR0.PE | CR0.WP | CR0.PG, cr4: CR4.PSE | CR4.PGE, efer: 0 },
  strategies: ['physical', 'direct map', 'recursive', 'window'],
  hugeBytes: 4 * 1024 * 1024,
  userBase: 0x0800_0000,
  directMapOffset: 0xc000_0000,
  flagChoices: [PTE.Present, PTE.Present | PTE.Writable, PTE.Present | PTE.User, PTE.Present | PTE.Writable | PTE.User | PTE.Global],
  recursiveSlot: 1023,
};

export const FOUR_LEVEL: ModeConfig = {
  name: '4-level',
  mode: PagingMode.FourLevel,
  registers: {},
  strategies: ['physical', 'direct map', 'recursive', 'window'],
  hugeBytes: 2 * 1024 * 1024,
  userBase: 0x10_0000_0000,
  directMapOffset: 0x8400_0000_0000,
  flagChoices: [PTE.Present, PTE.Present | PTE.Writable, PTE.Present | PTE.User, PTE.Present | PTE.Writable | PTE.User | PTE.NoExecute],
  recursiveSlot: 510,
};

export const PAE: ModeConfig = {
  name: 'PAE',
  mode: PagingMode.Pae,
  registers: { cr0: CR0.PE | CR0.WP | CR0.PG, cr4: CR4.PAE | CR4.PGE, efer: EFER.NXE },
  // No recursive slot: a PDPTE pointing back at the 4-entry PDPT does not make it a page directory.
  strategies: ['physical', 'direct map', 'window'],
  hugeBytes: 2 * 1024 * 1024,
  userBase: 0x0800_0000,
  directMapOffset: 0xc000_0000,
  flagChoices: [PTE.Present, PTE.Present | PTE.Writable, PTE.Present | PTE.User | PTE.NoExecute, PTE.Present | PTE.Writable | PTE.User | PTE.Global],
  recursiveSlot: -1,
};

export const FIVE_LEVEL: ModeConfig = {
  name: '5-level',
  mode: PagingMode.FiveLevel,
  registers: { cr4: CR4.PAE | CR4.PGE | CR4.LA57 },
  strategies: ['physical', 'direct map', 'recursive', 'window'],
  hugeBytes: 2 * 1024 * 1024,
  userBase: 2 ** 52, // above 4-level's 2^48; the recursive PML5 slot 510 lies above 2^56
  directMapOffset: 0x8400_0000_0000,
  flagChoices: FOUR_LEVEL.flagChoices,
  recursiveSlot: 510,
};

/** EFER bits of a long mode; exported for configs of other modes. */
export const LONG_MODE_EFER = EFER.LME | EFER.LMA | EFER.NXE;

/** A machine in `config`'s mode whose kernel reaches its tables through `strategy`. */
export function modeMachine(config: ModeConfig, strategy: Strategy, memoryBytes = 16 * 1024 * 1024, options: { flushOnRemap?: boolean } = {}) {
  const mode = config.mode;
  const memory = new ArrayBufferPhysicalMemory(memoryBytes);
  const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount: (memoryBytes - 0x10_0000) / 4096 });
  const root = allocator.allocFrame()!;
  memory.zeroFrame(root);
  const boot = new PhysicalTableAccess(memory, { mode });
  // PAE: the CPU loads the four PDPTEs at MOV to CR3 (SDM 4.4.1): all page directories exist first.
  if (mode === PagingMode.Pae && !new Mapper({ access: boot, allocator, root, mode }).preallocatePml4Slots(0, 4)) throw new Error('out of frames');
  const cpu = new Cpu({ memory, registers: { ...config.registers, cr3Frame: root } });
  let access: TableAccess = boot;
  const reservedPml4Slots: number[] = [];
  if (strategy === 'direct map') {
    // Boot code builds the direct map physically, then the kernel switches to it.
    const bootMapper = new Mapper({ access: boot, allocator, root, mode });
    if (!bootMapper.mapRange(config.directMapOffset, 0, memoryBytes, PTE.Present | PTE.Writable | PTE.Global)) throw new Error('out of frames');
    access = new DirectMapTableAccess(cpu, { offset: config.directMapOffset, mode });
  } else if (strategy === 'recursive') {
    RecursiveTableAccess.install(boot, root, config.recursiveSlot, mode);
    reservedPml4Slots.push(config.recursiveSlot);
    access = new RecursiveTableAccess(cpu, { slot: config.recursiveSlot, mode });
  } else if (strategy === 'window') {
    WindowTableAccess.install(boot, allocator, root, undefined, mode);
    access = new WindowTableAccess(cpu, { mode, flushOnRemap: options.flushOnRemap ?? true });
  }
  const mapper = new Mapper({ access, allocator, root, tlb: cpu, reservedPml4Slots, mode });
  return { memory, allocator, cpu, mapper, access, root, boot };
}

/** The machine type {@link modeMachine} returns. */
export type ModeMachine = ReturnType<typeof modeMachine>;

/** A Mapper of `mode` made by `Mapper.create` over 8 MiB of RAM, physical access, table frames from 1 MiB, and a recording TLB. */
export function modeMapper(mode: PagingMode, frameCount = 64) {
  const memory = new ArrayBufferPhysicalMemory(8 * 1024 * 1024);
  const allocator = new SimpleFrameAllocator({ start: 0x10_0000, frameCount });
  const access = new PhysicalTableAccess(memory, { mode });
  const tlb = new RecordingTlb();
  const mapper = Mapper.create({ access, allocator, tlb, mode, memory })!;
  return { memory, allocator, access, mapper, tlb };
}

/** The `code` of what `fn` throws, or 'no error'. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return 'no error';
}
