import { diffLines } from 'diff';
import { useState } from 'preact/hooks';
import type { Abilities } from './api.js';
import { ErrorNote, Loaded, Section, useMutation, useQuery, when } from './ui.js';

interface Subgraph {
  name: string;
  team: string;
  routingUrl: string;
  currentVersion: number | null;
  updatedAt: string;
}
interface Version {
  version: number;
  author: string;
  commit: string | null;
  hash: string;
  createdAt: string;
}
interface Change {
  type: string;
  coordinate: string | null;
  message: string;
  criticality: string;
}

const SUBGRAPHS = `query($e: String) { subgraphs(environment: $e) { name team routingUrl currentVersion updatedAt } }`;
const VERSIONS = `query($s: String!, $e: String) { subgraph(name: $s, environment: $e) { name team routingUrl currentVersion } schemaVersions(subgraph: $s, first: 100) { version author commit hash createdAt } }`;
const DIFF = `query($s: String!, $from: Int!, $to: Int!, $e: String) {
  old: schemaVersion(subgraph: $s, version: $from) { version sdl }
  new: schemaVersion(subgraph: $s, version: $to) { version sdl }
  diff(subgraph: $s, from: $from, to: $to, environment: $e) { changes { type coordinate message criticality } }
}`;
const ROLLBACK = `mutation($input: RollbackInput!) {
  rollback(input: $input) {
    __typename
    ... on Published { created supergraphVersion schemaVersion { version } }
    ... on PublishRejected { reasons check { id } }
  }
}`;
const PROMOTE = `mutation($input: PromoteInput!) {
  promote(input: $input) {
    __typename
    ... on Published { created supergraphVersion schemaVersion { version } }
    ... on PublishRejected { reasons check { id } }
  }
}`;

/** A publish, promotion or rollback's answer: Published, or PublishRejected with the check that refused it. */
type PublishAnswer = { __typename: string; supergraphVersion?: number; schemaVersion?: { version: number } | null; reasons?: string[]; check?: { id: string } };

