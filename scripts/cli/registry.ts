/**
 * `omnistock registry …`: the schema registry's command line. It talks to the registry API
 * (`--url`, `--token`; defaults REGISTRY_URL and REGISTRY_TOKEN), or with `--local` runs the same
 * API in-process on the registry database as an operator (every action allowed: whoever can reach
 * the database can anyway). Credentials are API keys (or JWTs) with registry scopes, managed by
 * `omnistock keys` (there is one identity store for the gateway and the registry).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { Command, Option } from 'commander';
import { pino } from 'pino';
import { config, registryUrl } from '../../lib/config.js';
import { setLogDestination } from '../../lib/logger.js';
import { print, run, unwrap, type ApiErrorShape } from './common.js';

interface ConnectionOptions {
  url?: string;
  token?: string;
  local?: boolean;
  json?: boolean;
}

type Execute = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;

/** Runs `work` with an executor of registry API operations: remote, or in-process with --local. */
async function withApi<T>(opts: ConnectionOptions, work: (execute: Execute) => Promise<T>): Promise<T> {
  const cfg = config();
  if (opts.local) {
    // Log lines (audit lines such as "registry token issued") go to stderr: stdout is the answer, e.g. --json.
    setLogDestination(pino.destination(2));
    // Loaded only here: the registry (Apollo, TypeORM, composition) takes seconds to load, a remote call needs none of it.
    const { ApiKeyService, createRegistryApollo, openRegistry, operatorContext } = await import('../../registry/index.js');
    const registry = await openRegistry(cfg, { deliverWebhooks: false });
    const apollo = createRegistryApollo();
    await apollo.start();
    try {
      return await work(async (query, variables = {}) => {
        const res = await apollo.executeOperation({ query, variables }, { contextValue: operatorContext(registry.service, new ApiKeyService(registry.dataSource)) });
        if (res.body.kind !== 'single') throw new Error('unexpected incremental response');
        return unwrap(res.body.singleResult);
      });
    } finally {
      await apollo.stop();
      await registry.close();
    }
  }
  const url = opts.url ?? registryUrl(cfg);
  const token = opts.token ?? cfg.REGISTRY_TOKEN;
  return work(async (query, variables = {}) => {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
    } catch (err) {
      throw new Error(`Cannot reach the registry at ${url}: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => ({ errors: [{ message: `HTTP ${res.status} from ${url}` }] }))) as { data?: unknown; errors?: ApiErrorShape[] };
    return unwrap(body);
  });
}

/** `--env <name>`: the registry environment a command is for (default production). */
function inEnvironment(command: Command): Command {
  return command.option('--env <name>', 'registry environment (REGISTRY_ENVIRONMENTS; default production)');
}

function connection(command: Command): Command {
  return command
    .option('--url <url>', 'registry API URL (default: REGISTRY_URL, else the gateway on this host)')
    .option('--token <key>', 'API key or JWT with registry scopes, sent as a bearer token (default: REGISTRY_TOKEN)')
    .option('--local', 'use the registry database directly, as an operator')
    .option('--json', 'print JSON');
}


const CHECK_FIELDS = `id ok blockers text baseSupergraphVersion json`;

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`not an integer: ${v}`);
  return n;
};

interface EnvOption {
  /** --env: the registry environment (default production). */
  env?: string;
}

interface SchemaOptions extends ConnectionOptions {
  schema: string;
  routingUrl?: string;
  subscriptionUrl?: string;
}

export function registryCommand(): Command {
  const command = new Command('registry').description('Schema registry: check, publish, history, diff, rollback, approvals, webhooks (credentials: `omnistock keys`)');

  connection(
    inEnvironment(
      command
        .command('check <subgraph>')
        .description('Check a proposed subgraph schema against an environment: composition, client-facing changes and their usage, lint (exit 1 when a publish would be refused)')
        .requiredOption('-s, --schema <file>', 'the SDL file')
        .option('--routing-url <url>', 'routing URL (required for a new subgraph)')
        .option('--subscription-url <url>', 'graphql-ws URL'),
    ),
  ).action(
    run(async (subgraph: string, opts: SchemaOptions & EnvOption) =>
      withApi(opts, async (execute) => {
        const sdl = await readFile(opts.schema, 'utf8');
        const { check } = await execute<{ check: { ok: boolean; text: string; json: unknown } }>(
          `mutation($input: CheckInput!) { check(input: $input) { ${CHECK_FIELDS} } }`,
          { input: { subgraph, sdl, routingUrl: opts.routingUrl, subscriptionUrl: opts.subscriptionUrl, environment: opts.env } },
        );
        print(opts.json, check.json, () => check.text);
        return check.ok ? 0 : 1;
      }),
    ),
  );

  connection(
    inEnvironment(
      command
        .command('publish <subgraph>')
        .description("Check and publish a subgraph schema to an environment; that environment's gateways serve it within seconds (exit 1 when refused)")
        .requiredOption('-s, --schema <file>', 'the SDL file')
        .option('--routing-url <url>', 'routing URL in the environment (required for a subgraph new to it)')
        .option('--subscription-url <url>', 'graphql-ws URL')
        .option('--author <name>', 'who publishes (default: the caller)')
        .option('--commit <ref>', 'the commit it comes from')
        .option('--team <team>', 'owner of a new subgraph (registry:admin only)'),
    ),
  ).action(
    run(async (subgraph: string, opts: SchemaOptions & EnvOption & { author?: string; commit?: string; team?: string }) =>
      withApi(opts, async (execute) => {
        const sdl = await readFile(opts.schema, 'utf8');
        const { publish } = await execute<{ publish: PublishAnswer }>(publishMutation('publish', 'PublishInput'), {
          input: { subgraph, sdl, routingUrl: opts.routingUrl, subscriptionUrl: opts.subscriptionUrl, author: opts.author, commit: opts.commit, team: opts.team, environment: opts.env },
        });
        return printPublish(opts, publish);
      }),
    ),
  );

  connection(
    command
      .command('promote <subgraph>')
      .description("Publish the schema version current in --from to --to (the same version), through the full check against --to (exit 1 when refused)")
      .option('--from <env>', 'the environment it comes from', 'staging')
      .option('--to <env>', 'the environment it goes to', 'production')
      .option('--routing-url <url>', 'routing URL in --to (required for a subgraph new to it; else it keeps its URL there)')
      .option('--subscription-url <url>', 'graphql-ws URL in --to'),
  ).action(
    run(async (subgraph: string, opts: ConnectionOptions & { from: string; to: string; routingUrl?: string; subscriptionUrl?: string }) =>
      withApi(opts, async (execute) => {
        const { promote } = await execute<{ promote: PublishAnswer }>(publishMutation('promote', 'PromoteInput'), {
          input: { subgraph, from: opts.from, to: opts.to, routingUrl: opts.routingUrl, subscriptionUrl: opts.subscriptionUrl },
        });
        return printPublish(opts, promote, undefined, `promoted ${subgraph} from ${opts.from} to ${opts.to}`);
      }),
    ),
  );

  connection(inEnvironment(command.command('subgraphs').description("Every subgraph of an environment's supergraph: owner, routing URL, current version"))).action(
    run(async (opts: ConnectionOptions & EnvOption) =>
      withApi(opts, async (execute) => {
        const { subgraphs } = await execute<{ subgraphs: { name: string; team: string; routingUrl: string; subscriptionUrl: string | null; currentVersion: number | null; updatedAt: string }[] }>(
          'query($e: String) { subgraphs(environment: $e) { name team routingUrl subscriptionUrl currentVersion updatedAt } }',
          { e: opts.env },
        );
        print(
          opts.json,
          subgraphs,
          () =>
            subgraphs.map((s) => `${s.name.padEnd(14)} v${String(s.currentVersion ?? '-').padEnd(4)} ${s.team.padEnd(12)} ${s.routingUrl}`).join('\n') ||
            'No subgraphs yet: the first gateway (or npm start) seeds the registry from supergraph.yaml.',
        );
      }),
    ),
  );

  connection(
    inEnvironment(
      command
        .command('history [subgraph]')
        .description("A subgraph's schema versions (shared by every environment), or (without a subgraph) an environment's supergraph versions, newest first")
        .option('-n, --limit <n>', 'how many', int, 20),
    ),
  ).action(
    run(async (subgraph: string | undefined, opts: ConnectionOptions & EnvOption & { limit: number }) =>
      withApi(opts, async (execute) => {
        if (subgraph) {
          const { schemaVersions } = await execute<{ schemaVersions: { version: number; hash: string; author: string; commit: string | null; createdAt: string }[] }>(
            'query($s: String!, $n: Int) { schemaVersions(subgraph: $s, first: $n) { version hash author commit createdAt } }',
            { s: subgraph, n: opts.limit },
          );
          print(opts.json, schemaVersions, () =>
            schemaVersions.map((v) => `v${String(v.version).padEnd(4)} ${v.createdAt}  ${v.hash.slice(0, 12)}  ${v.author}${v.commit ? `  ${v.commit}` : ''}`).join('\n') || 'No versions.',
          );
        } else {
          const { supergraphVersions } = await execute<{ supergraphVersions: { version: number; createdAt: string; createdBy: string; reason: string; compositionVersion: string; members: { subgraph: string; schemaVersion: number }[] }[] }>(
            'query($n: Int, $e: String) { supergraphVersions(first: $n, environment: $e) { version createdAt createdBy reason compositionVersion members { subgraph schemaVersion } } }',
            { n: opts.limit, e: opts.env },
          );
          print(opts.json, supergraphVersions, () =>
            supergraphVersions
              .map((v) => `v${String(v.version).padEnd(4)} ${v.createdAt}  ${v.reason} (${v.createdBy}, composition ${v.compositionVersion})  ${v.members.map((m) => `${m.subgraph}@${m.schemaVersion}`).join(' ')}`)
              .join('\n') || 'No versions.',
          );
        }
      }),
    ),
  );

  connection(
    inEnvironment(
      command
        .command('diff <from> <to>')
        .description("Changes between two of an environment's supergraph versions, or with --subgraph between two of its schema versions")
        .option('--subgraph <name>', 'diff schema versions of this subgraph'),
    ),
  ).action(
    run(async (from: string, to: string, opts: ConnectionOptions & EnvOption & { subgraph?: string }) =>
      withApi(opts, async (execute) => {
        const { diff } = await execute<{ diff: { changes: { type: string; coordinate: string | null; criticality: string; message: string }[] } }>(
          'query($s: String, $from: Int!, $to: Int!, $e: String) { diff(subgraph: $s, from: $from, to: $to, environment: $e) { changes { type coordinate criticality message } } }',
          { s: opts.subgraph ?? null, from: int(from), to: int(to), e: opts.env },
        );
        print(opts.json, diff, () => diff.changes.map((c) => `${c.criticality.padEnd(9)} ${c.coordinate ?? ''}: ${c.message}`).join('\n') || 'No changes.');
      }),
    ),
  );

  connection(
    inEnvironment(
      command
        .command('rollback <subgraph> <version>')
        .description('Publish an earlier schema version again in an environment, as a new version (it must still compose and pass the checks there)')
        .option('--author <name>', 'who rolls back'),
    ),
  ).action(
    run(async (subgraph: string, version: string, opts: ConnectionOptions & EnvOption & { author?: string }) =>
      withApi(opts, async (execute) => {
        const { rollback } = await execute<{ rollback: PublishAnswer }>(publishMutation('rollback', 'RollbackInput'), {
          input: { subgraph, version: int(version), author: opts.author, environment: opts.env },
        });
        return printPublish(opts, rollback);
      }),
    ),
  );

  connection(
    inEnvironment(
      command
        .command('remove <subgraph>')
        .description("Take a subgraph out of an environment's supergraph, through the same checks as a publish (what breaks, for whom, approvals)"),
    ),
  ).action(
    run(async (subgraph: string, opts: ConnectionOptions & EnvOption) =>
      withApi(opts, async (execute) => {
        const { removeSubgraph } = await execute<{ removeSubgraph: PublishAnswer }>(publishMutation('removeSubgraph', 'RemoveSubgraphInput'), { input: { subgraph, environment: opts.env } });
        return printPublish(opts, removeSubgraph, `removed ${subgraph}`);
      }),
    ),
  );

  connection(
    inEnvironment(
      command
        .command('approve <fingerprint>')
        .description('Approve a breaking change a check reported (by its fingerprint) in an environment, until a publish or promotion ships it there')
        .option('--reason <text>', 'why it is acceptable'),
    ),
  ).action(
    run(async (fingerprint: string, opts: ConnectionOptions & EnvOption & { reason?: string }) =>
      withApi(opts, async (execute) => {
        const { approve } = await execute<{ approve: { fingerprint: string; subgraph: string; coordinate: string | null; message: string; approvedBy: string; environment: string } }>(
          'mutation($f: String!, $r: String, $e: String) { approve(input: { fingerprint: $f, reason: $r, environment: $e }) { fingerprint subgraph coordinate message approvedBy environment } }',
          { f: fingerprint, r: opts.reason, e: opts.env },
        );
        print(opts.json, approve, () => `✔ approved ${approve.fingerprint} (${approve.subgraph}: ${approve.message}) in ${approve.environment} by ${approve.approvedBy}`);
      }),
    ),
  );

  connection(inEnvironment(command.command('supergraph [version]').description('Print a supergraph version’s SDL (default: the environment’s latest)'))).action(
    run(async (version: string | undefined, opts: ConnectionOptions & EnvOption) =>
      withApi(opts, async (execute) => {
        const { supergraphVersion } = await execute<{ supergraphVersion: { version: number; sdl: string } | null }>(
          'query($v: Int, $e: String) { supergraphVersion(version: $v, environment: $e) { version sdl } }',
          { v: version === undefined ? null : int(version), e: opts.env },
        );
        if (!supergraphVersion) throw new Error(`no supergraph version ${version ?? ''} in ${opts.env ?? 'production'}`);
        print(opts.json, supergraphVersion, () => supergraphVersion.sdl);
      }),
    ),
  );

  connection(
    command
      .command('hosts <subgraph>')
      .description("The hosts a subgraph's routing and subscription URLs may name; an admin allows or disallows them (before a partner's first publish)")
      .option('--allow <hosts>', 'comma-separated hosts to allow (`host` for any port, or `host:port`)', list)
      .option('--disallow <hosts>', 'comma-separated hosts to disallow', list),
  ).action(
    run(async (subgraph: string, opts: ConnectionOptions & { allow?: string[]; disallow?: string[] }) =>
      withApi(opts, async (execute) => {
        let hosts: string[] = [];
        if (opts.allow) ({ allowSubgraphHosts: hosts } = await execute<{ allowSubgraphHosts: string[] }>('mutation($s: String!, $h: [String!]!) { allowSubgraphHosts(subgraph: $s, hosts: $h) }', { s: subgraph, h: opts.allow }));
        if (opts.disallow) ({ disallowSubgraphHosts: hosts } = await execute<{ disallowSubgraphHosts: string[] }>('mutation($s: String!, $h: [String!]!) { disallowSubgraphHosts(subgraph: $s, hosts: $h) }', { s: subgraph, h: opts.disallow }));
        if (!opts.allow && !opts.disallow) ({ subgraphHosts: hosts } = await execute<{ subgraphHosts: string[] }>('query($s: String!) { subgraphHosts(subgraph: $s) }', { s: subgraph }));
        print(opts.json, hosts, () => (hosts.length ? hosts.join('\n') : `no hosts allowed for ${subgraph}`));
      }),
    ),
  );

  command.addCommand(webhooksCommand());
  command.addCommand(contractsCommand());
  command.addCommand(documentsCommand());

  return command;
}

/** An Apollo persisted-query manifest, or a plain `{ "<id>": "<text>" }` map (graphql-codegen's persisted documents). */
const manifestSchema = z.union([
  z.object({
    format: z.literal('apollo-persisted-query-manifest'),
    operations: z.array(z.object({ id: z.string(), body: z.string(), name: z.string().optional() })),
  }),
  z.record(z.string(), z.string()),
]);

interface DocumentInput {
  body: string;
  id?: string;
  name: string;
}

/**
 * The documents in files and directories (searched recursively): each `.graphql`/`.gql` file is one
 * document, its text exactly as it is; a `.json` file is a manifest of many.
 */
async function readDocuments(paths: string[]): Promise<DocumentInput[]> {
  const files: string[] = [];
  for (const path of paths) {
    if ((await stat(path)).isDirectory()) {
      const entries = (await readdir(path, { recursive: true })).filter((f) => /\.(graphql|gql|json)$/.test(f)).sort();
      files.push(...entries.map((f) => join(path, f)));
    } else {
      files.push(path);
    }
  }
  const documents: DocumentInput[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    if (!file.endsWith('.json')) {
      documents.push({ body: text, name: file });
      continue;
    }
    let manifest: z.output<typeof manifestSchema>;
    try {
      manifest = manifestSchema.parse(JSON.parse(text));
    } catch (err) {
      throw new Error(`${file}: not a persisted-query manifest (${(err as Error).message.split('\n')[0]})`);
    }
    if ('format' in manifest && Array.isArray(manifest.operations)) {
      for (const op of manifest.operations) documents.push({ body: op.body, id: op.id, name: `${file}#${op.name ?? op.id}` });
    } else {
      for (const [id, body] of Object.entries(manifest as Record<string, string>)) documents.push({ body, id, name: `${file}#${id}` });
    }
  }
  if (!documents.length) throw new Error(`no .graphql, .gql or .json documents in ${paths.join(', ')}`);
  return documents;
}

interface PublishedDocumentsAnswer {
  client: string;
  created: number;
  unchanged: number;
  documents: { id: string; operationNames: string[]; created: boolean }[];
}

/** `registry documents …`: a client application's trusted documents and its policy. */
function webhooksCommand(): Command {
  const webhooks = new Command('webhooks').description('Signed webhooks on publish and on deprecation removal dates (admin)');
  connection(webhooks.command('list').description('Every webhook')).action(
    run(async (opts: ConnectionOptions) =>
      withApi(opts, async (execute) => {
        const { webhooks: rows } = await execute<{ webhooks: { id: string; url: string; events: string[] }[] }>('{ webhooks { id url events createdAt } }');
        print(opts.json, rows, () => rows.map((w) => `${w.id}  ${w.url}  ${w.events.join(', ')}`).join('\n') || 'No webhooks.');
      }),
    ),
  );
  connection(
    webhooks
      .command('add <url>')
      .description('Add a webhook; its signing secret is printed once')
      .addOption(new Option('--events <events>', 'comma-separated: schema_published, deprecation_removal_due (default: all)').argParser((v) => list(v).map((e) => e.toUpperCase())))
      .option('--secret <secret>', 'signing secret (default: generated)'),
  ).action(
    run(async (url: string, opts: ConnectionOptions & { events?: string[]; secret?: string }) =>
      withApi(opts, async (execute) => {
        const { addWebhook } = await execute<{ addWebhook: { webhook: { id: string; url: string; events: string[] }; secret: string } }>(
          'mutation($input: AddWebhookInput!) { addWebhook(input: $input) { webhook { id url events } secret } }',
          { input: { url, events: opts.events, secret: opts.secret } },
        );
        print(opts.json, addWebhook, () => `✔ webhook ${addWebhook.webhook.id} → ${addWebhook.webhook.url} (${addWebhook.webhook.events.join(', ')})\n  signing secret: ${addWebhook.secret}`);
      }),
    ),
  );
  connection(webhooks.command('remove <id>').description('Remove a webhook')).action(
    run(async (id: string, opts: ConnectionOptions) =>
      withApi(opts, async (execute) => {
        const { removeWebhook } = await execute<{ removeWebhook: boolean }>('mutation($id: ID!) { removeWebhook(id: $id) }', { id });
        print(opts.json, { removed: removeWebhook }, () => (removeWebhook ? `✔ removed ${id}` : `no webhook ${id}`));
        return removeWebhook ? 0 : 1;
      }),
    ),
  );
  return webhooks;
}

interface ContractAnswer {
  name: string;
  includeTags: string[];
  excludeTags: string[];
  description: string | null;
  history: { supergraphVersion: number; hash: string; sdl?: string }[];
}

/** `registry contracts …`: API schemas per audience, filtered by @tag. */
function contractsCommand(): Command {
  const contracts = new Command('contracts').description('Contracts: the API schema each audience sees, filtered by @tag (set and remove: admin)');
  const tags = (c: ContractAnswer) => [c.includeTags.length ? `include ${c.includeTags.join(', ')}` : '', c.excludeTags.length ? `exclude ${c.excludeTags.join(', ')}` : ''].filter(Boolean).join('; ');
  connection(contracts.command('list').description('Every contract and its schema in the newest supergraph version')).action(
    run(async (opts: ConnectionOptions) =>
      withApi(opts, async (execute) => {
        const { contracts: rows } = await execute<{ contracts: ContractAnswer[] }>('{ contracts { name includeTags excludeTags description history(first: 1) { supergraphVersion hash } } }');
        print(opts.json, rows, () => rows.map((c) => `${c.name}  ${tags(c)}  (supergraph v${c.history[0]?.supergraphVersion ?? '-'}, ${c.history[0]?.hash.slice(0, 12) ?? '-'})${c.description ? `  ${c.description}` : ''}`).join('\n') || 'No contracts.');
      }),
    ),
  );
  connection(
    contracts
      .command('set <name>')
      .description('Create or change a contract; stored in a new supergraph version when it composes (exit 1 when it does not)')
      .option('--include <tags>', 'comma-separated tags to include (only what carries one)', list)
      .option('--exclude <tags>', 'comma-separated tags to exclude', list)
      .option('--description <text>', 'what it is for'),
  ).action(
    run(async (name: string, opts: ConnectionOptions & { include?: string[]; exclude?: string[]; description?: string }) =>
      withApi(opts, async (execute) => {
        const { setContract: out } = await execute<{ setContract: { __typename: string; supergraphVersion?: number; changes?: { criticality: string; coordinate: string | null; message: string }[]; errors?: { code: string; message: string }[] } }>(
          `mutation($input: SetContractInput!) { setContract(input: $input) { __typename
            ... on ContractSet { supergraphVersion changes { criticality coordinate message } }
            ... on ContractRejected { errors { code message } } } }`,
          { input: { name, includeTags: opts.include ?? [], excludeTags: opts.exclude ?? [], description: opts.description } },
        );
        print(opts.json, out, () =>
          out.__typename === 'ContractSet'
            ? [`✔ contract ${name} in supergraph v${out.supergraphVersion}; the gateways serve it at their next poll`, ...out.changes!.map((c) => `  ${c.criticality} ${c.coordinate ?? ''}: ${c.message}`)].join('\n')
            : [`✖ contract ${name} does not compose; nothing stored`, ...out.errors!.map((e) => `  ${e.code}: ${e.message}`)].join('\n'),
        );
        return out.__typename === 'ContractSet' ? 0 : 1;
      }),
    ),
  );
  connection(contracts.command('schema <name>').description('Print a contract’s API schema in the newest supergraph version')).action(
    run(async (name: string, opts: ConnectionOptions) =>
      withApi(opts, async (execute) => {
        const { contract } = await execute<{ contract: ContractAnswer | null }>('query($name: String!) { contract(name: $name) { name includeTags excludeTags description history(first: 1) { supergraphVersion hash sdl } } }', { name });
        if (!contract?.history[0]) throw new Error(`No contract ${name}`);
        print(opts.json, contract.history[0], () => contract.history[0]!.sdl!);
      }),
    ),
  );
  connection(contracts.command('remove <name>').description('Remove a contract; callers still on it are refused (CONTRACT_UNKNOWN)')).action(
    run(async (name: string, opts: ConnectionOptions) =>
      withApi(opts, async (execute) => {
        const { removeContract } = await execute<{ removeContract: number }>('mutation($name: String!) { removeContract(name: $name) }', { name });
        print(opts.json, { supergraphVersion: removeContract }, () => `✔ removed contract ${name} in supergraph v${removeContract}`);
      }),
    ),
  );
  return contracts;
}

function documentsCommand(): Command {
  const documents = new Command('documents').description("Trusted documents: register a client application's operations, list or remove them, set its policy (ENFORCE or ALLOW)");
  connection(
    documents
      .command('publish <paths...>')
      .description('Register the documents in .graphql/.gql files (one each), persisted-query manifests (.json) or directories of them, validated against the current supergraph; idempotent, all or nothing')
      .requiredOption('--client <id>', 'the client application (its API key’s or JWT’s client id, or its x-client-id)')
      .option('--app-version <name>', 'the app version or list name they come from'),
  ).action(
    run(async (paths: string[], opts: ConnectionOptions & { client: string; appVersion?: string }) =>
      withApi(opts, async (execute) => {
        const docs = await readDocuments(paths);
        const { publishDocuments: out } = await execute<{ publishDocuments: PublishedDocumentsAnswer }>(
          'mutation($input: PublishDocumentsInput!) { publishDocuments(input: $input) { client created unchanged documents { id operationNames created } } }',
          { input: { client: opts.client, appVersion: opts.appVersion, documents: docs } },
        );
        print(opts.json, out, () =>
          [
            ...out.documents.map((d) => `${d.created ? '+' : '='} ${d.id}  ${d.operationNames.map((n) => n || '(anonymous)').join(', ')}`),
            `✔ ${out.client}: ${out.created} registered, ${out.unchanged} already registered`,
          ].join('\n'),
        );
      }),
    ),
  );
  connection(
    documents
      .command('list')
      .description("A client's registered documents (every client's without --client: admin)")
      .option('--client <id>', 'the client application'),
  ).action(
    run(async (opts: ConnectionOptions & { client?: string }) =>
      withApi(opts, async (execute) => {
        const { trustedDocuments: rows, clientPolicies } = await execute<{
          trustedDocuments: { client: string; id: string; operationNames: string[]; appVersion: string | null; registeredBy: string; registeredAt: string }[];
          clientPolicies: { client: string; policy: string }[];
        }>('query($client: String) { trustedDocuments(client: $client) { client id operationNames appVersion registeredBy registeredAt } clientPolicies { client policy } }', {
          client: opts.client ?? null,
        });
        const policyOf = new Map(clientPolicies.map((p) => [p.client, p.policy]));
        print(opts.json, { documents: rows, policies: clientPolicies }, () => {
          const clients = [...new Set([...(opts.client ? [opts.client] : []), ...rows.map((r) => r.client)])];
          return (
            clients
              .map((c) =>
                [
                  `${c} (policy ${policyOf.get(c) ?? 'ALLOW'})`,
                  ...rows
                    .filter((r) => r.client === c)
                    .map((r) => `  ${r.id}  ${r.operationNames.map((n) => n || '(anonymous)').join(', ')}  ${r.appVersion ?? '-'}  ${r.registeredBy} ${r.registeredAt}`),
                ].join('\n'),
              )
              .join('\n') || 'No registered documents.'
          );
        });
      }),
    ),
  );
  connection(
    documents
      .command('remove [ids...]')
      .description("Remove a client's documents by id, or all of one --app-version (e.g. a retired release); under ENFORCE it can no longer run them")
      .requiredOption('--client <id>', 'the client application')
      .option('--app-version <name>', 'remove every document registered with this app version or list name'),
  ).action(
    run(async (ids: string[], opts: ConnectionOptions & { client: string; appVersion?: string }) =>
      withApi(opts, async (execute) => {
        const { removeDocuments: out } = await execute<{ removeDocuments: { client: string; removed: string[]; notRegistered: string[] } }>(
          'mutation($input: RemoveDocumentsInput!) { removeDocuments(input: $input) { client removed notRegistered } }',
          { input: { client: opts.client, ids: ids.length ? ids : null, appVersion: opts.appVersion ?? null } },
        );
        print(opts.json, out, () =>
          [
            ...out.removed.map((id) => `- ${id}`),
            ...out.notRegistered.map((id) => `? ${id} (not registered)`),
            `✔ ${out.client}: ${out.removed.length} removed; the gateways drop them at their next poll of the registry`,
          ].join('\n'),
        );
      }),
    ),
  );
  connection(
    documents
      .command('policy <policy>')
      .description('Set a client’s policy: enforce (only its registered documents run) or allow (admin)')
      .requiredOption('--client <id>', 'the client application'),
  ).action(
    run(async (policy: string, opts: ConnectionOptions & { client: string }) =>
      withApi(opts, async (execute) => {
        const value = policy.toUpperCase();
        if (value !== 'ENFORCE' && value !== 'ALLOW') throw new Error(`policy must be enforce or allow, not ${policy}`);
        const { setClientPolicy: out } = await execute<{ setClientPolicy: { client: string; policy: string } }>(
          'mutation($input: SetClientPolicyInput!) { setClientPolicy(input: $input) { client policy } }',
          { input: { client: opts.client, policy: value } },
        );
        print(opts.json, out, () => `✔ ${out.client}: ${out.policy}; the gateways apply it at their next poll of the registry`);
      }),
    ),
  );
  return documents;
}

interface PublishAnswer {
  __typename: 'Published' | 'PublishRejected';
  created?: boolean;
  supergraphVersion?: number;
  schemaVersion?: { version: number } | null;
  reasons?: string[];
  check: { ok: boolean; text: string; json: unknown };
}

const publishMutation = (field: 'publish' | 'promote' | 'rollback' | 'removeSubgraph', input: string) => `mutation($input: ${input}!) {
  ${field}(input: $input) {
    __typename
    ... on Published { created supergraphVersion schemaVersion { version } check { ${CHECK_FIELDS} } }
    ... on PublishRejected { reasons check { ${CHECK_FIELDS} } }
  }
}`;

function printPublish(opts: ConnectionOptions, answer: PublishAnswer, removed?: string, promoted?: string): number {
  const { check, ...rest } = answer;
  print(opts.json, { ...rest, check: check.json }, () => {
    if (answer.__typename === 'PublishRejected') return `${check.text}\n\n✖ not ${removed ? 'removed' : promoted ? 'promoted' : 'published'}`;
    if (promoted && answer.created) return `${check.text}\n\n✔ ${promoted}: schema v${answer.schemaVersion?.version} as supergraph v${answer.supergraphVersion}; its gateways serve it at their next poll`;
    if (removed) return `${check.text}\n\n✔ ${removed}: supergraph v${answer.supergraphVersion}; the gateway drops it at its next poll`;
    if (!answer.created) return `${check.text}\n\n✔ unchanged: schema v${answer.schemaVersion?.version} is already current (supergraph v${answer.supergraphVersion})`;
    return `${check.text}\n\n✔ published schema v${answer.schemaVersion?.version ?? '(routing only)'} as supergraph v${answer.supergraphVersion}; the gateway serves it at its next poll`;
  });
  return answer.__typename === 'Published' ? 0 : 1;
}
