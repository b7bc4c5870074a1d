import { useState } from 'preact/hooks';
import type { Abilities } from './api.js';
import { ErrorNote, Loaded, Section, useMutation, useQuery, when } from './ui.js';

interface ContractVersion {
  supergraphVersion: number;
  hash: string;
  sdl: string;
  createdAt: string;
}
interface Contract {
  name: string;
  includeTags: string[];
  excludeTags: string[];
  description: string | null;
  createdBy: string;
  updatedAt: string;
  history: ContractVersion[];
}
interface CompositionError {
  code: string;
  message: string;
  subgraphs: string[];
}
type SetAnswer =
  | { __typename: 'ContractSet'; supergraphVersion: number; contract: { name: string }; changes: { type: string; coordinate: string | null; message: string; criticality: string }[] }
  | { __typename: 'ContractRejected'; errors: CompositionError[] };

const FIELDS = 'name includeTags excludeTags description createdBy updatedAt';
const CONTRACTS = `{ contracts { ${FIELDS} history(first: 1) { supergraphVersion hash createdAt } } }`;
const CONTRACT = `query($n: String!) { contract(name: $n) { ${FIELDS} history(first: 50) { supergraphVersion hash sdl createdAt } } }`;
const SET = `mutation($input: SetContractInput!) {
  setContract(input: $input) {
    __typename
    ... on ContractSet { supergraphVersion contract { name } changes { type coordinate message criticality } }
    ... on ContractRejected { errors { code message subgraphs } }
  }
}`;
const REMOVE = `mutation($n: String!) { removeContract(name: $n) }`;

const tags = (list: string[]) => (list.length ? list.map((t) => <code key={t}>{t} </code>) : '—');
const tagList = (value: string) => value.split(/[\s,]+/).filter(Boolean);

