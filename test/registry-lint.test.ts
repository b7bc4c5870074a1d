import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { lintSubgraph } from '../registry/domain/lint.js';
import { SUBGRAPH_NAMES } from '../lib/config.js';
import { repoSdl } from './registry-helpers.js';

describe('our own subgraph schemas', () => {
  it.each(SUBGRAPH_NAMES)('%s passes the registry lint', (name) => {
    const sdl = parse(repoSdl(name));
    const issues = lintSubgraph(sdl, { now: new Date(), firstDeprecated: () => undefined, usage: () => 0 });
    expect(issues.map((i) => `${i.rule} ${i.message}`)).toEqual([]);
  });
});
