import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './console.css';
import { abilities, chosenEnvironment, credential, DEFAULT_ENVIRONMENT, gql, type Me } from './api.js';
import { CheckRunPage, ChecksPage } from './checks.js';
import { ContractPage, ContractsPage } from './contracts.js';
import { DocumentsPage } from './documents.js';
import { ExplorerPage } from './explorer.js';
import { KeysPage } from './keys.js';
import { StartPage } from './start.js';
import { SubgraphPage, SubgraphsPage } from './subgraphs.js';
import { asRegistryError, ErrorNote, parseRoute, useQuery } from './ui.js';
import type { RegistryError } from './api.js';

const WHOAMI = `{ whoami { name clientId team admin scopes } }`;
const ENVIRONMENTS = `{ environments }`;

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    // A hash changed between the first render and this effect (a link followed while the page loads) fired no event here.
    onChange();
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

function SignIn({ onSignedIn, error }: { onSignedIn(me: Me): void; error: RegistryError | null }) {
  const [token, setToken] = useState('');
  const [failure, setFailure] = useState<RegistryError | null>(error);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const value = token.trim();
    if (!value) return;
    setBusy(true);
    try {
      const { whoami } = await gql<{ whoami: Me }>(WHOAMI, {}, value);
      credential.set(value);
      onSignedIn(whoami);
    } catch (err) {
      setFailure(asRegistryError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>Omnistock schema registry</h1>
      <form onSubmit={submit} aria-labelledby="sign-in-heading">
        <h2 id="sign-in-heading">Sign in</h2>
        <p>
          Paste an API key (<code>osk_…</code>) or a JWT. It stays in this tab only (session storage) and is sent to the registry API in the{' '}
          <code>Authorization</code> header. What you see follows its registry scopes.
        </p>
        <label for="token">API key or JWT</label>
        <input id="token" name="token" type="password" autoComplete="off" spellcheck={false} value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} required />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorNote error={failure} />
      </form>
      <p>
        New here? Read <a href="#/start">a partner's first steps</a>.
      </p>
      {location.hash.startsWith('#/start') && <StartPage />}
    </main>
  );
}

const SECTIONS = [
  { route: 'explorer', label: 'Schema explorer', show: (a: ReturnType<typeof abilities>) => a.readsSome },
  { route: 'subgraphs', label: 'Subgraphs', show: (a: ReturnType<typeof abilities>) => a.readsSome },
  { route: 'checks', label: 'Checks', show: (a: ReturnType<typeof abilities>) => a.readsSome },
  { route: 'contracts', label: 'Contracts', show: (a: ReturnType<typeof abilities>) => a.contracts },
  { route: 'keys', label: 'API keys', show: (a: ReturnType<typeof abilities>) => a.admin },
  { route: 'documents', label: 'Trusted documents', show: (a: ReturnType<typeof abilities>) => a.documents },
  { route: 'start', label: 'First steps', show: () => true },
];

/** The registry environment every environment-aware page reads and acts in; the choice is kept for the tab. */
function EnvironmentPicker({ environments, value, onChange }: { environments: string[]; value: string; onChange(environment: string): void }) {
  return (
    <div class="environment">
      <label for="environment">Environment</label>
      <select
        id="environment"
        value={value}
        onChange={(e) => onChange((e.target as HTMLSelectElement).value)}
        aria-describedby="environment-hint"
      >
        {environments.map((env) => (
          <option key={env} value={env}>
            {env}
          </option>
        ))}
      </select>
      <span id="environment-hint" class="sr-only">
        Subgraphs, version history, diffs, rollbacks, promotions, checks and approvals follow it.
      </span>
    </div>
  );
}

function Console({ me, onSignOut }: { me: Me; onSignOut(): void }) {
  const hash = useHash();
  const envs = useQuery<{ environments: string[] }>(ENVIRONMENTS, {}, 'environments');
  const environments = envs.data?.environments ?? [DEFAULT_ENVIRONMENT];
  const [picked, setPicked] = useState(chosenEnvironment.get());
  // One no longer configured (or not yet listed): production.
  const environment = environments.includes(picked) ? picked : DEFAULT_ENVIRONMENT;
  const pick = (env: string) => {
    chosenEnvironment.set(env);
    setPicked(env);
  };
  const { parts, params } = parseRoute(hash);
  const ab = abilities(me);
  const visible = SECTIONS.filter((s) => s.show(ab));
  const section = parts[0] ?? visible[0]?.route ?? 'start';
  useEffect(() => {
    document.title = `${SECTIONS.find((s) => s.route === section)?.label ?? 'Registry'} · Omnistock registry`;
  }, [section]);
  let page;
  switch (section) {
    case 'explorer':
      page = <ExplorerPage typeName={parts[1] ?? null} field={parts[2] ?? null} query={params.get('q') ?? ''} />;
      break;
    case 'subgraphs':
      page = parts[1] ? (
        <SubgraphPage name={parts[1]} ab={ab} from={params.get('from')} to={params.get('to')} environment={environment} environments={environments} />
      ) : (
        <SubgraphsPage environment={environment} />
      );
      break;
    case 'checks':
      page = parts[1] ? <CheckRunPage id={parts[1]} ab={ab} environment={environment} /> : <ChecksPage subgraph={params.get('subgraph')} environment={environment} />;
      break;
    case 'contracts':
      page = parts[1] ? <ContractPage name={parts[1]} ab={ab} version={params.get('version')} /> : <ContractsPage ab={ab} />;
      break;
    case 'keys':
      page = <KeysPage />;
      break;
    case 'documents':
      page = <DocumentsPage me={me} client={params.get('client')} />;
      break;
    default:
      page = <StartPage />;
  }
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <h1>Omnistock schema registry</h1>
        <nav aria-label="Registry sections">
          <ul>
            {visible.map((s) => (
              <li key={s.route}>
                <a href={`#/${s.route}`} aria-current={s.route === section ? 'page' : undefined}>
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <EnvironmentPicker environments={environments} value={environment} onChange={pick} />
        <div class="who">
          Signed in as <strong data-testid="who">{me.name}</strong>
          {me.admin ? ' (admin)' : ''}
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(credential.get() !== null);
  const [error, setError] = useState<RegistryError | null>(null);
  useEffect(() => {
    if (!credential.get()) return;
    gql<{ whoami: Me }>(WHOAMI)
      .then(({ whoami }) => setMe(whoami))
      .catch((err: unknown) => {
        // A revoked or expired credential: sign in again.
        credential.clear();
        setError(asRegistryError(err));
      })
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p aria-busy="true">Signing in…</p>;
  if (!me) return <SignIn onSignedIn={setMe} error={error} />;
  return (
    <Console
      me={me}
      onSignOut={() => {
        credential.clear();
        chosenEnvironment.clear();
        setError(null);
        setMe(null);
        location.hash = '';
      }}
    />
  );
}

render(<App />, document.getElementById('app')!);
