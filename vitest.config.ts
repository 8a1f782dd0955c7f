import { defineConfig } from 'vitest/config';

// One config over every project: tests run against the TypeScript sources
// (the "@vrdma/source" export condition), with no build step.
export default defineConfig({
  resolve: { conditions: ['@vrdma/source'] },
  ssr: { resolve: { conditions: ['@vrdma/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts'],
    typecheck: {
      enabled: true,
      include: ['packages/*/src/**/*.test-d.ts', 'apps/*/src/**/*.test-d.ts'],
      tsconfig: './tsconfig.typetests.json',
    },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
