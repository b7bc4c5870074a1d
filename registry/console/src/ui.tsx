import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { gql, RegistryError } from './api.js';

export interface QueryState<T> {
  data: T | null;
  error: RegistryError | null;
  loading: boolean;
  reload(): void;
}

/** Runs a query when `key` changes (null: not now); `reload` runs it again, keeping what it showed until the answer comes. */
export function useQuery<T>(query: string, variables: Record<string, unknown>, key: string | null): QueryState<T> {
  const [state, setState] = useState<{ data: T | null; error: RegistryError | null; loading: boolean; key: string | null }>({ data: null, error: null, loading: key !== null, key });
  const [round, setRound] = useState(0);
  useEffect(() => {
    if (key === null) return;
    let current = true;
    // Another key: what was shown belongs to something else.
    setState((s) => (s.key === key ? { ...s, loading: true } : { data: null, error: null, loading: true, key }));
    gql<T>(query, variables)
      .then((data) => current && setState({ data, error: null, loading: false, key }))
      .catch((err: unknown) => current && setState({ data: null, error: asRegistryError(err), loading: false, key }));
    return () => {
      current = false;
    };
  }, [key, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  const fresh = state.key === key;
  return { data: fresh ? state.data : null, error: fresh ? state.error : null, loading: !fresh || state.loading, reload };
}

export function asRegistryError(err: unknown): RegistryError {
  return err instanceof RegistryError ? err : new RegistryError((err as Error)?.message ?? String(err), 'INTERNAL_SERVER_ERROR');
}

/** A mutation's state: run it, then read its error or answer. */
export function useMutation<T>() {
  const [state, setState] = useState<{ busy: boolean; error: RegistryError | null; data: T | null }>({ busy: false, error: null, data: null });
  const run = useCallback(async (query: string, variables: Record<string, unknown>): Promise<T | null> => {
    setState({ busy: true, error: null, data: null });
    try {
      const data = await gql<T>(query, variables);
      setState({ busy: false, error: null, data });
      return data;
    } catch (err) {
      setState({ busy: false, error: asRegistryError(err), data: null });
      return null;
    }
  }, []);
  return { ...state, run };
}

const REFUSALS: Record<string, string> = {
  FORBIDDEN: 'Refused: your key or token does not have the scope for this',
  UNAUTHENTICATED: 'Not signed in: the registry did not accept these credentials',
  NOT_FOUND: 'Not found',
  BAD_USER_INPUT: 'Invalid input',
};

/** The registry's refusal or error, read out by screen readers when it appears. */
export function ErrorNote({ error }: { error: RegistryError | null }) {
  if (!error) return null;
  const required = typeof error.details.requiredScope === 'string' ? error.details.requiredScope : null;
  return (
    <div class="error" role="alert" data-code={error.code}>
      <strong>{REFUSALS[error.code] ?? 'Error'}</strong> <code>{error.code}</code>
      <p>{error.message}</p>
      {required && (
        <p>
          Needed scope: <code>{required}</code>
        </p>
      )}
    </div>
  );
}

/** A query's loading line, error or content. */
export function Loaded<T>({ state, children }: { state: QueryState<T>; children: (data: T) => ComponentChildren }) {
  if (state.error) return <ErrorNote error={state.error} />;
  if (!state.data) return <p aria-busy="true">Loading…</p>;
  return <>{children(state.data)}</>;
}

export const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');

/** Parses the hash route: `#/checks/abc?subgraph=x` → ['checks', 'abc'] and its parameters. */
export function parseRoute(hash: string): { parts: string[]; params: URLSearchParams } {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id: string }) {
  return (
    <section aria-labelledby={`${id}-heading`} class="section">
      <h2 id={`${id}-heading`} tabIndex={-1}>
        {title}
      </h2>
      {children}
    </section>
  );
}
