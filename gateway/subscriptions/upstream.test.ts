import { describe, expect, it } from 'vitest';
import { lossReason } from './upstream.js';

describe('why an upstream subscription was lost, for the re-subscribe warning', () => {
  it('reads close events, error events and errors, never [object Object]', () => {
    expect(lossReason({ type: 'close', code: 1001, reason: 'Going away' })).toBe('closed with 1001: Going away');
    expect(lossReason({ type: 'close', code: 1006, reason: '' })).toBe('closed with 1006');
    expect(lossReason({ type: 'error', error: new Error('connect ECONNREFUSED 127.0.0.1:4001') })).toBe('connect ECONNREFUSED 127.0.0.1:4001');
    expect(lossReason({ type: 'error', message: 'socket hang up' })).toBe('socket hang up');
    expect(lossReason({ type: 'error' })).toBe('error event');
    expect(lossReason(new Error('boom'))).toBe('boom');
    for (const value of [{}, { type: 'error' }, { code: 1000 }]) expect(lossReason(value)).not.toContain('[object Object]');
  });
});
