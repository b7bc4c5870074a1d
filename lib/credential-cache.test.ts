import { describe, expect, it } from 'vitest';
import { CredentialCache } from './credential-cache.js';

const row = (id: string) => ({ id });

describe('CredentialCache', () => {
  it('keeps an entry (a row, or null for an unknown key) for its time to live', () => {
    const cache = new CredentialCache<{ id: string } | null>(1000);
    cache.set('known', row('k1'), 0);
    cache.set('unknown', null, 0);
    expect(cache.get('known', 999)).toEqual(row('k1'));
    expect(cache.get('unknown', 999)).toBeNull();
    expect(cache.get('known', 1000)).toBeUndefined();
    expect(cache.get('never-seen', 0)).toBeUndefined();
  });

  it('ends an entry earlier when given an end (a JWT past its expiry is checked again, and refused)', () => {
    const cache = new CredentialCache<string>(60_000);
    cache.set('token', 'identity', 0, 500);
    expect(cache.get('token', 499)).toBe('identity');
    expect(cache.get('token', 500)).toBeUndefined();
  });

  it('drops the oldest entries past its size, and a dropped key at once', () => {
    const cache = new CredentialCache<{ id: string } | null>(60_000, 2);
    cache.set('a', row('a'), 0);
    cache.set('b', row('b'), 0);
    cache.set('c', row('c'), 0);
    expect([cache.get('a', 1), cache.get('b', 1)?.id, cache.get('c', 1)?.id]).toEqual([undefined, 'b', 'c']);
    cache.drop('b');
    expect(cache.get('b', 1)).toBeUndefined();
  });
});
