// One address's walk as the MMU does it (SDM vol. 3A 4.5, Figure 4-8), printed with x86-paging's
// formatWalk, then each level explained: which address bits index it, what the entry says, and
// what the rights add up to (SDM 4.6: R/W and U/S ANDed over the levels, XD ORed).
import { PTE, formatPa, formatVa, formatWalk, osBits, walkTables, type WalkStep } from '@kmem/x86-paging';
import { PAT_POWER_ON, cacheTypeName, patIndex } from './cache-type';
import type { DumpPhysicalMemory } from './dump-memory';
import { DumpTableAccess } from './dump-table-access';
import type { PagingState } from './paging-state';

/** The result of {@link explainWalk}. */
export interface WalkExplanation {
  /** Linear address walked (48-bit form). */
  readonly va: number;
  readonly steps: readonly WalkStep[];
  /** Physical address the walk reaches, or null when it faults or leaves the dump. */
  readonly pa: number | null;
  /** Why there is no translation, or null. */
  readonly fault: string | null;
  /** Effective rights when translated: `u`/`-`, `r`, `w`/`-`, `x`/`-`. */
  readonly rights: string | null;
  /** formatWalk's lines, then one explanation line per level and the outcome. */
  readonly text: string;
}

const INDEX_BITS: Readonly<Record<number, string>> = { 4: '47:39', 3: '38:30', 2: '29:21', 1: '20:12' };
const NEXT_TABLE: Readonly<Record<number, string>> = { 4: 'PDPT', 3: 'page directory', 2: 'page table' };
const RESERVED_WHY = ['address bits above MAXPHYADDR', 'PS in a PML4E', "a huge page's reserved bits 20:13 / 29:13", 'XD while EFER.NXE = 0'];

/** Reads entries from the dump; a table the dump does not hold reads as not present and is remembered. */
class GuardedAccess extends DumpTableAccess {
  missingTable = -1;
  override readEntry(level: number, va: number, tableFrame: number, index: number): void {
    if (this.memory.containsRange(tableFrame, 4096)) {
      super.readEntry(level, va, tableFrame, index);
      return;
    }
    this.missingTable = tableFrame;
    this.lo = 0;
    this.hi = 0;
  }
}

/**
 * Walks `va` in the dump and explains every level.
 * @param va linear address (48-bit form)
 * @param pat IA32_PAT as [low, high] halves, for the memory type
 */
export function explainWalk(memory: DumpPhysicalMemory, state: PagingState, va: number, pat: readonly [number, number] = PAT_POWER_ON): WalkExplanation {
  const access = new GuardedAccess(memory);
  const steps = walkTables(access, state.rootPa, va, state.maxPhysAddr);
  const lines = [formatWalk(va, steps), '  explained:'];
  let rw = true;
  let us = true;
  let xd = false;
  let pa: number | null = null;
  let fault: string | null = null;
  for (const s of steps) {
    const e = s.entry;
    const head = `    ${s.levelName.padEnd(4)} index ${s.index} = address bits ${INDEX_BITS[s.level]}, entry at ${formatPa(s.entryPa)}:`;
    if (access.missingTable === s.tableFrame) {
      fault = `the ${s.levelName} at ${formatPa(s.tableFrame)} is not in the dump`;
      lines.push(`${head} the table is outside the dump (MMIO or beyond the RAM dumped)`);
      break;
    }
    if (!e.present) {
      fault = `not present at ${s.levelName} (a #PF with error code P = 0)`;
      lines.push(`${head} P = 0, not present: nothing is mapped in the ${levelReach(s.level)} around this address`);
      break;
    }
    const hiBitNx = (e.hi & 0x8000_0000) !== 0;
    if (e.reserved !== 0 || (!state.nxe && hiBitNx)) {
      const mask = e.reserved | (!state.nxe && hiBitNx ? 8 : 0);
      const why = RESERVED_WHY.filter((_, i) => (mask & (1 << i)) !== 0).join(', ');
      fault = `reserved bits in the ${s.levelName} entry (a #PF with RSVD = 1, SDM 4.7)`;
      lines.push(`${head} reserved bits set (${why}): the CPU faults here with RSVD = 1`);
      break;
    }
    rw &&= (e.lo & PTE.Writable) !== 0;
    us &&= (e.lo & PTE.User) !== 0;
    xd ||= state.nxe && hiBitNx;
    const rights = `R/W = ${(e.lo >>> 1) & 1}, U/S = ${(e.lo >>> 2) & 1}${state.nxe ? `, XD = ${hiBitNx ? 1 : 0}` : ''}`;
    if (!e.leaf) {
      lines.push(`${head} points at the ${NEXT_TABLE[s.level]} at ${formatPa(e.pa)}; ${rights} (they limit everything below)`);
      continue;
    }
    const size = e.pageSizeBytes === 4096 ? '4 KiB page' : e.pageSizeBytes === 2097152 ? '2 MiB page (PS = 1)' : '1 GiB page (PS = 1)';
    const idx = patIndex(e.flags, e.pageSizeBytes);
    const offsetBits = e.pageSizeBytes === 4096 ? '11:0' : e.pageSizeBytes === 2097152 ? '20:0' : '29:0';
    const os = osBits(e.flags);
    lines.push(
      `${head} maps a ${size} at ${formatPa(e.pa)}; ${rights}; memory type ${cacheTypeName(idx, pat)} (PAT index ${idx})` +
        `${(e.lo & PTE.Global) !== 0 ? ', global' : ''}${(e.lo & PTE.Accessed) !== 0 ? ', accessed' : ''}${(e.lo & PTE.Dirty) !== 0 ? ', dirty' : ''}${os !== 0 ? `, OS bits 0x${os.toString(16)}` : ''}; address bits ${offsetBits} are the offset`,
    );
    pa = e.pa + (va % e.pageSizeBytes);
  }
  let rights: string | null = null;
  if (pa !== null) {
    rights = `${us ? 'u' : '-'}r${rw ? 'w' : '-'}${xd ? '-' : 'x'}`;
    const write = rw ? 'writable' : state.wp ? 'read-only (CR0.WP = 1: for the kernel too)' : 'read-only for user code; the kernel may write (CR0.WP = 0)';
    lines.push(`  => ${formatVa(va)} is physical ${formatPa(pa)}: ${us ? 'user-accessible' : 'supervisor-only'}, ${write}, ${xd ? 'not executable (XD)' : 'executable'}`);
  } else {
    lines.push(`  => no translation: ${fault ?? 'the walk ended early'}`);
  }
  return { va, steps, pa, fault, rights, text: lines.join('\n') };
}

function levelReach(level: number): string {
  return level === 4 ? '512 GiB' : level === 3 ? '1 GiB' : level === 2 ? '2 MiB' : '4 KiB';
}
