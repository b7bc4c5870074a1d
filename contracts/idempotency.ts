import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Idempotency rules every service that takes a caller's key follows (inventory's movements and
 * reservations, orders' commands): the key's bounds, and the fingerprint that tells a retry of the
 * same request apart from the same key reused for another one (CONFLICT).
 */
export const idempotencyKeySchema = z.string().min(1).max(128);

/** A stable fingerprint of a parsed request: a key reused for another request is told apart from a retry. */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}
