import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Other federation gateways run on our subgraphs (Hive Gateway, with its Rust query planner), by
 * test/peer-gateway.test.ts and `npm run bench -- peers`. They are a project of their own in
 * examples/peer-gateways, with their own lockfile, installed there on first use: their dependency
 * trees declare Node 22, and kept in ours they filled `npm install` with EBADENGINE and peer warnings.
 */
export const PEER_GATEWAYS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'peer-gateways');

const HIVE_GATEWAY = '@graphql-hive/gateway';

function pinned(): Record<string, string> {
  return (JSON.parse(readFileSync(join(PEER_GATEWAYS_DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
}

function installedVersion(name: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(PEER_GATEWAYS_DIR, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

/**
 * Installs the peer gateways at their pinned versions (`npm ci` in examples/peer-gateways, from the
 * npm registry) unless they are there already, saying so through `progress`; returns the path of
 * Hive Gateway's CLI. Not safe to run from two processes at once.
 */
export async function ensurePeerGateways(progress: (line: string) => void = () => {}): Promise<{ hiveGatewayBin: string }> {
  const stale = Object.entries(pinned()).filter(([name, version]) => installedVersion(name) !== version);
  if (stale.length) {
    progress(`peer gateways: installing ${stale.map(([n, v]) => `${n}@${v}`).join(', ')} into examples/peer-gateways (npm ci, once; a few minutes)\n`);
    try {
      await promisify(execFile)('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: PEER_GATEWAYS_DIR, maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      const { stderr, message } = err as { stderr?: string; message: string };
      throw new Error(`installing the peer gateways in ${PEER_GATEWAYS_DIR} failed: ${stderr || message}`);
    }
    progress('peer gateways: installed\n');
  }
  return { hiveGatewayBin: join(PEER_GATEWAYS_DIR, 'node_modules', HIVE_GATEWAY, 'dist', 'bin.js') };
}
