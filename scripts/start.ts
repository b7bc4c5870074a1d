/**
 * npm start: the whole system in one command. Makes sure MySQL and Redis answer (starting its own
 * where none does: scripts/local-services.ts), migrates every subgraph's database, seeds the demo
 * estate into an empty one, starts the six subgraphs, the jobs process and the gateway as child
 * processes and supervises them (one that dies is restarted with backoff while the others keep
 * serving), prints the URLs, and stops everything cleanly on Ctrl-C.
 */
import { createConnection as tcpConnect } from 'node:net';
import { authMode, config, SUBGRAPH_NAMES } from '../lib/config.js';
import { compose, formatCompositionErrors, readSupergraphConfig } from '../contracts/composition.js';
import { syncRegistryFromConfig } from '../registry/index.js';
import { DEMO_KEYS, demoKeysFile, ensureDemoKeys, serviceKeysFile, type DemoRole } from './demo/keys.js';
import { ensureServiceKeys } from './cli/service-keys.js';
import { connectDemoMarketplaces, spawnSimulator } from './demo/marketplaces.js';
import { authBanner, closeAll, migrateAll, onOurPorts, preflight, seedDemo, spawnService, stopAll, waitReady, type ServiceProcess } from './system.js';
import { ensureLocalServices, restartDelay, type LocalServices } from './local-services.js';

const cfg = config();
const started = Date.now();
const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (message: string): never => {
  process.stderr.write(`\n✖ ${message}\n`);
  process.exit(1);
};

/** Whether something listens at a service URL's host and port (what answers is checked by preflight). */
function listening(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || defaultPort), timeout: 2000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

let local: LocalServices | undefined;
if (cfg.LOCAL_SERVICES === 'auto') {
  try {
    // Supervised like the services: a server that dies is restarted on its data and port (its lines on stderr, as theirs).
    local = await ensureLocalServices(
      { mysql: cfg.MYSQL_URL, redis: cfg.REDIS_URL },
      cfg.LOCAL_SERVICES_DIR,
      // A Redis Cluster (REDIS_CLUSTER_NODES) is never brought here: the preflight checks it answers, whole.
      (kind) => (kind === 'mysql' ? listening(cfg.MYSQL_URL, 3306) : cfg.REDIS_CLUSTER_NODES ? Promise.resolve(true) : listening(cfg.REDIS_URL, 6379)),
      (line) => process.stderr.write(`${line}\n`),
    );
  } catch (err) {
    fail((err as Error).message);
  }
  for (const line of local!.started) say(`▸ started ${line} (stopped with the rest)`);
}
try {
  await preflight(cfg);
} catch (err) {
  await local?.stop();
  fail(`${(err as Error).message}\n  Start it (see README: "Requirements"), or run \`docker compose up -d\` and try again.`);
}

say('▸ migrating databases');
const sources = await migrateAll(cfg);
if (cfg.SEED_DEMO) {
  say(`▸ seeding demo estate (${cfg.SEED_SKUS} SKUs; existing rows are kept)`);
  const seeded = await seedDemo(sources, cfg.SEED_SKUS);
  say(`  added ${seeded.locations} locations, ${seeded.channels} channels, ${seeded.items} items, ${seeded.levels} stock levels`);
}
// The stand-in for Amazon, eBay, Walmart and Shopify, so the demo's marketplace channels have somewhere to push.
let simulator: Awaited<ReturnType<typeof spawnSimulator>> | undefined;
/** What the services get besides this process's environment: the simulator as a host marketplace credentials may go to, the service token keys. */
let serviceEnv: Record<string, string> = {};
if (cfg.SEED_DEMO && cfg.DEMO_MARKETPLACES) {
  say(`▸ starting the marketplace simulator and connecting the demo marketplace channels`);
  simulator = await spawnSimulator({ port: cfg.MARKETPLACE_SIMULATOR_PORT, host: cfg.HOST, logDir: cfg.LOG_DIR });
  const allowedHosts = [...cfg.MARKETPLACE_ALLOWED_HOSTS, new URL(simulator.url).host];
  serviceEnv = { MARKETPLACE_ALLOWED_HOSTS: allowedHosts.join(',') };
  await connectDemoMarketplaces(sources.marketplaces, { ...cfg, MARKETPLACE_ALLOWED_HOSTS: allowedHosts }, simulator.url, (line) => say(`  ${line}`));
}
await closeAll(sources);

// The key set every service signs and checks service tokens with: this installation's own, made once.
if (cfg.SERVICE_AUTH === 'enforce' && !cfg.SERVICE_TOKEN_KEYS && !cfg.SERVICE_TOKEN_KEYS_FILE) {
  const file = serviceKeysFile(cfg);
  const created = await ensureServiceKeys(file);
  serviceEnv = { ...serviceEnv, SERVICE_TOKEN_KEYS_FILE: file };
  say(`▸ service token keys: ${created ? 'created' : 'reused'} ${file}`);
}

