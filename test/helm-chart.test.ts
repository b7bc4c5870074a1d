/**
 * The Helm chart (deploy/helm/omnistock) and the Dockerfile, checked without helm or a Docker engine
 * (neither installs from the registries this project may use). The chart is rendered by
 * test/helm-template.ts; with `helm` on PATH the first test also runs `helm lint` and `helm template`
 * and checks that output the same way (that path does not run on our machines: no helm there).
 *
 * Every rendered object is validated against its Kubernetes OpenAPI schema (kubernetes-models; as
 * kubeconform does without -strict, unknown fields are not refused), then against the system: each
 * process's environment is parsed by lib/config.ts's own parser with the mounted secrets' files, and
 * must listen where its Service and probes point, reach the other services at their Services, read
 * its secrets from files, and run with authentication enforced. The last tests break a rendered
 * chart on purpose, one way at a time, and expect the check that catches each.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import {
  authMode,
  ConfigError,
  marketplaceInventoryUrl,
  marketplaceOrdersUrl,
  ordersInventoryUrl,
  parseConfig,
  SECRET_FILE_SETTINGS,
  subgraphPort,
  subgraphUrlOverrides,
  subscriptionUrlOverrides,
  SUBGRAPH_NAMES,
  type Config,
  type ProcessName,
  type SubgraphName,
} from '../lib/config.js';
import { ENTRY, NODE_FLAGS } from '../scripts/system.js';
import { compiledPath, DIST } from '../scripts/build.js';
import { mergeValues, renderChart, renderTemplate } from './helm-template.js';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Whether `file` is what npm run build compiles a source of the repository to (dist/<source>.js). */
const builtFromSource = (file: string | undefined) =>
  !!file && file.startsWith(`${DIST}/`) && file.endsWith('.js') && existsSync(path.join(ROOT, file.slice(DIST.length + 1).replace(/\.js$/, '.ts')));
const CHART = path.join(ROOT, 'deploy/helm/omnistock');
const RELEASE = { releaseName: 'shop', namespace: 'retail' };

type K8s = Record<string, any>;
type Values = Record<string, any>;

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'v1 Service': Service,
  'v1 ConfigMap': ConfigMap,
  'v1 Secret': Secret,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'batch/v1 Job': Job,
  'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy,
};

/** What the test puts in each Secret key the chart mounts (a process reading one gets this). */
const SECRET_CONTENT: Record<string, string> = {
  'mysql-url': 'mysql://omnistock:mysql-password@mysql.db:3306',
  'redis-url': 'redis://:redis-password@redis.db:6379',
  'service-token-keys.json': '{"keys":[]}',
  'metrics-token': 'metrics-token-from-the-secret',
  'auth-jwt-secret': 'a-jwt-secret-of-at-least-32-characters',
};
/** The keys each process may be given (least privilege): every one reads the first four. */
const COMMON_KEYS = ['mysql-url', 'redis-url', 'service-token-keys.json', 'metrics-token'];
const SECRET_SETTINGS = [...SECRET_FILE_SETTINGS, 'SERVICE_TOKEN_KEYS'];

/** The chart's values.yaml with `overrides` merged over it, as helm merges -f files. */
function chartValues(overrides: Values = {}): Values {
  return mergeValues(parseYaml(readFileSync(path.join(CHART, 'values.yaml'), 'utf8')), overrides) as Values;
}

function render(overrides: Values = {}): K8s[] {
  return renderChart(CHART, { ...RELEASE, values: overrides }).objects.map((o) => o.object);
}

const nameOf = (o: K8s) => `${o.kind} ${o.metadata?.name}`;
const componentOf = (o: K8s): string | undefined => o.metadata?.labels?.['app.kubernetes.io/component'];
/** The process a Deployment's pods run, by their labels. */
const podComponent = (d: K8s | undefined): string | undefined => d?.spec.template.metadata.labels?.['app.kubernetes.io/component'];
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** The README's section on Kubernetes: what it documents as created outside the chart. */
function readmeKubernetesSection(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Running on Kubernetes');
  if (start === -1) return '';
  const end = readme.indexOf('\n## ', start + 3);
  return readme.slice(start, end === -1 ? undefined : end);
}

/**
 * Every problem of a rendered chart, as sentences naming the object: schema, cross-references, and
 * each process's configuration as lib/config.ts parses it. Empty when the chart is sound.
 */
