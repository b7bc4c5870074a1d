import { useState } from 'preact/hooks';
import type { Abilities } from './api.js';
import { ErrorNote, Loaded, Section, useMutation, useQuery, when } from './ui.js';

interface RunSummary {
  id: string;
  subgraph: string;
  kind: string;
  ok: boolean;
  actor: string;
  createdAt: string;
  blockers: string[];
  breakingChanges: number;
  compositionErrors: number;
  clients: string[];
}
interface Operation {
  name: string | null;
  hash: string;
  count: number;
}
interface Change {
  fingerprint: string;
  type: string;
  coordinate: string | null;
  message: string;
  criticality: string;
  originalCriticality: string;
  reason: string | null;
  approved: boolean;
  usage: { clientId: string; operations: Operation[] }[];
}
interface Run {
  id: string;
  subgraph: string;
  ok: boolean;
  unchanged: boolean;
  baseSupergraphVersion: number | null;
  usageWindowDays: number;
  blockers: string[];
  composition: { ok: boolean; errors: { code: string; message: string; subgraphs: string[] }[] };
  changes: Change[];
  lint: { rule: string; coordinate: string; message: string }[];
  brokenDocuments: { clientId: string; documentId: string; operationNames: string[]; errors: string[] }[];
  takeovers: { fingerprint: string; coordinate: string; from: string[]; approved: boolean }[];
  endpointProblems: { kind: string; code: string; message: string }[];
}
interface Approval {
  fingerprint: string;
  subgraph: string;
  coordinate: string | null;
  approvedBy: string;
  reason: string | null;
  createdAt: string;
  shippedSupergraphVersion: number | null;
}

const RUNS = `query($s: String) { checkRuns(subgraph: $s, first: 50) { id subgraph kind ok actor createdAt blockers breakingChanges compositionErrors clients } }`;
const RUN = `query($id: ID!) {
  checkRun(id: $id) {
    id subgraph ok unchanged baseSupergraphVersion usageWindowDays blockers
    composition { ok errors { code message subgraphs } }
    changes { fingerprint type coordinate message criticality originalCriticality reason approved usage { clientId operations { name hash count } } }
    lint { rule coordinate message }
    brokenDocuments { clientId documentId operationNames errors }
    takeovers { fingerprint coordinate from approved }
    endpointProblems { kind code message }
  }
}`;
const APPROVALS = `query($s: String) { approvals(subgraph: $s, pendingOnly: false) { fingerprint subgraph coordinate approvedBy reason createdAt shippedSupergraphVersion } }`;
const APPROVE = `mutation($input: ApproveInput!) { approve(input: $input) { fingerprint approvedBy createdAt } }`;

