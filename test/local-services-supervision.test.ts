import { afterEach, describe, expect, it } from 'vitest';
import { findBinary, redisAnswers, RedisServer, restartDelay } from '../scripts/local-services.js';
import { waitFor } from './events.js';
import { freePort } from './ports.js';

/**
 * npm start supervises the MariaDB and Redis it brings as it does its services: one that dies (a
 * crash, a SIGKILL) is started again on its data and port, with backoff; one stopped on purpose
 * stays stopped. Shown with Redis (the same code runs both servers: scripts/local-services.ts
 * ChildServer); the chaos bench kills both.
 */

const servers: RedisServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop('SIGKILL')));
});

async function redisServer(): Promise<RedisServer> {
  const binary = findBinary(['redis-server']);
  if (!binary) throw new Error('no redis-server installed');
  const server = new RedisServer(await freePort(), { binary });
  servers.push(server);
  await server.start();
  return server;
}



describe('local servers under supervision', () => {
  it('restarts a supervised server that is killed, on the same port, and says so', async () => {
    const server = await redisServer();
    const lines: string[] = [];
    server.supervise((line) => lines.push(line));
    const first = server.pid!;
    process.kill(first, 'SIGKILL');
    await waitFor('the restarted server', async () => server.pid !== undefined && server.pid !== first && (await redisAnswers(server.port)), 30_000);
    await waitFor('the line saying it is back', async () => lines.some((l) => l.startsWith('✔')), 30_000);
    expect(lines[0]).toMatch(new RegExp(`^↻ Redis on port ${server.port} exited \\(SIGKILL\\); restarting in 1 s$`));
  });

  it('leaves a killed server down when it is not supervised (tests kill theirs on purpose)', async () => {
    const server = await redisServer();
    process.kill(server.pid!, 'SIGKILL');
    await waitFor('the server to exit', async () => server.pid === undefined);
    // Longer than the first restart's wait.
    await new Promise((r) => setTimeout(r, 1500));
    expect(server.pid).toBeUndefined();
    expect(await redisAnswers(server.port)).toBe(false);
  });

  it('does not restart a supervised server stopped on purpose, not even one whose restart was pending', async () => {
    const server = await redisServer();
    const lines: string[] = [];
    server.supervise((line) => lines.push(line));
    await server.stop('SIGKILL');
    await server.start();
    process.kill(server.pid!, 'SIGKILL');
    await waitFor('the restart to be announced', async () => lines.some((l) => l.startsWith('↻')));
    // Stopped while its restart waits: the restart never happens.
    await server.stop();
    await new Promise((r) => setTimeout(r, 1500));
    expect(server.pid).toBeUndefined();
    expect(await redisAnswers(server.port)).toBe(false);
    expect(lines.filter((l) => l.startsWith('↻'))).toHaveLength(1);
  });

  it('backs off 1, 2, 5, 10, 30 s on restarts in a row, from 1 s again after a minute of running', () => {
    const delays: number[] = [];
    let streak = 0;
    for (let i = 0; i < 6; i++) {
      const next = restartDelay(streak, 500);
      delays.push(next.delayMs);
      streak = next.streak;
    }
    expect(delays).toEqual([1000, 2000, 5000, 10_000, 30_000, 30_000]);
    expect(restartDelay(streak, 61_000)).toEqual({ delayMs: 1000, streak: 1 });
  });
});