function chartProblems(objects: K8s[], values: Values): string[] {
  const problems: string[] = [];
  const problem = (o: K8s, message: string) => problems.push(`${nameOf(o)}: ${message}`);
  const of = (kind: string) => objects.filter((o) => o.kind === kind);
  const deployments = of('Deployment');
  const services = of('Service');
  const secretNames = [values.secrets.name, values.secrets.marketplaceCredentials.name];
  const readme = readmeKubernetesSection();

  // The objects' own schemas.
  for (const o of objects) {
    const Model = MODELS[`${o.apiVersion} ${o.kind}`];
    if (!Model) {
      problem(o, `no schema known for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (err) {
      problem(o, `schema: ${(err as Error).message}`);
    }
  }
  for (const o of of('Secret')) problem(o, 'the chart creates no Secret: secrets are made outside it, never from values');
  for (const name of secretNames) if (!readme.includes(name)) problems.push(`README's "Running on Kubernetes" does not document the Secret ${name}`);
  for (const key of Object.keys(SECRET_CONTENT)) if (!readme.includes(key)) problems.push(`README's "Running on Kubernetes" does not document the Secret key ${key}`);
  for (const cm of of('ConfigMap')) {
    for (const [key, value] of Object.entries<string>(cm.data ?? {})) {
      if (SECRET_SETTINGS.includes(key) || /:\/\/[^/\s:@]+:[^/\s@]+@/.test(value)) problem(cm, `${key} holds a secret`);
    }
  }

  /** The Service a URL reaches, and the Deployment behind it. */
  const reach = (o: K8s, what: string, url: string | undefined, component: string) => {
    if (!url) return problem(o, `${what} is not set`);
    const u = new URL(url);
    const host = u.hostname.split('.')[0];
    const svc = services.find((s) => s.metadata.name === host);
    if (!svc) return problem(o, `${what} ${url} names no Service of the chart`);
    if (!svc.spec.ports.some((p: K8s) => String(p.port) === u.port)) problem(o, `${what} ${url}: Service ${host} has no port ${u.port}`);
    const target = deployments.find((d) => selects(svc.spec.selector, d.spec.template.metadata.labels));
    if (podComponent(target) !== component) problem(o, `${what} ${url} reaches ${podComponent(target) ?? 'nothing'}, not ${component}`);
  };

  /** Checks a pod's security, resources, secrets and environment; returns its process's parsed configuration. */
  const checkPod = (o: K8s, process: ProcessName | 'migrations'): { cfg: Config; container: K8s; mounted: Map<string, string> } | undefined => {
    const pod = o.spec.template.spec;
    if (pod.securityContext?.runAsNonRoot !== true) problem(o, 'the pod may run as root (runAsNonRoot)');
    if (pod.securityContext?.runAsUser === 0) problem(o, 'the pod runs as uid 0');
    if (pod.automountServiceAccountToken !== false) problem(o, 'mounts a service account token no process uses');
    if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problem(o, 'shares the host namespaces');
    if (pod.containers.length !== 1) problem(o, `has ${pod.containers.length} containers, expected 1`);
    const container = pod.containers[0] as K8s;
    const sc = container.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) problem(o, 'allows privilege escalation');
    if (sc.readOnlyRootFilesystem !== true) problem(o, 'has a writable root file system');
    if (sc.privileged) problem(o, 'is privileged');
    if (!sc.capabilities?.drop?.includes('ALL')) problem(o, 'keeps Linux capabilities (drop ALL)');
    for (const kind of ['requests', 'limits']) for (const r of ['cpu', 'memory']) if (!container.resources?.[kind]?.[r]) problem(o, `no ${r} ${kind}`);

    // Secrets: only as files, from a documented Secret, each key to the processes that read it.
    const mounted = new Map<string, string>(); // file path -> Secret key content
    for (const volume of pod.volumes ?? []) {
      if (!volume.secret) continue;
      const mount = (container.volumeMounts ?? []).find((m: K8s) => m.name === volume.name);
      if (!secretNames.includes(volume.secret.secretName)) problem(o, `volume ${volume.name} mounts ${volume.secret.secretName}, not a documented Secret (${secretNames.join(', ')})`);
      if (!mount) continue;
      if (mount.readOnly !== true) problem(o, `secret volume ${volume.name} is mounted writable`);
      if (volume.secret.secretName === values.secrets.marketplaceCredentials.name) {
        if (process !== 'jobs') problem(o, `mounts marketplace credentials, which only the jobs process reads`);
        mounted.set(mount.mountPath, 'marketplace-credentials');
        continue;
      }
      if (!volume.secret.items) problem(o, `volume ${volume.name} mounts every key of ${volume.secret.secretName}: list the ones this process reads`);
      for (const item of volume.secret.items ?? []) {
        const allowed = process === 'migrations' ? ['mysql-url'] : [...COMMON_KEYS, ...(process === 'gateway' ? ['auth-jwt-secret'] : [])];
        if (!allowed.includes(item.key)) problem(o, `is given the secret key ${item.key}, which ${process} does not read`);
        mounted.set(path.posix.join(mount.mountPath, item.path), SECRET_CONTENT[item.key] ?? '');
      }
    }
    if (container.envFrom?.length) problem(o, 'takes environment variables from envFrom: list them, secrets as files');
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) {
      if (e.valueFrom) problem(o, `${e.name} comes from valueFrom: secrets go in as files`);
      if (e.name in env) problem(o, `${e.name} is set twice`);
      env[e.name] = e.value;
      if (e.value !== undefined && SECRET_SETTINGS.includes(e.name)) problem(o, `${e.name} holds a secret in an environment variable`);
      if (/:\/\/[^/\s:@]+:[^/\s@]+@/.test(e.value ?? '')) problem(o, `${e.name} carries credentials in a URL`);
    }
    const readFile = (file: string) => {
      const content = mounted.get(file);
      if (content === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
      return content;
    };
    let cfg: Config;
    try {
      cfg = parseConfig(env, process === 'migrations' ? undefined : process, readFile);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problem(o, `its process refuses its configuration: ${err.problems.join('; ')}`);
      return undefined;
    }
    if (cfg.MYSQL_URL !== SECRET_CONTENT['mysql-url']) problem(o, `MYSQL_URL is ${cfg.MYSQL_URL}, not the Secret's mysql-url`);
    return { cfg, container, mounted };
  };

  // One Deployment per process npm start runs, each running that process's file.
  for (const process of Object.keys(ENTRY) as (keyof typeof ENTRY)[]) {
    const matching = deployments.filter((d) => podComponent(d) === process);
    if (matching.length !== 1) problems.push(`${matching.length} Deployments for ${process}, expected 1`);
  }
  for (const d of deployments) {
    const process = podComponent(d) as keyof typeof ENTRY;
    if (!(process in ENTRY)) {
      problem(d, `runs ${process}, which is no process of the system`);
      continue;
    }
    if (!selects(d.spec.selector.matchLabels, d.spec.template.metadata.labels)) problem(d, 'its selector does not select its own pods');
    const checked = checkPod(d, process);
    const container = d.spec.template.spec.containers[0] as K8s;
    const command = [...(container.command ?? []), ...(container.args ?? [])];
    if (JSON.stringify(command) !== JSON.stringify(['node', compiledPath(ENTRY[process])])) problem(d, `runs ${command.join(' ')}, not node ${compiledPath(ENTRY[process])}`);
    if (!builtFromSource(command.at(-1))) problem(d, `runs ${command.at(-1)}, which does not exist`);
    const ports = (container.ports ?? []) as K8s[];
    const portOf = (p: string | number | undefined) => (typeof p === 'number' ? ports.find((c) => c.containerPort === p) : ports.find((c) => c.name === p))?.containerPort;
    for (const [probe, wanted] of [
      ['livenessProbe', '/healthz'],
      ['readinessProbe', '/readyz'],
    ] as const) {
      const get = container[probe]?.httpGet;
      if (get?.path !== wanted) problem(d, `${probe} is not on ${wanted}`);
      if (!get || portOf(get.port) === undefined) problem(d, `${probe} is on port ${get?.port}, not a port of the container`);
    }
    if (!checked) continue;
    const { cfg, mounted } = checked;
    // Where the process listens: the container's port, on the pod's address, answering only signed and authenticated requests.
    const listens = process === 'gateway' ? cfg.GATEWAY_PORT : process === 'jobs' ? cfg.JOBS_PORT : subgraphPort(cfg, process);
    if (!ports.some((p) => p.containerPort === listens)) problem(d, `the process listens on ${listens}, which is not a container port`);
    if (!['0.0.0.0', '::'].includes(cfg.HOST)) problem(d, `the process listens on ${cfg.HOST}, unreachable from its Service`);
    if (authMode(cfg) !== 'enforce') problem(d, 'AUTH_MODE is not enforce');
    if (cfg.SERVICE_AUTH !== 'enforce') problem(d, 'SERVICE_AUTH is not enforce');
    if (!cfg.SERVICE_TOKEN_KEYS_FILE || !mounted.has(cfg.SERVICE_TOKEN_KEYS_FILE)) problem(d, `SERVICE_TOKEN_KEYS_FILE ${cfg.SERVICE_TOKEN_KEYS_FILE} is not a mounted secret`);
    if (cfg.REDIS_URL !== SECRET_CONTENT['redis-url']) problem(d, `REDIS_URL is ${cfg.REDIS_URL}, not the Secret's redis-url`);
    if (values.secrets.metricsToken && cfg.METRICS_TOKEN !== SECRET_CONTENT['metrics-token']) problem(d, 'METRICS_TOKEN is not the Secret\'s metrics-token');
    if (process === 'gateway') {
      if (values.secrets.jwtSecret && cfg.AUTH_JWT_SECRET !== SECRET_CONTENT['auth-jwt-secret']) problem(d, 'AUTH_JWT_SECRET is not the Secret\'s auth-jwt-secret');
      const urls = subgraphUrlOverrides(cfg);
      const subscriptionUrls = subscriptionUrlOverrides(cfg);
      const withSubscriptions = Object.entries(parseYaml(readFileSync(path.join(ROOT, 'supergraph.yaml'), 'utf8')).subgraphs as Record<string, K8s>)
        .filter(([, s]) => s.subscription_url)
        .map(([name]) => name);
      for (const name of SUBGRAPH_NAMES) {
        reach(d, `${name.toUpperCase()}_URL`, urls[name], name);
        if (withSubscriptions.includes(name)) reach(d, `${name.toUpperCase()}_SUBSCRIPTION_URL`, subscriptionUrls[name as SubgraphName], name);
      }
    }
    if (process === 'orders' || process === 'jobs') reach(d, 'ORDERS_INVENTORY_URL', ordersInventoryUrl(cfg), 'inventory');
    if (process === 'jobs') {
      reach(d, 'MARKETPLACE_INVENTORY_URL', marketplaceInventoryUrl(cfg), 'inventory');
      reach(d, 'MARKETPLACE_ORDERS_URL', marketplaceOrdersUrl(cfg), 'orders');
      if (mounted.get(cfg.MARKETPLACE_SECRETS_DIR) !== 'marketplace-credentials') problem(d, `MARKETPLACE_SECRETS_DIR ${cfg.MARKETPLACE_SECRETS_DIR} is not the mounted marketplace credentials`);
    }
  }

  for (const s of services) {
    const targets = deployments.filter((d) => selects(s.spec.selector, d.spec.template.metadata.labels));
    if (targets.length !== 1) problem(s, `selects ${targets.length} Deployments, expected 1`);
    const containers = (targets[0]?.spec.template.spec.containers ?? []) as K8s[];
    for (const p of s.spec.ports) {
      const found = containers.some((c) => (c.ports ?? []).some((cp: K8s) => cp.name === p.targetPort || cp.containerPort === p.targetPort));
      if (!found) problem(s, `targetPort ${p.targetPort} is no port of its Deployment`);
    }
  }
  for (const h of of('HorizontalPodAutoscaler')) {
    const target = deployments.find((d) => d.kind === h.spec.scaleTargetRef.kind && d.metadata.name === h.spec.scaleTargetRef.name);
    if (!target) {
      problem(h, `targets no Deployment of the chart (${h.spec.scaleTargetRef.name})`);
      continue;
    }
    if (podComponent(target) === 'jobs') problem(h, 'scales the jobs process, which is not stateless');
    if (target.spec.replicas !== undefined) problem(h, `its Deployment also sets replicas: each rollout would reset the autoscaler's count`);
    if (!target.spec.template.spec.containers.every((c: K8s) => c.resources?.requests?.cpu)) problem(h, 'scales on CPU utilisation of containers without a CPU request');
  }
  for (const p of of('PodDisruptionBudget')) {
    if (!deployments.some((d) => selects(p.spec.selector.matchLabels, d.spec.template.metadata.labels))) problem(p, 'selects no Deployment');
  }
  for (const n of of('NetworkPolicy')) {
    const target = deployments.find((d) => selects(n.spec.podSelector.matchLabels, d.spec.template.metadata.labels));
    if (!target) problem(n, 'selects no Deployment');
    const component = podComponent(target);
    if (component && SUBGRAPH_NAMES.includes(component as SubgraphName) && !n.spec.ingress.every((rule: K8s) => rule.from?.length)) problem(n, `lets anyone reach the ${component} subgraph`);
  }
  const jobs = of('Job');
  for (const j of jobs) {
    const hooks = String(j.metadata.annotations?.['helm.sh/hook'] ?? '').split(',');
    if (!hooks.includes('pre-install') || !hooks.includes('pre-upgrade')) problem(j, 'is not a pre-install and pre-upgrade hook');
    if (j.spec.template.spec.restartPolicy !== 'Never' && j.spec.template.spec.restartPolicy !== 'OnFailure') problem(j, 'restarts forever');
    const container = j.spec.template.spec.containers[0] as K8s;
    const command = [...(container.command ?? []), ...(container.args ?? [])];
    const script = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.migrate;
    // npm run migrate's script, compiled.
    const migrate = script?.match(/^tsx (\S+\.ts)$/)?.[1];
    if (!migrate || JSON.stringify(command) !== JSON.stringify(['node', compiledPath(migrate)])) problem(j, `runs ${command.join(' ')}, not npm run migrate's ${script}, compiled`);
    checkPod(j, 'migrations');
  }
  if (values.migrations.enabled && jobs.length !== 1) problems.push(`${jobs.length} migrations Jobs, expected 1`);
  return problems;
}

/** The objects of `helm template` output, when helm is installed. */
function helmTemplate(valuesFile?: string): K8s[] {
  const args = ['template', RELEASE.releaseName, CHART, '--namespace', RELEASE.namespace, ...(valuesFile ? ['-f', valuesFile] : [])];
  const out = execFileSync('helm', args, { encoding: 'utf8' });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8s | null)
    .filter((o): o is K8s => !!o);
}

const helmOnPath = (() => {
  try {
    execFileSync('helm', ['version', '--short'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('Helm chart', () => {
  it('renders, with its default values, one sound set of objects for every process the system runs', () => {
    const objects = render();
    expect(chartProblems(objects, chartValues())).toEqual([]);
    const kinds = (kind: string) => objects.filter((o) => o.kind === kind).map((o) => componentOf(o)).sort();
    const processes = Object.keys(ENTRY).sort();
    expect(kinds('Deployment')).toEqual(processes);
    expect(kinds('Service')).toEqual(processes);
    expect(kinds('PodDisruptionBudget')).toEqual(processes);
    expect(kinds('NetworkPolicy')).toEqual(processes);
    // The stateless processes scale; the jobs process (relays, schedules) does not.
    expect(kinds('HorizontalPodAutoscaler')).toEqual(processes.filter((p) => p !== 'jobs'));
    expect(kinds('Job')).toEqual(['migrations']);
    expect(objects.every((o) => o.metadata.name.startsWith('shop-omnistock-'))).toBe(true);
    // The only path that runs real helm: not on our machines (helm cannot be installed there).
    if (helmOnPath) {
      execFileSync('helm', ['lint', CHART, '--strict'], { stdio: 'pipe' });
      const fromHelm = helmTemplate();
      expect(chartProblems(fromHelm, chartValues())).toEqual([]);
      expect(fromHelm.map(nameOf).sort()).toEqual(objects.map(nameOf).sort());
    }
  });

  it('gives each secret key only to the processes that read it, as files', () => {
    const values = { secrets: { metricsToken: true, jwtSecret: true } };
    const objects = render(values);
    expect(chartProblems(objects, chartValues(values))).toEqual([]);
    const keysOf = (component: string) =>
      objects
        .filter((o) => o.spec?.template && componentOf(o) === component)
        .flatMap((o) => o.spec.template.spec.volumes.flatMap((v: K8s) => (v.secret?.items ?? []).map((i: K8s) => i.key)));
    expect(keysOf('gateway')).toEqual(['mysql-url', 'redis-url', 'service-token-keys.json', 'metrics-token', 'auth-jwt-secret']);
    for (const subgraph of SUBGRAPH_NAMES) expect(keysOf(subgraph)).toEqual(['mysql-url', 'redis-url', 'service-token-keys.json', 'metrics-token']);
    expect(keysOf('migrations')).toEqual(['mysql-url']);
    const marketplaceMounts = objects.filter((o) => o.spec?.template?.spec.volumes.some((v: K8s) => v.secret?.secretName === 'omnistock-marketplace-credentials'));
    expect(marketplaceMounts.map(componentOf)).toEqual(['jobs']);
  });

  it('renders other sound variants: fixed replicas, no network policies, no migrations hook, another release name', () => {
    const variants: Values[] = [
      { services: { gateway: { autoscaling: { enabled: false }, replicas: 3 } }, networkPolicy: { enabled: false }, migrations: { enabled: false } },
      { env: { LOG_LEVEL: 'debug', REGISTRY_ENVIRONMENT: 'staging' }, services: { inventory: { env: { AVAILABILITY_READ_MODEL: 'off' } } }, image: { tag: '1.2.3' } },
      { networkPolicy: { allowFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] } },
    ];
    for (const values of variants) expect(chartProblems(render(values), chartValues(values)), JSON.stringify(values)).toEqual([]);
    const fixed = render(variants[0]);
    expect(fixed.find((o) => o.kind === 'Deployment' && componentOf(o) === 'gateway')!.spec.replicas).toBe(3);
    expect(fixed.some((o) => o.kind === 'HorizontalPodAutoscaler' && componentOf(o) === 'gateway')).toBe(false);
    expect(fixed.some((o) => o.kind === 'NetworkPolicy' || o.kind === 'Job')).toBe(false);
    const tagged = render(variants[1]);
    expect(tagged.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].image).toBe('omnistock:1.2.3');
    const named = renderChart(CHART, { releaseName: 'omnistock', values: {} }).objects.map((o) => o.object);
    expect(named.find((o) => o.kind === 'Service' && componentOf(o) === 'inventory')!.metadata.name).toBe('omnistock-inventory');
    expect(chartProblems(named, chartValues())).toEqual([]);
  });

  it('attack: values that would put a secret in the environment, override what the chart sets, or turn authentication off are refused', () => {
    const refused: [Values, RegExp][] = [
      [{ env: { MYSQL_URL: 'mysql://root:hunter2@db:3306' } }, /env MYSQL_URL holds a secret: put it in the Secret omnistock-secrets/],
      [{ services: { gateway: { env: { AUTH_JWT_SECRET: 'x'.repeat(40) } } } }, /env AUTH_JWT_SECRET holds a secret/],
      [{ services: { jobs: { env: { SERVICE_TOKEN_KEYS: '{"keys":[]}' } } } }, /env SERVICE_TOKEN_KEYS holds a secret/],
      [{ env: { REDIS_URL: 'redis://:pw@cache:6379' } }, /env REDIS_URL holds a secret/],
      [{ env: { METRICS_TOKEN: 'a-token-of-sixteen+' } }, /env METRICS_TOKEN holds a secret/],
      [{ env: { SERVICE_AUTH: 'off' } }, /env SERVICE_AUTH=off: the chart runs Omnistock with authentication enforced/],
      [{ services: { gateway: { env: { AUTH_MODE: 'off' } } } }, /env AUTH_MODE=off/],
      [{ env: { HOST: '127.0.0.1' } }, /env HOST is set by the chart itself/],
      [{ services: { inventory: { env: { MYSQL_URL_FILE: '/tmp/mine' } } } }, /env MYSQL_URL_FILE is set by the chart itself/],
      [{ services: { gateway: { env: { INVENTORY_URL: 'http://elsewhere:4001/graphql' } } } }, /env INVENTORY_URL is set by the chart itself/],
    ];
    for (const [values, message] of refused) expect(() => render(values), JSON.stringify(values)).toThrow(message);
    // Turning them on, or any other value, is no refusal.
    expect(() => render({ env: { SERVICE_AUTH: 'enforce', AUTH_MODE: 'enforce', DB_POOL_SIZE: 20 } })).not.toThrow();
  });

  it('keeps to the template subset test/helm-template.ts renders: anything else is refused, not guessed', () => {
    // Go's nil-pointer rule: a field of a missing value is an error, as helm reports it.
    expect(() => render({ services: { gateway: { autoscaling: null } } })).toThrow(/nil pointer evaluating .*autoscaling\.enabled/);
    expect(() => renderString('{{ .Values.x | b64enc }}')).toThrow(/function "b64enc" is not in the renderer's subset/);
    expect(() => renderString('{{ template "x" . }}')).toThrow(/template is not in the renderer's subset/);
    expect(() => renderString('{{ .Values }}')).toThrow(/printing a map/);
    expect(renderString('a  {{- " b " -}}  c {{/* note */}}{{ if .Values.no }}x{{ else if eq 1 1 }}y{{ end }}{{ range $k, $v := dict "b" 2 "a" 1 }}{{ $k }}={{ $v }};{{ end }}{{ "q" | quote }}{{ 7 | toString | printf "%s-%d" "n" }}')).toBe(
      'a b c ya=1;b=2;"q"n-7',
    );
    expect(renderString('{{ dict "k" (list 1 2) | toYaml | nindent 2 }}')).toBe('\n  k:\n    - 1\n    - 2');
  });

  describe('the checks catch a broken chart', () => {
    const base = render();
    const clone = () => structuredClone(base) as K8s[];
    const find = (objects: K8s[], kind: string, component: string) => objects.find((o) => o.kind === kind && componentOf(o) === component)!;
    const container = (objects: K8s[], kind: string, component: string) => find(objects, kind, component).spec.template.spec.containers[0] as K8s;
    const setEnv = (c: K8s, name: string, value: string | undefined) => {
      c.env = c.env.filter((e: K8s) => e.name !== name);
      if (value !== undefined) c.env.push({ name, value });
    };
    const breaks: [string, (o: K8s[]) => void, string][] = [
      ['readiness on /healthz', (o) => (container(o, 'Deployment', 'orders').readinessProbe.httpGet.path = '/healthz'), 'Deployment shop-omnistock-orders: readinessProbe is not on /readyz'],
      ['liveness on a port the container lacks', (o) => (container(o, 'Deployment', 'inventory').livenessProbe.httpGet.port = 9999), 'livenessProbe is on port 9999, not a port of the container'],
      ['a Service selecting nothing', (o) => (find(o, 'Service', 'channels').spec.selector['app.kubernetes.io/component'] = 'channel'), 'Service shop-omnistock-channels: selects 0 Deployments, expected 1'],
      ['an autoscaler targeting a missing Deployment', (o) => (find(o, 'HorizontalPodAutoscaler', 'gateway').spec.scaleTargetRef.name = 'shop-omnistock-gw'), 'targets no Deployment of the chart (shop-omnistock-gw)'],
      ['an autoscaler on the jobs process', (o) => (find(o, 'HorizontalPodAutoscaler', 'gateway').spec.scaleTargetRef.name = 'shop-omnistock-jobs'), 'scales the jobs process, which is not stateless'],
      ['a disruption budget selecting nothing', (o) => (find(o, 'PodDisruptionBudget', 'exceptions').spec.selector.matchLabels['app.kubernetes.io/instance'] = 'other'), 'PodDisruptionBudget shop-omnistock-exceptions: selects no Deployment'],
      ['a secret volume from an undocumented Secret', (o) => (find(o, 'Deployment', 'locations').spec.template.spec.volumes.find((v: K8s) => v.secret).secret.secretName = 'db-creds'), 'mounts db-creds, not a documented Secret'],
      ['a secret in an environment variable', (o) => setEnv(container(o, 'Deployment', 'orders'), 'MYSQL_URL', 'mysql://root:pw@db:3306'), 'MYSQL_URL holds a secret in an environment variable'],
      ['a secret through valueFrom', (o) => container(o, 'Deployment', 'orders').env.push({ name: 'AUTH_JWT_SECRET', valueFrom: { secretKeyRef: { name: 'omnistock-secrets', key: 'auth-jwt-secret' } } }), 'AUTH_JWT_SECRET comes from valueFrom'],
      ['a secret in a ConfigMap', (o) => o.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { REDIS_URL: 'redis://:pw@r:6379' } }), 'ConfigMap cfg: REDIS_URL holds a secret'],
      ['MySQL left at its default', (o) => setEnv(container(o, 'Deployment', 'marketplaces'), 'MYSQL_URL_FILE', undefined), 'MYSQL_URL is mysql://root@127.0.0.1:3306, not the Secret\'s mysql-url'],
      ['a secret file that is not mounted', (o) => setEnv(container(o, 'Deployment', 'gateway'), 'REDIS_URL_FILE', '/etc/omnistock/other/redis-url'), 'its process refuses its configuration: REDIS_URL_FILE: cannot read /etc/omnistock/other/redis-url (ENOENT)'],
      ['the gateway without a subgraph URL', (o) => setEnv(container(o, 'Deployment', 'gateway'), 'ORDERS_URL', undefined), 'Deployment shop-omnistock-gateway: ORDERS_URL is not set'],
      ['a subgraph URL to the wrong Service', (o) => setEnv(container(o, 'Deployment', 'gateway'), 'ORDERS_URL', 'http://shop-omnistock-locations:4003/graphql'), 'ORDERS_URL http://shop-omnistock-locations:4003/graphql reaches locations, not orders'],
      ['orders calling inventory on the wrong port', (o) => setEnv(container(o, 'Deployment', 'orders'), 'ORDERS_INVENTORY_URL', 'http://shop-omnistock-inventory:4999/graphql'), 'Service shop-omnistock-inventory has no port 4999'],
      ['a subgraph listening on loopback', (o) => setEnv(container(o, 'Deployment', 'channels'), 'HOST', '127.0.0.1'), 'the process listens on 127.0.0.1, unreachable from its Service'],
      ['a process listening on another port', (o) => setEnv(container(o, 'Deployment', 'exceptions'), 'EXCEPTIONS_PORT', '4106'), 'the process listens on 4106, which is not a container port'],
      ['service tokens off', (o) => setEnv(container(o, 'Deployment', 'inventory'), 'SERVICE_AUTH', 'off'), 'SERVICE_AUTH is not enforce'],
      ['a pod that may run as root', (o) => (find(o, 'Deployment', 'jobs').spec.template.spec.securityContext.runAsNonRoot = false), 'Deployment shop-omnistock-jobs: the pod may run as root'],
      ['a writable root file system', (o) => (container(o, 'Job', 'migrations').securityContext.readOnlyRootFilesystem = false), 'Job shop-omnistock-migrations: has a writable root file system'],
      ['no memory limit', (o) => delete container(o, 'Deployment', 'gateway').resources.limits.memory, 'no memory limits'],
      ['a command running a missing file', (o) => (container(o, 'Deployment', 'jobs').command[1] = 'dist/jobs/index.js'), 'runs dist/jobs/index.js, which does not exist'],
      ['a migrations Job that is no hook', (o) => delete find(o, 'Job', 'migrations').metadata.annotations['helm.sh/hook'], 'is not a pre-install and pre-upgrade hook'],
      ['a missing process', (o) => o.splice(o.indexOf(find(o, 'Deployment', 'locations')), 1), '0 Deployments for locations, expected 1'],
      ['a schema violation', (o) => (container(o, 'Deployment', 'orders').ports[0].containerPort = '4002'), 'schema: data/spec/template/spec/containers/0/ports/0/containerPort must be integer'],
      ['a subgraph given the JWT secret', (o) => find(o, 'Deployment', 'inventory').spec.template.spec.volumes.find((v: K8s) => v.secret).secret.items.push({ key: 'auth-jwt-secret', path: 'auth-jwt-secret' }), 'is given the secret key auth-jwt-secret, which inventory does not read'],
      ['a subgraph open to every pod', (o) => delete find(o, 'NetworkPolicy', 'orders').spec.ingress[0].from, 'lets anyone reach the orders subgraph'],
      ['an autoscaled Deployment with fixed replicas', (o) => (find(o, 'Deployment', 'gateway').spec.replicas = 2), "its Deployment also sets replicas"],
    ];
    it.each(breaks)('%s', (_name, breakIt, expected) => {
      const broken = clone();
      breakIt(broken);
      const problems = chartProblems(broken, chartValues());
      expect(problems.join('\n')).toContain(expected);
    });
  });
});

/** Renders one template string with the chart's values as .Values (the renderer's own behaviour). */
function renderString(template: string): string {
  return renderTemplate(template, { Values: chartValues() });
}

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  // Instructions, continuation lines joined, comments dropped.
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string> };

  it('builds one image on node:20-slim, run as an unprivileged user, whose commands all exist', () => {
    const stages = instructions.filter((i) => i.op === 'FROM');
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.args).toMatch(/^node:20-slim(\s+AS\s+\w+)?$/i);
    const last = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));
    const user = last.filter((i) => i.op === 'USER').at(-1);
    expect(user?.args).toBeTruthy();
    expect(['root', '0']).not.toContain(user!.args.split(':')[0]);
    // Every `npm run X` is a script of package.json; the build installs, bundles the console and prunes dev dependencies.
    const runs = instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join(' && ');
    for (const [, script] of runs.matchAll(/npm run ([\w:-]+)/g)) expect(pkg.scripts, script).toHaveProperty(script!);
    expect(runs).toMatch(/npm ci\b/);
    // npm run build: the console's bundle and the compiled processes.
    expect(runs).toMatch(/npm run build\b(?!:)/);
    expect(pkg.scripts.build).toContain('npm run build:console');
    expect(runs).toMatch(/npm prune --omit=dev/);
    for (const copy of instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
      for (const source of copy.args.split(/\s+/).slice(0, -1)) if (source !== '.') expect(existsSync(path.join(ROOT, source)), source).toBe(true);
    }
    // The default command and the chart's: files the build compiles, run the way npm start runs them.
    const cmd = JSON.parse(instructions.filter((i) => i.op === 'CMD').at(-1)!.args) as string[];
    expect(cmd).toEqual(['node', compiledPath(ENTRY.gateway)]);
    // With the V8 flags npm start runs every service with (the chart's containers inherit the image's environment).
    const env = instructions.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    expect(env).toContain(`NODE_OPTIONS=${NODE_FLAGS.join(' ')}`);
    const commands = render().flatMap((o) => (o.spec?.template?.spec.containers ?? []).map((c: K8s) => c.command as string[]));
    for (const command of [cmd, ...commands]) {
      expect(command[0], command.join(' ')).toBe('node');
      expect(builtFromSource(command[1]), command.join(' ')).toBe(true);
    }
  });

  it("leaves out of the image nothing a process imports, and every package a process imports survives the pruning of dev dependencies", () => {
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    // Kept to names and `*.ext` patterns, which this check matches exactly as docker does.
    for (const pattern of ignore) expect(pattern, pattern).toMatch(/^(\*\.[\w-]+|[\w.-]+(\/[\w.-]+)*)$/);
    // As docker matches them: a name is a path from the context's root (a directory: all under it), `*.ext` a file at the root.
    const ignored = (file: string) => ignore.some((p) => (p.startsWith('*.') ? !file.includes('/') && file.endsWith(p.slice(1)) : file === p || file.startsWith(`${p}/`)));
    const entries = [...new Set([...Object.values(ENTRY), 'scripts/migrate.ts'])];
    const report = JSON.parse(
      execFileSync(path.join(ROOT, 'node_modules/.bin/depcruise'), [...entries, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }),
    ) as { modules: { source: string; dependencies: { module: string; resolved: string; dependencyTypes: string[]; coreModule?: boolean }[] }[] };
    expect(report.modules.length).toBeGreaterThan(100);
    // The repository's own files among them (packages, Node's modules and unresolved names aside).
    const local = report.modules.map((m) => m.source).filter((s) => !s.startsWith('node_modules/') && existsSync(path.join(ROOT, s)));
    expect(local).toContain('gateway/main.ts');
    expect(local.filter(ignored)).toEqual([]);
    // Files the processes read at run time besides their imports.
    for (const file of ['supergraph.yaml', ...SUBGRAPH_NAMES.map((n) => `subgraphs/${n}/api/schema.graphql`), 'registry/api/schema.graphql']) expect(ignored(file), file).toBe(false);
    const runtimePackages = new Set<string>();
    for (const m of report.modules) {
      for (const d of m.dependencies) {
        if (d.coreModule || d.dependencyTypes.includes('core')) continue;
        if (d.dependencyTypes.every((t) => t === 'type-only' || t === 'type-import' || t === 'pre-compilation-only')) continue;
        if (d.module.startsWith('.') || d.module.startsWith('/')) continue;
        const name = d.module.startsWith('@') ? d.module.split('/').slice(0, 2).join('/') : d.module.split('/')[0]!;
        runtimePackages.add(name);
      }
    }
    const missing = [...runtimePackages].filter((p) => !(p in pkg.dependencies));
    expect(missing, 'imported at run time but not a production dependency').toEqual([]);
    // dependency-cruiser walks ~400 modules: give it room on a loaded machine.
  }, 180_000);
});
