import { GraphQLScalarType, Kind } from 'graphql';

/** ISO-8601 timestamps in UTC, e.g. 2026-11-22T16:00:00.000Z. */
export const DateTime = new GraphQLScalarType({
  name: 'DateTime',
  description: 'An ISO-8601 timestamp in UTC.',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new TypeError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue(value) {
    return parseDate(value);
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new TypeError('DateTime must be an ISO-8601 string');
    return parseDate(ast.value);
  },
});

function parseDate(value: unknown): Date {
  if (typeof value !== 'string') throw new TypeError('DateTime must be an ISO-8601 string');
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new TypeError(`"${value}" is not a valid ISO-8601 timestamp`);
  return date;
}
