/**
 * `omnistock exceptions …`: the exceptions inbox from a terminal, through the gateway's GraphQL API
 * (GATEWAY_URL) as GATEWAY_TOKEN's client, like `omnistock import`. Nothing runs with more rights
 * than that key holds: `act` sends the exception's suggested operation itself, so the service that
 * owns the fix checks the key's scopes (an inbox that ran fixes for people would lend them its own).
 */
import { Command } from 'commander';
import { Kind, parse, type OperationDefinitionNode, type TypeNode } from 'graphql';
import { config, gatewayUrl } from '../../lib/config.js';
import { graphqlCall, print, run, unwrap } from './common.js';

interface Action {
  kind: string;
  label: string;
  operation: string;
  variables: string;
  missing: string[];
}

interface Summary {
  id: string;
  kind: string;
  severity: string;
  state: string;
  title: string;
  cause: string;
  openSubjects: number;
  unitsAtRisk: number | null;
  valueAtRisk: number | null;
  firstSeenAt: string;
  team: string | null;
}

interface Exception extends Summary {
  explanation: string;
  sku: string | null;
  channel: { id: string } | null;
  location: { id: string } | null;
  totalSubjects: number;
  measure: number | null;
  lastSeenAt: string;
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
  resolution: string | null;
  note: string | null;
  evidenceCount: number;
  evidence: { type: string; id: string; subject: string; at: string }[];
  action: Action | null;
  history: { event: string; state: string; severity: string; actor: string | null; note: string | null; at: string }[];
}

interface Counts {
  total: number;
  byKind: { key: string; count: number }[];
  byCause: { key: string; count: number }[];
  bySeverity: { key: string; count: number }[];
}

const SUMMARY = 'id kind severity state title cause openSubjects unitsAtRisk valueAtRisk firstSeenAt team';
// Channel and location as ids only: their names live in other subgraphs, whose scopes the key may not hold.
const DETAIL = `${SUMMARY} explanation sku channel { id } location { id } totalSubjects measure lastSeenAt
  acknowledgedBy acknowledgedAt resolvedBy resolvedAt resolution note evidenceCount
  evidence(first: 20) { type id subject at } action { kind label operation variables missing }
  history { event state severity actor note at }`;

type Execute = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;

function gateway(): Execute {
  const cfg = config();
  const call = graphqlCall(gatewayUrl(cfg), cfg.GATEWAY_TOKEN, 'omnistock-cli');
  return async (query, variables = {}) => unwrap(await call(query, variables));
}

interface FilterOptions {
  kind?: string[];
  severity?: string;
  state?: string[];
  channel?: string;
  sku?: string;
  location?: string;
  cause?: string;
  team?: string;
}

/** `--kind dead_letter,oversold` or repeated: the schema's enum values (the gateway names a wrong one). */
const enumList = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim().toUpperCase())
    .filter(Boolean),
];

