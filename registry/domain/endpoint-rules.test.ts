import { describe, expect, it } from 'vitest';
import { endpointProblems } from './endpoint-rules.js';

describe('endpointProblems', () => {
  it('allows a listed host, on any port when listed without one, or on the listed port', () => {
    expect(endpointProblems('routing', 'http://pricing.internal:4020/graphql', ['pricing.internal'])).toEqual([]);
    expect(endpointProblems('routing', 'http://127.0.0.1:4020/graphql', ['127.0.0.1:4020'])).toEqual([]);
    expect(endpointProblems('routing', 'https://p.example.com/graphql', ['p.example.com:443'])).toEqual([]);
    expect(endpointProblems('routing', 'http://127.0.0.1:4021/graphql', ['127.0.0.1:4020'])).toHaveLength(1);
    expect(endpointProblems('routing', 'http://evil.example.com/graphql', [])).toHaveLength(1);
  });

  it('lets an admin name any host but never metadata, link-local, credentials or another scheme', () => {
    expect(endpointProblems('routing', 'http://orders.svc:4002/graphql', 'any')).toEqual([]);
    for (const bad of ['http://169.254.169.254/latest', 'http://[fd00:ec2::254]/', 'http://metadata.google.internal/', 'http://[fe80::1]/', 'http://u:p@orders.svc/', 'file:///etc/passwd', 'nonsense']) {
      expect(endpointProblems('routing', bad, 'any'), bad).not.toEqual([]);
    }
    expect(endpointProblems('subscription', 'ws://orders.svc:4002/graphql', 'any')).toEqual([]);
    expect(endpointProblems('subscription', 'http://orders.svc:4002/graphql', 'any')).toHaveLength(1);
  });
});
