import { defaultServerConditions } from 'vite';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/**
 * `KMEM_TEST_CPU=<dir>`: one line per test file with the CPU it cost (test-support/cpu-profile.ts;
 * `node scripts/test-cpu.mjs <dir>` ranks them). Otherwise nothing.
 */
export const cpuProfileSetup: string[] = process.env.KMEM_TEST_CPU ? [new URL('./test-support/cpu-profile.ts', import.meta.url).pathname] : [];

/**
 * The vitest project every package uses. Tests resolve `@kmem/*` imports through the
 * `@kmem/source` export condition, so they run on the TypeScript sources without a build.
 */
export function kmemProject(name: string, extra: UserWorkspaceConfig['test'] = {}): UserWorkspaceConfig {
  return defineProject({
    resolve: { conditions: ['@kmem/source', 'module', 'browser', 'development|production'] },
    ssr: { resolve: { conditions: ['@kmem/source', ...defaultServerConditions] } },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: 60_000,
      // A worker runs its test files one after another in one module graph instead of starting a
      // new process and importing the sources again for each (about 0.25 s of CPU per file): a
      // test that changes a module's state or a global must put it back.
      isolate: false,
      setupFiles: cpuProfileSetup,
      ...extra,
    },
  });
}
