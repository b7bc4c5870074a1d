import type { CompositionProblem } from '../../contracts/composition.js';
import type { SchemaChange } from './changes.js';
import type { CheckResult, ClientUsage, ReportedChange } from './check-result.js';
import { hashOfDocumentId } from './documents.js';
import type { UsageRow } from './usage.js';

/**
 * How a check weighs what it found: a breaking change no client used in the usage window is
 * safe, one a client used blocks unless approved; composition errors, lint issues and registered
 * documents the proposal would break block too.
 */

/** Composition names the subgraphs an error involves from its AST nodes; a proposal's own errors always name it. */
export function withProposedSubgraph(subgraph: string) {
  return (e: CompositionProblem): CompositionProblem => (e.subgraphs.length ? e : { ...e, subgraphs: e.message.includes(`"${subgraph}"`) ? [subgraph] : [] });
}

export function reportChange(change: SchemaChange, usage: UsageRow[], approvals: Set<string>): ReportedChange {
  const base = {
    fingerprint: change.fingerprint,
    type: change.type,
    coordinate: change.coordinate,
    message: change.message,
    originalCriticality: change.criticality,
    reason: change.reason,
    approved: false,
  };
  if (change.criticality !== 'BREAKING') return { ...base, criticality: change.criticality, usage: [] };
  const coordinates = new Set(change.usageCoordinates);
  const clients = new Map<string, ClientUsage>();
  for (const u of usage) {
    if (!coordinates.has(u.coordinate)) continue;
    const client = clients.get(u.clientId) ?? { clientId: u.clientId, operations: [] };
    clients.set(u.clientId, client);
    const op = client.operations.find((o) => o.hash === u.operationHash);
    if (op) {
      op.count += u.count;
      if (u.lastSeen.toISOString() > op.lastSeen) op.lastSeen = u.lastSeen.toISOString();
      if (u.registered) op.registered = true;
    } else {
      client.operations.push({ name: u.operationName || null, hash: u.operationHash, count: u.count, lastSeen: u.lastSeen.toISOString(), ...(u.registered ? { registered: true } : {}) });
    }
  }
  if (!clients.size) {
    return { ...base, criticality: 'SAFE', reason: `No client used ${change.usageCoordinates.join(', ')} in the usage window`, usage: [] };
  }
  return { ...base, criticality: 'BREAKING', usage: [...clients.values()], approved: approvals.has(change.fingerprint) };
}

export function blockersOf(result: CheckResult): string[] {
  const blockers: string[] = [];
  if (!result.composition.ok) {
    const subgraphs = [...new Set(result.composition.errors.flatMap((e) => e.subgraphs))];
    blockers.push(`composition failed with ${result.composition.errors.length} error(s)${subgraphs.length ? ` involving ${subgraphs.join(', ')}` : ''}`);
  }
  if (result.lint.length) blockers.push(`${result.lint.length} lint issue(s): ${[...new Set(result.lint.map((l) => l.rule))].join(', ')}`);
  const blocking = (c: ReportedChange) => c.criticality === 'BREAKING' && !c.approved;
  const usedBy = (c: ReportedChange) => c.usage.map((u) => `${u.clientId} (${u.operations.map((o) => `${o.name ?? 'anonymous'}${o.registered ? ', registered' : ''}`).join('; ')})`).join(', ');
  for (const c of result.changes.filter(blocking)) blockers.push(`breaking change ${c.coordinate ?? c.type} used by ${usedBy(c)}: approve fingerprint ${c.fingerprint} to publish it`);
  // Every contract must still compose, and what its callers used must not break (a change already named above is one approval).
  const named = new Set(result.changes.map((c) => c.fingerprint));
  for (const contract of result.contracts ?? []) {
    if (!contract.composition.ok) blockers.push(`contract ${contract.contract} would no longer compose: ${contract.composition.errors.map((e) => e.message).join('; ')}`);
    for (const c of contract.changes.filter((c) => blocking(c) && !named.has(c.fingerprint))) {
      blockers.push(`breaking change ${c.coordinate ?? c.type} for contract ${contract.contract}, used by ${usedBy(c)}: approve fingerprint ${c.fingerprint} to publish it`);
    }
  }
  // The gateway sends every caller of the subgraph's fields to its URLs: only hosts an admin allowed.
  for (const p of result.endpointProblems ?? []) blockers.push(p.message);
  // Taking over another team's fields (their callers' arguments and answers) needs that team's approval.
  for (const t of result.takeovers ?? []) {
    if (!t.approved) {
      blockers.push(`takes over ${t.coordinate} from ${t.from.join(', ')}, another team's subgraph: its owner (registry:approve:${t.from[0]}) or registry:admin must approve fingerprint ${t.fingerprint}`);
    }
  }
  // A registered document the proposal breaks blocks it unless an approved breaking change names that document.
  for (const d of result.brokenDocuments ?? []) {
    const hash = hashOfDocumentId(d.documentId);
    const approved = result.changes.some((c) => c.approved && c.usage.some((u) => u.clientId === d.clientId && u.operations.some((o) => o.hash === hash)));
    if (!approved) {
      blockers.push(`registered document ${d.operationNames.map((n) => n || 'anonymous').join(', ')} (${d.documentId}) of client ${d.clientId} would no longer validate: ${d.errors.join('; ')}`);
    }
  }
  return blockers;
}

/** The changes of a check as webhook payloads carry them. */
export function changeSummaries(result: CheckResult) {
  return result.changes.map((c) => ({ type: c.type, coordinate: c.coordinate, criticality: c.criticality, message: c.message }));
}
