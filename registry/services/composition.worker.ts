/**
 * The registry's composition thread: composes supergraphs off the gateway's event loop (a large
 * composition takes hundreds of milliseconds of CPU, during which the gateway would serve nothing).
 * It says `{ ready }` once loaded; then the composer sends one composition at a time: `{ sources }`
 * in, `{ result }` or `{ error }` out.
 */
import { parentPort } from 'node:worker_threads';
import { compose, type SubgraphSource } from '../../contracts/composition.js';

parentPort!.on('message', (message: { sources: SubgraphSource[] }) => {
  try {
    parentPort!.postMessage({ result: compose(message.sources) });
  } catch (err) {
    parentPort!.postMessage({ error: (err as Error).message });
  }
});
parentPort!.postMessage({ ready: true });
