// Address-space roots: a PML4 per process that shares the kernel half (PML4 entries 256..511 point
// at tables allocated at boot, as Linux preallocates the kernel's PGD entries; with a lower-half
// kernel, a private PDPT and PD for the first GiB whose first entries point at the kernel's shared
// page tables), and the Mapper a process's tables are edited with.
import { Mapper, PTE, addressMaskHi, encodeHi, encodeLo } from '@kmem/x86-paging';
import type { FrameOwner } from '../events';
import { formatPhysical } from '../hex';
import { KernelAddressError } from '../kernel-errors';
import type { KernelParts } from './kernel-parts';

const TWO_MIB = 2 * 1024 * 1024;
const ONE_GIB = 1024 * 1024 * 1024;
const PML4_SPAN = 2 ** 39;
const P = PTE.Present;
const RW = PTE.Writable;
/** A user-reachable table entry (P | R/W | U/S): the leaves decide. */
const USER_TABLE_ENTRY = P | RW | PTE.User;

/** The roots made for address spaces, with the private tables each got (see `Kernel.newAddressSpaceRoot`). */
export class AddressSpaceRoots {
  /** Root → the private tables made with it (identity-low: its PDPT and PD). */
  readonly privateTables = new Map<number, number[]>();

  constructor(private readonly parts: KernelParts) {}

  /** newAddressSpaceRoot. */
  create(pid?: number): number | null {
    const parts = this.parts;
    parts.requireRunning('newAddressSpaceRoot');
    const owner: FrameOwner = pid === undefined ? { kind: 'page-table' } : { kind: 'page-table', pid };
    const frames = parts.need(parts.frames, 'frames');
    const root = frames.allocFrame(owner);
    if (root === null) return null;
    const mem = parts.machine.memory;
    const src = mem.frameWords(parts.kernelRoot);
    const dst = mem.frameWords(root);
    for (let i = 256 * 2; i < 1024; i++) dst[i] = src[i]!;
    const maskHi = addressMaskHi(parts.machine.maxPhysAddrBits);
    if (parts.recursiveSlot >= 0) {
      // The recursive slot of a process points at the process's own PML4, not the kernel's.
      dst[parts.recursiveSlot * 2] = encodeLo(root, P | RW);
      dst[parts.recursiveSlot * 2 + 1] = encodeHi(root, 0, maskHi);
    }
    const tables: number[] = [];
    if (parts.sharedPdEntries > 0) {
      const pdpt = frames.allocFrame(owner);
      const pd = pdpt === null ? null : frames.allocFrame(owner);
      if (pdpt === null || pd === null) {
        if (pdpt !== null) frames.freeFrame(pdpt);
        frames.freeFrame(root);
        return null;
      }
      dst[0] = encodeLo(pdpt, USER_TABLE_ENTRY);
      dst[1] = encodeHi(pdpt, 0, maskHi);
      const pdptWords = mem.frameWords(pdpt);
      pdptWords[0] = encodeLo(pd, USER_TABLE_ENTRY);
      pdptWords[1] = encodeHi(pd, 0, maskHi);
      const kpd = mem.frameWords(parts.sharedPd);
      const pdWords = mem.frameWords(pd);
      for (let i = 0; i < parts.sharedPdEntries * 2; i++) pdWords[i] = kpd[i]!;
      tables.push(pdpt, pd);
    }
    this.privateTables.set(root, tables);
    return root;
  }

  /** freeAddressSpaceRoot. */
  free(root: number): void {
    const parts = this.parts;
    parts.requireRunning('freeAddressSpaceRoot');
    const tables = this.privateTables.get(root);
    if (tables === undefined) throw new KernelAddressError(root, 'is not an address-space root made by newAddressSpaceRoot');
    const mem = parts.machine.memory;
    const words = mem.frameWords(root);
    const firstUserSlot = parts.sharedPdEntries > 0 ? 1 : 0;
    for (let i = firstUserSlot; i < 256; i++) if (i !== parts.recursiveSlot && (words[i * 2]! & P) !== 0) throw new KernelAddressError(i * PML4_SPAN, `user mappings remain under PML4 slot ${i} of root ${formatPhysical(root)}`);
    if (tables.length === 2) {
      const pdpt = mem.frameWords(tables[0]!);
      for (let i = 1; i < 512; i++) if ((pdpt[i * 2]! & P) !== 0) throw new KernelAddressError(i * ONE_GIB, `user mappings remain under PDPT entry ${i} of root ${formatPhysical(root)}`);
      const pd = mem.frameWords(tables[1]!);
      for (let i = parts.sharedPdEntries; i < 512; i++) if ((pd[i * 2]! & P) !== 0) throw new KernelAddressError(i * TWO_MIB, `user mappings remain under PD entry ${i} of root ${formatPhysical(root)}`);
    }
    const frames = parts.need(parts.frames, 'frames');
    for (const t of tables) frames.freeFrame(t);
    frames.freeFrame(root);
    this.privateTables.delete(root);
  }

  /** mapperFor. */
  mapperFor(root: number, pid?: number): Mapper {
    const parts = this.parts;
    const allocator = parts.need(parts.frames, 'frames').allocatorFor(pid === undefined ? { kind: 'page-table' } : { kind: 'page-table', pid });
    return new Mapper({ access: parts.need(parts.tableAccess, 'tableAccess'), allocator, root, maxPhysAddr: parts.machine.maxPhysAddrBits, tlb: parts.tlbNotifier, memory: parts.machine.memory, ...parts.reservedSlots() });
  }
}
