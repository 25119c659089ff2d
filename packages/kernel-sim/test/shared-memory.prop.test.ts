// Model-based: processes forking, exiting, exec'ing one ELF, mapping private, MAP_SHARED anonymous
// and named shared memory, unmapping all or part of it, writing and reading it, and opening,
// closing and unlinking named objects — against a tiny reference: a value per page (private pages
// per process, shared pages per object), each object's handles, name and mapped pages. After every
// command: kernel.checkInvariants() (refcounts = mappings + the object's or cache's reference,
// isolation, no leak, swap's records) and the model's view of every object (alive, named). Text
// pages read back the file's bytes, from one frame in every process. At the end, after every exit,
// close and unlink: every frame is free again, no object left, the page cache empty. Runs with swap
// off, and on with a resident limit small enough that reclaim runs through the shared pages.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemorySwapDevice, ShmExistsError, ShmHandleError, ShmNotFoundError, ShmRangeError, type Kernel, type Process, type SharedMemoryObject } from '../src/index';
import { PAGE, bootProcessKernel, elfFixture } from './process-helpers';

const NAMES = ['/a', '/b', '/c'];
const TEXT = 0x40_1000;
const HELLO = elfFixture('hello-static');

interface ModelObject {
  real: SharedMemoryObject | null;
  readonly named: boolean;
  readonly pages: number;
  handles: number;
  linked: boolean;
  mapped: number;
  alive: boolean;
  readonly values: Map<number, number>;
}

interface Mapping {
  va: number;
  pages: number;
  /** Null: private anonymous memory. */
  readonly object: ModelObject | null;
  /** Page of the object at `va`. */
  offset: number;
}

interface Proc {
  readonly p: Process;
  maps: Mapping[];
  /** Private pages: va → value. */
  priv: Map<number, number>;
  /** Runs the ELF (its text page reads the file's bytes). */
  exec: boolean;
}

type Cmd =
  | { kind: 'spawn' }
  | { kind: 'exec' }
  | { kind: 'fork'; proc: number }
  | { kind: 'exit'; proc: number }
  | { kind: 'execInto'; proc: number }
  | { kind: 'readText'; proc: number }
  | { kind: 'mapAnon'; proc: number; pages: number; shared: boolean }
  | { kind: 'open'; name: number; create: boolean; exclusive: boolean; pages: number }
  | { kind: 'close'; object: number }
  | { kind: 'unlink'; name: number }
  | { kind: 'mapShm'; proc: number; object: number; offset: number; pages: number }
  | { kind: 'munmap'; proc: number; map: number; whole: boolean }
  | { kind: 'write'; proc: number; map: number; page: number; value: number }
  | { kind: 'read'; proc: number; map: number; page: number };

const proc = fc.nat(7);
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'spawn' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'exec' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('fork' as const, 'exit' as const, 'execInto' as const, 'readText' as const), proc }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('mapAnon' as const), proc, pages: fc.integer({ min: 1, max: 3 }), shared: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('open' as const), name: fc.nat(NAMES.length - 1), create: fc.boolean(), exclusive: fc.boolean(), pages: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), object: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unlink' as const), name: fc.nat(NAMES.length - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('mapShm' as const), proc, object: fc.nat(7), offset: fc.nat(2), pages: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('munmap' as const), proc, map: fc.nat(7), whole: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), proc, map: fc.nat(7), page: fc.nat(2), value: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('read' as const), proc, map: fc.nat(7), page: fc.nat(2) }) },
);

/** Expects `call` to throw `cls` and to change nothing the snapshot sees. */
function refused(kernel: Kernel, call: () => unknown, cls: new (...args: never[]) => Error): void {
  const snapshot = (): string => JSON.stringify([kernel.processes.sharedMemory.nameList(), kernel.processes.sharedMemory.objects().map((o) => o.describe()), kernel.frames.ownedFrames]);
  const before = snapshot();
  expect(call).toThrow(cls);
  expect(snapshot()).toBe(before);
}

