import { describe, expect, it } from 'vitest';
import { bindingProblem, endpointProblem, MAX_STORED_MESSAGE, redactMessage } from './connection-rules.js';

describe('endpointProblem', () => {
  it("allows each marketplace's documented hosts over https, and nothing else unless listed", () => {
    expect(endpointProblem('AMAZON', 'https://sellingpartnerapi-eu.amazon.com', [])).toBeNull();
    expect(endpointProblem('AMAZON', 'https://sandbox.sellingpartnerapi-na.amazon.com', [])).toBeNull();
    expect(endpointProblem('EBAY', 'https://api.ebay.com', [])).toBeNull();
    expect(endpointProblem('WALMART', 'https://marketplace.walmartapis.com', [])).toBeNull();
    expect(endpointProblem('SHOPIFY', 'https://outlet-uk.myshopify.com', [])).toBeNull();
    for (const [kind, url] of [
      ['EBAY', 'http://api.ebay.com'],
      ['EBAY', 'https://api.ebay.com:8443'],
      ['EBAY', 'https://api.ebay.com.attacker.net'],
      ['AMAZON', 'https://169.254.169.254/latest/meta-data'],
      ['WALMART', 'https://127.0.0.1:4030/walmart'],
      ['SHOPIFY', 'https://a.b.myshopify.com'],
      ['SHOPIFY', 'https://user:pw@outlet.myshopify.com'],
      ['EBAY', 'https://api.sandbox.ebay.com@evil.example'],
    ] as const) {
      expect(endpointProblem(kind, url, []), url).not.toBeNull();
    }
  });

  it('allows a listed host (any port) or host:port, over http or https', () => {
    expect(endpointProblem('EBAY', 'http://127.0.0.1:4030/ebay/demo', ['127.0.0.1:4030'])).toBeNull();
    expect(endpointProblem('EBAY', 'http://127.0.0.1:4031/ebay/demo', ['127.0.0.1:4030'])).not.toBeNull();
    expect(endpointProblem('EBAY', 'http://127.0.0.1:4031/ebay/demo', ['127.0.0.1'])).toBeNull();
    expect(endpointProblem('EBAY', 'ftp://127.0.0.1/x', ['127.0.0.1'])).not.toBeNull();
  });
});

describe('bindingProblem', () => {
  const connection = { kind: 'EBAY' as const, accountId: 'acct-1', channelCode: 'EBAY-UK' };
  it('lets a secret be used only by the channel and account it was issued for', () => {
    expect(bindingProblem({ kind: 'EBAY', accountId: 'acct-1', channel: 'EBAY-UK' }, connection)).toBeNull();
    expect(bindingProblem({ kind: 'EBAY', accountId: 'acct-1', channel: 'EBAY-DE' }, connection)).toContain('channel EBAY-DE');
    expect(bindingProblem({ kind: 'EBAY', accountId: 'acct-2', channel: 'EBAY-UK' }, connection)).toContain('account acct-2');
    expect(bindingProblem({ kind: 'WALMART', accountId: 'acct-1', channel: 'EBAY-UK' }, connection)).toContain('WALMART');
    expect(bindingProblem({}, connection)).toContain('kind, accountId, channel missing');
  });
});

describe('redactMessage', () => {
  it('masks what looks like a credential and bounds the length', () => {
    const token = 'v^1.1#i^1#p^3#r^1#I^3#f^0#t^Ul4xMF8xOjFFRTk4NzZCQkQxMjM0NTY3ODkwQUJDREVGXzFfMSNFXjI2MA==';
    const message = `401 Unauthorized: {"error":"invalid_token","request":{"headers":{"Authorization":"Bearer ${token}"}},"access_token=abc123def"}`;
    const redacted = redactMessage(message);
    expect(redacted).not.toContain('Ul4xMF8xOjFFRTk4NzZC');
    expect(redacted).not.toContain('abc123def');
    expect(redacted).toContain('401 Unauthorized');
    expect(redactMessage('SKU-1 Invalid quantity')).toBe('SKU-1 Invalid quantity');
    expect(redactMessage('x'.repeat(5000)).length).toBeLessThanOrEqual(MAX_STORED_MESSAGE);
  });
});
