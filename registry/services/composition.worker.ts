/**
 * The registry's composition thread: composes supergraphs off the gateway's event loop (a large
 * composition takes hundreds of milliseconds of CPU, during which the gateway would serve nothing).
 * Messages: `{ id, sources }` in, `{ id, result }` or `{ id, error }` out.
 */
import { parentPort } from 'node:worker_threads';
import { compose, type SubgraphSource } from '../../contracts/composition.js';

parentPort!.on('message', (message: { id: number; sources: SubgraphSource[] }) => {
  try {
    parentPort!.postMessage({ id: message.id, result: compose(message.sources) });
  } catch (err) {
    parentPort!.postMessage({ id: message.id, error: (err as Error).message });
  }
});
