import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SubgraphTransportError, unavailableResponse } from './subgraph-unavailable.js';

describe('unavailableResponse', () => {
  const failure = new SubgraphTransportError('locations', 'ECONNREFUSED');

  it('answers one error per entity representation, at _entities.i', () => {
    const res = unavailableResponse({ query: 'query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Location { name } } }', variables: { representations: [{}, {}] } }, undefined, failure);
    expect(res.errors.map((e) => e.path)).toEqual([['_entities', 0], ['_entities', 1]]);
    expect(res.errors[0]!.extensions).toEqual({ code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'locations' });
    expect(res.errors[0]!.message).toContain('locations service is unavailable (ECONNREFUSED)');
  });

  it('answers one error per root field of a root fetch, by response key', () => {
    const query = '{ location(id: "1") { id } all: locations { id } }';
    expect(unavailableResponse({ query }, parse(query), failure).errors.map((e) => e.path)).toEqual([['location'], ['all']]);
    expect(unavailableResponse({ query }, undefined, failure).errors.map((e) => e.path)).toEqual([['location'], ['all']]);
  });
});
