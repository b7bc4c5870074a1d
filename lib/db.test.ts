import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, lockKey } from './db.js';

describe('lockKey', () => {
  it('keeps short names and shortens long ones to 64 characters, distinctly', () => {
    expect(lockKey('omnistock_migrate_omnistock_inventory')).toBe('omnistock_migrate_omnistock_inventory');
    const a = lockKey(`omnistock_outbox_relay:${'x'.repeat(60)}_inventory`);
    const b = lockKey(`omnistock_outbox_relay:${'x'.repeat(60)}_channels`);
    expect(a).toHaveLength(64);
    expect(b).toHaveLength(64);
    expect(a).not.toBe(b);
  });
});

describe('isDatabaseUnavailable', () => {
  const withCode = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(code), { code, ...extra });

  it('recognises refused, reset and timed-out connections, also inside TypeORM’s QueryFailedError', () => {
    expect(isDatabaseUnavailable(withCode('ECONNREFUSED', { errno: -111, fatal: true }))).toBe(true);
    expect(isDatabaseUnavailable(withCode('PROTOCOL_CONNECTION_LOST', { fatal: true }))).toBe(true);
    expect(isDatabaseUnavailable(withCode('ETIMEDOUT'))).toBe(true);
    // QueryFailedError copies the driver error's fields and keeps it as driverError.
    expect(isDatabaseUnavailable(Object.assign(new Error('query failed'), { driverError: withCode('ECONNRESET') }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: withCode('EPIPE') }))).toBe(true);
  });

  it('recognises a connection mysql2 closed after a fatal error and a full pool queue', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Queue limit reached.'))).toBe(true);
  });

  it('leaves errors of the statement itself, and refused credentials, alone', () => {
    expect(isDatabaseUnavailable(withCode('ER_DUP_ENTRY', { errno: 1062 }))).toBe(false);
    expect(isDatabaseUnavailable(withCode('ER_LOCK_DEADLOCK', { errno: 1213 }))).toBe(false);
    expect(isDatabaseUnavailable(withCode('ER_ACCESS_DENIED_ERROR', { errno: 1045, fatal: true }))).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
  });
});
