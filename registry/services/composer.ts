import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CompositionResult, SubgraphSource } from '../../contracts/composition.js';
import { RateLimitedError } from '../../lib/errors.js';
import type { ContractComposition, ContractFilter } from '../domain/contracts.js';

/** A supergraph composed, with each contract composed from the same subgraphs (none when the supergraph failed). */
export type ComposedSupergraph = CompositionResult & { contracts: ContractComposition[] };

interface Job {
  sources: SubgraphSource[];
  contracts: ContractFilter[];
  resolve: (result: ComposedSupergraph) => void;
  reject: (err: Error) => void;
}

export interface ComposerSettings {
  /** Compositions waiting or running at once; more are refused (RATE_LIMITED) rather than queued without end. */
  maxQueued: number;
  /** A composition that runs longer (counted from when it starts, not from when it was queued) fails with COMPOSITION_TIMEOUT; its thread is replaced. */
  timeoutMs: number;
}

/**
 * Composes supergraphs in a thread of its own (composition.worker.ts), so that a check's composition
 * never stalls the gateway that hosts the registry. The queue is kept here and the thread is given one
 * composition at a time, so each one's time limit runs from its own start, and one that overruns
 * fails alone (the thread is replaced and the next starts). The thread starts on first use and does
 * not keep the process alive.
 */
export class Composer {
  private worker: Worker | null = null;
  /** Whether the thread has loaded its module (a composition's time limit starts only then). */
  private ready = false;
  private readonly queue: Job[] = [];
  private running: { job: Job; timer: NodeJS.Timeout } | null = null;
  private closed = false;

  constructor(private readonly settings: ComposerSettings = { maxQueued: 16, timeoutMs: 60_000 }) {}

  /**
   * Composes `sources`, and each of `contracts` from them. A composition that overruns the time
   * limit is a result with a COMPOSITION_TIMEOUT error, like any composition that fails.
   * @throws RateLimitedError when `maxQueued` compositions are waiting or running already
   * @throws Error when the composition thread fails, or the composer is closed
   */
  compose(sources: SubgraphSource[], contracts: ContractFilter[] = []): Promise<ComposedSupergraph> {
    const waiting = this.queue.length + (this.running ? 1 : 0);
    if (waiting >= this.settings.maxQueued) {
      return Promise.reject(new RateLimitedError(`The registry is composing ${waiting} schemas already; retry in a moment`, { limit: this.settings.maxQueued, retryAfterSeconds: 1 }));
    }
    if (this.closed) return Promise.reject(new Error('the registry is closing'));
    return new Promise<ComposedSupergraph>((resolve, reject) => {
      this.queue.push({ sources, contracts, resolve, reject });
      this.next();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const err = new Error('the registry is closing');
    for (const job of this.queue.splice(0)) job.reject(err);
    this.finish((job) => job.reject(err));
    await this.dropThread();
  }

  private next(): void {
    if (this.running || this.closed || !this.queue.length) return;
    const worker = this.thread();
    if (!this.ready) return; // its ready message calls next() again
    const job = this.queue.shift()!;
    const timer = setTimeout(() => {
      const message = `composition took longer than ${this.settings.timeoutMs} ms and was stopped`;
      this.finish((j) => j.resolve({ ok: false, errors: [{ code: 'COMPOSITION_TIMEOUT', message, subgraphs: [] }], contracts: [] }));
      void this.dropThread();
      this.next();
    }, this.settings.timeoutMs);
    this.running = { job, timer };
    worker.postMessage({ sources: job.sources, contracts: job.contracts });
  }

  /** Settles the running composition (if any) with `settle`. */
  private finish(settle: (job: Job) => void): void {
    const running = this.running;
    if (!running) return;
    this.running = null;
    clearTimeout(running.timer);
    settle(running.job);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = compositionWorker();
    worker.unref();
    worker.on('message', (message: { ready?: true; result?: ComposedSupergraph; error?: string }) => {
      if (this.worker !== worker) return;
      if (message.ready) this.ready = true;
      else this.finish((job) => (message.result ? job.resolve(message.result) : job.reject(new Error(`composition failed: ${message.error}`))));
      this.next();
    });
    const lost = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      if (this.ready) {
        this.ready = false;
        this.finish((job) => job.reject(err));
        this.next();
      } else {
        // It never started: a new one would fail alike, so every waiting composition fails.
        for (const job of this.queue.splice(0)) job.reject(err);
      }
    };
    worker.on('error', lost);
    worker.on('exit', () => lost(new Error('the composition thread exited')));
    this.worker = worker;
    return worker;
  }

  private async dropThread(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.ready = false;
    await worker?.terminate();
  }
}

/**
 * The composition thread, running the worker module beside this one: compiled (the processes run
 * dist/, scripts/build.ts) or, where this module runs from source (tests, tsx), through tsx, which the
 * thread registers before loading it (tsx's ESM entry: require.resolve finds its CommonJS twin).
 */
function compositionWorker(): Worker {
  if (import.meta.url.endsWith('.js')) return new Worker(new URL('./composition.worker.js', import.meta.url));
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL('./composition.worker.ts', import.meta.url).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
}
