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

  it('reads anomaly thresholds as KIND=score pairs and refuses anything else', () => {
    expect(parseConfig({}).ANOMALY_THRESHOLDS).toEqual({});
    expect(parseConfig({ ANOMALY_THRESHOLDS: 'SHRINKAGE=8, MOVEMENT_SPIKE=12.5' }).ANOMALY_THRESHOLDS).toEqual({ SHRINKAGE: 8, MOVEMENT_SPIKE: 12.5 });
    for (const bad of ['SHRINKAGE', 'SHRINKAGE=0', 'SHRINKAGE=-1', 'shrinkage=3', 'SHRINKAGE=lots']) {
      expect(() => parseConfig({ ANOMALY_THRESHOLDS: bad }), bad).toThrow(/ANOMALY_THRESHOLDS/);
    }
  });

  it('reads MYSQL_REPLICA_URLS as a list of mysql:// URLs, none by default', () => {
    expect(parseConfig({}).MYSQL_REPLICA_URLS).toEqual([]);
    expect(parseConfig({ MYSQL_REPLICA_URLS: ' mysql://r@db-r1:3306 , mysql://r@db-r2:3306,,mysql://r@db-r1:3306' }).MYSQL_REPLICA_URLS).toEqual([
      'mysql://r@db-r1:3306',
      'mysql://r@db-r2:3306',
    ]);
    for (const bad of ['postgres://db-r1', 'db-r1:3306', 'mysql://r@db-r1:3306,http://db-r2']) {
      expect(() => parseConfig({ MYSQL_REPLICA_URLS: bad }), bad).toThrow(/MYSQL_REPLICA_URLS/);
    }
    expect(() => parseConfig({ MYSQL_REPLICA_MAX_LAG_MS: '10' })).toThrow(/MYSQL_REPLICA_MAX_LAG_MS/);
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

  it("parses only a process's own part strictly: another's bad value is left to that process", () => {
    const env = { MAX_QUERY_COST: 'lots', ORDER_RESERVATION_TTL_SECONDS: '600', MARKETPLACE_COALESCE_MS: 'soon', DB_POOL_SIZE: '20' };
    // The orders subgraph reads neither the gateway's MAX_QUERY_COST nor marketplaces' setting.
    const orders = parseConfig(env, 'orders');
    expect(orders.ORDER_RESERVATION_TTL_SECONDS).toBe(600);
    expect(orders.DB_POOL_SIZE).toBe(20);
    expect(orders.MAX_QUERY_COST).toBe(50_000);
    // A valid value of another part is still the value set, not the default.
    expect(parseConfig({ ...env, MAX_QUERY_DEPTH: '5' }, 'orders').MAX_QUERY_DEPTH).toBe(5);
    // The processes that read them refuse them, and the tooling (no process) refuses everything.
    expect(() => parseConfig(env, 'gateway')).toThrow(/MAX_QUERY_COST/);
    expect(() => parseConfig(env, 'marketplaces')).toThrow(/MARKETPLACE_COALESCE_MS/);
    expect(() => parseConfig(env, 'jobs')).toThrow(/MARKETPLACE_COALESCE_MS/);
    expect(() => parseConfig(env)).toThrow(ConfigError);
    // The platform's part is every process's.
    for (const name of ['gateway', 'jobs', 'inventory', 'orders', 'locations', 'channels', 'marketplaces', 'exceptions'] as const) {
      expect(() => parseConfig({ DB_POOL_SIZE: 'many' }, name)).toThrow(/DB_POOL_SIZE/);
    }
  });

  it('reads the registry environments: production always among them, the gateway\'s one of them', () => {
    const cfg = parseConfig({});
    expect(cfg.REGISTRY_ENVIRONMENTS).toEqual(['staging', 'production']);
    expect(cfg.REGISTRY_ENVIRONMENT).toBe('production');
    expect(cfg.REGISTRY_PROMOTION_REQUIRED).toEqual([]);
    const qa = parseConfig({ REGISTRY_ENVIRONMENTS: 'qa, staging,production', REGISTRY_ENVIRONMENT: 'qa', REGISTRY_PROMOTION_REQUIRED: 'production' });
    expect(qa.REGISTRY_ENVIRONMENTS).toEqual(['qa', 'staging', 'production']);
    expect(qa.REGISTRY_ENVIRONMENT).toBe('qa');
    expect(qa.REGISTRY_PROMOTION_REQUIRED).toEqual(['production']);
    expect(() => parseConfig({ REGISTRY_ENVIRONMENTS: 'staging' })).toThrow(/REGISTRY_ENVIRONMENTS: must include production/);
    expect(() => parseConfig({ REGISTRY_ENVIRONMENT: 'qa' })).toThrow(/REGISTRY_ENVIRONMENT: "qa" is not one of REGISTRY_ENVIRONMENTS \(staging, production\)/);
    expect(() => parseConfig({ REGISTRY_PROMOTION_REQUIRED: 'prod' }, 'gateway')).toThrow(/REGISTRY_PROMOTION_REQUIRED: "prod"/);
    expect(() => parseConfig({ REGISTRY_ENVIRONMENTS: 'Staging,production' })).toThrow(/REGISTRY_ENVIRONMENTS/);
    // Only the gateway (and the tooling) reads them.
    expect(parseConfig({ REGISTRY_ENVIRONMENT: 'qa' }, 'orders').REGISTRY_ENVIRONMENT).toBe('qa');
  });
});
