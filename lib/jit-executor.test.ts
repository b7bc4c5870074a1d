import { describe, expect, it } from 'vitest';
import { SerializedData, stringifyResult } from './jit-executor.js';

describe('SerializedData', () => {
  const data = new SerializedData(['{"availability":[', '{"sku":"A-1","locations":[]}', ',', 'null', ']}'].map((c) => Buffer.from(c)));

  it('is sent as its bytes when it is the whole answer, which read as its text wherever Apollo Server joins answers (a batch)', () => {
    const sent = stringifyResult({ data });
    expect(Buffer.isBuffer(sent)).toBe(true);
    expect(sent.toString()).toBe('{"data":{"availability":[{"sku":"A-1","locations":[]},null]}}\n');
    // @apollo/server's httpBatching: `[${responseBodies.join(',')}]`
    expect(`[${[sent, sent].join(',')}]`).toBe(`[${'{"data":{"availability":[{"sku":"A-1","locations":[]},null]}}\n'},${'{"data":{"availability":[{"sku":"A-1","locations":[]},null]}}\n'}]`);
  });

  it('is serialized as the value it stands for beside errors or extensions, and by anything else', () => {
    const withExtensions = { data, extensions: { cost: 1 } };
    expect(JSON.parse(stringifyResult(withExtensions))).toEqual({ data: { availability: [{ sku: 'A-1', locations: [] }, null] }, extensions: { cost: 1 } });
    expect(JSON.parse(JSON.stringify({ data }))).toEqual(JSON.parse(stringifyResult({ data }).toString()));
  });

  it('serializes any other answer as JSON.stringify does', () => {
    const plain = { data: { a: 1 }, errors: undefined };
    expect(Buffer.isBuffer(stringifyResult(plain))).toBe(true);
    expect(String(stringifyResult(plain))).toBe(`${JSON.stringify(plain)}\n`);
  });
});
