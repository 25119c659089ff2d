// Does V8 still inline kheap's fast paths into a caller's loop? kmalloc and kfree are fast on
// issue 19's trace because V8 inlines them, with the TLSF's two quick-list paths, into the
// benchmark's replay loop (README, Design decisions: "Fast paths sized for V8's inliner"); a few
// dozen more bytes of bytecode in one of them, or a general path small enough to be inlined into
// kmalloc's own code, and V8 keeps one of them a call, which costs ~10-25 % with no test failing.
// This runs contenders/kheap.ts (the built package, or KHEAP_MODULE) under V8's inlining trace and
// prints, for each compilation of the replay loop, what was inlined into it; it exits with 1 when
// the last one lacks any of the four. The budget it checks is Node 20's (V8 11.3).
//   node --import tsx bench/inlining-check.ts            (build first: npx tsup)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const WANTED = ['kmalloc', 'kfree', 'quickAlloc', 'freeLive'];

const child = spawnSync(
  process.execPath,
  ['--no-concurrent-recompilation', '--trace-opt', '--trace-turbo-inlining', '--import', 'tsx', join(here, 'contenders', 'kheap.ts')],
  { encoding: 'utf8', maxBuffer: 256 << 20 },
);
if (child.status !== 0) throw new Error(`contenders/kheap.ts failed (${String(child.status)}):\n${child.stderr}`);

const compiles: string[][] = [];
for (const line of child.stdout.split('\n')) {
  if (/compiling method .*<JSFunction replay /.test(line)) compiles.push([]);
  const hit = /^Inlining .*<SharedFunctionInfo (\w+)>.* into .*<SharedFunctionInfo replay>/.exec(line);
  if (hit !== null && compiles.length > 0) compiles[compiles.length - 1]!.push(hit[1]!);
}
if (compiles.length === 0) throw new Error('V8 never optimised the replay loop (is this Node 20?)');
compiles.forEach((inlined, i) => console.log(`replay, optimisation ${i + 1}: ${inlined.join(', ') || '(nothing inlined)'}`));
const last = compiles[compiles.length - 1]!;
const missing = WANTED.filter((f) => !last.includes(f));
if (missing.length > 0) {
  console.log(`NOT inlined into the replay loop: ${missing.join(', ')} (Node ${process.versions.node}, V8 ${process.versions.v8})`);
  process.exitCode = 1;
} else {
  console.log(`${WANTED.join(', ')}: all inlined (Node ${process.versions.node}, V8 ${process.versions.v8})`);
}
