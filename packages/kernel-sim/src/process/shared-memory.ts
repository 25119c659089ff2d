// The kernel's shared memory: live shared-memory objects (anonymous MAP_SHARED memory and named
// objects), the names of the named ones (shm_open / shm_unlink), and the page cache of ELF files.
// Regions name the object they map (`Region.shared`); this keeps the count of pages mapped, so an
// object dies (its frames given back) when nothing references it any more.
import type { FrameOwner } from '../events';
import type { FrameOwners } from '../frame-owners';
import type { KernelServices } from '../kernel-services';
import { show } from '../show-value';
import { PageCache } from './page-cache';
import { UserMemoryArgumentError } from './process-errors';
import type { Region } from './regions';
import { SharedMemoryObject } from './shared-memory-object';
import { ShmExistsError, ShmHandleError, ShmNameError, ShmNotFoundError, ShmSizeError } from './shm-errors';

const PAGE = 4096;
/** Largest shared-memory object: 1 TiB (a size beyond any user range is refused, not truncated). */
export const MAX_SHM_BYTES = 2 ** 40;
/** Frames of shared objects and of the page cache belong to no process: 'user', no pid. */
export const SHARED_FRAME_OWNER: FrameOwner = Object.freeze({ kind: 'user' });

/** Options of `shmOpen` (shm_open's O_CREAT / O_EXCL, and ftruncate's size). */
export interface ShmOpenOptions {
  /** Create the object when the name is unknown (O_CREAT); needs `sizeBytes`. */
  readonly create?: boolean;
  /** With `create`: fail when the name exists (O_EXCL). */
  readonly exclusive?: boolean;
  /** Size of a new object (a positive multiple of 4096); for an existing one it must be its size. */
  readonly sizeBytes?: number;
}

/** Who holds a frame besides its mappings: page `index` of a shared-memory object, or a page-cache page. */
export type HeldFrame = { readonly object: SharedMemoryObject; readonly index: number } | { readonly object: null; readonly file: Uint8Array; readonly offsetBytes: number; readonly va: number };

/** Live shared-memory objects, their names, and the page cache. */
export class SharedMemory {
  /** The page cache of ELF files (text and read-only data shared between processes). */
  readonly pageCache = new PageCache();
  private readonly names = new Map<string, SharedMemoryObject>();
  private readonly live = new Set<SharedMemoryObject>();
  private nextId = 1;

  constructor(private readonly kernel: KernelServices) {}

  /** The kernel's frame records (made by the boot, after this object). */
  private get frames(): FrameOwners {
    return this.kernel.frames;
  }

  /** Live objects (named, unlinked but still referenced, anonymous), oldest first. */
  objects(): SharedMemoryObject[] {
    return [...this.live];
  }

  /** The object named `name`, or null. */
  lookup(name: string): SharedMemoryObject | null {
    return this.names.get(name) ?? null;
  }

  /** Names in use, sorted. */
  nameList(): string[] {
    return [...this.names.keys()].sort();
  }

  /**
   * shm_open (+ ftruncate for a new object): opens the object named `name`, or creates it with
   * `create`. Every call opens one more handle; close it with {@link close}.
   * @throws ShmNameError, ShmNotFoundError (no such name, no `create`), ShmExistsError (`create` +
   *   `exclusive` of a name in use), ShmSizeError (new object without a positive 4096-multiple size,
   *   or a size other than the existing object's), UserMemoryArgumentError (options of the wrong
   *   type) — all before any change
   */
  open(name: string, options: ShmOpenOptions = {}): SharedMemoryObject {
    checkName(name);
    if (typeof options !== 'object' || options === null) throw new UserMemoryArgumentError(0, `shmOpen options are ${options === null ? 'null' : typeof options}, not an object`);
    for (const flag of ['create', 'exclusive'] as const) {
      if (options[flag] !== undefined && typeof options[flag] !== 'boolean') throw new UserMemoryArgumentError(0, `shmOpen ${flag} is ${typeof options[flag]}, not a boolean`);
    }
    const size = options.sizeBytes;
    const existing = this.names.get(name);
    if (existing !== undefined) {
      if (options.create === true && options.exclusive === true) throw new ShmExistsError(name);
      if (size !== undefined && size !== existing.sizeBytes) throw new ShmSizeError(size, `the object ${name} has ${existing.sizeBytes} bytes (resizing is not modelled)`);
      existing.openHandles++;
      return existing;
    }
    if (options.create !== true) throw new ShmNotFoundError(name);
    if (size === undefined) throw new ShmSizeError(size, 'a new object needs sizeBytes');
    checkSize(size);
    const o = new SharedMemoryObject(this.nextId++, 'named', name, size);
    o.openHandles = 1;
    this.names.set(name, o);
    this.live.add(o);
    return o;
  }

  /**
   * Closes one handle of `object` (close of an shm_open descriptor); the object dies when it was
   * the last reference (unlinked, no handle, not mapped).
   * @throws ShmHandleError unless `object` is a live named object with an open handle
   */
  close(object: SharedMemoryObject): void {
    if (!(object instanceof SharedMemoryObject) || object.kind !== 'named' || !object.alive || object.openHandles < 1) {
      throw new ShmHandleError(`${object instanceof SharedMemoryObject ? object.describe() : show(object)} is not an open handle of a shared-memory object`);
    }
    object.openHandles--;
    this.releaseIfUnreferenced(object);
  }

