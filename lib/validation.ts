import { z } from 'zod';
import { BadUserInputError } from './errors.js';
import { pageSizeSchema } from './pagination.js';

/** Entity ids are UUIDs (any version; seeded ids are v5, created ones v4), lower-cased: the column collation ignores case, the loaders' maps do not. */
export const idSchema = z.uuid({ error: 'must be a UUID' }).transform((id) => id.toLowerCase());

/** SKUs: letters, digits, dot, underscore and dash; up to 64 characters. */
export const skuSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"');

/** Upper-case codes for locations and channels, e.g. STR-LON-01. */
export const codeSchema = z
  .string()
  .regex(/^[A-Z0-9][A-Z0-9_-]{1,63}$/, 'must be 2-64 upper-case letters, digits, "_" or "-"');

export const timezoneSchema = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/London');

/** True when the value is a well-formed id; lookups by malformed id answer BAD_USER_INPUT, entity references null. */
export function isId(value: unknown): value is string {
  return idSchema.safeParse(value).success;
}

/**
 * @throws BadUserInputError naming the argument when the id is malformed
 */
export function assertId(value: string, argument = 'id'): string {
  const parsed = idSchema.safeParse(value);
  if (!parsed.success) throw new BadUserInputError(`${argument} must be a UUID`, [{ path: argument, message: 'must be a UUID' }]);
  return parsed.data;
}

/**
 * @throws BadUserInputError when `first` is outside 1..100
 */
export function assertPageSize(first: number | null | undefined, fallback = 20): number {
  const value = first ?? fallback;
  if (!pageSizeSchema.safeParse(value).success) {
    throw new BadUserInputError('first must be between 1 and 100', [{ path: 'first', message: 'must be between 1 and 100' }]);
  }
  return value;
}
