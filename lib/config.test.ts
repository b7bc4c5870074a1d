import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, SECRET_FILE_SETTINGS } from './config.js';

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

  it('reads REDIS_CLUSTER_NODES as host:port seeds, in every process, and refuses anything else naming it', () => {
    expect(parseConfig({}).REDIS_CLUSTER_NODES).toBeUndefined();
    expect(parseConfig({ REDIS_CLUSTER_NODES: '' }).REDIS_CLUSTER_NODES).toBeUndefined();
    expect(parseConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-2.internal:7001,[::1]:7002' }).REDIS_CLUSTER_NODES).toEqual(['10.0.0.1:7000', 'redis-2.internal:7001', '[::1]:7002']);
    for (const bad of ['10.0.0.1', 'redis://10.0.0.1:7000', '10.0.0.1:0', '10.0.0.1:70000', ',', 'a b:7000', '10.0.0.1:7000,10.0.0.2']) {
      expect(() => parseConfig({ REDIS_CLUSTER_NODES: bad }), bad).toThrow(/REDIS_CLUSTER_NODES/);
      // A platform variable: whichever process starts refuses it.
      expect(() => parseConfig({ REDIS_CLUSTER_NODES: bad }, 'inventory'), bad).toThrow(/REDIS_CLUSTER_NODES/);
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

describe('secrets read from files (<NAME>_FILE)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omnistock-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const secretFile = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const problemsOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems.join('\n');
    }
    return expect.unreachable('the configuration was accepted') as never;
  };

  it('reads each secret setting from its file, once, trailing newlines dropped', () => {
    const reads: string[] = [];
    const readFile = (path: string) => {
      reads.push(path);
      return { '/s/mysql': 'mysql://omni:s3cret@db:3306\n', '/s/redis': 'redis://:pw@cache:6379\r\n', '/s/jwt': `${'j'.repeat(40)}\n\n`, '/s/metrics': 'metrics-token-0123456789' }[path] ?? '';
    };
    const cfg = parseConfig({ MYSQL_URL_FILE: '/s/mysql', REDIS_URL_FILE: '/s/redis', AUTH_JWT_SECRET_FILE: '/s/jwt', METRICS_TOKEN_FILE: '/s/metrics' }, 'gateway', readFile);
    expect(cfg.MYSQL_URL).toBe('mysql://omni:s3cret@db:3306');
    expect(cfg.REDIS_URL).toBe('redis://:pw@cache:6379');
    expect(cfg.AUTH_JWT_SECRET).toBe('j'.repeat(40));
    expect(cfg.METRICS_TOKEN).toBe('metrics-token-0123456789');
    expect(reads.sort()).toEqual(['/s/jwt', '/s/metrics', '/s/mysql', '/s/redis']);
    // The real reader, through a symlink as Kubernetes mounts a secret's keys (..data/<key>).
    const target = secretFile('mysql-url-target', 'mysql://k8s:pw@mysql:3306\n');
    symlinkSync(target, join(dir, 'mysql-url'));
    expect(parseConfig({ MYSQL_URL_FILE: join(dir, 'mysql-url') }, 'inventory').MYSQL_URL).toBe('mysql://k8s:pw@mysql:3306');
  });

  it('covers every setting that holds a secret, each with a _FILE in the schema', () => {
    expect([...SECRET_FILE_SETTINGS].sort()).toEqual(['AUTH_JWT_SECRET', 'GATEWAY_TOKEN', 'METRICS_TOKEN', 'MYSQL_URL', 'REDIS_URL', 'REGISTRY_TOKEN']);
    for (const key of SECRET_FILE_SETTINGS) {
      const path = secretFile(`${key}.bad`, '');
      expect(problemsOf(() => parseConfig({ [`${key}_FILE`]: path })), key).toContain(`${key}_FILE: ${path} is empty`);
    }
  });

  it('attack: a value and a file for the same setting at once is refused, whichever would win', () => {
    const path = secretFile('jwt', 'k'.repeat(40));
    // Even when both hold the same secret: which one is meant is never guessed.
    const problems = problemsOf(() => parseConfig({ AUTH_JWT_SECRET: 'k'.repeat(40), AUTH_JWT_SECRET_FILE: path }, 'gateway'));
    expect(problems).toContain('AUTH_JWT_SECRET_FILE: set AUTH_JWT_SECRET or AUTH_JWT_SECRET_FILE, not both');
    expect(problemsOf(() => parseConfig({ MYSQL_URL: 'mysql://root@db', MYSQL_URL_FILE: path }, 'orders'))).toContain('MYSQL_URL or MYSQL_URL_FILE, not both');
    const keys = secretFile('keys.json', '{"keys":[]}');
    expect(problemsOf(() => parseConfig({ SERVICE_TOKEN_KEYS: '{"keys":[]}', SERVICE_TOKEN_KEYS_FILE: keys }, 'locations'))).toContain('SERVICE_TOKEN_KEYS or SERVICE_TOKEN_KEYS_FILE, not both');
  });

  it('attack: a secret file that is missing, unreadable or empty never falls back to the default', () => {
    // MYSQL_URL's default is a passwordless root on this host: a missing mount must not end there.
    expect(problemsOf(() => parseConfig({ MYSQL_URL_FILE: join(dir, 'absent') }, 'inventory'))).toContain(`MYSQL_URL_FILE: cannot read ${join(dir, 'absent')} (ENOENT)`);
    expect(problemsOf(() => parseConfig({ MYSQL_URL_FILE: dir }, 'inventory'))).toContain('(EISDIR)');
    expect(problemsOf(() => parseConfig({ REDIS_URL_FILE: secretFile('blank', '\n\n') }, 'jobs'))).toContain('is empty');
    // Problems of several files are reported together, with the process's other bad values.
    const all = problemsOf(() => parseConfig({ MYSQL_URL_FILE: join(dir, 'absent'), METRICS_TOKEN_FILE: join(dir, 'absent2'), DB_POOL_SIZE: 'many' }, 'channels'));
    for (const name of ['MYSQL_URL_FILE', 'METRICS_TOKEN_FILE', 'DB_POOL_SIZE']) expect(all).toContain(name);
  });

  it('attack: a bad secret from a file is checked as strictly as a value, and its content never appears in the error', () => {
    const problems = problemsOf(() => parseConfig({ MYSQL_URL_FILE: secretFile('wrong-url', 'postgres://admin:hunter2-do-not-print@db') }, 'inventory'));
    expect(problems).toContain('MYSQL_URL (from MYSQL_URL_FILE): must be a mysql:// URL');
    expect(problems).not.toContain('hunter2');
    const short = problemsOf(() => parseConfig({ AUTH_JWT_SECRET_FILE: secretFile('short-jwt', 'tooshort-secret-xyz') }, 'gateway'));
    expect(short).toContain('AUTH_JWT_SECRET (from AUTH_JWT_SECRET_FILE): at least 32 characters');
    expect(short).not.toContain('tooshort-secret-xyz');
  });

  it("another process's secret file is that process's to refuse, as its values are", () => {
    // A subgraph does not read the gateway's JWT secret: its file missing there stops only the gateway.
    const env = { AUTH_JWT_SECRET_FILE: join(dir, 'absent') };
    expect(parseConfig(env, 'inventory').AUTH_JWT_SECRET).toBeUndefined();
    expect(() => parseConfig(env, 'gateway')).toThrow(/AUTH_JWT_SECRET_FILE: cannot read/);
    expect(() => parseConfig(env)).toThrow(/AUTH_JWT_SECRET_FILE: cannot read/);
    // When both are set for another process, neither is taken.
    expect(parseConfig({ AUTH_JWT_SECRET: 'x'.repeat(40), AUTH_JWT_SECRET_FILE: secretFile('jwt2', 'y'.repeat(40)) }, 'orders').AUTH_JWT_SECRET).toBeUndefined();
  });
});
