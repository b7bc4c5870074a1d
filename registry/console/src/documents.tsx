import { useState } from 'preact/hooks';
import type { Me } from './api.js';
import { ErrorNote, Loaded, Section, useMutation, useQuery, when } from './ui.js';

interface TrustedDocument {
  client: string;
  id: string;
  body: string;
  operationNames: string[];
  appVersion: string | null;
  registeredBy: string;
  registeredAt: string;
}

const DOCUMENTS = `query($c: String) { trustedDocuments(client: $c) { client id body operationNames appVersion registeredBy registeredAt } }`;
const PUBLISH = `mutation($input: PublishDocumentsInput!) { publishDocuments(input: $input) { client created unchanged } }`;
const REMOVE = `mutation($input: RemoveDocumentsInput!) { removeDocuments(input: $input) { removed notRegistered } }`;

function PublishForm({ client, onDone }: { client: string; onDone(): void }) {
  const m = useMutation<{ publishDocuments: { created: number; unchanged: number } }>();
  const [body, setBody] = useState('');
  const [appVersion, setAppVersion] = useState('');
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        if (await m.run(PUBLISH, { input: { client, documents: [{ body }], appVersion: appVersion.trim() || null } })) {
          setBody('');
          onDone();
        }
      }}
    >
      <h3>Register a document for {client}</h3>
      <label for="doc-body">Document (exactly as the client sends it)</label>
      <textarea id="doc-body" rows={5} value={body} required onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} />
      <label for="doc-version">App version or list name</label>
      <input id="doc-version" value={appVersion} onInput={(e) => setAppVersion((e.target as HTMLInputElement).value)} />
      <button type="submit" disabled={m.busy}>
        Register
      </button>
      <ErrorNote error={m.error} />
      {m.data && <p role="status">{m.data.publishDocuments.created} registered, {m.data.publishDocuments.unchanged} already there.</p>}
    </form>
  );
}

function RemoveButton({ d, onDone }: { d: TrustedDocument; onDone(): void }) {
  const m = useMutation<{ removeDocuments: { removed: string[] } }>();
  return (
    <>
      <button type="button" aria-label={`Remove document ${d.id.slice(0, 19)} of ${d.client}`} disabled={m.busy} onClick={async () => (await m.run(REMOVE, { input: { client: d.client, ids: [d.id] } })) && onDone()}>
        Remove
      </button>
      <ErrorNote error={m.error} />
    </>
  );
}

export function DocumentsPage({ me, client }: { me: Me; client: string | null }) {
  const own = me.scopes.flatMap((s) => (s.startsWith('registry:documents:') && !s.endsWith(':*') ? [s.slice('registry:documents:'.length)] : []));
  const [chosen, setChosen] = useState(client ?? own[0] ?? '');
  const [shown, setShown] = useState<string | null>(client ?? own[0] ?? (me.admin ? '' : null));
  const state = useQuery<{ trustedDocuments: TrustedDocument[] }>(DOCUMENTS, { c: shown || null }, shown === null ? null : `docs:${shown}`);
  return (
    <Section title="Trusted documents" id="documents">
      <p>The operations each client application registered (what ENFORCE clients may run). You manage the clients of your <code>registry:documents:&lt;client&gt;</code> scopes.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setShown(chosen.trim());
        }}
      >
        <label for="doc-client">Client{me.admin ? ' (empty: every client)' : ''}</label>
        <input id="doc-client" value={chosen} list="own-clients" onInput={(e) => setChosen((e.target as HTMLInputElement).value)} />
        <datalist id="own-clients">
          {own.map((c) => (
            <option key={c} value={c} />
          ))}
        </datalist>
        <button type="submit">Show</button>
      </form>
      {shown !== null && (
        <Loaded state={state}>
          {({ trustedDocuments }) => (
            <>
              <table>
                <caption>Trusted documents{shown ? ` of ${shown}` : ''}</caption>
                <thead>
                  <tr>
                    <th scope="col">Document id</th>
                    <th scope="col">Client</th>
                    <th scope="col">Operations</th>
                    <th scope="col">App version</th>
                    <th scope="col">Registered</th>
                    <th scope="col">Remove</th>
                  </tr>
                </thead>
                <tbody>
                  {trustedDocuments.map((d) => (
                    <tr key={`${d.client}/${d.id}`}>
                      <th scope="row">
                        <code title={d.id}>{d.id.slice(0, 19)}…</code>
                      </th>
                      <td>{d.client}</td>
                      <td>{d.operationNames.map((n) => n || 'anonymous').join(', ')}</td>
                      <td>{d.appVersion ?? '—'}</td>
                      <td>
                        {when(d.registeredAt)} by {d.registeredBy}
                      </td>
                      <td>
                        <RemoveButton d={d} onDone={state.reload} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {shown && <PublishForm client={shown} onDone={state.reload} />}
            </>
          )}
        </Loaded>
      )}
    </Section>
  );
}
