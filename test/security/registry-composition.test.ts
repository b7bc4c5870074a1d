import { afterAll, describe, expect, it } from 'vitest';
import { compose, type SubgraphSource } from '../../contracts/composition.js';
import { RateLimitedError } from '../../lib/errors.js';
import { Composer } from '../../registry/services/composer.js';

/**
 * #16 item 7: a check's composition cannot stall the gateway's event loop. The attack is a partner
 * proposing a very large schema: composing it takes the CPU for a long while, and the registry runs
 * in the gateway's process. Timers stand for the gateway's requests: they must keep running while
 * the composition is under way (on the main thread none can), and compositions cannot pile up.
 */
/** Two subgraphs of `types` entity types each, every type linking to eight others. */
const schemaOf = (types: number): SubgraphSource[] =>
  Array.from({ length: 2 }, (_, s) => ({
    name: `big${s}`,
    url: `http://127.0.0.1:1/graphql`,
    sdl: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type Query { big${s}: [Big${s}T0] }
${Array.from({ length: types }, (_, t) => `type Big${s}T${t} @key(fields: "id") { id: ID! ${Array.from({ length: 8 }, (_, f) => `f${f}: Big${s}T${(t + f + 1) % types}`).join(' ')} }`).join('\n')}`,
  }));
const LARGE = schemaOf(150);

/** How many times a 1 ms timer fired while `work` ran. */
async function ticksDuring(work: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return ticks;
}

const composer = new Composer({ maxQueued: 2, timeoutMs: 120_000 });
afterAll(() => composer.close());

describe('the registry composes off the event loop', () => {
  it('keeps the event loop turning while a large schema composes, where composing inline stops it', async () => {
    expect(await ticksDuring(async () => expect(compose(LARGE).ok).toBe(true))).toBe(0);
    let result: Awaited<ReturnType<Composer['compose']>> | undefined;
    expect(await ticksDuring(async () => (result = await composer.compose(LARGE)))).toBeGreaterThan(0);
    expect(result).toMatchObject({ ok: true });
    expect(result!.ok && result!.supergraphSdl).toContain('type Big0T149');
  });

  it('refuses compositions past its queue instead of piling them up', async () => {
    const queued = [composer.compose(LARGE), composer.compose(LARGE)];
    await expect(composer.compose(LARGE)).rejects.toBeInstanceOf(RateLimitedError);
    for (const r of await Promise.all(queued)) expect(r.ok).toBe(true);
  });
});

describe('a composition that overruns', () => {
  it('fails alone with COMPOSITION_TIMEOUT, and those queued behind it compose within their own time', async () => {
    // Seconds of composing each, against a 1 s limit; the small ones take milliseconds (a few hundred in a new thread).
    const strict = new Composer({ maxQueued: 8, timeoutMs: 1000 });
    try {
      const HUGE = schemaOf(900);
      const SMALL = schemaOf(2);
      // Queued behind two overruns: 2 s or more after they were queued, within their own limit.
      const results = await Promise.all([strict.compose(HUGE), strict.compose(HUGE), strict.compose(SMALL), strict.compose(SMALL)]);
      for (const r of results.slice(0, 2)) expect(r).toEqual({ ok: false, errors: [{ code: 'COMPOSITION_TIMEOUT', message: expect.stringContaining('1000 ms'), subgraphs: [] }], contracts: [] });
      for (const r of results.slice(2)) expect(r).toMatchObject({ ok: true });
    } finally {
      await strict.close();
    }
  });
});
