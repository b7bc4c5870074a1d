import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.js';

describe('parseConfig', () => {
  it('applies defaults', () => {
    const cfg = parseConfig({});
    expect(cfg.MYSQL_URL).toBe('mysql://root@127.0.0.1:3306');
    expect(cfg.GATEWAY_PORT).toBe(4000);
    expect(cfg.SEED_DEMO).toBe(true);
    expect(cfg.REDIS_KEY_PREFIX).toBe('omnistock');
    expect(cfg.OUTBOX_RETENTION_MS).toBe(24 * 60 * 60 * 1000);
  });

  it('treats empty strings as unset', () => {
    expect(parseConfig({ GATEWAY_PORT: '' }).GATEWAY_PORT).toBe(4000);
  });

  it('reports every bad variable together', () => {
    try {
      parseConfig({ GATEWAY_PORT: 'abc', MYSQL_URL: 'postgres://x', LOG_LEVEL: 'loud', SEED_DEMO: 'maybe' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      for (const name of ['GATEWAY_PORT', 'MYSQL_URL', 'LOG_LEVEL', 'SEED_DEMO']) expect(problems).toContain(name);
    }
  });
});
