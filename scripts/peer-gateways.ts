import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Other federation gateways run on our subgraphs (Hive Gateway, with its Rust query planner), by
 * test/peer-gateway.test.ts and `npm run bench -- peers`. They are a project of their own in
 * examples/peer-gateways, with their own lockfile, installed on first use (once per machine): their
 * dependency trees declare Node 22, and kept in ours they filled `npm install` with EBADENGINE and peer warnings.
 */
export const PEER_GATEWAYS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'peer-gateways');

const HIVE_GATEWAY = '@graphql-hive/gateway';

function pinned(): Record<string, string> {
  return (JSON.parse(readFileSync(join(PEER_GATEWAYS_DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
}

function installedVersion(dir: string, name: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

/**
 * Where the peer gateways' lockfile is installed once per machine: the user's cache
 * ($XDG_CACHE_HOME, else ~/.cache), under the lockfile's hash, so a fresh clone (CI's) reuses it.
 */
function cachedInstallDir(): string {
  const lock = createHash('sha256').update(readFileSync(join(PEER_GATEWAYS_DIR, 'package-lock.json'))).digest('hex').slice(0, 16);
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'omnistock', `peer-gateways-${lock}`);
}

/**
 * Installs the peer gateways at their pinned versions unless examples/peer-gateways has them: `npm ci`
 * of its lockfile (from the npm registry) into the machine's cache (cachedInstallDir) unless it is
 * there already, linked as examples/peer-gateways/node_modules; says what it does through
 * `progress`; returns the path of Hive Gateway's CLI. Not safe to run from two processes at once.
 */
export async function ensurePeerGateways(progress: (line: string) => void = () => {}): Promise<{ hiveGatewayBin: string }> {
  const hiveGatewayBin = join(PEER_GATEWAYS_DIR, 'node_modules', HIVE_GATEWAY, 'dist', 'bin.js');
  const stale = (dir: string) => Object.entries(pinned()).filter(([name, version]) => installedVersion(dir, name) !== version);
  if (!stale(PEER_GATEWAYS_DIR).length) return { hiveGatewayBin };
  const cache = cachedInstallDir();
  const missing = stale(cache);
  if (missing.length) {
    progress(`peer gateways: installing ${missing.map(([n, v]) => `${n}@${v}`).join(', ')} into ${cache} (npm ci, once per machine; a few minutes)\n`);
    mkdirSync(cache, { recursive: true });
    for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(PEER_GATEWAYS_DIR, file), join(cache, file));
    try {
      await promisify(execFile)('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: cache, maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      const { stderr, message } = err as { stderr?: string; message: string };
      throw new Error(`installing the peer gateways in ${cache} failed: ${stderr || message}`);
    }
    progress('peer gateways: installed\n');
  }
  // An older install (a folder, or a link to another lockfile's) gives way to the link.
  rmSync(join(PEER_GATEWAYS_DIR, 'node_modules'), { recursive: true, force: true });
  symlinkSync(join(cache, 'node_modules'), join(PEER_GATEWAYS_DIR, 'node_modules'), 'dir');
  return { hiveGatewayBin };
}
