import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CompositionResult, SubgraphSource } from '../../contracts/composition.js';
import { RateLimitedError } from '../../lib/errors.js';

interface Pending {
  resolve: (result: CompositionResult) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface ComposerSettings {
  /** Compositions waiting at once; more are refused (RATE_LIMITED) rather than queued without end. */
  maxQueued: number;
  /** A composition that takes longer fails, and its thread is replaced. */
  timeoutMs: number;
}

/**
 * Composes supergraphs in a thread of its own (composition.worker.ts), one at a time, so that a
 * check's composition never stalls the gateway that hosts the registry. The thread starts on first
 * use, does not keep the process alive, and is replaced when it fails or overruns.
 */
export class Composer {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(private readonly settings: ComposerSettings = { maxQueued: 16, timeoutMs: 60_000 }) {}

  /**
   * @throws RateLimitedError when `maxQueued` compositions are waiting already
   * @throws Error when the composition thread fails or overruns `timeoutMs`
   */
  compose(sources: SubgraphSource[]): Promise<CompositionResult> {
    if (this.pending.size >= this.settings.maxQueued) {
      return Promise.reject(
        new RateLimitedError(`The registry is composing ${this.pending.size} schemas already; retry in a moment`, { limit: this.settings.maxQueued, retryAfterSeconds: 1 }),
      );
    }
    const id = this.nextId++;
    const worker = this.thread();
    return new Promise<CompositionResult>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`composition took longer than ${this.settings.timeoutMs} ms`)), this.settings.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({ id, sources });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.fail(new Error('the registry is closing'));
    await worker?.terminate();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    // The services run their TypeScript through tsx: the thread registers it before loading its module.
    // tsx's ESM entry (require.resolve finds its CommonJS twin beside it).
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    const entry = new URL('./composition.worker.ts', import.meta.url).href;
    const worker = new Worker(`import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
    worker.unref();
    worker.on('message', (message: { id: number; result?: CompositionResult; error?: string }) => {
      const task = this.pending.get(message.id);
      if (!task) return;
      this.pending.delete(message.id);
      clearTimeout(task.timer);
      if (message.result) task.resolve(message.result);
      else task.reject(new Error(`composition failed: ${message.error}`));
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', () => {
      if (this.worker === worker) this.fail(new Error('the composition thread exited'));
    });
    this.worker = worker;
    return worker;
  }

  /** Rejects every waiting composition and drops the thread (the next composition starts a new one). */
  private fail(err: Error): void {
    const worker = this.worker;
    this.worker = null;
    for (const task of this.pending.values()) {
      clearTimeout(task.timer);
      task.reject(err);
    }
    this.pending.clear();
    void worker?.terminate();
  }
}
