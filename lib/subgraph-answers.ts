/**
 * Between the system's own subgraphs and the gateway: a response header by which a subgraph says its
 * answer is `data` alone (no error, no extension: lib/subgraph.ts sets it once every plugin has run).
 * The gateway may then send a one-fetch query's answer on without reading it
 * (gateway/subgraph-transport.ts). Honoured from the system's own subgraphs only (SUBGRAPH_NAMES):
 * a partner's subgraph saying it is ignored, and its answers are read as any other.
 */
export const ANSWER_KIND_HEADER = 'x-omnistock-answer';
export const DATA_ONLY = 'data';