function detach(m: Mapping, pages: number): void {
  if (m.object === null) return;
  m.object.mapped -= pages;
  settle(m.object);
}

function settle(o: ModelObject): void {
  if (o.alive && !o.linked && o.handles === 0 && o.mapped === 0) o.alive = false;
}

function run(kernel: Kernel, cmds: readonly Cmd[]): void {
  const free0 = kernel.frames.pmm.freeFrames;
  const procs: Proc[] = [];
  const objects: ModelObject[] = [];
  const names = new Map<string, ModelObject>();
  const named = (): ModelObject[] => objects.filter((o) => o.named);
  const textByte = HELLO[0x1000]!;
  const spawn = (exec: boolean): void => {
    if (procs.length >= 5) return;
    const p = exec ? kernel.exec(undefined, HELLO, ['hello']) : kernel.createProcess();
    expect(p).not.toBeNull();
    procs.push({ p: p!, maps: [], priv: new Map(), exec });
  };
  const readByte = (p: Process, va: number): number => {
    kernel.switchTo(p.pid);
    return kernel.user.read8(va);
  };
  const valueAt = (m: Proc, map: Mapping, page: number): number => (map.object === null ? (m.priv.get(map.va + page * PAGE) ?? 0) : (map.object.values.get(map.offset + page) ?? 0));
  spawn(false);
  for (const c of cmds) {
    if (c.kind === 'spawn' || c.kind === 'exec') spawn(c.kind === 'exec');
    else if (c.kind === 'open') {
      const name = NAMES[c.name]!;
      const existing = names.get(name);
      if (existing !== undefined && c.create && c.exclusive) refused(kernel, () => kernel.processes.shmOpen(name, { create: true, exclusive: true, sizeBytes: c.pages * PAGE }), ShmExistsError);
      else if (existing === undefined && !c.create) refused(kernel, () => kernel.processes.shmOpen(name), ShmNotFoundError);
      else if (existing !== undefined) {
        expect(kernel.processes.shmOpen(name, { create: c.create })).toBe(existing.real);
        existing.handles++;
      } else {
        const o: ModelObject = { real: null, named: true, pages: c.pages, handles: 1, linked: true, mapped: 0, alive: true, values: new Map() };
        o.real = kernel.processes.shmOpen(name, { create: true, exclusive: c.exclusive, sizeBytes: c.pages * PAGE });
        objects.push(o);
        names.set(name, o);
      }
    } else if (c.kind === 'close') {
      const o = named()[c.object % Math.max(1, named().length)];
      if (o === undefined) continue;
      if (!o.alive || o.handles === 0) refused(kernel, () => kernel.processes.shmClose(o.real!), ShmHandleError);
      else {
        kernel.processes.shmClose(o.real!);
        o.handles--;
        settle(o);
      }
    } else if (c.kind === 'unlink') {
      const name = NAMES[c.name]!;
      const o = names.get(name);
      if (o === undefined) refused(kernel, () => kernel.processes.shmUnlink(name), ShmNotFoundError);
      else {
        expect(kernel.processes.shmUnlink(name)).toBe(o.real);
        names.delete(name);
        o.linked = false;
        settle(o);
      }
    } else if (procs.length > 0) {
      const i = c.proc % procs.length;
      const m = procs[i]!;
      if (c.kind === 'fork') {
        if (procs.length >= 5) continue;
        const child = m.p.fork();
        expect(child).not.toBeNull();
        for (const map of m.maps) if (map.object !== null) map.object.mapped += map.pages;
        procs.push({ p: child!, maps: m.maps.map((x) => ({ ...x })), priv: new Map(m.priv), exec: m.exec });
      } else if (c.kind === 'exit') {
        m.p.exit(0);
        for (const map of m.maps) detach(map, map.pages);
        procs.splice(i, 1);
      } else if (c.kind === 'execInto') {
        expect(kernel.exec(m.p.pid, HELLO, ['again'])).toBe(m.p);
        for (const map of m.maps) detach(map, map.pages);
        m.maps = [];
        m.priv = new Map();
        m.exec = true;
      } else if (c.kind === 'readText') {
        if (!m.exec) continue;
        expect(readByte(m.p, TEXT)).toBe(textByte);
        // Every process running the file maps its text page from one frame (the page cache).
        const frames = new Set(procs.filter((x) => x.exec && x.p.translate(TEXT) >= 0).map((x) => x.p.translate(TEXT)));
        expect(frames.size).toBe(1);
      } else if (c.kind === 'mapAnon') {
        const va = m.p.mmap({ lengthBytes: c.pages * PAGE, shared: c.shared });
        expect(va).not.toBeNull();
        const object: ModelObject | null = c.shared ? { real: m.p.regionAt(va!)!.shared!.object, named: false, pages: c.pages, handles: 0, linked: false, mapped: c.pages, alive: true, values: new Map() } : null;
        if (object !== null) objects.push(object);
        m.maps.push({ va: va!, pages: c.pages, object, offset: 0 });
      } else if (c.kind === 'mapShm') {
        const o = named()[c.object % Math.max(1, named().length)];
        if (o === undefined) continue;
        if (!o.alive || o.handles === 0) refused(kernel, () => m.p.mmap({ lengthBytes: c.pages * PAGE, shm: o.real! }), ShmHandleError);
        else if (c.offset + c.pages > o.pages) refused(kernel, () => m.p.mmap({ lengthBytes: c.pages * PAGE, shm: o.real!, offsetBytes: c.offset * PAGE }), ShmRangeError);
        else {
          const va = m.p.mmap({ lengthBytes: c.pages * PAGE, shm: o.real!, offsetBytes: c.offset * PAGE });
          expect(va).not.toBeNull();
          o.mapped += c.pages;
          m.maps.push({ va: va!, pages: c.pages, object: o, offset: c.offset });
        }
      } else {
        const map = m.maps[c.map % Math.max(1, m.maps.length)];
        if (map === undefined) continue;
        if (c.kind === 'munmap') {
          const pages = c.whole ? map.pages : 1;
          m.p.munmap(map.va, pages * PAGE);
          for (let k = 0; k < pages; k++) m.priv.delete(map.va + k * PAGE);
          detach(map, pages);
          if (pages === map.pages) m.maps.splice(m.maps.indexOf(map), 1);
          else {
            map.va += PAGE;
            map.pages--;
            map.offset++;
          }
        } else {
          const page = c.page % map.pages;
          const va = map.va + page * PAGE;
          if (c.kind === 'write') {
            expect(m.p.touch(va, 'write', c.value)).toBe('ok');
            if (map.object === null) m.priv.set(va, c.value);
            else map.object.values.set(map.offset + page, c.value);
          } else expect(readByte(m.p, va)).toBe(valueAt(m, map, page));
        }
      }
    }
    kernel.checkInvariants();
    for (const o of objects) {
      expect(o.real!.alive).toBe(o.alive);
      if (o.alive) expect([o.real!.openHandles, o.real!.linked, o.real!.mappedPages]).toEqual([o.handles, o.linked, o.mapped]);
    }
    expect(kernel.processes.sharedMemory.nameList()).toEqual([...names.keys()].sort());
  }
  // Every value still reads back; then everything goes and every frame is free again.
  for (const m of procs) for (const map of m.maps) for (let k = 0; k < map.pages; k++) expect(readByte(m.p, map.va + k * PAGE)).toBe(valueAt(m, map, k));
  for (const m of procs) m.p.exit(0);
  for (const o of named()) for (; o.handles > 0; o.handles--) kernel.processes.shmClose(o.real!);
  for (const name of names.keys()) kernel.processes.shmUnlink(name);
  kernel.checkInvariants();
  const shared = kernel.processes.sharedMemory;
  expect([shared.objects().length, shared.pageCache.pageCount, kernel.frames.usageByOwner().user]).toEqual([0, 0, 0]);
  expect(objects.every((o) => !o.real!.alive)).toBe(true);
  expect(kernel.frames.pmm.freeFrames).toBe(free0);
}

