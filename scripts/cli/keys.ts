/**
 * `omnistock keys …`: API keys, the one identity store of the gateway (scopes such as
 * availability:read) and the schema registry (registry:admin, registry:publish:<subgraph>, …), run against the gateway's
 * database of this installation's configuration (like `omnistock registry --local`: whoever can
 * reach the database may manage keys). A key is printed once, when created; only its hash is kept.
 */
import { Command } from 'commander';
import { pino } from 'pino';
import { config } from '../../lib/config.js';
import { logger, setLogDestination } from '../../lib/logger.js';
import type { ApiKeyEntity } from '../../registry/data/api-key.entity.js';
import { ApiKeyService, KeyRevocations, openRegistryDatabase } from '../../registry/index.js';
import { print, run } from './common.js';
import { redisTarget } from '../../lib/redis.js';

async function withKeys<T>(work: (keys: ApiKeyService) => Promise<T>): Promise<T> {
  // stdout is the answer (e.g. --json); log lines go to stderr.
  setLogDestination(pino.destination(2));
  const cfg = config();
  const ds = await openRegistryDatabase(cfg);
  // A revocation is announced to every gateway, which drop the key from their caches at once.
  const revocations = new KeyRevocations(redisTarget(cfg), cfg.REDIS_KEY_PREFIX, logger());
  try {
    return await work(new ApiKeyService(ds, { revocations }));
  } finally {
    await revocations.close();
    await ds.destroy();
  }
}


const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90d`, `12h`, `30m`, or `never`. */
export function parseExpiry(value: string): number | null {
  if (value === 'never') return null;
  const match = /^(\d+)([mhd])$/.exec(value);
  if (!match) throw new Error(`--expires: expected e.g. 90d, 12h, 30m or never, not "${value}"`);
  return Number(match[1]) * UNITS[match[2]!]!;
}

function view(k: ApiKeyEntity, now = new Date()) {
  const status = k.revokedAt ? 'revoked' : k.expiresAt && k.expiresAt <= now ? 'expired' : 'active';
  return {
    id: k.id,
    clientId: k.clientId,
    team: k.team,
    contract: k.contract,
    description: k.description,
    scopes: k.scopes,
    prefix: k.keyPrefix,
    status,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    createdBy: k.createdBy,
    createdAt: k.createdAt.toISOString(),
  };
}

export function keysCommand(): Command {
  const command = new Command('keys').description('API keys of client applications and partner teams (gateway and registry scopes): create, list, revoke');

  command
    .command('create')
    .description('Issue an API key for a client application (printed once)')
    .requiredOption('--client <name>', 'client application id, the actor of what it does (e.g. web-storefront)')
    .requiredOption('--scopes <list>', 'comma-separated scopes, e.g. availability:read,orders:write or registry:publish:pricing,registry:check:pricing (registry:admin: everything in the registry)')
    .option('--team <team>', "registry team owning what the key publishes (default: the client id)")
    .option('--contract <name>', 'the contract (an API schema filtered by @tag, `registry contracts`) its caller sees (default: the whole API schema)')
    .option('--description <text>', 'what it is for')
    .option('--expires <duration>', 'lifetime: 90d, 12h, 30m or never', '90d')
    .option('--json', 'print JSON')
    .action(
      run(async (opts: { client: string; scopes: string; team?: string; contract?: string; description?: string; expires: string; json?: boolean }) => {
        const expiresInMs = parseExpiry(opts.expires);
        const scopes = opts.scopes.split(',').map((s) => s.trim()).filter(Boolean);
        const { key, record } = await withKeys((keys) =>
          keys.create({ clientId: opts.client, team: opts.team, contract: opts.contract, description: opts.description, scopes, expiresInMs, createdBy: `cli:${process.env['USER'] ?? 'operator'}` }),
        );
        print(opts.json, { ...view(record), key }, () =>
          [
            `API key ${record.id} for ${record.clientId} (${record.scopes.join(', ')}${record.contract ? `; contract ${record.contract}` : ''}), expires ${record.expiresAt?.toISOString() ?? 'never'}:`,
            '',
            `  ${key}`,
            '',
            'It is shown only now: store it in the client\'s secret store. Send it as "x-api-key: <key>" or "Authorization: Bearer <key>".',
          ].join('\n'),
        );
      }),
    );

  command
    .command('list')
    .description('Every API key, newest first')
    .option('--json', 'print JSON')
    .action(
      run(async (opts: { json?: boolean }) => {
        const rows = (await withKeys((keys) => keys.list())).map((k) => view(k));
        print(opts.json, rows, () =>
          rows.length
            ? rows.map((r) => `${r.id}  ${r.prefix}…  ${r.clientId}${r.team ? ` (team ${r.team})` : ''}  ${r.status}  ${r.scopes.join(',')}  expires ${r.expiresAt ?? 'never'}  last used ${r.lastUsedAt ?? 'never'}`).join('\n')
            : 'No API keys.',
        );
      }),
    );

  command
    .command('revoke <id>')
    .description('Revoke an API key; the next request with it is refused')
    .option('--json', 'print JSON')
    .action(
      run(async (id: string, opts: { json?: boolean }) => {
        const record = await withKeys((keys) => keys.revoke(id));
        print(opts.json, view(record), () => `Revoked API key ${record.id} of ${record.clientId}.`);
      }),
    );

  return command;
}
