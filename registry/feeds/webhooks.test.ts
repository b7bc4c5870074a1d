import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from './webhooks.js';

describe('webhook signatures', () => {
  const body = '{"event":"SCHEMA_PUBLISHED"}';
  const now = 1_800_000_000_000;
  const t = Math.floor(now / 1000);

  it('verifies a signature made with the secret over the timestamp and body', () => {
    const header = signWebhook('secret', body, t);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhook('secret', body, header, 300, now)).toBe(true);
  });

  it('refuses another secret, another body, an old timestamp or a malformed header', () => {
    const header = signWebhook('secret', body, t);
    expect(verifyWebhook('other', body, header, 300, now)).toBe(false);
    expect(verifyWebhook('secret', `${body} `, header, 300, now)).toBe(false);
    expect(verifyWebhook('secret', body, header, 300, now + 301_000)).toBe(false);
    expect(verifyWebhook('secret', body, 'v1=abc', 300, now)).toBe(false);
    expect(verifyWebhook('secret', body, undefined, 300, now)).toBe(false);
  });
});