  /**
   * shm_unlink: removes the name; the object lives on while handles or mappings reference it.
   * @returns the object (dead when nothing referenced it)
   * @throws ShmNameError, ShmNotFoundError — before any change
   */
  unlink(name: string): SharedMemoryObject {
    checkName(name);
    const o = this.names.get(name);
    if (o === undefined) throw new ShmNotFoundError(name);
    this.names.delete(name);
    o.linked = false;
    this.releaseIfUnreferenced(o);
    return o;
  }

  /** A new anonymous object of `sizeBytes` (mmap MAP_SHARED | MAP_ANONYMOUS), mapped by nothing yet. */
  createAnonymous(sizeBytes: number): SharedMemoryObject {
    const o = new SharedMemoryObject(this.nextId++, 'anonymous', '', sizeBytes);
    this.live.add(o);
    return o;
  }

  /**
   * @throws ShmHandleError unless `object` can be mapped: a live named object with an open
   *   handle (mmap needs the descriptor)
   */
  checkMappable(object: unknown): SharedMemoryObject {
    if (!(object instanceof SharedMemoryObject) || object.kind !== 'named' || !object.alive || object.openHandles < 1 || !this.live.has(object)) {
      throw new ShmHandleError(`mmap: ${object instanceof SharedMemoryObject ? object.describe() : typeof object} is not an open handle of a shared-memory object`);
    }
    return object;
  }

  /** `pageCount` more pages of regions map `object` (mmap, fork). */
  attach(object: SharedMemoryObject, pageCount: number): void {
    object.mappedPages += pageCount;
  }

  /** Every shared region of `regions` is mapped once more (fork's child got copies of them). */
  attachRegions(regions: readonly Region[]): void {
    for (const r of regions) if (r.shared !== undefined) r.shared.object.mappedPages += (r.end - r.start) / PAGE;
  }

  /**
   * Regions (or pieces of them) stopped mapping their objects (munmap, exec, exit): an object
   * nothing references any more gives its frames back. Call after the PTEs went.
   */
  detachRegions(regions: readonly Region[]): void {
    for (const r of regions) {
      if (r.shared === undefined) continue;
      const o = r.shared.object;
      o.mappedPages -= (r.end - r.start) / PAGE;
      this.releaseIfUnreferenced(o);
    }
  }

  /**
   * A PTE stopped mapping a page-cache frame and only the cache holds it now: the page leaves the
   * cache and its frame goes back (no clean unmapped pages are kept). @returns whether it did
   */
  dropCachePageIfUnmapped(frame: number): boolean {
    if (this.frames.refCount(frame) !== 1 || !this.pageCache.holds(frame)) return false;
    this.pageCache.remove(frame);
    this.frames.freeFrame(frame);
    return true;
  }

  /**
   * Every frame held by an object or the page cache, with who holds it: an object and page index,
   * or the cache key. For the invariant checks (allocates).
   */
  heldFrames(): Map<number, HeldFrame> {
    const out = new Map<number, HeldFrame>();
    for (const [frame, h] of this.objectFrames()) out.set(frame, h);
    this.pageCache.forEachPage((frame, key) => out.set(frame, { object: null, file: key.file, offsetBytes: key.offsetBytes, va: key.va }));
    return out;
  }

  /** Every frame held by a shared-memory object (not the page cache), with its object and page index. Allocates. */
  objectFrames(): Map<number, HeldFrame> {
    const out = new Map<number, HeldFrame>();
    for (const o of this.live) o.forEachFrame((index, frame) => out.set(frame, { object: o, index }));
    return out;
  }

  /** Whether `o` is a live object this kernel keeps. */
  isLive(o: SharedMemoryObject): boolean {
    return this.live.has(o);
  }

  /** Named objects are linked and live; live objects are referenced; unlinked objects have no name. */
  checkNames(): string | null {
    for (const [name, o] of this.names) if (o.name !== name || !o.linked || !o.alive || !this.live.has(o)) return `name ${name} finds ${o.describe()}`;
    for (const o of this.live) {
      if (!o.alive) return `dead object ${o.describe()} is still kept`;
      if (o.unreferenced || o.mappedPages < 0 || o.openHandles < 0) return `object ${o.describe()} should have been released`;
      if (o.kind === 'named' && o.linked !== (this.names.get(o.name) === o)) return `object ${o.describe()}: linked ${o.linked} but the name ${o.linked ? 'does not find it' : 'finds it'}`;
    }
    return null;
  }

  private releaseIfUnreferenced(o: SharedMemoryObject): void {
    if (!o.unreferenced || !o.alive) return;
    const frames = this.frames;
    o.forEachFrame((_i, frame) => frames.freeFrame(frame));
    o.clearFrames();
    this.live.delete(o);
  }
}

/** @throws ShmNameError unless `name` is `/` followed by 1-254 characters other than `/` */
function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length < 2 || name.length > 255 || name[0] !== '/' || name.indexOf('/', 1) >= 0 || name.includes('\0')) throw new ShmNameError(name);
}

/** @throws ShmSizeError unless `size` is a positive multiple of 4096 up to MAX_SHM_BYTES */
function checkSize(size: unknown): void {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) throw new ShmSizeError(size, 'not a positive integer');
  if (size % PAGE !== 0) throw new ShmSizeError(size, 'not a multiple of the 4096-byte page');
  if (size > MAX_SHM_BYTES) throw new ShmSizeError(size, `above the ${MAX_SHM_BYTES}-byte limit`);
}
