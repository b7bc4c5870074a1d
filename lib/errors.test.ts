import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BadUserInputError, DependencyUnavailableError, formatError, NotFoundError, parseInput } from './errors.js';

const formatted = (error: GraphQLError) => formatError(error.toJSON(), error);

describe('formatError', () => {
  it('keeps a domain error code and details', () => {
    const err = new GraphQLError('x', { originalError: new NotFoundError('Location', 'abc') });
    expect(formatted(err)).toMatchObject({ message: 'Location "abc" not found', extensions: { code: 'NOT_FOUND', entity: 'Location' } });
  });

  it('passes public codes through without stack traces', () => {
    const err = new GraphQLError('Syntax Error', { extensions: { code: 'GRAPHQL_PARSE_FAILED', stacktrace: ['a'] } });
    expect(formatted(err)).toEqual({ message: 'Syntax Error', extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  });

  it('masks anything else as INTERNAL_SERVER_ERROR', () => {
    const err = new GraphQLError('connect ECONNREFUSED 10.0.0.1:3306', { originalError: new Error('secret detail') });
    const out = formatted(err);
    expect(out.message).toBe('Internal server error');
    expect(out.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });

  it('maps an unreachable database to DATABASE_UNAVAILABLE, saying to retry, without the driver detail', () => {
    const driver = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:3306'), { code: 'ECONNREFUSED', errno: -111 });
    const out = formatted(new GraphQLError(driver.message, { originalError: driver, path: ['recordMovement'] }));
    expect(out).toEqual({ message: 'The database is unreachable. Retry shortly; a write retried with the same idempotency key is applied at most once.', path: ['recordMovement'], extensions: { code: 'DATABASE_UNAVAILABLE' } });
  });
  it('maps a service this one calls being unavailable to SUBGRAPH_UNAVAILABLE naming it, without the reason', () => {
    const down = new DependencyUnavailableError('inventory', 'fetch failed (ECONNREFUSED 10.0.0.7:4001)');
    const out = formatted(new GraphQLError(down.message, { originalError: down, path: ['fulfilOrder'] }));
    expect(out).toEqual({
      message: 'The inventory service is unavailable. Retry shortly; a write retried with the same idempotency key is applied at most once.',
      path: ['fulfilOrder'],
      extensions: { code: 'SUBGRAPH_UNAVAILABLE', serviceName: 'inventory' },
    });
  });
});

describe('parseInput', () => {
  it('lists every issue in one BAD_USER_INPUT error', () => {
    const schema = z.object({ a: z.number().positive(), b: z.string().min(2) });
    try {
      parseInput(schema, { a: -1, b: '' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BadUserInputError);
      expect((err as BadUserInputError).details.issues).toHaveLength(2);
    }
  });
});
