import { ANSWER_KIND_HEADER } from '../lib/subgraph-answers.js';
import { createServer, type Server } from 'node:http';

/** A subgraph reached through a proxy that counts the gateway's calls: a refusal must make none. */
export interface CountingProxy {
  /** The proxy's /graphql URL, to put in place of the subgraph's. */
  url: string;
  /** Calls forwarded so far. */
  readonly calls: number;
  /** Their request bodies, parsed, with the x-request-id each came with. */
  readonly requests: { query: string; variables?: Record<string, unknown>; requestId?: string }[];
  /** Answers from now on wait (the calls counted, and made upstream) until release(), which sends them all at once. */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  let calls = 0;
  const requests: CountingProxy['requests'] = [];
  let held: (() => void)[] | null = null;
  const server: Server = createServer(async (req, res) => {
    calls++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : undefined;
    requests.push({ ...JSON.parse(Buffer.concat(chunks).toString('utf8')), requestId });
    // The headers the gateway forwards go on, so the subgraph logs the request as the gateway would have it.
    const forwarded = Object.fromEntries(['x-request-id', 'x-client-id', 'x-service-token'].flatMap((h) => (typeof req.headers[h] === 'string' ? [[h, req.headers[h] as string]] : [])));
    const upstream = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json', ...forwarded }, body: Buffer.concat(chunks) });
    const text = await upstream.text();
    if (held) await new Promise<void>((go) => held!.push(go));
    // The subgraph's word that its answer is data alone goes back too (lib/subgraph-answers.ts).
    const kind = upstream.headers.get(ANSWER_KIND_HEADER);
    res.writeHead(upstream.status, { 'content-type': 'application/json', ...(kind ? { [ANSWER_KIND_HEADER]: kind } : {}) }).end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/graphql`,
    get calls() {
      return calls;
    },
    requests,
    hold() {
      held ??= [];
    },
    release() {
      const waiting = held ?? [];
      held = null;
      for (const go of waiting) go();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
