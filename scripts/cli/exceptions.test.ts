import { describe, expect, it } from 'vitest';
import { actionVariables, columns } from './exceptions.js';

const MAP_LISTING = {
  operation:
    'mutation MapListing($channelId: ID!, $sku: String!, $marketplaceSku: String!) { setMarketplaceListing(channelId: $channelId, input: { sku: $sku, marketplaceSku: $marketplaceSku }) { sku } }',
  variables: JSON.stringify({ channelId: 'c1', marketplaceSku: 'MKT-1' }),
  missing: ['sku'],
};
const SET_BUFFER = {
  operation: 'mutation SetBuffer($channelId: ID!, $units: Int!) { setChannelBuffer(channelId: $channelId, buffer: { kind: UNITS, value: $units }) { id } }',
  variables: JSON.stringify({ channelId: 'c1', units: 5 }),
  missing: [],
};
const REPLAY = {
  operation: 'mutation ReplayDeadLetters($channelId: ID!, $ids: [ID!]) { replayDeadLetters(channelId: $channelId, ids: $ids) { replayed { id } } }',
  variables: JSON.stringify({ channelId: 'c1', ids: null }),
  missing: [],
};

describe('the variables `exceptions act` sends', () => {
  it('names what is still missing until --var gives it', () => {
    expect(actionVariables(MAP_LISTING, [])).toEqual({ variables: { channelId: 'c1', marketplaceSku: 'MKT-1' }, missing: ['sku'] });
    expect(actionVariables(MAP_LISTING, ['sku=SKU-9'])).toEqual({ variables: { channelId: 'c1', marketplaceSku: 'MKT-1', sku: 'SKU-9' }, missing: [] });
    expect(actionVariables(MAP_LISTING, ['sku=']).missing).toEqual(['sku']);
  });

  it('types a value as the operation declares it, lists split on commas, and keeps an = inside a value', () => {
    expect(actionVariables(SET_BUFFER, ['units=12']).variables).toEqual({ channelId: 'c1', units: 12 });
    expect(() => actionVariables(SET_BUFFER, ['units=twelve'])).toThrow('--var units: expected a whole number, not "twelve"');
    expect(actionVariables(REPLAY, ['ids=a, b']).variables).toEqual({ channelId: 'c1', ids: ['a', 'b'] });
    expect(actionVariables(MAP_LISTING, ['sku=A=B']).variables['sku']).toBe('A=B');
  });

  it('refuses a variable the operation does not take, or no name=value', () => {
    expect(() => actionVariables(SET_BUFFER, ['buffer=3'])).toThrow('--var buffer: the action takes no such variable (it takes channelId, units)');
    expect(() => actionVariables(SET_BUFFER, ['=3'])).toThrow('--var =3: expected name=value');
  });
});

describe('columns', () => {
  it('pads each column to its widest cell, the last one as it is', () => {
    expect(columns([['ID', 'STATE', 'TITLE'], ['abc', 'OPEN', 'One'], ['a', 'ACKNOWLEDGED', 'Two']])).toBe('ID   STATE         TITLE\nabc  OPEN          One\na    ACKNOWLEDGED  Two');
  });
});
