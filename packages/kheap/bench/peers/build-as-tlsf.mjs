// Compiles peers/assembly/as-tlsf.ts (AssemblyScript, not TypeScript: excluded from tsc and eslint) with AssemblyScript's compiler (the devDependency) into the OS temp
// folder and prints the .wasm path; nothing compiled is committed.
//   node bench/peers/build-as-tlsf.mjs
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const asc = join(dirname(require.resolve('assemblyscript/package.json')), 'bin', 'asc.js');
const out = join(tmpdir(), 'kmem-kheap-as-tlsf.wasm');
execFileSync(process.execPath, [asc, join(here, 'assembly', 'as-tlsf.ts'), '--runtime', 'incremental', '-O3', '--noAssert', '--outFile', out], { stdio: 'inherit' });
process.stdout.write(`${out}\n`);
