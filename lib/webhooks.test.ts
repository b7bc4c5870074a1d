import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook, webhookUrlProblem } from './webhooks.js';

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

describe('webhook URLs', () => {
  it('accepts http and https URLs of ordinary hosts', () => {
    expect(webhookUrlProblem('https://hooks.example.com/omnistock')).toBeNull();
    expect(webhookUrlProblem('http://127.0.0.1:8080/in')).toBeNull();
  });

  it('refuses other schemes, credentials in the URL and metadata or link-local hosts in any spelling', () => {
    expect(webhookUrlProblem('file:///etc/passwd')).toMatch(/http/);
    expect(webhookUrlProblem('gopher://example.com')).toMatch(/http/);
    expect(webhookUrlProblem('https://user:pw@example.com')).toMatch(/credentials/);
    expect(webhookUrlProblem('http://169.254.169.254/latest/meta-data')).toMatch(/link-local/);
    expect(webhookUrlProblem('http://[::ffff:169.254.169.254]/')).toMatch(/link-local/);
    expect(webhookUrlProblem('http://0xA9FEA9FE/')).toMatch(/link-local/);
    expect(webhookUrlProblem('http://metadata.google.internal./')).toMatch(/link-local/);
    expect(webhookUrlProblem('not a url')).toBe('not a URL');
  });
});
