import { defaultServerConditions } from 'vite';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

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
      ...extra,
    },
  });
}
