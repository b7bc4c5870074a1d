import { useState } from 'preact/hooks';
import { Loaded, Section, useQuery, when } from './ui.js';
import type { ExplorerType } from '../../domain/explorer.js';

// The shape schemaTypes answers: the registry's own explorer view (a type-only import, erased from the bundle).
type SchemaType = ExplorerType;
interface FieldUsage {
  coordinate: string;
  windowDays: number;
  since: string;
  total: number;
  subgraphs: string[];
  clients: { clientId: string; operations: { name: string | null; hash: string; count: number; lastSeen: string }[] }[];
}

const TYPES = `{ schemaTypes { name kind description subgraphs fields { name coordinate type description subgraphs deprecationReason removalDate } } }`;
const USAGE = `query($c: String!) { fieldUsage(coordinate: $c) { coordinate windowDays since total subgraphs clients { clientId operations { name hash count lastSeen } } } }`;

const link = (type: string, field?: string) => `#/explorer/${encodeURIComponent(type)}${field ? `/${encodeURIComponent(field)}` : ''}`;

function Usage({ coordinate }: { coordinate: string }) {
  const state = useQuery<{ fieldUsage: FieldUsage }>(USAGE, { c: coordinate }, coordinate);
  return (
    <section aria-labelledby="usage-heading" class="panel" data-testid="field-usage">
      <h3 id="usage-heading">
        Usage of <code>{coordinate}</code>
      </h3>
      <Loaded state={state}>
        {({ fieldUsage: u }) => (
          <>
            <p>
              <strong data-testid="usage-total">{u.total}</strong> execution(s) in the last {u.windowDays} days (since {u.since}), by {u.clients.length} client(s).
            </p>
            {u.clients.length ? (
              <table>
                <caption>Clients and operations that used {u.coordinate}</caption>
                <thead>
                  <tr>
                    <th scope="col">Client</th>
                    <th scope="col">Operation</th>
                    <th scope="col">Document hash</th>
                    <th scope="col">Executions</th>
                    <th scope="col">Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  {u.clients.flatMap((c) =>
                    c.operations.map((o) => (
                      <tr key={`${c.clientId}/${o.hash}`} data-client={c.clientId}>
                        <th scope="row">{c.clientId}</th>
                        <td>{o.name ?? <em>anonymous</em>}</td>
                        <td>
                          <code title={o.hash}>{o.hash.slice(0, 12)}</code>
                        </td>
                        <td class="num">{o.count}</td>
                        <td>{when(o.lastSeen)}</td>
                      </tr>
                    )),
                  )}
                </tbody>
              </table>
            ) : (
              <p>No client used it in the window: removing it would break no one (registered documents are checked apart).</p>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}

function TypeView({ type, field }: { type: SchemaType; field: string | null }) {
  return (
    <section aria-labelledby="type-heading" class="panel">
      <h3 id="type-heading">
        {type.name} <small>{type.kind.toLowerCase().replace('_', ' ')}</small>
      </h3>
      {type.description && <p>{type.description}</p>}
      <p>Defined by: {type.subgraphs.join(', ') || '—'}</p>
      {type.fields.length > 0 && (
        <table>
          <caption>Fields of {type.name}</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Type</th>
              <th scope="col">Owning subgraph</th>
              <th scope="col">Description</th>
              <th scope="col">Deprecation</th>
              <th scope="col">Usage</th>
            </tr>
          </thead>
          <tbody>
            {type.fields.map((f) => (
              <tr key={f.name} data-coordinate={f.coordinate} aria-current={f.name === field ? 'true' : undefined}>
                <th scope="row">
                  <code>{f.name}</code>
                </th>
                <td>{f.type ? <code>{f.type}</code> : '—'}</td>
                <td>{f.subgraphs.join(', ')}</td>
                <td>{f.description ?? '—'}</td>
                <td>
                  {f.deprecationReason ? (
                    <span class="deprecated">
                      Deprecated: {f.deprecationReason}
                      {f.removalDate && (
                        <>
                          {' '}
                          (removal <time dateTime={f.removalDate}>{f.removalDate}</time>)
                        </>
                      )}
                    </span>
                  ) : (
                    '—'
                  )}
                </td>
                <td>
                  <a href={link(type.name, f.name)} aria-label={`Usage of ${f.coordinate}`}>
                    Usage
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ExplorerPage({ typeName, field, query }: { typeName: string | null; field: string | null; query: string }) {
  const state = useQuery<{ schemaTypes: SchemaType[] }>(TYPES, {}, 'types');
  const [filter, setFilter] = useState(query);
  const coordinate = typeName && field ? `${typeName}.${field}` : null;
  return (
    <Section title="Schema explorer" id="explorer">
      <p>The current supergraph's client-facing types and fields, who owns each, its deprecation, and which clients used it.</p>
      {coordinate && <Usage coordinate={coordinate} />}
      <Loaded state={state}>
        {({ schemaTypes }) => {
          const needle = filter.trim().toLowerCase();
          const shown = schemaTypes.filter((t) => !needle || t.name.toLowerCase().includes(needle) || t.fields.some((f) => f.coordinate.toLowerCase().includes(needle)));
          const selected = typeName ? schemaTypes.find((t) => t.name === typeName) : undefined;
          return (
            <div class="explorer">
              <nav aria-label="Types" class="types">
                <label for="type-filter">Find a type or field</label>
                <input id="type-filter" type="search" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
                <p class="hint">{shown.length} of {schemaTypes.length} types</p>
                <ul>
                  {shown.map((t) => (
                    <li key={t.name}>
                      <a href={link(t.name)} aria-current={t.name === typeName ? 'page' : undefined}>
                        {t.name}
                      </a>
                    </li>
                  ))}
                </ul>
              </nav>
              <div class="detail">
                {selected ? <TypeView type={selected} field={field} /> : typeName ? <p role="status">No type {typeName} you may read in the current supergraph.</p> : <p>Choose a type.</p>}
              </div>
            </div>
          );
        }}
      </Loaded>
    </Section>
  );
}
