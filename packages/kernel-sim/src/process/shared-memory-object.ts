// A shared-memory object: the pages behind MAP_SHARED | MAP_ANONYMOUS memory and behind a named
// object (shm_open), as Linux's shmem inode. Its pages are frames it holds one reference to each;
// every PTE mapping one of them adds a reference. The object lives while it is named, has open
// handles or some region maps it; then it gives its frames back.
import { brand } from '../brand';

const PAGE = 4096;

/** `anonymous`: made by one mmap(MAP_SHARED | MAP_ANONYMOUS), shared by fork; `named`: made by shm_open. */
export type SharedMemoryKind = 'anonymous' | 'named';

/**
 * A region's view of a shared-memory object: page `va` of the region is page
 * `(va - baseVa) / 4096` of `object`. Regions split from one mapping keep the same backing
 * (as ELF backings keep their segment), so splits and merges need no offset arithmetic.
 */
export interface SharedBacking {
  /** The object mapped. */
  readonly object: SharedMemoryObject;
  /** Where the object's page 0 would lie in this address space (region start - offset); may be below the region. */
  readonly baseVa: number;
}

/** One shared-memory object. Read its state; change it only through the kernel's calls. */
export class SharedMemoryObject {
  static {
    brand(this, 'SharedMemoryObject'); // instanceof across the import and require copies (brand.ts)
  }
  /** Unique id (1, 2, 3...; never reused). */
  readonly id: number;
  /** Anonymous (one mmap) or named (shm_open). */
  readonly kind: SharedMemoryKind;
  /** `/name` of a named object, `''` for an anonymous one. */
  readonly name: string;
  /** Size, a multiple of 4096. */
  readonly sizeBytes: number;
  /** Handles opened and not yet closed (named objects; shm_open's file descriptors). */
  openHandles = 0;
  /** Pages of regions of live processes that map the object (a page mapped by two processes counts twice). */
  mappedPages = 0;
  /** Whether the name still finds it (false after shm_unlink; always false for anonymous objects). */
  linked: boolean;
  /** False once the object gave its frames back; nothing can map it then. */
  alive = true;
  /** Page index → frame; a page is in the map from its first touch until the object dies. */
  private readonly frames = new Map<number, number>();

  /** @internal — objects are made by mmap and shm_open */
  constructor(id: number, kind: SharedMemoryKind, name: string, sizeBytes: number) {
    this.id = id;
    this.kind = kind;
    this.name = name;
    this.sizeBytes = sizeBytes;
    this.linked = kind === 'named';
  }

  /** Pages of the object. */
  get pageCount(): number {
    return this.sizeBytes / PAGE;
  }

  /** Pages that hold a frame (touched at least once). */
  get residentPages(): number {
    return this.frames.size;
  }

  /** Whether nothing keeps the object: no name, no open handle, no mapping. */
  get unreferenced(): boolean {
    return !this.linked && this.openHandles === 0 && this.mappedPages === 0;
  }

  /** The frame of page `index`, or -1 when it was never touched. */
  frameAt(index: number): number {
    return this.frames.get(index) ?? -1;
  }

  /** @internal Page `index` now holds `frame` (the object owns the reference the allocation made). */
  setFrame(index: number, frame: number): void {
    this.frames.set(index, frame);
  }

  /** Every (page index, frame) pair, ascending by nothing in particular. */
  forEachFrame(visit: (index: number, frame: number) => void): void {
    for (const [i, f] of this.frames) visit(i, f);
  }

  /** @internal Forgets every frame (the caller gave them back); the object is dead. */
  clearFrames(): void {
    this.frames.clear();
    this.alive = false;
  }

  /** One line for people: `/shm-name 8192 bytes, 1 resident page, 1 handle, 4 mapped pages`. */
  describe(): string {
    const label = this.kind === 'named' ? `${this.name}${this.linked ? '' : ' (deleted)'}` : `anonymous shared #${this.id}`;
    return `${label}: ${this.sizeBytes} bytes, ${this.residentPages} resident page(s), ${this.openHandles} handle(s), ${this.mappedPages} mapped page(s)`;
  }
}
