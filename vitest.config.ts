import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**'],
    // Integration tests use their own databases (omnistock_test_*) so they never touch demo data.
    env: { DB_PREFIX: 'omnistock_test', LOG_LEVEL: 'warn', NODE_ENV: 'test', SEED_DEMO: 'false' },
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
