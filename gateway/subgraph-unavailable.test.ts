import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SubgraphTransportError, transportFailure, unavailableResponse } from './subgraph-unavailable.js';

describe('transportFailure', () => {
  it('classifies fetch failures with no answer and gateway statuses as unavailability', () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(transportFailure('locations', refused, undefined, 1000)?.reason).toBe('ECONNREFUSED');
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    expect(transportFailure('locations', timeout, undefined, 1000)?.reason).toBe('no answer within 1000 ms');
    expect(transportFailure('locations', new Error('503: Service Unavailable'), { status: 503 }, 1000)?.reason).toBe('HTTP 503');
  });

  it('leaves answers of the subgraph itself alone', () => {
    expect(transportFailure('locations', new Error('400: Bad Request'), { status: 400 }, 1000)).toBeNull();
    expect(transportFailure('locations', new Error('Expected JSON response body'), { status: 200 }, 1000)).toBeNull();
    expect(transportFailure('locations', new Error('Missing query'), undefined, 1000)).toBeNull();
  });
});

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
