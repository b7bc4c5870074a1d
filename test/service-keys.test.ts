import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readServiceKeys, ServiceTokenSigner, ServiceTokenVerifier } from '../lib/service-token.js';
import { runScript } from './process.js';

/**
 * Rotating the service token keys without downtime, with the CLI as an operator runs it: every
 * step leaves a key set in which tokens signed before it still verify, until the old key is removed.
 */
const cli = async (...args: string[]) => {
  const run = await runScript('scripts/cli.ts', ['service-keys', ...args], {}, 50_000);
  return { ...run, out: run.stdout.trim() };
};

describe('omnistock service-keys', () => {
  it('creates, adds, promotes and removes keys, and a token of the old key verifies until its key is removed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'omnistock-keys-')), 'service-keys.json');
    expect((await cli('create', '--file', file)).code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((await cli('create', '--file', file)).code).toBe(1);
    const first = readServiceKeys({ file });
    const oldToken = await new ServiceTokenSigner(first, 'gateway', 60).token('inventory', { clientId: 'web', scopes: [] });

    const added = await cli('add', '--file', file);
    expect(added.code).toBe(0);
    const newKid = /added (\S+);/.exec(added.out)![1]!;
    expect(readServiceKeys({ file }).signing.kid).toBe(first.signing.kid);

    expect((await cli('remove', '--file', file, '--kid', first.signing.kid)).code).toBe(1);
    expect((await cli('promote', '--file', file, '--kid', newKid)).code).toBe(0);
    const promoted = readServiceKeys({ file });
    expect(promoted.signing.kid).toBe(newKid);
    const newToken = await new ServiceTokenSigner(promoted, 'gateway', 60).token('inventory', { clientId: 'web', scopes: [] });
    const during = new ServiceTokenVerifier(promoted, 'inventory');
    await expect(during.verify(oldToken)).resolves.toMatchObject({ clientId: 'web' });
    await expect(during.verify(newToken)).resolves.toMatchObject({ clientId: 'web' });

    expect((await cli('remove', '--file', file, '--kid', first.signing.kid)).code).toBe(0);
    const after = new ServiceTokenVerifier(readServiceKeys({ file }), 'inventory');
    await expect(after.verify(oldToken)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(after.verify(newToken)).resolves.toMatchObject({ clientId: 'web' });

    const published = JSON.parse((await cli('public', '--file', file)).out) as { keys: Record<string, unknown>[] };
    expect(published.keys.map((k) => k['kid'])).toEqual([newKid]);
    expect(published.keys[0]).not.toHaveProperty('d');
  });
});
