import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { Config } from '../../lib/config.js';
import { ApiKeyService, openRegistryDatabase } from '../../registry/index.js';

/** The demo's client applications: what each may do, and why it exists. */
export const DEMO_KEYS = [
  { role: 'storefront', clientId: 'demo-storefront', scopes: ['availability:read', 'inventory:read', 'orders:read', 'orders:write'], what: 'a web storefront: availability, orders' },
  { role: 'clienteling', clientId: 'demo-clienteling', scopes: ['availability:read', 'inventory:read', 'orders:read'], what: 'a store associate app: live stock' },
  {
    role: 'operator',
    clientId: 'demo-operator',
    scopes: [
      'admin',
      'availability:read',
      'inventory:read',
      'inventory:write',
      'orders:read',
      'orders:write',
      'locations:admin',
      'channels:admin',
      'exceptions:read',
      'exceptions:write',
      'exceptions:admin',
      'ops:read',
      'registry:admin',
    ],
    what: 'operations: every field, /ops and its exceptions inbox, the registry',
  },
  {
    role: 'partner',
    clientId: 'demo-pricing',
    team: 'pricing',
    scopes: ['availability:read', 'inventory:read', 'registry:check:pricing', 'registry:publish:pricing', 'registry:documents:demo-pricing'],
    what: 'the pricing team: its own subgraph in the registry',
  },
] as const;
export type DemoRole = (typeof DEMO_KEYS)[number]['role'];

/** Demo keys live this long, and are issued again when they expired or were revoked. */
const LIFETIME_MS = 30 * 24 * 3600 * 1000;

const fileSchema = z.record(z.string(), z.string());

/** Where the demo keys of this installation's databases (DB_PREFIX) are kept: a git-ignored file only this user may read. */
export function demoKeysFile(cfg: Config): string {
  return join('.omnistock', `demo-keys-${cfg.DB_PREFIX}.json`);
}

/** Where npm start keeps this installation's service token keys when none are configured (SERVICE_TOKEN_KEYS_FILE). */
export function serviceKeysFile(cfg: Config): string {
  return join('.omnistock', `service-keys-${cfg.DB_PREFIX}.json`);
}

/**
 * The demo API keys, idempotently: those kept in demoKeysFile that still authenticate with every
 * scope of their role are reused, the others (first start, expired, revoked, another database, a
 * role given new scopes) are issued again and kept.
 * @returns the key of each role, and how many were issued now
 */
export async function ensureDemoKeys(cfg: Config, file = demoKeysFile(cfg)): Promise<{ keys: Record<DemoRole, string>; issued: number }> {
  const kept = await readFile(file, 'utf8').then(
    (text) => fileSchema.safeParse(JSON.parse(text)).data ?? {},
    () => ({}) as Record<string, string>,
  );
  const ds = await openRegistryDatabase(cfg);
  try {
    const service = new ApiKeyService(ds);
    const keys = {} as Record<DemoRole, string>;
    let issued = 0;
    for (const demo of DEMO_KEYS) {
      const current = kept[demo.role];
      const identity = current ? await service.authenticate(current).catch(() => null) : null;
      if (identity?.clientId === demo.clientId) {
        if (demo.scopes.every((scope) => identity.scopes.includes(scope))) {
          keys[demo.role] = current!;
          continue;
        }
        // The role gained scopes since the key was issued (e.g. exceptions:* for the inbox): a key
        // with them replaces it, and the old one stops working rather than lingering unlisted.
        if (identity.key) await service.revoke(identity.key.id);
      }
      const { key } = await service.create({
        clientId: demo.clientId,
        team: 'team' in demo ? demo.team : null,
        description: `npm start demo key: ${demo.what}`,
        scopes: [...demo.scopes],
        expiresInMs: LIFETIME_MS,
        createdBy: 'npm start',
      });
      keys[demo.role] = key;
      issued++;
    }
    if (issued) {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
      await chmod(file, 0o600);
    }
    return { keys, issued };
  } finally {
    await ds.destroy();
  }
}
