import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'dist/**'],
    // Type tests (expectTypeOf) in test/**/*.test-d.ts run through tsc alongside the rest.
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
    // Print the one line that says why Redis or browser tests are skipped on this machine, if they are.
    globalSetup: ['test/helpers/redis-global-setup.ts', 'test/helpers/chromium-global-setup.ts'],
    // Separate processes: some tests spawn children, kill them or hold file locks.
    pool: 'forks',
    // Generous for tests that spawn processes; unit tests run on a TestClock and never wait.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
