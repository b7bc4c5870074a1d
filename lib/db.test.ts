import { describe, expect, it } from 'vitest';
import { lockKey } from './db.js';

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
