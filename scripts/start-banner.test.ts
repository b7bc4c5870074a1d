import { describe, expect, it } from 'vitest';
import { configWith } from '../lib/config.js';
import { authBanner } from './system.js';

describe('the start banner on authentication', () => {
  it('says authentication is off, and that production must enforce it, where it was switched off', () => {
    const line = authBanner(configWith({ NODE_ENV: 'development', AUTH_MODE: 'off' }));
    expect(line).toContain('OFF');
    expect(line).toContain('AUTH_MODE=off');
    expect(line).toContain('Production must run with AUTH_MODE=enforce');
  });

  it('says authentication is enforced, and what callers without credentials get', () => {
    expect(authBanner(configWith({ NODE_ENV: 'production', AUTH_MODE: '' }))).toContain('enforced');
    // Enforced by default, in development too.
    expect(authBanner(configWith({ NODE_ENV: 'development', AUTH_MODE: '' }))).toContain('enforced');
    const line = authBanner(configWith({ AUTH_MODE: 'enforce', AUTH_PUBLIC_SCOPES: 'availability:read' }));
    expect(line).toContain('enforced');
    expect(line).toContain('callers without credentials get only availability:read');
    expect(line).not.toContain('OFF');
  });
});
