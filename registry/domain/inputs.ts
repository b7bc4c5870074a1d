import { z } from 'zod';

/** Input rules the registry's services share. */

/** A subgraph's or a team's name. */
export const nameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, _ and -, starting with a letter; at most 64');
export const httpUrl = z.url().refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');
export const wsUrl = z.url().refine((u) => /^wss?:\/\//.test(u), 'must be a ws(s) URL');

export const DAY_MS = 24 * 60 * 60 * 1000;

/** A date as YYYY-MM-DD (UTC), as usage and deprecations are kept. */
export function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** A proposed subgraph schema, as check and publish take it. */
export const publishSchema = z.object({
  subgraph: nameSchema,
  sdl: z.string().min(1).max(1_000_000),
  routingUrl: httpUrl.nullish(),
  subscriptionUrl: wsUrl.nullish(),
  author: z.string().min(1).max(200).nullish(),
  commit: z.string().min(1).max(200).nullish(),
  team: nameSchema.nullish(),
});
export type ProposalInput = z.output<typeof publishSchema>;
