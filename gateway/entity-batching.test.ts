import { describe, expect, it } from 'vitest';
import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { dedupeRepresentations, EntityFetchBatcher, RepresentationIndex } from './entity-batching.js';

const loc = (id: string) => ({ __typename: 'Location', id });

describe('RepresentationIndex', () => {
  it('gives equal representations one index, and any two that differ (a member, a value, their order, a type) their own', () => {
    const index = new RepresentationIndex();
    const same = [
      [{ __typename: 'Location', id: 'a' }, { __typename: 'Location', id: 'a' }],
      [{ __typename: 'Item', sku: 'S', region: 'EU' }, { __typename: 'Item', sku: 'S', region: 'EU' }],
      [{ __typename: 'Item', sku: 'S', dims: { w: 1 } }, { __typename: 'Item', sku: 'S', dims: { w: 1 } }],
    ];
    for (const [a, b] of same) expect(index.indexOf(a)).toBe(index.indexOf(b));
    const distinct: unknown[] = [
      { __typename: 'Location', id: 'b' },
      { __typename: 'Item', id: 'a' },
      // Where one member ends and the next begins
      { ab: 'c' },
      { a: 'bc' },
      { a: 'b', c: '' },
      // Order of members
      { id: 'a', __typename: 'Location' },
      // Types of values
      { __typename: 'Item', sku: 'S', qty: '1' },
      { __typename: 'Item', sku: 'S', qty: 1 },
      { __typename: 'Item', sku: 'S', dims: { w: 2 } },
      {},
      'Location',
    ];
    const indexes = [...same.map(([a]) => index.indexOf(a)), ...distinct.map((r) => index.indexOf(r))];
    expect(new Set(indexes).size).toBe(indexes.length);
    expect(index.unique).toHaveLength(indexes.length);
    expect(index.unique[index.indexOf({ a: 'bc' })]).toEqual({ a: 'bc' });
  });
});

describe('dedupeRepresentations', () => {
  it('sends each distinct representation once and gives every place its own copy of the answer', () => {
    const fetch = dedupeRepresentations({ query: 'q', variables: { representations: [loc('a'), loc('b'), loc('a'), loc('a')], other: 1 } })!;
    expect(fetch.request.variables).toEqual({ representations: [loc('a'), loc('b')], other: 1 });
    const answer = fetch.expand({ data: { _entities: [{ name: 'A' }, { name: 'B' }] } });
    const entities = (answer.data as { _entities: { name: string }[] })._entities;
    expect(entities).toEqual([{ name: 'A' }, { name: 'B' }, { name: 'A' }, { name: 'A' }]);
    // Separate objects: the gateway merges each into its own place.
    expect(entities[2]).not.toBe(entities[0]);
  });

  it('repeats an entity error at every place of that entity, and leaves other errors as they are', () => {
    const fetch = dedupeRepresentations({ query: 'q', variables: { representations: [loc('a'), loc('b'), loc('b')] } })!;
    const answer = fetch.expand({
      data: { _entities: [{ name: 'A' }, null] },
      errors: [{ message: 'gone', path: ['_entities', 1, 'name'] }, { message: 'general' }],
    });
    expect(answer.errors).toEqual([
      { message: 'gone', path: ['_entities', 1, 'name'] },
      { message: 'gone', path: ['_entities', 2, 'name'] },
      { message: 'general' },
    ]);
    expect((answer.data as { _entities: unknown[] })._entities).toEqual([{ name: 'A' }, null, null]);
  });

  it('leaves fetches without repeats, without representations, or answered in another shape alone', () => {
    expect(dedupeRepresentations({ query: 'q', variables: { representations: [loc('a'), loc('b')] } })).toBeNull();
    expect(dedupeRepresentations({ query: 'q', variables: { skus: ['x', 'x'] } })).toBeNull();
    const fetch = dedupeRepresentations({ query: 'q', variables: { representations: [loc('a'), loc('a')] } })!;
    const odd = { data: { _entities: [] }, errors: [{ message: 'bad' }] };
    expect(fetch.expand(odd)).toBe(odd);
  });
});

describe('EntityFetchBatcher', () => {
  const entityFetch = (...ids: string[]): GatewayGraphQLRequest => ({ query: 'q', variables: { representations: ids.map(loc), locale: 'en' } });
  /** A subgraph that answers each representation by name, or with an error for `bad`, recording what it was sent. */
  const subgraph = () => {
    const sent: GatewayGraphQLRequest[] = [];
    const send = async (request: GatewayGraphQLRequest): Promise<GatewayGraphQLResponse> => {
      sent.push(request);
      const reps = request.variables!['representations'] as { id: string }[];
      const errors = reps.flatMap((r, i) => (r.id === 'bad' ? [{ message: 'no such location', path: ['_entities', i, 'name'] }] : []));
      return { data: { _entities: reps.map((r) => (r.id === 'bad' ? null : { name: r.id.toUpperCase() })) }, errors: [...errors, { message: 'deprecated field' }] };
    };
    return { sent, send };
  };

  it('sends the fetches of one key made in the same turn as one, and gives each its part of the answer', async () => {
    const batcher = new EntityFetchBatcher();
    const { sent, send } = subgraph();
    const answers = await Promise.all([
      batcher.fetch('k', entityFetch('a', 'b'), send),
      batcher.fetch('k', entityFetch('bad', 'c'), send),
      batcher.fetch('k', entityFetch('d'), send),
    ]);
    expect(sent).toEqual([{ query: 'q', variables: { representations: ['a', 'b', 'bad', 'c', 'd'].map(loc), locale: 'en' } }]);
    expect(answers).toEqual([
      { data: { _entities: [{ name: 'A' }, { name: 'B' }] }, errors: [{ message: 'deprecated field' }] },
      { data: { _entities: [null, { name: 'C' }] }, errors: [{ message: 'no such location', path: ['_entities', 0, 'name'] }, { message: 'deprecated field' }] },
      { data: { _entities: [{ name: 'D' }] }, errors: [{ message: 'deprecated field' }] },
    ]);
  });

  it('sends other keys, no key, fetches of a later turn and fetches past the size bound apart', async () => {
    const batcher = new EntityFetchBatcher(0, 3);
    const { sent, send } = subgraph();
    await Promise.all([batcher.fetch('k', entityFetch('a'), send), batcher.fetch('other', entityFetch('b'), send), batcher.fetch(null, entityFetch('c'), send)]);
    expect(sent).toHaveLength(3);
    await batcher.fetch('k', entityFetch('d'), send);
    expect(sent).toHaveLength(4);
    await Promise.all([batcher.fetch('k', entityFetch('e', 'f'), send), batcher.fetch('k', entityFetch('g', 'h'), send)]);
    expect(sent.slice(4).map((r) => (r.variables!['representations'] as unknown[]).length)).toEqual([2, 2]);
  });

  it('waits its window for more fetches when given one', async () => {
    const batcher = new EntityFetchBatcher(30);
    const { sent, send } = subgraph();
    const first = batcher.fetch('k', entityFetch('a'), send);
    await new Promise((r) => setTimeout(r, 5));
    await Promise.all([first, batcher.fetch('k', entityFetch('b'), send)]);
    expect(sent).toHaveLength(1);
  });

  it('fails every merged fetch when the one call fails', async () => {
    const batcher = new EntityFetchBatcher();
    const down = async () => Promise.reject(new Error('ECONNREFUSED'));
    const results = await Promise.allSettled([batcher.fetch('k', entityFetch('a'), down), batcher.fetch('k', entityFetch('b'), down)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