const RUNS = Number(process.env.NUM_RUNS ?? 15);
/** Each run takes up to about a second on a loaded machine. */
const TIMEOUT_MS = Math.max(120_000, RUNS * 3_000);

/** Always run first: two processes running the ELF, MAP_SHARED across fork, a named object in two processes, unlink while mapped. */
const EXAMPLE: Cmd[] = [
  { kind: 'exec' },
  { kind: 'exec' },
  { kind: 'readText', proc: 1 },
  { kind: 'readText', proc: 2 },
  { kind: 'mapAnon', proc: 0, pages: 3, shared: false },
  { kind: 'write', proc: 0, map: 0, page: 0, value: 1 },
  { kind: 'write', proc: 0, map: 0, page: 1, value: 2 },
  { kind: 'write', proc: 0, map: 0, page: 2, value: 3 },
  { kind: 'readText', proc: 1 },
  { kind: 'read', proc: 0, map: 0, page: 0 },
  { kind: 'mapAnon', proc: 0, pages: 2, shared: true },
  { kind: 'write', proc: 0, map: 1, page: 1, value: 7 },
  { kind: 'fork', proc: 0 },
  { kind: 'write', proc: 3, map: 1, page: 0, value: 9 },
  { kind: 'read', proc: 0, map: 1, page: 0 },
  { kind: 'read', proc: 3, map: 0, page: 2 },
  { kind: 'open', name: 0, create: true, exclusive: true, pages: 3 },
  { kind: 'mapShm', proc: 1, object: 0, offset: 1, pages: 2 },
  { kind: 'mapShm', proc: 2, object: 0, offset: 0, pages: 3 },
  { kind: 'write', proc: 1, map: 0, page: 1, value: 5 },
  { kind: 'read', proc: 2, map: 0, page: 2 },
  { kind: 'unlink', name: 0 },
  { kind: 'close', object: 0 },
  { kind: 'munmap', proc: 2, map: 0, whole: false },
  { kind: 'read', proc: 1, map: 0, page: 1 },
  { kind: 'exit', proc: 0 },
  { kind: 'read', proc: 2, map: 0, page: 0 },
];

