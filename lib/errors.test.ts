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

describe('input messages', () => {
  const schema = z.object({
    idempotencyKey: z.string().min(1).max(128),
    quantity: z.number().int().min(1).max(1_000_000_000),
    lines: z.array(z.object({ sku: z.string() })).min(1),
    condition: z.enum(['RESALABLE', 'DAMAGED']),
    locationId: z.uuid(),
  });

  it('say what is wrong in our words, once per field, without zod\'s default text', () => {
    const err = (() => {
      try {
        parseInput(schema, { idempotencyKey: '', quantity: 0, lines: [], condition: 'BROKEN', locationId: 'x' });
      } catch (e) {
        return e as BadUserInputError;
      }
      throw new Error('accepted');
    })();
    expect(err.message).toBe(
      'Invalid input: idempotencyKey: must not be empty; quantity: must be at least 1; lines: must not be empty; condition: must be one of RESALABLE, DAMAGED; locationId: must be a valid id (a UUID)',
    );
    expect(err.message).not.toMatch(/Too small|Too big|Invalid option|expected/);
  });

  it('name a missing field as required and a wrong type in plain words', () => {
    expect(() => parseInput(schema, { quantity: 2.5 })).toThrow(/idempotencyKey: is required; quantity: must be a whole number/);
  });

  it('keep a schema\'s own message', () => {
    const own = z.object({ sku: z.string().refine((s) => s.startsWith('SKU'), 'must start with SKU') });
    expect(() => parseInput(own, { sku: 'X' })).toThrow('Invalid input: sku: must start with SKU');
  });
});
