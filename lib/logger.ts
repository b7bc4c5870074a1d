import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type DestinationStream, type Logger } from 'pino';
import { config } from './config.js';

export interface RequestScope {
  requestId: string;
  /** The calling client application, once known (the gateway sets it when it builds the request's context). */
  client?: string | null;
  /** The GraphQL operation's name, once resolved (`anonymous` for an unnamed one). */
  operation?: string | null;
  /**
   * The request whose execution (or subgraph fetch) this one shared: the subgraphs' logs and traces
   * of the work done for both carry that request's id.
   */
  sharedWith?: string;
}

/**
 * Carries the request id, client and operation through every await of a request, so every log line
 * can name them. The scope object is mutable: the request's later stages fill in what they learn.
 */
export const requestScope = new AsyncLocalStorage<RequestScope>();

let root: Logger | undefined;
let serviceName = 'omnistock';
let destination: { stream: DestinationStream; level?: string } | undefined;

/** Names the process in every log line; call before the first log line is written. */
export function setServiceName(name: string): void {
  serviceName = name;
  root = undefined;
}

/**
 * Sends log lines to another stream than stdout, optionally at another level (log shipping, tests).
 * Call before the first log line is written: loggers already handed out keep their stream.
 */
export function setLogDestination(stream: DestinationStream, level?: string): void {
  destination = { stream, level };
  root = undefined;
}

export function logger(): Logger {
  root ??= pino(
    {
      level: destination?.level ?? config().LOG_LEVEL,
      base: { pid: process.pid, service: serviceName },
      mixin() {
        const scope = requestScope.getStore();
        if (!scope) return {};
        const fields: Record<string, string> = { reqId: scope.requestId };
        if (scope.client) fields.client = scope.client;
        if (scope.operation) fields.operation = scope.operation;
        if (scope.sharedWith) fields.sharedWith = scope.sharedWith;
        return fields;
      },
    },
    destination?.stream ?? pino.destination(1),
  );
  return root;
}
