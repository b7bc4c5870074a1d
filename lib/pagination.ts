import { z } from 'zod';
import { BadUserInputError } from './errors.js';

export const MAX_PAGE_SIZE = 100;

export const pageSizeSchema = z.number().int().min(1).max(MAX_PAGE_SIZE);

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
}

/** Cursors are opaque to clients: base64url of the keyset values of the last row seen. */
export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/** @throws BadUserInputError when the cursor was not produced by encodeCursor with `arity` values */
export function decodeCursor(cursor: string, arity: number): (string | number)[] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === arity &&
      parsed.every((v) => typeof v === 'string' || typeof v === 'number')
    ) {
      return parsed;
    }
  } catch {
    // fall through to the error below
  }
  throw new BadUserInputError('Invalid cursor', [{ path: 'after', message: 'not a cursor returned by this API' }]);
}

/**
 * Builds a connection from rows fetched with limit `first + 1`: the extra row only tells whether
 * another page exists.
 */
export function toConnection<T>(rows: T[], first: number, cursorOf: (row: T) => (string | number)[]): Connection<T> {
  const page = rows.slice(0, first);
  const edges = page.map((node) => new Edge(node, cursorOf));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

/**
 * An edge whose cursor is encoded when something reads it: most queries select the nodes alone,
 * and a page of 50 levels across 28 locations was 1,400 cursors a request nobody asked for.
 */
class Edge<T> {
  readonly #cursorOf: (row: T) => (string | number)[];

  constructor(
    readonly node: T,
    cursorOf: (row: T) => (string | number)[],
  ) {
    this.#cursorOf = cursorOf;
  }

  get cursor(): string {
    return encodeCursor(this.#cursorOf(this.node));
  }
}
