// How the demo's commands end on an error: one line on stderr and an exit code.
import { DemoInputError } from './load';

/**
 * Writes `e` as one line prefixed with `prefix` and returns the exit code: 2 for bad input (a
 * DemoInputError, or any kmem error with its stable `E_` code), 1 for anything else (a bug).
 * `KMEM_DEMO_DEBUG` set prints the whole error first.
 */
export function reportError(e: unknown, prefix: string): number {
  if (process.env.KMEM_DEMO_DEBUG !== undefined) console.error(e);
  // kmem's errors (every package's KmemError) carry a stable E_ code: the input was refused.
  const raw = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
  const code = typeof raw === 'string' && raw.startsWith('E_') ? raw : null;
  const msg = e instanceof DemoInputError ? e.message : code !== null ? `${code}: ${(e as Error).message}` : `internal error: ${e instanceof Error ? e.message : String(e)}`;
  process.stderr.write(`${prefix}: ${msg.split('\n')[0]}\n`);
  return e instanceof DemoInputError || code !== null ? 2 : 1;
}
