import type { CompositionProblem } from '../../contracts/composition.js';
import type { Criticality } from './changes.js';
import type { EndpointProblem } from './endpoint-rules.js';
import type { BrokenDocument } from './documents.js';
import type { LintIssue } from './lint.js';
import type { Takeover } from './ownership.js';

/** One operation of a client that used a coordinate a change breaks. */
export interface OperationUsage {
  name: string | null;
  hash: string;
  count: number;
  lastSeen: string;
  /** It is one of the client's registered (trusted) documents: it counts whatever the usage window. */
  registered?: boolean;
}

export interface ClientUsage {
  clientId: string;
  operations: OperationUsage[];
}

/** A client-facing change as a check reports it: classified, with its usage and approval. */
export interface ReportedChange {
  fingerprint: string;
  type: string;
  coordinate: string | null;
  message: string;
  /** After usage: a breaking change nobody used in the window is SAFE. */
  criticality: Criticality;
  /** graphql-inspector's classification. */
  originalCriticality: Criticality;
  reason: string | null;
  /** Clients that used what the change breaks, within the usage window (breaking changes only). */
  usage: ClientUsage[];
  /** A breaking change with a pending approval does not block a publish. */
  approved: boolean;
}

/** A contract in a check: whether it still composes, and what its callers would see change. */
export interface ContractCheck {
  contract: string;
  composition: { ok: boolean; errors: CompositionProblem[] };
  changes: ReportedChange[];
}

/** What a check found; stored with its check run and returned as JSON and as text. */
export interface CheckResult {
  checkId: string;
  subgraph: string;
  /** The registry environment it checked against (absent in results stored before environments: production). */
  environment?: string;
  /** sha256 of the proposed SDL. */
  proposedHash: string;
  /** The supergraph version the proposal was compared with (null before the first). */
  baseSupergraphVersion: number | null;
  /** Whether the proposal equals the subgraph's current schema (and routing URL). */
  unchanged: boolean;
  composition: { ok: boolean; errors: CompositionProblem[] };
  changes: ReportedChange[];
  lint: LintIssue[];
  /** Registered documents of clients that the proposal would no longer validate (absent in results stored before trusted documents). */
  brokenDocuments?: BrokenDocument[];
  /** Fields of other teams' subgraphs the proposal would start resolving (absent in results stored before ownership checks). */
  takeovers?: Takeover[];
  /** Each contract composed from the proposal, with the changes its callers would see (absent in results stored before contracts). */
  contracts?: ContractCheck[];
  /** Why its routing or subscription URL may not be used (a host not allowed for the subgraph, metadata, credentials); absent in older results. */
  endpointProblems?: EndpointProblem[];
  usageWindowDays: number;
  /** Why a publish of it would be refused; empty when it may be published. */
  blockers: string[];
  ok: boolean;
}

/** The readable form of a check result, for the CLI and for logs. */
export function formatCheckResult(result: CheckResult): string {
  const lines: string[] = [];
  lines.push(`Check ${result.checkId} of subgraph "${result.subgraph}" against ${result.environment ?? 'production'}'s supergraph v${result.baseSupergraphVersion ?? '-'}: ${result.ok ? 'PASSED' : 'FAILED'}`);
  if (result.unchanged) lines.push('  (the proposed schema is the current one)');
  lines.push('', `Composition: ${result.composition.ok ? 'ok' : `${result.composition.errors.length} error(s)`}`);
  for (const e of result.composition.errors) lines.push(`  ✖ ${e.code}${e.subgraphs.length ? ` [${e.subgraphs.join(', ')}]` : ''}: ${e.message}`);
  lines.push('', `Changes: ${result.changes.length}${result.composition.ok ? '' : ' (not computed: composition failed)'}`);
  for (const c of result.changes) lines.push(...changeLines(c, result.usageWindowDays, '  '));
  for (const contract of result.contracts ?? []) {
    const { composition } = contract;
    lines.push('', `Contract ${contract.contract}: ${composition.ok ? `${contract.changes.length} change(s)` : `${composition.errors.length} composition error(s)`}`);
    for (const e of composition.errors) lines.push(`  ✖ ${e.code}: ${e.message}`);
    for (const c of contract.changes) lines.push(...changeLines(c, result.usageWindowDays, '  '));
  }
  const takeovers = result.takeovers ?? [];
  if (takeovers.length) {
    lines.push('', `Fields taken from other teams' subgraphs: ${takeovers.length}`);
    for (const t of takeovers) lines.push(`  ${t.approved ? '✔' : '✖'} ${t.coordinate} from ${t.from.join(', ')}  [${t.fingerprint}]${t.approved ? ' approved' : ''}`);
  }
  const broken = result.brokenDocuments ?? [];
  if (broken.length) {
    lines.push('', `Registered documents broken: ${broken.length}`);
    for (const d of broken) lines.push(`  ✖ ${d.clientId} ${d.operationNames.map((n) => n || '(anonymous)').join(', ')} [${d.documentId.slice(0, 19)}…]: ${d.errors.join('; ')}`);
  }
  lines.push('', `Lint: ${result.lint.length ? `${result.lint.length} issue(s)` : 'ok'}`);
  for (const l of result.lint) lines.push(`  ✖ ${l.rule}: ${l.message}`);
  if (result.blockers.length) {
    lines.push('', 'Publishing is blocked:');
    for (const b of result.blockers) lines.push(`  - ${b}`);
  }
  return lines.join('\n');
}

function changeLines(c: ReportedChange, usageWindowDays: number, indent: string): string[] {
  const tag = c.criticality === c.originalCriticality ? c.criticality : `${c.criticality} (was ${c.originalCriticality})`;
  const lines = [`${indent}${c.criticality === 'BREAKING' ? (c.approved ? '✔' : '✖') : c.criticality === 'DANGEROUS' ? '!' : '·'} ${tag} ${c.coordinate ?? ''}: ${c.message}  [${c.fingerprint}]${c.approved ? ' approved' : ''}`];
  if (c.originalCriticality === 'BREAKING' && c.criticality === 'SAFE') lines.push(`${indent}    no client used it in the last ${usageWindowDays} days`);
  for (const u of c.usage) {
    const ops = u.operations.map((o) => `${o.name ?? '(anonymous)'} ${o.hash.slice(0, 12)} ${o.registered ? `registered document, ×${o.count}` : `×${o.count}`}`).join(', ');
    lines.push(`${indent}    used by ${u.clientId}: ${ops}`);
  }
  return lines;
}
