/**
 * The registry's composition thread: composes supergraphs off the gateway's event loop (a large
 * composition takes hundreds of milliseconds of CPU, during which the gateway would serve nothing).
 * It says `{ ready }` once loaded; then the composer sends one composition at a time: `{ sources,
 * contracts }` in, `{ result }` (the supergraph, and each contract composed from the same sources
 * when the supergraph composed) or `{ error }` out.
 */
import { parentPort } from 'node:worker_threads';
import { compose, type SubgraphSource } from '../../contracts/composition.js';
import { composeContract, type ContractFilter } from '../domain/contracts.js';

parentPort!.on('message', (message: { sources: SubgraphSource[]; contracts: ContractFilter[] }) => {
  try {
    const result = compose(message.sources);
    const contracts = result.ok ? message.contracts.map((c) => composeContract(message.sources, c, compose)) : [];
    parentPort!.postMessage({ result: { ...result, contracts } });
  } catch (err) {
    parentPort!.postMessage({ error: (err as Error).message });
  }
});
parentPort!.postMessage({ ready: true });
