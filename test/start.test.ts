import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs `npm start`'s entry with extra environment and collects its output until it exits. */
function runStart(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`start did not exit within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

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
