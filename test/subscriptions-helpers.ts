import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

/** A graphql-ws URL for a service's /graphql HTTP URL. */
export const wsUrl = (httpUrl: string) => httpUrl.replace(/^http/, 'ws');

export interface Received {
  results: ExecutionResult<Record<string, any>, Record<string, unknown>>[];
  errors: unknown[];
  completed: boolean;
  stop(): void;
}

/** A graphql-ws client (the official one, over `ws`), closed by the caller. */
export function wsClient(url: string, connectionParams: Record<string, unknown> = {}): Client {
  return createClient({ url, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
}

/** Subscribes and collects every result; `stop` completes the subscription. */
export function collect(client: Client, query: string, variables: Record<string, unknown> = {}): Received {
  const received: Received = { results: [], errors: [], completed: false, stop: () => {} };
  received.stop = client.subscribe(
    { query, variables },
    {
      next: (r) => void received.results.push(r as Received['results'][number]),
      error: (e) => void received.errors.push(e),
      complete: () => void (received.completed = true),
    },
  );
  return received;
}