export function ChecksPage({ subgraph }: { subgraph: string | null }) {
  const state = useQuery<{ checkRuns: RunSummary[] }>(RUNS, { s: subgraph }, `runs:${subgraph ?? ''}`);
  return (
    <Section title={subgraph ? `Checks of ${subgraph}` : 'Checks'} id="checks">
      <p>Checks, and the checks publishes and rollbacks ran, newest first. {subgraph && <a href="#/checks">All subgraphs</a>}</p>
      <Loaded state={state}>
        {({ checkRuns }) =>
          checkRuns.length ? (
            <table>
              <caption>Check runs</caption>
              <thead>
                <tr>
                  <th scope="col">Check</th>
                  <th scope="col">Subgraph</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Verdict</th>
                  <th scope="col">Breaking</th>
                  <th scope="col">Clients affected</th>
                  <th scope="col">By</th>
                  <th scope="col">When</th>
                </tr>
              </thead>
              <tbody>
                {checkRuns.map((r) => (
                  <tr key={r.id} data-check={r.id} data-ok={String(r.ok)}>
                    <th scope="row">
                      <a href={`#/checks/${r.id}`} aria-label={`Check ${r.id.slice(0, 8)} of ${r.subgraph}: ${r.ok ? 'passed' : 'failed'}`}>
                        {r.id.slice(0, 8)}
                      </a>
                    </th>
                    <td>{r.subgraph}</td>
                    <td>{r.kind}</td>
                    <td>
                      <span class={`badge ${r.ok ? 'safe' : 'breaking'}`}>{r.ok ? 'passed' : 'failed'}</span>
                      {r.compositionErrors > 0 && ` ${r.compositionErrors} composition error(s)`}
                    </td>
                    <td class="num">{r.breakingChanges}</td>
                    <td>{r.clients.join(', ') || '—'}</td>
                    <td>{r.actor}</td>
                    <td>{when(r.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p>No check runs you may read yet.</p>
          )
        }
      </Loaded>
    </Section>
  );
}

function ApproveForm({ fingerprint, coordinate, onApproved }: { fingerprint: string; coordinate: string; onApproved(): void }) {
  const [reason, setReason] = useState('');
  const m = useMutation<{ approve: { fingerprint: string } }>();
  const id = `reason-${fingerprint}`;
  return (
    <form
      class="approve"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await m.run(APPROVE, { input: { fingerprint, reason: reason.trim() || null } })) onApproved();
      }}
    >
      <label for={id}>Reason</label>
      <input id={id} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      <button type="submit" disabled={m.busy} aria-label={`Approve the change to ${coordinate}`}>
        Approve
      </button>
      <ErrorNote error={m.error} />
    </form>
  );
}

function Usage({ usage }: { usage: Change['usage'] }) {
  if (!usage.length) return <>—</>;
  return (
    <ul class="clients">
      {usage.map((u) => (
        <li key={u.clientId} data-client={u.clientId}>
          <strong>{u.clientId}</strong>: {u.operations.map((o) => `${o.name ?? 'anonymous'} (${o.count})`).join(', ')}
        </li>
      ))}
    </ul>
  );
}

export function CheckRunPage({ id, ab }: { id: string; ab: Abilities }) {
  const state = useQuery<{ checkRun: Run | null }>(RUN, { id }, `run:${id}`);
  const subgraph = state.data?.checkRun?.subgraph ?? null;
  const approvals = useQuery<{ approvals: Approval[] }>(APPROVALS, { s: subgraph }, subgraph ? `approvals:${subgraph}` : null);
  const approvedBy = new Map((approvals.data?.approvals ?? []).map((a) => [a.fingerprint, a]));
  return (
    <Section title={`Check ${id.slice(0, 8)}`} id="check">
      <p>
        <a href="#/checks">All checks</a>
      </p>
      <Loaded state={state}>
        {({ checkRun: run }) => {
          if (!run) return <p role="status">No check run {id} that you may read.</p>;
          const approvable = (sub: string) => ab.approve(sub);
          return (
            <div data-testid="check-run" data-ok={String(run.ok)}>
              <p class={`verdict ${run.ok ? 'ok' : 'failed'}`} data-testid="verdict">
                {run.ok ? 'Passed: a publish would go through.' : 'Failed: a publish would be refused.'}
              </p>
              <p>
                Subgraph <a href={`#/subgraphs/${encodeURIComponent(run.subgraph)}`}>{run.subgraph}</a>, compared with supergraph v{run.baseSupergraphVersion ?? '—'}; usage of the last {run.usageWindowDays} days.
                {run.unchanged && ' The proposal equals the current schema.'}
              </p>
              {run.blockers.length > 0 && (
                <>
                  <h3>Why it failed</h3>
                  <ul>
                    {run.blockers.map((b, i) => (
                      <li key={i}>{b}</li>
                    ))}
                  </ul>
                </>
              )}
              <h3>Composition</h3>
              {run.composition.ok ? (
                <p>Composes with every other current subgraph.</p>
              ) : (
                <table>
                  <caption>Composition errors</caption>
                  <thead>
                    <tr>
                      <th scope="col">Code</th>
                      <th scope="col">Message</th>
                      <th scope="col">Subgraphs</th>
                    </tr>
                  </thead>
                  <tbody>
                    {run.composition.errors.map((e, i) => (
                      <tr key={i}>
                        <th scope="row">
                          <code>{e.code}</code>
                        </th>
                        <td>{e.message}</td>
                        <td>{e.subgraphs.join(', ')}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              <h3>Changes</h3>
              {run.changes.length ? (
                <table>
                  <caption>Client-facing changes, with the clients and operations they would break</caption>
                  <thead>
                    <tr>
                      <th scope="col">Change</th>
                      <th scope="col">Verdict</th>
                      <th scope="col">What</th>
                      <th scope="col">Clients and operations affected</th>
                      <th scope="col">Approval</th>
                    </tr>
                  </thead>
                  <tbody>
                    {run.changes.map((c) => {
                      const approval = approvedBy.get(c.fingerprint);
                      return (
                        <tr key={c.fingerprint} data-change={c.fingerprint} data-criticality={c.criticality}>
                          <th scope="row">
                            <code>{c.coordinate ?? c.type}</code>
                            <br />
                            <small>{c.type}</small>
                          </th>
                          <td>
                            <span class={`badge ${c.criticality.toLowerCase()}`}>{c.criticality}</span>
                            {c.originalCriticality !== c.criticality && <small> (inspector: {c.originalCriticality})</small>}
                          </td>
                          <td>
                            {c.message}
                            {c.reason && <small class="reason"> {c.reason}</small>}
                          </td>
                          <td>
                            <Usage usage={c.usage} />
                          </td>
                          <td data-testid="approval">
                            {c.criticality !== 'BREAKING' ? (
                              '—'
                            ) : approval ? (
                              <span class="approved">
                                Approved by {approval.approvedBy}
                                {approval.shippedSupergraphVersion ? `, shipped in supergraph v${approval.shippedSupergraphVersion}` : ' (pending)'}
                              </span>
                            ) : c.approved ? (
                              <span class="approved">Approved</span>
                            ) : approvable(run.subgraph) ? (
                              <ApproveForm fingerprint={c.fingerprint} coordinate={c.coordinate ?? c.type} onApproved={approvals.reload} />
                            ) : (
                              <span class="needs">
                                Not approved; approving needs <code>registry:approve:{run.subgraph}</code>
                              </span>
                            )}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              ) : (
                <p>No client-facing changes.</p>
              )}
              {run.brokenDocuments.length > 0 && (
                <>
                  <h3>Registered documents it would break</h3>
                  <ul>
                    {run.brokenDocuments.map((d) => (
                      <li key={`${d.clientId}/${d.documentId}`}>
                        <strong>{d.clientId}</strong> <code>{d.documentId.slice(0, 19)}</code> ({d.operationNames.join(', ') || 'anonymous'}): {d.errors.join('; ')}
                      </li>
                    ))}
                  </ul>
                </>
              )}
              {run.takeovers.length > 0 && (
                <>
                  <h3>Fields it would take over</h3>
                  <ul>
                    {run.takeovers.map((t) => (
                      <li key={t.fingerprint}>
                        <code>{t.coordinate}</code> from {t.from.join(', ')}: {approvedBy.has(t.fingerprint) || t.approved ? 'approved' : 'needs its owner\u2019s approval'} (fingerprint <code>{t.fingerprint}</code>)
                      </li>
                    ))}
                  </ul>
                </>
              )}
              {run.endpointProblems.length > 0 && (
                <>
                  <h3>Endpoint problems</h3>
                  <ul>
                    {run.endpointProblems.map((p, i) => (
                      <li key={i}>
                        {p.kind}: <code>{p.code}</code> {p.message}
                      </li>
                    ))}
                  </ul>
                </>
              )}
              <h3>Lint</h3>
              {run.lint.length ? (
                <table>
                  <caption>Lint findings</caption>
                  <thead>
                    <tr>
                      <th scope="col">Rule</th>
                      <th scope="col">Where</th>
                      <th scope="col">What to fix</th>
                    </tr>
                  </thead>
                  <tbody>
                    {run.lint.map((l, i) => (
                      <tr key={i}>
                        <th scope="row">
                          <code>{l.rule}</code>
                        </th>
                        <td>
                          <code>{l.coordinate}</code>
                        </td>
                        <td>{l.message}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p>No findings.</p>
              )}
              <h3>Approvals of {run.subgraph}</h3>
              <Loaded state={approvals}>
                {({ approvals: list }) =>
                  list.length ? (
                    <table>
                      <caption>Approvals by fingerprint, newest first</caption>
                      <thead>
                        <tr>
                          <th scope="col">Fingerprint</th>
                          <th scope="col">Coordinate</th>
                          <th scope="col">Approved by</th>
                          <th scope="col">Reason</th>
                          <th scope="col">When</th>
                          <th scope="col">Shipped</th>
                        </tr>
                      </thead>
                      <tbody>
                        {list.map((a) => (
                          <tr key={`${a.fingerprint}/${a.createdAt}`} data-approval={a.fingerprint}>
                            <th scope="row">
                              <code>{a.fingerprint}</code>
                            </th>
                            <td>{a.coordinate ?? '—'}</td>
                            <td>{a.approvedBy}</td>
                            <td>{a.reason ?? '—'}</td>
                            <td>{when(a.createdAt)}</td>
                            <td>{a.shippedSupergraphVersion ? `supergraph v${a.shippedSupergraphVersion}` : 'pending'}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  ) : (
                    <p>None.</p>
                  )
                }
              </Loaded>
            </div>
          );
        }}
      </Loaded>
    </Section>
  );
}
