import { describe, expect, it } from 'vitest';
import { gtidIncludes, parseGtidPos, replicaName } from './read-replicas.js';

describe('GTID positions', () => {
  it('keeps the highest sequence per domain', () => {
    expect(parseGtidPos('0-1-5,1-2-7, 0-3-4')).toEqual(new Map([['0', 5n], ['1', 7n]]));
    expect(parseGtidPos('')).toEqual(new Map());
  });

  it('refuses what is no position', () => {
    expect(() => parseGtidPos('0-1')).toThrow(/not a GTID position/);
    expect(() => parseGtidPos('a-b-c')).toThrow(/not a GTID position/);
  });

  it('a position includes another when every domain of it is at least as far', () => {
    expect(gtidIncludes('0-1-10', '0-1-10')).toBe(true);
    expect(gtidIncludes('0-1-10', '0-1-9')).toBe(true);
    expect(gtidIncludes('0-1-9', '0-1-10')).toBe(false);
    // A sequence written by another server in the same domain counts (sequences grow per domain).
    expect(gtidIncludes('0-2-12', '0-1-10')).toBe(true);
    // A domain the replica has never seen is not applied.
    expect(gtidIncludes('0-1-10', '0-1-10,1-1-1')).toBe(false);
    expect(gtidIncludes('0-1-10,1-1-3', '0-1-10,1-1-1')).toBe(true);
    // Nothing written yet: everything includes it.
    expect(gtidIncludes('', '')).toBe(true);
    expect(gtidIncludes('', '0-1-1')).toBe(false);
    // Beyond 2^53.
    expect(gtidIncludes('0-1-9007199254740993', '0-1-9007199254740992')).toBe(true);
  });
});

describe('replica names', () => {
  it('names host and port, never credentials', () => {
    expect(replicaName('mysql://reader:s3cret@db-replica-1:3307/x')).toBe('db-replica-1:3307');
    expect(replicaName('mysql://reader:s3cret@db-replica-2')).toBe('db-replica-2:3306');
  });
});
