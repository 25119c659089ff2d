// The emulated machine: sparse RAM built from a firmware memory map and one x86-64 CPU
// (x86-paging's Cpu: MMU, TLB, CR0/CR3/CR4/EFER, #PF delivery) over it.
import { CR0, CR4, Cpu, EFER, type TlbOptions } from '@kmem/x86-paging';
import type { MemoryKind, MemoryRegion } from './api';
import { KernelConfigError } from './kernel-errors';
import { normalizeMemoryMap, type MemoryMapChange } from './memory-map/normalize';
import { SparsePhysicalMemory, DEFAULT_RAM_KINDS } from './sparse-physical-memory';
import { brand } from './brand';

/** Options of {@link Machine}. */
export interface MachineOptions {
  /**
   * The firmware's memory map. Normalised here (sorted, overlaps resolved, neighbours merged)
   * if it is not already; {@link Machine.memoryMapChanges} says what changed.
   */
  readonly memoryMap: readonly MemoryRegion[];
  /** Physical address width in bits (CPUID.80000008H:EAX[7:0]), 36..52; default 52. */
  readonly maxPhysAddrBits?: number;
  /** Kinds of the map that are backed by RAM (default: all but reserved and bad memory). */
  readonly ramKinds?: readonly MemoryKind[];
  /** TLB geometry, or false for a CPU without a TLB (default: x86-paging's default TLB). */
  readonly tlb?: TlbOptions | false;
  /**
   * The state the boot loader leaves the CPU in: `long` (default: long mode, paging on, as a
   * 64-bit kernel is entered) or `protected` (32-bit protected mode with paging off, CR0.PG = 0:
   * how a multiboot1 loader enters a 32-bit kernel, multiboot spec 3.2).
   */
  readonly cpuMode?: 'long' | 'protected';
}

/**
 * A simulated x86-64 machine as a boot loader leaves it: RAM where the memory map says (backed
 * lazily, see {@link SparsePhysicalMemory}), and a CPU in long mode with paging on (a boot loader
 * must enable paging to enter long mode) but with the protections a kernel turns on itself still
 * off: CR0.WP = 0, CR4.PGE = 0, EFER.NXE = 0, CR3 = 0 until the kernel loads its tables.
 */
export class Machine {
  static {
    brand(this, 'Machine'); // instanceof across the import and require copies (brand.ts)
  }
  /** The normalised memory map (sorted, disjoint). */
  readonly memoryMap: readonly MemoryRegion[];
  /** What normalisation changed in the map given. */
  readonly memoryMapChanges: readonly MemoryMapChange[];
  /** Emulated physical memory. */
  readonly memory: SparsePhysicalMemory;
  /** The CPU (x86-paging's Cpu over {@link memory}). */
  readonly cpu: Cpu;
  /** Bytes of RAM (sum of the RAM ranges). */
  readonly ramBytes: number;
  /** Physical address width in bits. */
  readonly maxPhysAddrBits: number;

  /**
   * @throws KernelConfigError if the map has no RAM
   * @throws InvalidMemoryRegionError (from normalisation) for a malformed region
   * @throws InvalidMachineConfigError for a MAXPHYADDR outside 36..52 or RAM above it
   */
  constructor(options: MachineOptions) {
    const normalized = normalizeMemoryMap(options.memoryMap);
    const bits = options.maxPhysAddrBits ?? 52;
    const memory = SparsePhysicalMemory.fromMemoryMap(normalized.regions, { maxPhysAddrBits: bits, ramKinds: options.ramKinds ?? DEFAULT_RAM_KINDS });
    if (memory.ramBytes === 0) throw new KernelConfigError('the memory map has no RAM');
    this.memoryMap = Object.freeze(normalized.regions.map((r) => Object.freeze({ ...r })));
    this.memoryMapChanges = Object.freeze(normalized.changes);
    this.memory = memory;
    this.ramBytes = memory.ramBytes;
    this.maxPhysAddrBits = bits;
    this.cpu = new Cpu({
      memory,
      registers:
        options.cpuMode === 'protected'
          ? { cr0: CR0.PE, cr4: 0, efer: 0, cr3Frame: 0, maxPhysAddrBits: bits }
          : { cr0: CR0.PE | CR0.PG, cr4: CR4.PAE, efer: EFER.LME | EFER.LMA, cr3Frame: 0, maxPhysAddrBits: bits },
      ...(options.tlb === undefined ? {} : { tlb: options.tlb }),
    });
  }

  /** Bytes of the map's regions of `kind`. */
  bytesOfKind(kind: MemoryKind): number {
    let n = 0;
    for (const r of this.memoryMap) if (r.kind === kind) n += r.lengthBytes;
    return n;
  }

  /** @throws if the memory or the CPU is inconsistent */
  checkInvariants(): void {
    this.memory.checkInvariants();
    this.cpu.checkInvariants();
  }
}
