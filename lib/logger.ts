import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type DestinationStream, type Logger } from 'pino';
import { config } from './config.js';

export interface RequestScope {
  requestId: string;
}

/** Carries the request id through every await of a request, so every log line can name it. */
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
        return scope ? { reqId: scope.requestId } : {};
      },
    },
    destination?.stream ?? pino.destination(1),
  );
  return root;
}