/** Creates a contract, or changes the one given: composed by the registry, refused with its composition errors when it does not compose. */
function ContractForm({ contract, onSaved }: { contract: Contract | null; onSaved(name: string): void }) {
  const m = useMutation<{ setContract: SetAnswer }>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const text = (name: string) => String(data.get(name) ?? '').trim();
    const res = await m.run(SET, {
      input: { name: contract?.name ?? text('name'), includeTags: tagList(text('includeTags')), excludeTags: tagList(text('excludeTags')), description: text('description') || null },
    });
    if (res?.setContract.__typename === 'ContractSet') onSaved(res.setContract.contract.name);
  };
  const answer = m.data?.setContract;
  const heading = contract ? `Change contract ${contract.name}` : 'Create a contract';
  return (
    <form class="contract-form" onSubmit={submit} aria-labelledby="contract-form-heading">
      <h3 id="contract-form-heading">{heading}</h3>
      <div class="grid">
        {!contract && (
          <>
            <label for="contract-name">Name (lower-case letters, digits, _ and -)</label>
            <input id="contract-name" name="name" required pattern="[a-z0-9_-]+" />
          </>
        )}
        <label for="contract-include">Include tags (space or comma separated; empty: everything not excluded)</label>
        <input id="contract-include" name="includeTags" defaultValue={contract?.includeTags.join(' ') ?? ''} />
        <label for="contract-exclude">Exclude tags (space or comma separated)</label>
        <input id="contract-exclude" name="excludeTags" defaultValue={contract?.excludeTags.join(' ') ?? ''} />
        <label for="contract-description">Description</label>
        <input id="contract-description" name="description" defaultValue={contract?.description ?? ''} />
      </div>
      <button type="submit" disabled={m.busy}>
        {contract ? 'Save contract' : 'Create contract'}
      </button>
      <ErrorNote error={m.error} />
      {answer?.__typename === 'ContractSet' && (
        <div role="status">
          <p>
            Contract <strong>{answer.contract.name}</strong> stored in supergraph v{answer.supergraphVersion}; gateways serve it at their next poll.
          </p>
          {answer.changes.length > 0 && (
            <ul class="changes">
              {answer.changes.map((c, i) => (
                <li key={i} data-criticality={c.criticality}>
                  <span class={`badge ${c.criticality.toLowerCase()}`}>{c.criticality}</span> <code>{c.type}</code> {c.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {answer?.__typename === 'ContractRejected' && (
        <div role="alert" class="error" data-testid="contract-rejected">
          <strong>Refused: the contract does not compose.</strong> Nothing was stored.
          <ul>
            {answer.errors.map((e, i) => (
              <li key={i}>
                <code>{e.code}</code> {e.message}
                {e.subgraphs.length > 0 && ` (${e.subgraphs.join(', ')})`}
              </li>
            ))}
          </ul>
        </div>
      )}
    </form>
  );
}

function RemoveContract({ name, onRemoved }: { name: string; onRemoved(): void }) {
  const [confirming, setConfirming] = useState(false);
  const m = useMutation<{ removeContract: number }>();
  const go = async () => {
    const res = await m.run(REMOVE, { n: name });
    setConfirming(false);
    if (res) onRemoved();
  };
  return (
    <div class="remove-contract">
      {confirming ? (
        <>
          <button type="button" class="danger" onClick={go} disabled={m.busy}>
            Confirm removing {name}
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
          <p class="hint">Callers whose key or token names it are refused by the gateway (FORBIDDEN, CONTRACT_UNKNOWN); they never get the whole schema.</p>
        </>
      ) : (
        <button type="button" onClick={() => setConfirming(true)} aria-label={`Remove contract ${name}`}>
          Remove
        </button>
      )}
      <ErrorNote error={m.error} />
    </div>
  );
}

export function ContractsPage({ ab }: { ab: Abilities }) {
  const state = useQuery<{ contracts: Contract[] }>(CONTRACTS, {}, 'contracts');
  return (
    <Section title="Contracts" id="contracts">
      <p>
        A contract is the API schema one audience sees, filtered from the supergraph by <code>@tag</code>. An API key or JWT that names a contract has its operations validated
        against it. Contracts are one set for every environment.
      </p>
      <Loaded state={state}>
        {({ contracts }) => (
          <>
            {contracts.length ? (
              <table>
                <caption>Contracts, with their current schema</caption>
                <thead>
                  <tr>
                    <th scope="col">Contract</th>
                    <th scope="col">Include tags</th>
                    <th scope="col">Exclude tags</th>
                    <th scope="col">Description</th>
                    <th scope="col">Current schema</th>
                    <th scope="col">Changed</th>
                  </tr>
                </thead>
                <tbody>
                  {contracts.map((c) => (
                    <tr key={c.name} data-contract={c.name}>
                      <th scope="row">
                        <a href={`#/contracts/${encodeURIComponent(c.name)}`}>{c.name}</a>
                      </th>
                      <td>{tags(c.includeTags)}</td>
                      <td>{tags(c.excludeTags)}</td>
                      <td>{c.description ?? '—'}</td>
                      <td data-testid="contract-hash">{c.history[0] ? <><code>{c.history[0].hash.slice(0, 12)}</code> (supergraph v{c.history[0].supergraphVersion})</> : '—'}</td>
                      <td>{when(c.updatedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p>No contracts yet: every caller sees the whole API schema.</p>
            )}
            {ab.admin ? (
              <ContractForm contract={null} onSaved={(name) => (location.hash = `#/contracts/${encodeURIComponent(name)}`)} />
            ) : (
              <p class="needs">Creating, changing and removing contracts needs <code>registry:admin</code>.</p>
            )}
          </>
        )}
      </Loaded>
    </Section>
  );
}

export function ContractPage({ name, ab, version }: { name: string; ab: Abilities; version: string | null }) {
  const state = useQuery<{ contract: Contract | null }>(CONTRACT, { n: name }, `contract:${name}`);
  return (
    <Section title={`Contract ${name}`} id="contract">
      <p>
        <a href="#/contracts">All contracts</a>
      </p>
      <Loaded state={state}>
        {({ contract }) => {
          if (!contract) return <p role="status">No contract {name}.</p>;
          const shown = (version && contract.history.find((h) => String(h.supergraphVersion) === version)) || contract.history[0];
          return (
            <>
              <p>
                Includes {tags(contract.includeTags)}; excludes {tags(contract.excludeTags)}. {contract.description}
              </p>
              <p class="hint">
                Set by {contract.createdBy}, last changed {when(contract.updatedAt)}.
              </p>
              {shown ? (
                <section aria-labelledby="contract-sdl-heading" class="panel" data-testid="contract-sdl">
                  <h3 id="contract-sdl-heading">
                    Its API schema in supergraph v{shown.supergraphVersion}
                  </h3>
                  <p>
                    sha256 <code data-testid="contract-sdl-hash">{shown.hash}</code>, composed {when(shown.createdAt)}.
                  </p>
                  <pre tabIndex={0} aria-label={`API schema of contract ${name}`}>
                    <code>{shown.sdl}</code>
                  </pre>
                </section>
              ) : (
                <p>No supergraph version holds it yet.</p>
              )}
              <table>
                <caption>History: its schema in the newest supergraph versions that hold it, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Supergraph version</th>
                    <th scope="col">Schema hash</th>
                    <th scope="col">Composed</th>
                  </tr>
                </thead>
                <tbody>
                  {contract.history.map((h) => (
                    <tr key={h.supergraphVersion} data-supergraph-version={h.supergraphVersion} aria-current={h === shown ? 'true' : undefined}>
                      <th scope="row">
                        <a href={`#/contracts/${encodeURIComponent(name)}?version=${h.supergraphVersion}`} aria-label={`Schema of ${name} in supergraph version ${h.supergraphVersion}`}>
                          v{h.supergraphVersion}
                        </a>
                      </th>
                      <td>
                        <code>{h.hash.slice(0, 12)}</code>
                      </td>
                      <td>{when(h.createdAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {ab.admin && (
                <>
                  <ContractForm contract={contract} onSaved={state.reload} />
                  <RemoveContract name={name} onRemoved={() => (location.hash = '#/contracts')} />
                </>
              )}
            </>
          );
        }}
      </Loaded>
    </Section>
  );
}
