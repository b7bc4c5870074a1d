import { describe, expect, it } from 'vitest';
import { dedupeRepresentations } from './entity-batching.js';

const loc = (id: string) => ({ __typename: 'Location', id });

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