function filterOptions(command: Command): Command {
  return command
    .option('--kind <kinds>', 'these kinds only, comma-separated or repeated (e.g. DEAD_LETTER,OVERSOLD)', enumList)
    .option('--severity <severity>', 'this severity and above: LOW, MEDIUM, HIGH or CRITICAL', (v) => v.toUpperCase())
    .option('--state <states>', 'OPEN, ACKNOWLEDGED, RESOLVED (default: OPEN and ACKNOWLEDGED)', enumList)
    .option('--channel <code or id>', "one channel's (a code is looked up: needs availability:read)")
    .option('--sku <sku>', "one SKU's")
    .option('--location <id>', "one location's")
    .option('--cause <cause>', 'one cause code')
    .option('--team <team>', "one team's")
    .option('--json', 'print JSON');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The ExceptionFilter of the options; a channel code becomes its id. */
async function filterOf(execute: Execute, opts: FilterOptions): Promise<Record<string, unknown>> {
  let channelId: string | undefined = opts.channel;
  if (opts.channel && !UUID.test(opts.channel)) {
    const { channelByCode } = await execute<{ channelByCode: { id: string } | null }>('query CliChannel($code: String!) { channelByCode(code: $code) { id } }', { code: opts.channel });
    if (!channelByCode) throw new Error(`no channel has the code ${opts.channel}`);
    channelId = channelByCode.id;
  }
  return { kinds: opts.kind, minSeverity: opts.severity, states: opts.state, channelId, sku: opts.sku, locationId: opts.location, cause: opts.cause, team: opts.team };
}

function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.floor(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Rows as columns padded to their widest cell (the last column, the title, is left as it is). */
export function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

const orDash = (v: number | null) => (v === null ? '-' : String(v));

function summaryTable(rows: Summary[]): string {
  return columns([
    ['ID', 'SEVERITY', 'STATE', 'KIND', 'AGE', 'OPEN', 'UNITS', 'VALUE', 'TEAM', 'CAUSE', 'TITLE'],
    ...rows.map((x) => [x.id, x.severity, x.state, x.kind, age(x.firstSeenAt), String(x.openSubjects), orDash(x.unitsAtRisk), x.valueAtRisk === null ? '-' : x.valueAtRisk.toFixed(2), x.team ?? '-', x.cause, x.title]),
  ]);
}

function detailText(x: Exception): string {
  const line = (label: string, value: string | number | null | undefined) => (value === null || value === undefined || value === '' ? [] : [`  ${label.padEnd(16)} ${value}`]);
  const lines = [
    `${x.title}`,
    `  ${x.id}  ${x.severity} ${x.kind}  ${x.state}${x.resolution ? ` (${x.resolution})` : ''}`,
    '',
    `  ${x.explanation}`,
    '',
    ...line('cause', x.cause),
    ...line('sku', x.sku),
    ...line('channel', x.channel?.id),
    ...line('location', x.location?.id),
    ...line('open subjects', `${x.openSubjects} of ${x.totalSubjects}`),
    ...line('units at risk', x.unitsAtRisk),
    ...line('value at risk', x.valueAtRisk === null ? null : x.valueAtRisk.toFixed(2)),
    ...line('measured', x.measure),
    ...line('team', x.team),
    ...line('first seen', x.firstSeenAt),
    ...line('last seen', x.lastSeenAt),
    ...line('acknowledged', x.acknowledgedAt && `${x.acknowledgedAt} by ${x.acknowledgedBy ?? 'the system'}`),
    ...line('resolved', x.resolvedAt && `${x.resolvedAt} by ${x.resolvedBy ?? 'the system'}`),
    ...line('note', x.note),
    '',
  ];
  if (x.action) {
    const missing = x.action.missing.length ? `; add ${x.action.missing.map((m) => `--var ${m}=<value>`).join(' ')}` : '';
    lines.push(`Suggested fix: ${x.action.label} (${x.action.kind}), run it with \`omnistock exceptions act ${x.id}\`${missing}`, `  ${x.action.operation}`, `  variables ${x.action.variables}`, '');
  } else lines.push('Suggested fix: none', '');
  lines.push(`Evidence (${x.evidence.length < x.evidenceCount ? `newest ${x.evidence.length} of ` : ''}${x.evidenceCount}):`);
  for (const e of x.evidence) lines.push(`  ${e.at}  ${e.type} ${e.id}  ${e.subject}`);
  lines.push('', 'History:');
  for (const h of x.history) lines.push(`  ${h.at}  ${h.event} → ${h.state} ${h.severity}${h.actor ? ` by ${h.actor}` : ''}${h.note ? `: ${h.note}` : ''}`);
  return lines.join('\n');
}

function countsText(c: Counts): string {
  const block = (title: string, rows: { key: string; count: number }[]) => [`${title}:`, ...(rows.length ? rows.map((r) => `  ${r.key.padEnd(24)} ${r.count}`) : ['  -'])];
  return [`${c.total} exception(s)`, ...block('by severity', c.bySeverity), ...block('by kind', c.byKind), ...block('by cause', c.byCause)].join('\n');
}

async function exceptionOf(execute: Execute, id: string): Promise<Exception> {
  const { exception } = await execute<{ exception: Exception | null }>(`query CliException($id: ID!) { exception(id: $id) { ${DETAIL} } }`, { id });
  if (!exception) throw new Error(`NOT_FOUND: no exception ${id}`);
  return exception;
}

/** Where a variable's value is typed: the operation's declaration of it (`$units: Int!` → Int), list or not. */
function declarations(operation: string): Map<string, { type: string; list: boolean }> {
  const op = parse(operation).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const named = (t: TypeNode, list = false): { type: string; list: boolean } =>
    t.kind === Kind.NON_NULL_TYPE ? named(t.type, list) : t.kind === Kind.LIST_TYPE ? named(t.type, true) : { type: t.name.value, list };
  return new Map((op?.variableDefinitions ?? []).map((v) => [v.variable.name.value, named(v.type)]));
}

/** A `--var` value as its declared type: Int, Float and Boolean are parsed, lists split on commas, the rest kept as text. */
export function typedValue(name: string, raw: string, declared: { type: string; list: boolean }): unknown {
  const one = (v: string): unknown => {
    if (declared.type === 'Int') {
      if (!/^-?\d+$/.test(v)) throw new Error(`--var ${name}: expected a whole number, not "${v}"`);
      return Number(v);
    }
    if (declared.type === 'Float') {
      if (v.trim() === '' || !Number.isFinite(Number(v))) throw new Error(`--var ${name}: expected a number, not "${v}"`);
      return Number(v);
    }
    if (declared.type === 'Boolean') {
      if (v !== 'true' && v !== 'false') throw new Error(`--var ${name}: expected true or false, not "${v}"`);
      return v === 'true';
    }
    return v;
  };
  return declared.list ? raw.split(',').map((v) => one(v.trim())) : one(raw);
}

/**
 * The variables an action runs with: its own, with `--var`s over them, each typed as the operation
 * declares it. @returns the variables, or the names it still needs (nothing is sent then)
 */
export function actionVariables(action: Pick<Action, 'operation' | 'variables' | 'missing'>, given: string[]): { variables: Record<string, unknown>; missing: string[] } {
  const declared = declarations(action.operation);
  const variables = JSON.parse(action.variables) as Record<string, unknown>;
  for (const pair of given) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--var ${pair}: expected name=value`);
    const name = pair.slice(0, eq);
    const type = declared.get(name);
    if (!type) throw new Error(`--var ${name}: the action takes no such variable (it takes ${[...declared.keys()].join(', ')})`);
    variables[name] = typedValue(name, pair.slice(eq + 1), type);
  }
  return { variables, missing: action.missing.filter((m) => variables[m] === undefined || variables[m] === null || variables[m] === '') };
}

const noteOption = ['--note <text>', 'why, kept in its history'] as const;

export function exceptionsCommand(): Command {
  const command = new Command('exceptions').description(
    'The exceptions inbox through the gateway as GATEWAY_TOKEN: list, show, acknowledge, resolve, assign, run the suggested fix (exceptions:read, exceptions:write)',
  );

  filterOptions(command.command('list').description('Exceptions, newest first (OPEN and ACKNOWLEDGED unless --state says otherwise)'))
    .option('-n, --limit <n>', 'at most this many (1-100)', (v) => Number(v), 50)
    .action(
      run(async (opts: FilterOptions & { limit: number; json?: boolean }) => {
        const execute = gateway();
        const filter = await filterOf(execute, opts);
        const { exceptions } = await execute<{ exceptions: { edges: { node: Summary }[]; pageInfo: { hasNextPage: boolean } } }>(
          `query CliExceptions($filter: ExceptionFilterInput, $first: Int) { exceptions(filter: $filter, first: $first) { edges { node { ${SUMMARY} } } pageInfo { hasNextPage } } }`,
          { filter, first: opts.limit },
        );
        const rows = exceptions.edges.map((e) => e.node);
        print(opts.json, rows, () =>
          rows.length ? `${summaryTable(rows)}${exceptions.pageInfo.hasNextPage ? `\n… more match: narrow the filter or raise --limit` : ''}` : 'No exceptions match.',
        );
      }),
    );

  filterOptions(command.command('counts').description('How many exceptions match, by severity, kind and cause')).action(
    run(async (opts: FilterOptions & { json?: boolean }) => {
      const execute = gateway();
      const filter = await filterOf(execute, opts);
      const { exceptionCounts } = await execute<{ exceptionCounts: Counts }>(
        'query CliExceptionCounts($filter: ExceptionFilterInput) { exceptionCounts(filter: $filter) { total byKind { key count } byCause { key count } bySeverity { key count } } }',
        { filter },
      );
      print(opts.json, exceptionCounts, () => countsText(exceptionCounts));
    }),
  );

  command
    .command('show <id>')
    .description('One exception: why, its figures, its suggested fix, evidence and history')
    .option('--json', 'print JSON')
    .action(
      run(async (id: string, opts: { json?: boolean }) => {
        const x = await exceptionOf(gateway(), id);
        print(opts.json, x, () => detailText(x));
      }),
    );

  const moves = [
    { name: 'ack', field: 'acknowledgeException', what: 'Acknowledge it: someone is on it (CONFLICT when resolved)', done: 'acknowledged' },
    { name: 'resolve', field: 'resolveException', what: 'Resolve it (if the cause is still there, it is raised again as a new exception)', done: 'resolved' },
    { name: 'not-anomaly', field: 'markNotAnomaly', what: 'Say an anomaly finding was not one: resolved as NOT_AN_ANOMALY, and detection raises its bar for that series', done: 'resolved as not an anomaly' },
  ] as const;
  for (const m of moves) {
    command
      .command(`${m.name} <id>`)
      .description(m.what)
      .option(...noteOption)
      .option('--json', 'print JSON')
      .action(
        run(async (id: string, opts: { note?: string; json?: boolean }) => {
          const data = await gateway()<Record<string, Exception>>(`mutation CliMove($id: ID!, $note: String) { ${m.field}(id: $id, note: $note) { ${DETAIL} } }`, { id, note: opts.note ?? null });
          const x = data[m.field]!;
          print(opts.json, x, () => `✔ ${x.id} ${m.done}: ${x.state}  ${x.title}`);
        }),
      );
  }

  command
    .command('assign <id> <team>')
    .description('Assign it to a team')
    .option('--json', 'print JSON')
    .action(
      run(async (id: string, team: string, opts: { json?: boolean }) => {
        const { assignException: x } = await gateway()<{ assignException: Exception }>(`mutation CliAssign($id: ID!, $team: String) { assignException(id: $id, team: $team) { ${DETAIL} } }`, { id, team });
        print(opts.json, x, () => `✔ ${x.id} assigned to ${x.team}: ${x.title}`);
      }),
    );

  command
    .command('act <id>')
    .description(
      "Run the exception's suggested fix through the gateway with your key's own scopes, then print the result; the exception resolves itself once the owning service reports the cause cleared. Exits 2, sending nothing, while a variable the fix needs is not given",
    )
    .option('--var <name=value>', 'a variable of the fix (those it lists as missing, or one to change); repeat for more', (v: string, previous: string[] = []) => [...previous, v])
    .option('--json', 'print JSON')
    .action(
      run(async (id: string, opts: { var?: string[]; json?: boolean }) => {
        const execute = gateway();
        const x = await exceptionOf(execute, id);
        const action = x.action;
        if (!action) throw new Error(`exception ${id} suggests no fix: see \`omnistock exceptions show ${id}\``);
        const { variables, missing } = actionVariables(action, opts.var ?? []);
        if (missing.length) {
          process.stderr.write(`✖ "${action.label}" needs ${missing.join(', ')}: nothing was run. Run again with ${missing.map((m) => `--var ${m}=<value>`).join(' ')}\n`);
          return 2;
        }
        const data = await execute<Record<string, unknown>>(action.operation, variables);
        print(opts.json, { exception: x.id, action: action.kind, variables, data }, () =>
          [`✔ ${action.label}`, JSON.stringify(data, null, 2), `The exception resolves itself once the owning service reports the cause cleared: \`omnistock exceptions show ${x.id}\`.`].join('\n'),
        );
      }),
    );

  command
    .command('detect')
    .description('Run anomaly detection now (exceptions:admin; the jobs process also runs it every ANOMALY_DETECTION_INTERVAL_MS)')
    .option('--json', 'print JSON')
    .action(
      run(async (opts: { json?: boolean }) => {
        const { runAnomalyDetection: r } = await gateway()<{ runAnomalyDetection: { findings: number; series: number; ms: number } }>('mutation CliDetect { runAnomalyDetection { findings series ms } }');
        print(opts.json, r, () => `✔ ${r.findings} finding(s) raised or standing over ${r.series} series, in ${r.ms} ms`);
      }),
    );

  return command;
}