export function SubgraphsPage({ environment }: { environment: string }) {
  const state = useQuery<{ subgraphs: Subgraph[] }>(SUBGRAPHS, { e: environment }, `subgraphs:${environment}`);
  return (
    <Section title={`Subgraphs in ${environment}`} id="subgraphs">
      <Loaded state={state}>
        {({ subgraphs }) => (
          <table>
            <caption>Subgraphs in {environment}'s supergraph you may read</caption>
            <thead>
              <tr>
                <th scope="col">Subgraph</th>
                <th scope="col">Team</th>
                <th scope="col">Current version</th>
                <th scope="col">Routing URL</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {subgraphs.map((s) => (
                <tr key={s.name}>
                  <th scope="row">
                    <a href={`#/subgraphs/${encodeURIComponent(s.name)}`}>{s.name}</a>
                  </th>
                  <td>{s.team}</td>
                  <td class="num">{s.currentVersion ?? '—'}</td>
                  <td>
                    <code>{s.routingUrl}</code>
                  </td>
                  <td>{when(s.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </Section>
  );
}

type Cell = { n: number; text: string; kind: 'same' | 'del' | 'add' } | null;
type Row = { left: Cell; right: Cell } | { gap: number };

const linesOf = (value: string) => value.replace(/\n$/, '').split('\n');
const CONTEXT = 3;

/** Side-by-side rows of a line diff (jsdiff), removals beside the additions that replace them, long unchanged runs folded. */
export function sideBySide(before: string, after: string): Row[] {
  const parts = diffLines(before, after);
  const rows: Row[] = [];
  let l = 1;
  let r = 1;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const lines = linesOf(part.value);
    if (!part.added && !part.removed) {
      const same = lines.map((text): Row => ({ left: { n: l++, text, kind: 'same' }, right: { n: r++, text, kind: 'same' } }));
      const head = i === 0 ? 0 : CONTEXT;
      const tail = i === parts.length - 1 ? 0 : CONTEXT;
      if (same.length > head + tail + 1) rows.push(...same.slice(0, head), { gap: same.length - head - tail }, ...same.slice(same.length - tail));
      else rows.push(...same);
    } else if (part.removed) {
      const next = parts[i + 1];
      const added = next?.added ? linesOf(next.value) : [];
      if (next?.added) i++;
      for (let k = 0; k < Math.max(lines.length, added.length); k++) {
        rows.push({
          left: k < lines.length ? { n: l++, text: lines[k]!, kind: 'del' } : null,
          right: k < added.length ? { n: r++, text: added[k]!, kind: 'add' } : null,
        });
      }
    } else {
      for (const text of lines) rows.push({ left: null, right: { n: r++, text, kind: 'add' } });
    }
  }
  return rows;
}

const MARK = { same: ' ', del: '−', add: '+' } as const;
function Side({ cell }: { cell: Cell }) {
  if (!cell) return <><td class="ln" /><td class="code empty" /></>;
  return (
    <>
      <td class="ln">{cell.n}</td>
      <td class={`code ${cell.kind}`}>
        <span class="mark" aria-hidden="true">{MARK[cell.kind]}</span>
        {cell.kind !== 'same' && <span class="sr-only">{cell.kind === 'del' ? 'removed: ' : 'added: '}</span>}
        {cell.text}
      </td>
    </>
  );
}

function VersionDiff({ subgraph, from, to, environment }: { subgraph: string; from: number; to: number; environment: string }) {
  const state = useQuery<{ old: { sdl: string } | null; new: { sdl: string } | null; diff: { changes: Change[] } }>(DIFF, { s: subgraph, from, to, e: environment }, `${environment}:${subgraph}:${from}:${to}`);
  return (
    <section aria-labelledby="diff-heading" class="panel" data-testid="version-diff">
      <h3 id="diff-heading">
        {subgraph}: v{from} → v{to}
      </h3>
      <Loaded state={state}>
        {(d) => {
          const rows = sideBySide(d.old?.sdl ?? '', d.new?.sdl ?? '');
          return (
            <>
              <h4>Client-facing changes</h4>
              {d.diff.changes.length ? (
                <ul class="changes">
                  {d.diff.changes.map((c, i) => (
                    <li key={i} data-criticality={c.criticality}>
                      <span class={`badge ${c.criticality.toLowerCase()}`}>{c.criticality}</span> <code>{c.type}</code> {c.message}
                    </li>
                  ))}
                </ul>
              ) : (
                <p>None.</p>
              )}
              <h4>SDL side by side</h4>
              <div class="diff-scroll">
                <table class="diff">
                  <caption>
                    Version {from} (left) and version {to} (right)
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col" class="ln">#</th>
                      <th scope="col">v{from}</th>
                      <th scope="col" class="ln">#</th>
                      <th scope="col">v{to}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((row, i) =>
                      'gap' in row ? (
                        <tr key={i} class="gap">
                          <td colSpan={4}>… {row.gap} unchanged line(s) …</td>
                        </tr>
                      ) : (
                        <tr key={i}>
                          <Side cell={row.left} />
                          <Side cell={row.right} />
                        </tr>
                      ),
                    )}
                  </tbody>
                </table>
              </div>
            </>
          );
        }}
      </Loaded>
    </section>
  );
}

/** Why a publish, promotion or rollback was refused: its check's blockers, and the check itself. */
function Refused({ what, answer }: { what: string; answer: PublishAnswer }) {
  return (
    <div role="alert" class="error" data-testid="publish-refused">
      {what} refused by its check: {(answer.reasons ?? []).join('; ')}
      {answer.check && (
        <p>
          <a href={`#/checks/${answer.check.id}`}>Open the check {answer.check.id.slice(0, 8)}</a>
        </p>
      )}
    </div>
  );
}

function Rollback({ subgraph, version, environment, onDone }: { subgraph: string; version: number; environment: string; onDone(): void }) {
  const [confirming, setConfirming] = useState(false);
  const m = useMutation<{ rollback: PublishAnswer }>();
  const go = async () => {
    const res = await m.run(ROLLBACK, { input: { subgraph, version, environment } });
    setConfirming(false);
    if (res?.rollback.__typename === 'Published') onDone();
  };
  return (
    <div class="rollback">
      {confirming ? (
        <>
          <button type="button" class="danger" onClick={go} disabled={m.busy}>
            Confirm rollback to v{version}
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button type="button" onClick={() => setConfirming(true)} aria-label={`Roll back ${subgraph} to version ${version}`}>
          Roll back
        </button>
      )}
      <ErrorNote error={m.error} />
      {m.data?.rollback.__typename === 'Published' && (
        <p role="status">
          Rolled back: published as v{m.data.rollback.schemaVersion?.version ?? '?'} (supergraph v{m.data.rollback.supergraphVersion}).
        </p>
      )}
      {m.data?.rollback.__typename === 'PublishRejected' && <Refused what="Rollback" answer={m.data.rollback} />}
    </div>
  );
}

/** Publishes the subgraph's version current in this environment to another one, through that one's checks. */
function Promote({ subgraph, from, targets, onDone }: { subgraph: string; from: string; targets: string[]; onDone(): void }) {
  const m = useMutation<{ promote: PublishAnswer }>();
  const [to, setTo] = useState(targets.includes('production') ? 'production' : targets[0]!);
  const [routingUrl, setRoutingUrl] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const res = await m.run(PROMOTE, { input: { subgraph, from, to, routingUrl: routingUrl.trim() || null } });
    if (res?.promote.__typename === 'Published') onDone();
  };
  return (
    <form class="promote" onSubmit={submit} aria-labelledby="promote-heading">
      <h3 id="promote-heading">Promote</h3>
      <p>
        Publishes {subgraph}'s version current in <strong>{from}</strong> to another environment, through the full check against it. It keeps its routing URL there
        unless you give one (a subgraph new there needs one).
      </p>
      <fieldset>
        <legend>Promote {subgraph} from {from}</legend>
        <label for="promote-to">Promote to</label>
        <select id="promote-to" value={to} onChange={(e) => setTo((e.target as HTMLSelectElement).value)}>
          {targets.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <label for="promote-url">Routing URL there (optional)</label>
        <input id="promote-url" type="url" value={routingUrl} onInput={(e) => setRoutingUrl((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={m.busy}>
          Promote to {to}
        </button>
      </fieldset>
      <ErrorNote error={m.error} />
      {m.data?.promote.__typename === 'Published' && (
        <p role="status">
          Promoted to {to}: v{m.data.promote.schemaVersion?.version ?? '?'} (supergraph v{m.data.promote.supergraphVersion}).
        </p>
      )}
      {m.data?.promote.__typename === 'PublishRejected' && <Refused what="Promotion" answer={m.data.promote} />}
    </form>
  );
}

export function SubgraphPage({ name, ab, from, to, environment, environments }: { name: string; ab: Abilities; from: string | null; to: string | null; environment: string; environments: string[] }) {
  const state = useQuery<{ subgraph: Subgraph | null; schemaVersions: Version[] }>(VERSIONS, { s: name, e: environment }, `versions:${environment}:${name}`);
  const targets = environments.filter((e) => e !== environment);
  const [pick, setPick] = useState<{ from: number; to: number } | null>(from && to ? { from: Number(from), to: Number(to) } : null);
  return (
    <Section title={`Subgraph ${name}`} id="subgraph">
      <p>
        <a href="#/subgraphs">All subgraphs</a> · <a href={`#/checks?subgraph=${encodeURIComponent(name)}`}>Its checks</a>
      </p>
      <Loaded state={state}>
        {({ subgraph, schemaVersions }) => {
          const versions = schemaVersions.map((v) => v.version);
          const newest = versions[0] ?? 0;
          const chosen = pick ?? { from: versions[1] ?? newest, to: newest };
          const compare = (e: Event) => {
            e.preventDefault();
            const form = e.currentTarget as HTMLFormElement;
            const data = new FormData(form);
            setPick({ from: Number(data.get('from')), to: Number(data.get('to')) });
          };
          return (
            <>
              {subgraph ? (
                <p data-testid="current-version">
                  In <strong>{environment}</strong>: team <strong>{subgraph.team}</strong>, current version <strong>v{subgraph.currentVersion ?? '—'}</strong>, routed to <code>{subgraph.routingUrl}</code>.
                </p>
              ) : (
                <p role="status" data-testid="current-version">
                  Not in {environment}'s supergraph.
                </p>
              )}
              {subgraph && targets.length > 0 &&
                (ab.promote(name) ? (
                  <Promote subgraph={name} from={environment} targets={targets} onDone={state.reload} />
                ) : (
                  ab.publish(name) && (
                    <p class="needs" data-testid="promote-needs">
                      Promoting {name} to another environment needs <code>registry:promote:{name}</code>.
                    </p>
                  )
                ))}
              <table>
                <caption>Version history, newest first (versions are shared by every environment; current marks {environment}'s)</caption>
                <thead>
                  <tr>
                    <th scope="col">Version</th>
                    <th scope="col">Author</th>
                    <th scope="col">Commit</th>
                    <th scope="col">Published</th>
                    {ab.admin && <th scope="col">Rollback</th>}
                  </tr>
                </thead>
                <tbody>
                  {schemaVersions.map((v) => (
                    <tr key={v.version} data-version={v.version}>
                      <th scope="row">v{v.version}{v.version === subgraph?.currentVersion ? ' (current)' : ''}</th>
                      <td>{v.author}</td>
                      <td>{v.commit ?? '—'}</td>
                      <td>{when(v.createdAt)}</td>
                      {ab.admin && <td>{v.version !== subgraph?.currentVersion ? <Rollback subgraph={name} version={v.version} environment={environment} onDone={state.reload} /> : '—'}</td>}
                    </tr>
                  ))}
                </tbody>
              </table>
              {versions.length > 1 ? (
                <form class="compare" onSubmit={compare}>
                  <fieldset>
                    <legend>Compare two versions</legend>
                    <label for="diff-from">From</label>
                    <select id="diff-from" name="from" value={String(chosen.from)}>
                      {versions.map((v) => (
                        <option key={v} value={String(v)}>
                          v{v}
                        </option>
                      ))}
                    </select>
                    <label for="diff-to">To</label>
                    <select id="diff-to" name="to" value={String(chosen.to)}>
                      {versions.map((v) => (
                        <option key={v} value={String(v)}>
                          v{v}
                        </option>
                      ))}
                    </select>
                    <button type="submit">Show diff</button>
                  </fieldset>
                </form>
              ) : (
                <p>Only one version so far: nothing to compare.</p>
              )}
              {pick && <VersionDiff subgraph={name} from={pick.from} to={pick.to} environment={environment} />}
            </>
          );
        }}
      </Loaded>
    </Section>
  );
}
