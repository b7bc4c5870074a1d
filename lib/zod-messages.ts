import { z } from 'zod';

/**
 * zod's messages in our words, once for every schema of the process (input, config, job payloads):
 * "quantity: must be at least 1" rather than the library's "Too small: expected number to be >=1".
 * A schema's own message (`.refine(…, 'message')`, `{ message }`) still wins. Imported for its effect
 * by lib/errors.ts and lib/config.ts, so no parse runs before it.
 */

const plural = (n: number | bigint, word: string) => `${n} ${word}${Number(n) === 1 ? '' : 's'}`;

function sizeOf(origin: string, bound: number | bigint): string {
  if (origin === 'string') return plural(bound, 'character');
  if (origin === 'array' || origin === 'set') return plural(bound, 'item');
  return String(bound);
}

const article = (word: string) => (/^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`);
const TYPE_NAMES: Record<string, string> = { int: 'whole number', number: 'number', string: 'string', boolean: 'boolean', array: 'list', object: 'object' };

function message(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      const expected = String(issue.expected);
      return `must be ${article(TYPE_NAMES[expected] ?? expected)}`;
    }
    case 'too_small': {
      const origin = String(issue.origin);
      if ((origin === 'string' || origin === 'array') && Number(issue.minimum) === 1) return 'must not be empty';
      return issue.inclusive === false ? `must be more than ${sizeOf(origin, issue.minimum)}` : `must be at least ${sizeOf(origin, issue.minimum)}`;
    }
    case 'too_big': {
      const origin = String(issue.origin);
      return issue.inclusive === false ? `must be less than ${sizeOf(origin, issue.maximum)}` : `must be at most ${sizeOf(origin, issue.maximum)}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' ? 'has the wrong format' : `must be a valid ${issue.format === 'uuid' ? 'id (a UUID)' : issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')}`;
    default:
      return undefined; // zod's own (custom refinements carry their message)
  }
}

z.config({ customError: message });
