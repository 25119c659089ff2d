import { defineProject } from 'vitest/config';
import { cpuProfileSetup } from '../vitest.shared';

export default defineProject({
  test: {
    name: 'repo',
    include: ['**/*.test.ts'],
    environment: 'node',
    testTimeout: 300_000,
    hookTimeout: 300_000,
    setupFiles: cpuProfileSetup,
  },
});
