import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger } from 'pino';
import { config } from './config.js';

export interface RequestScope {
  requestId: string;
}

/** Carries the request id through every await of a request, so every log line can name it. */
export const requestScope = new AsyncLocalStorage<RequestScope>();

let root: Logger | undefined;
let serviceName = 'omnistock';

/** Names the process in every log line; call before the first log line is written. */
export function setServiceName(name: string): void {
  serviceName = name;
  root = undefined;
}

export function logger(): Logger {
  if (!root) {
    root = pino({
      level: config().LOG_LEVEL,
      base: { pid: process.pid, service: serviceName },
      mixin() {
        const scope = requestScope.getStore();
        return scope ? { reqId: scope.requestId } : {};
      },
    });
  }
  return root;
}
