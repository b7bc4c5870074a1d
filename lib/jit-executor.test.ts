import { describe, expect, it } from 'vitest';
import { SerializedData, stringifyResult } from './jit-executor.js';

describe('SerializedData', () => {
  const data = new SerializedData('{"availability":[{"sku":"A-1","locations":[]},null]}');

  it('is sent as its text when it is the whole answer', () => {
    expect(stringifyResult({ data })).toBe('{"data":{"availability":[{"sku":"A-1","locations":[]},null]}}\n');
  });

  it('is serialized as the value it stands for beside errors or extensions, and by anything else', () => {
    const withExtensions = { data, extensions: { cost: 1 } };
    expect(JSON.parse(stringifyResult(withExtensions))).toEqual({ data: { availability: [{ sku: 'A-1', locations: [] }, null] }, extensions: { cost: 1 } });
    expect(JSON.parse(JSON.stringify({ data }))).toEqual(JSON.parse(stringifyResult({ data })));
  });

  it('serializes any other answer as JSON.stringify does', () => {
    const plain = { data: { a: 1 }, errors: undefined };
    expect(stringifyResult(plain)).toBe(`${JSON.stringify(plain)}\n`);
  });
});