describe('shared memory against a reference model', () => {
  it('keeps every value, shares what is shared, isolates the rest and leaks nothing (swap off)', () => {
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 60 }), (cmds) => {
        run(bootProcessKernel({ ramMiB: 64 }), cmds);
      }),
      { numRuns: RUNS, examples: [[EXAMPLE]] },
    );
  }, TIMEOUT_MS);

  it('runs the fixed example with swap on through reclaim: private pages swapped, cache pages dropped', () => {
    const kernel = bootProcessKernel({ ramMiB: 64 });
    const swap = kernel.enableSwap({ devices: [new MemorySwapDevice({ slotCount: 1024, cost: 'free' })], tickNs: 0, maxResidentPages: 3 });
    run(kernel, EXAMPLE);
    expect([swap.counters.swappedOut > 0, swap.counters.fileDropped > 0, swap.counters.majorFaults > 0]).toEqual([true, true, true]);
  });

  it('does the same with swap on and a resident limit of 3 pages that makes reclaim run (shared-object pages stay, cache pages drop)', () => {
    fc.assert(
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 60 }), (cmds) => {
        const kernel = bootProcessKernel({ ramMiB: 64 });
        const swap = kernel.enableSwap({ devices: [new MemorySwapDevice({ slotCount: 1024, cost: 'free' })], tickNs: 0, maxResidentPages: 3 });
        run(kernel, cmds);
        expect(swap.space.usedSlots).toBe(0);
      }),
      { numRuns: RUNS, examples: [[EXAMPLE]] },
    );
  }, TIMEOUT_MS);
});
