import { describe, expect, it } from 'vitest';
import { BadUserInputError } from '../../lib/errors.js';
import { DEFAULT_ENVIRONMENTS, environmentOf, usageEnvironments } from './environments.js';

describe('registry environments', () => {
  it('defaults to production and refuses an environment the registry does not have', () => {
    expect(environmentOf(DEFAULT_ENVIRONMENTS, undefined)).toBe('production');
    expect(environmentOf(DEFAULT_ENVIRONMENTS, null)).toBe('production');
    expect(environmentOf(DEFAULT_ENVIRONMENTS, 'staging')).toBe('staging');
    expect(() => environmentOf(DEFAULT_ENVIRONMENTS, 'qa')).toThrow(BadUserInputError);
    expect(() => environmentOf(DEFAULT_ENVIRONMENTS, 'qa', 'to')).toThrow(/Unknown registry environment "qa": the registry has staging, production/);
  });

  it("weighs production's usage in every environment's checks, and the environment's own", () => {
    expect(usageEnvironments('production')).toEqual(['production']);
    expect(usageEnvironments('staging')).toEqual(['production', 'staging']);
  });
});
