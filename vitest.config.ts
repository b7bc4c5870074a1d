import { generateKeyPairSync } from 'node:crypto';
import { defineConfig } from 'vitest/config';

// The services' token key of this run (SERVICE_AUTH stays on: every test's subgraph checks tokens).
const { privateKey } = generateKeyPairSync('ed25519');
const SERVICE_TOKEN_KEYS = JSON.stringify({ keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-run' }] });

/**
 * Test files that need modules of their own: tracing registers OpenTelemetry's instrumentation and
 * global provider, which must come before the modules it instruments are loaded.
 */
const ISOLATED = ['test/tracing.test.ts'];

export default defineConfig({
  resolve: {
    // Vite would pick graphql's ESM build while Apollo's CommonJS code requires the CJS one: two
    // copies of graphql-js break instanceof checks (GraphQLError, scalars). Node itself loads one.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    // Integration tests use their own databases (omnistock_test_*) so they never touch demo data.
    // SUBGRAPH_TIMEOUT_MS: on a loaded CI machine a 500-movement batch can outlast the 10 s default.
    // AUTH_MODE=off and no failed-authentication or registry rate limit, set on purpose (test files share
    // 127.0.0.1 and make hundreds of registry calls a minute): the tests of those rules set the defaults themselves.
    env: { DB_PREFIX: 'omnistock_test', LOG_LEVEL: 'warn', NODE_ENV: 'test', SEED_DEMO: 'false', SUBGRAPH_TIMEOUT_MS: '60000', AUTH_MODE: 'off', AUTH_FAILURES_PER_MINUTE: '0', REGISTRY_RATE_LIMIT_PER_MINUTE: '0', SERVICE_TOKEN_KEYS },
    // Gives MariaDB room for the connections two files' stacks hold at once (see the file).
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // Three test files at a time even on a two-core machine (vitest's default would be one): they
    // spend much of their time waiting on MariaDB, Redis and child processes, and isolate their data
    // (random codes, own databases where they need them). Measured on the suite: 757 s with two, 700 s with three.
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      // A worker keeps the modules it loaded from one test file to the next: loading Apollo,
      // TypeORM and the rest again for each of ~120 files cost about three minutes of CPU a run. The
      // tests hold their state in servers and databases they start, not in module state.
      { extends: true, test: { name: 'shared', include: ['**/*.test.ts'], exclude: ['**/node_modules/**', ...ISOLATED], isolate: false } },
      { extends: true, test: { name: 'isolated', include: ISOLATED } },
    ],
  },
});
