import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startHealthService } from './server.js';

describe('closing a service', () => {
  it("answers a request in flight with Connection: close, so its keep-alive connection does not hold close() until the idle timeout", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let arrived!: () => void;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    const service = await startHealthService({
      name: 'close-test',
      host: '127.0.0.1',
      port: 0,
      readiness: {},
      routes: async (app) => {
        app.get('/slow', async () => {
          arrived();
          await held;
          return { ok: true };
        });
      },
    });
    // A keep-alive client, as undici and Node's agent are.
    const answer = new Promise<{ connection: string | undefined; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: service.port, path: '/slow', headers: { connection: 'keep-alive' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ connection: res.headers.connection, body }));
      });
      req.on('error', reject);
      req.end();
    });
    await inFlight;
    const closed = service.close();
    release();
    expect(await answer).toEqual({ connection: 'close', body: '{"ok":true}' });
    await closed;
  });
});
