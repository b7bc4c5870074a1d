import { useState } from 'preact/hooks';
import type { Abilities } from './api.js';
import { ErrorNote, Loaded, Section, useMutation, useQuery, when } from './ui.js';

interface RunSummary {
  id: string;
  subgraph: string;
  environment: string;
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
interface ContractCheck {
  contract: string;
  composition: Run['composition'];
  changes: Change[];
}
interface Run {
  id: string;
  subgraph: string;
  environment: string;
  contracts: ContractCheck[];
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

const RUNS = `query($s: String, $e: String) { checkRuns(subgraph: $s, first: 50, environment: $e) { id subgraph environment kind ok actor createdAt blockers breakingChanges compositionErrors clients } }`;
const CHANGE = 'fingerprint type coordinate message criticality originalCriticality reason approved usage { clientId operations { name hash count } }';
const RUN = `query($id: ID!) {
  checkRun(id: $id) {
    id subgraph environment ok unchanged baseSupergraphVersion usageWindowDays blockers
    composition { ok errors { code message subgraphs } }
    changes { ${CHANGE} }
    contracts { contract composition { ok errors { code message subgraphs } } changes { ${CHANGE} } }
    lint { rule coordinate message }
    brokenDocuments { clientId documentId operationNames errors }
    takeovers { fingerprint coordinate from approved }
    endpointProblems { kind code message }
  }
}`;
const APPROVALS = `query($s: String, $e: String) { approvals(subgraph: $s, pendingOnly: false, environment: $e) { fingerprint subgraph coordinate approvedBy reason createdAt shippedSupergraphVersion } }`;
const APPROVE = `mutation($input: ApproveInput!) { approve(input: $input) { fingerprint approvedBy createdAt } }`;

export function ChecksPage({ subgraph, environment }: { subgraph: string | null; environment: string }) {
  const state = useQuery<{ checkRuns: RunSummary[] }>(RUNS, { s: subgraph, e: environment }, `runs:${environment}:${subgraph ?? ''}`);
  return (
    <Section title={subgraph ? `Checks of ${subgraph} in ${environment}` : `Checks in ${environment}`} id="checks">
      <p>Checks against {environment}, and the checks its publishes, promotions and rollbacks ran, newest first. {subgraph && <a href="#/checks">All subgraphs</a>}</p>
      <Loaded state={state}>
        {({ checkRuns }) =>
          checkRuns.length ? (
            <table>
              <caption>Check runs in {environment}</caption>
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

function ApproveForm({ fingerprint, coordinate, environment, contract, onApproved }: { fingerprint: string; coordinate: string; environment: string; contract?: string | undefined; onApproved(): void }) {
  const [reason, setReason] = useState('');
  const m = useMutation<{ approve: { fingerprint: string } }>();
  const id = contract ? `reason-${contract}-${fingerprint}` : `reason-${fingerprint}`;
  return (
    <form
      class="approve"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await m.run(APPROVE, { input: { fingerprint, reason: reason.trim() || null, environment } })) onApproved();
      }}
    >
      <label for={id}>Reason</label>
      <input id={id} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      <button type="submit" disabled={m.busy} aria-label={contract ? `Approve the change to ${coordinate} for contract ${contract}` : `Approve the change to ${coordinate}`}>
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

function CompositionReport({ composition, ok, caption }: { composition: Run['composition']; ok: string; caption: string }) {
  if (composition.ok) return <p>{ok}</p>;
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Code</th>
          <th scope="col">Message</th>
          <th scope="col">Subgraphs</th>
        </tr>
      </thead>
      <tbody>
        {composition.errors.map((e, i) => (
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
  );
}

/** A check's client-facing changes (the supergraph's, or a contract's): verdicts, the clients they break, approvals. */
function Changes(props: { run: Run; changes: Change[]; approvedBy: Map<string, Approval>; approvable: boolean; onApproved(): void; caption: string; contract?: string }) {
  const { run, changes, approvedBy, approvable, onApproved, caption, contract } = props;
  if (!changes.length) return <p>No client-facing changes.</p>;
  return (
    <table>
      <caption>{caption}</caption>
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
        {changes.map((c) => {
          const approval = approvedBy.get(c.fingerprint);
          // A contract's rows are marked by contract: the same fingerprint may be in the supergraph's table too.
          const row = contract ? { 'data-contract-change': c.fingerprint } : { 'data-change': c.fingerprint };
          return (
            <tr key={c.fingerprint} {...row} data-criticality={c.criticality}>
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
                ) : approvable ? (
                  <ApproveForm fingerprint={c.fingerprint} coordinate={c.coordinate ?? c.type} environment={run.environment} contract={contract} onApproved={onApproved} />
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
  );
}

/** A check run is of one environment: its approvals are that environment's, whichever the header shows. */
export function CheckRunPage({ id, ab, environment }: { id: string; ab: Abilities; environment: string }) {
  const state = useQuery<{ checkRun: Run | null }>(RUN, { id }, `run:${id}`);
  const subgraph = state.data?.checkRun?.subgraph ?? null;
  const runEnvironment = state.data?.checkRun?.environment ?? null;
  const approvals = useQuery<{ approvals: Approval[] }>(APPROVALS, { s: subgraph, e: runEnvironment }, subgraph ? `approvals:${runEnvironment}:${subgraph}` : null);
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
                Subgraph <a href={`#/subgraphs/${encodeURIComponent(run.subgraph)}`}>{run.subgraph}</a> in <strong data-testid="check-environment">{run.environment}</strong>, compared with
                supergraph v{run.baseSupergraphVersion ?? '—'}; usage of the last {run.usageWindowDays} days.
                {run.unchanged && ' The proposal equals the current schema.'}
              </p>
              {run.environment !== environment && (
                <p role="status" class="hint">
                  This check ran against {run.environment}, not {environment} (the environment you picked): its approvals are {run.environment}'s.
                </p>
              )}
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
              <CompositionReport composition={run.composition} ok="Composes with every other current subgraph." caption="Composition errors" />
              <h3>Changes</h3>
              <Changes run={run} changes={run.changes} approvedBy={approvedBy} approvable={approvable(run.subgraph)} onApproved={approvals.reload} caption="Client-facing changes, with the clients and operations they would break" />
              {run.contracts.length > 0 && (
                <>
                  <h3>Contracts</h3>
                  <p>Each contract composed from the proposal, with the changes its callers would see; a change outside a contract is not breaking for it.</p>
                  {run.contracts.map((c) => (
                    <section key={c.contract} class="panel" aria-labelledby={`contract-${c.contract}-heading`} data-contract={c.contract}>
                      <h4 id={`contract-${c.contract}-heading`}>
                        Contract <a href={`#/contracts/${encodeURIComponent(c.contract)}`}>{c.contract}</a>
                      </h4>
                      <CompositionReport composition={c.composition} ok={`Contract ${c.contract} still composes.`} caption={`Composition errors of contract ${c.contract}`} />
                      <Changes run={run} changes={c.changes} approvedBy={approvedBy} approvable={approvable(run.subgraph)} onApproved={approvals.reload} contract={c.contract} caption={`Changes callers of contract ${c.contract} would see, with the clients and operations they would break`} />
                    </section>
                  ))}
                </>
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
              <h3>
                Approvals of {run.subgraph} in {run.environment}
              </h3>
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
