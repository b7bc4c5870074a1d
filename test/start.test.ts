import { describe, expect, it } from 'vitest';
import { runScript } from './process.js';

/** Runs `npm start`'s entry with extra environment and collects its output until it exits. */
const runStart = (env: Record<string, string>) => runScript('scripts/start.ts', [], env, 30_000);

describe('npm start fails fast when a dependency is missing', () => {
  it('names the MySQL URL it could not reach', async () => {
    const res = await runStart({ MYSQL_URL: 'mysql://root@127.0.0.1:1' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Cannot reach MySQL at mysql://root@127.0.0.1:1');
  });

  it('names the Redis URL it could not reach', async () => {
    const res = await runStart({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Cannot reach Redis at redis://127.0.0.1:1');
  });

  it('reports every invalid variable together', async () => {
    const res = await runStart({ GATEWAY_PORT: 'x', MYSQL_URL: 'nope' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('GATEWAY_PORT');
    expect(res.stderr).toContain('MYSQL_URL');
  });
});
