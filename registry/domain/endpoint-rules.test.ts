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
    expect(endpointProblems('routing', 'http://[::1]:4020/graphql', ['[::1]:4020'])).toEqual([]);
    expect(endpointProblems('subscription', 'http://orders.svc:4002/graphql', 'any')).toHaveLength(1);
  });
});

describe('forbidden addresses in every spelling', () => {
  const code = (url: string) => endpointProblems('routing', url, 'any').map((p) => p.code);
  it.each([
    'http://169.254.169.254/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[64:ff9b::169.254.169.254]/',
    'http://[2002:a9fe:a9fe::]/',
    'http://2852039166/',
    'http://0xa9fea9fe/',
    'http://0251.0376.0251.0376/',
    'http://169.254.169.254./',
    'http://metadata.google.internal./',
    'http://METADATA.GOOGLE.INTERNAL/',
    'http://100.100.100.200/',
    'http://[fd00:ec2::254]/',
    'http://[fe80::1]/',
  ])('%s is FORBIDDEN_ADDRESS', (url) => {
    expect(code(url)).toContain('FORBIDDEN_ADDRESS');
  });

  it('gives each problem a stable code and the URL it concerns', () => {
    expect(endpointProblems('subscription', 'nonsense', 'any')).toEqual([{ kind: 'subscription', code: 'INVALID_URL', message: expect.any(String) }]);
    expect(code('ftp://orders.svc/')).toEqual(['URL_SCHEME_NOT_ALLOWED']);
    expect(code('http://u:p@orders.svc/')).toEqual(['URL_CREDENTIALS']);
    expect(endpointProblems('routing', 'http://orders.svc/', []).map((p) => p.code)).toEqual(['HOST_NOT_ALLOWED']);
    expect(code('http://[fe80::1%25eth0]/')).toEqual(['INVALID_URL']); // zone ids are not URLs
    expect(code('http://169.254.170.2.nip.io/')).toEqual([]); // a name: refused only at connect time if it resolves so
  });
});