const subgraphSources = onOurPorts(cfg, await readSupergraphConfig(cfg.SUPERGRAPH_CONFIG));
const composed = compose(subgraphSources);
if (!composed.ok) fail(`Composition of ${cfg.SUPERGRAPH_CONFIG} failed:\n${formatCompositionErrors(composed.errors)}`);
say('▸ schema registry (seeded from supergraph.yaml; changed schema files are published through its checks)');
for (const line of await syncRegistryFromConfig(cfg, subgraphSources)) say(`  ${line}`);
// The demo's client applications, so that every example works against an enforcing gateway.
let demoKeys: Record<DemoRole, string> | undefined;
if (cfg.SEED_DEMO && authMode(cfg) === 'enforce') {
  const { keys, issued } = await ensureDemoKeys(cfg);
  demoKeys = keys;
  say(`▸ demo API keys: ${issued ? `issued ${issued}` : 'reused'} (kept in ${demoKeysFile(cfg)})`);
}

const services: ServiceProcess[] = [];
let stopping = false;
async function shutdown(code: number): Promise<void> {
  // A second Ctrl-C (or the SIGTERM a wrapper forwards) waits for the first shutdown.
  if (stopping) return;
  stopping = true;
  say('\n▸ stopping');
  simulator?.child.kill('SIGTERM');
  await stopAll(services);
  await local?.stop();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

/**
 * Restarts a service that exits while npm start runs, with backoff, in its place in `services`; the
 * others keep serving meanwhile (the gateway answers with what it can reach). Ctrl-C stops all.
 */
function supervise(svc: ServiceProcess, attempt = 0): void {
  const since = Date.now();
  svc.child.once('exit', (code, signal) => {
    if (stopping) return;
    // With backoff (1, 2, 5, 10, 30 s; from 1 s again after a minute's run), as the MariaDB and Redis it started.
    const { delayMs: delay, streak } = restartDelay(attempt, Date.now() - since);
    process.stderr.write(`↻ ${svc.name} exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000} s (log: ${svc.logFile})\n`);
    setTimeout(() => {
      if (stopping) return;
      const next = spawnService(cfg, svc.name, serviceEnv);
      services[services.indexOf(svc)] = next;
      supervise(next, streak);
      waitReady(next, cfg.START_READY_TIMEOUT_MS).then(
        () => say(`✔ ${svc.name} is back (pid ${next.child.pid})`),
        (err: Error) => process.stderr.write(`✖ ${svc.name} did not come back: ${err.message.split('\n')[0]}\n`),
      );
    }, delay);
  });
}

say('▸ starting subgraphs');
try {
  for (const name of SUBGRAPH_NAMES) services.push(spawnService(cfg, name, serviceEnv));
  await Promise.all(services.map((s) => waitReady(s, cfg.START_READY_TIMEOUT_MS)));
  say('▸ starting jobs (outbox relays, replica consumer, marketplace sync, reservation expiry, order sweeper, exceptions feed and anomaly detection)');
  const jobs = spawnService(cfg, 'jobs', serviceEnv);
  services.push(jobs);
  // Ready but degraded (a marketplace connection whose secret is missing): up, and says what waits.
  for (const [check, problem] of Object.entries((await waitReady(jobs, cfg.START_READY_TIMEOUT_MS)).checks)) if (problem !== 'ok') say(`  ⚠ ${check}: ${problem}`);
  const gateway = spawnService(cfg, 'gateway', serviceEnv);
  services.push(gateway);
  await waitReady(gateway, cfg.START_READY_TIMEOUT_MS);
} catch (err) {
  process.stderr.write(`\n✖ ${(err as Error).message}\n`);
  await shutdown(1);
}
services.forEach((s) => supervise(s));

const gatewayUrl = services.at(-1)!.url;
say(`
✔ Omnistock is up in ${((Date.now() - started) / 1000).toFixed(1)} s

  Gateway      ${gatewayUrl}   (health: /healthz, readiness: /readyz)
  Registry     ${gatewayUrl.replace(/\/graphql$/, '/registry/graphql')}   (npm run omnistock -- registry --help)
  Console      ${gatewayUrl.replace(/\/graphql$/, '/registry')}   (the registry console: sign in with the operator's key)
  Ops page     ${gatewayUrl.replace(/\/graphql$/, '/ops')}   (live figures for operators; see README "Operations page")
${authBanner(cfg)}${demoKeys ? `
${keyLines(demoKeys)}` : ''}
${services
  .slice(0, -1)
  .map((s) => `  ${s.name.padEnd(12)} ${s.url}   (pid ${s.child.pid})`)
  .join('\n')}${simulator ? `\n  Marketplace simulator ${simulator.url}   (npm run omnistock -- marketplace status)` : ''}
  Logs         ${cfg.LOG_DIR}/<service>.log   (a service that dies is restarted; the others keep serving)

Try it:

  curl -s ${gatewayUrl} -H 'content-type: application/json'${demoKeys ? ` -H 'x-api-key: ${demoKeys.storefront}'` : ''} --data '{"query":"{ inventoryItems(skus: [\\"SKU-000001\\", \\"SKU-000002\\"]) { sku name stockLevels { available location { name address { city } channels { code } } } } }"}'

Press Ctrl-C to stop.`);

/** The banner's lines on the demo keys: each role, its key and what it may do. */
function keyLines(keys: Record<DemoRole, string>): string {
  return [
    '  API keys     send one as `x-api-key: <key>` (or `Authorization: Bearer <key>`):',
    ...DEMO_KEYS.map((k) => `    ${k.role.padEnd(12)} ${keys[k.role]}   ${k.what}`),
  ].join('\n');
}
