import { useState } from 'preact/hooks';
import { ErrorNote, Loaded, Section, useMutation, useQuery, when } from './ui.js';

interface ApiKey {
  id: string;
  clientId: string;
  team: string | null;
  description: string | null;
  scopes: string[];
  contract: string | null;
  prefix: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const FIELDS = 'id clientId team description scopes contract prefix createdBy createdAt expiresAt revokedAt lastUsedAt';
const KEYS = `{ apiKeys { ${FIELDS} } contracts { name } }`;
const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { ${FIELDS} } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;

function CreateKey({ contracts, onCreated }: { contracts: string[]; onCreated(): void }) {
  const m = useMutation<{ createApiKey: { key: string; apiKey: ApiKey } }>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? '').trim();
    const days = text('expiresInDays');
    const res = await m.run(CREATE, {
      input: {
        clientId: text('clientId'),
        team: text('team') || null,
        description: text('description') || null,
        scopes: text('scopes').split(/[\s,]+/).filter(Boolean),
        expiresInDays: days ? Number(days) : null,
        contract: text('contract') || null,
      },
    });
    if (res) {
      form.reset();
      onCreated();
    }
  };
  return (
    <form class="create-key" onSubmit={submit} aria-labelledby="create-key-heading">
      <h3 id="create-key-heading">Issue a key</h3>
      <div class="grid">
        <label for="key-client">Client id</label>
        <input id="key-client" name="clientId" required />
        <label for="key-team">Team (owns what it publishes)</label>
        <input id="key-team" name="team" />
        <label for="key-description">Description</label>
        <input id="key-description" name="description" />
        <label for="key-scopes">Scopes (space or comma separated)</label>
        <textarea id="key-scopes" name="scopes" rows={2} required placeholder="registry:check:pricing registry:publish:pricing" />
        <label for="key-expiry">Expires in days (empty: never)</label>
        <input id="key-expiry" name="expiresInDays" type="number" min="1" />
        <label for="key-contract">Contract (the schema its caller sees)</label>
        <select id="key-contract" name="contract">
          <option value="">None: the whole API schema</option>
          {contracts.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" disabled={m.busy}>
        Issue key
      </button>
      <ErrorNote error={m.error} />
      {m.data && (
        <div role="status" class="secret">
          <p>
            Key issued for <strong>{m.data.createApiKey.apiKey.clientId}</strong>
            {m.data.createApiKey.apiKey.contract && <> on contract <strong>{m.data.createApiKey.apiKey.contract}</strong></>}. Copy it now: it is not shown again.
          </p>
          <output data-testid="new-key">{m.data.createApiKey.key}</output>
        </div>
      )}
    </form>
  );
}

function Revoke({ k, onRevoked }: { k: ApiKey; onRevoked(): void }) {
  const m = useMutation<{ revokeApiKey: { id: string } }>();
  return (
    <>
      <button type="button" disabled={m.busy} aria-label={`Revoke key ${k.prefix} of ${k.clientId}`} onClick={async () => (await m.run(REVOKE, { id: k.id })) && onRevoked()}>
        Revoke
      </button>
      <ErrorNote error={m.error} />
    </>
  );
}

export function KeysPage() {
  const state = useQuery<{ apiKeys: ApiKey[]; contracts: { name: string }[] }>(KEYS, {}, 'keys');
  return (
    <Section title="API keys" id="keys">
      <p>Keys of client applications and partners. Only a key's prefix is kept readable; a revoked key stops working on every gateway at once.</p>
      <Loaded state={state}>
        {({ apiKeys, contracts }) => (
          <>
            <CreateKey contracts={contracts.map((c) => c.name)} onCreated={state.reload} />
            <table>
              <caption>Keys, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Key</th>
                  <th scope="col">Client</th>
                  <th scope="col">Team</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Contract</th>
                  <th scope="col">Issued</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {apiKeys.map((k) => (
                  <tr key={k.id} data-client={k.clientId} data-revoked={String(!!k.revokedAt)}>
                    <th scope="row">
                      <code>{k.prefix}…</code>
                      {k.description && <small> {k.description}</small>}
                    </th>
                    <td>{k.clientId}</td>
                    <td>{k.team ?? '—'}</td>
                    <td>{k.scopes.map((s) => <code key={s}>{s} </code>)}</td>
                    <td data-testid="key-contract">{k.contract ?? 'whole schema'}</td>
                    <td>
                      {when(k.createdAt)} by {k.createdBy}
                    </td>
                    <td>{k.expiresAt ? when(k.expiresAt) : 'never'}</td>
                    <td>{when(k.lastUsedAt)}</td>
                    <td>{k.revokedAt ? `revoked ${when(k.revokedAt)}` : <Revoke k={k} onRevoked={state.reload} />}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Loaded>
    </Section>
  );
}
