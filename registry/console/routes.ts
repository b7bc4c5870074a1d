import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where the registry console is served: the page, and its bundle under `/registry/assets/`. */
export const CONSOLE_PATH = '/registry';

/** The bundle `npm run build:console` writes (gitignored): console.js and console.css. */
export const CONSOLE_DIST = new URL('./dist/', import.meta.url);

/** Everything the console loads comes from the gateway itself; no inline script or style runs. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ASSETS: Record<string, string> = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Omnistock · schema registry</title>
  <link rel="stylesheet" href="${CONSOLE_PATH}/assets/console.css">
  <script type="module" src="${CONSOLE_PATH}/assets/console.js"></script>
</head>
<body>
  <div id="app"><noscript>The registry console needs JavaScript; the registry API is at ${CONSOLE_PATH}/graphql.</noscript></div>
</body>
</html>
`;

const MISSING = `The registry console has not been built: run \`npm run build:console\` (npm start and npm test build it).\n`;

function secured(reply: FastifyReply): FastifyReply {
  return reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-cache');
}

/** The bundle's file, or null when it was not built. */
async function bundleFile(dist: URL, name: string): Promise<string | null> {
  try {
    return await readFile(new URL(name, dist), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Mounts the registry console on the gateway: `/registry` (the page) and `/registry/assets/*` (its
 * bundle, read from disk on each request: a rebuild needs no restart). The page is static and asks
 * for nothing itself; the signed-in user's key or JWT goes to `/registry/graphql` in a header, where
 * every scope is enforced. Without a bundle the page answers 503 naming the command that builds it.
 * `dist`: where the bundle is (tests).
 */
export function mountRegistryConsole(app: FastifyInstance, opts: { dist?: URL } = {}): void {
  const dist = opts.dist ?? CONSOLE_DIST;
  const page = async (_req: unknown, reply: FastifyReply) => {
    if ((await bundleFile(dist, 'console.js')) === null) return secured(reply).code(503).type('text/plain; charset=utf-8').send(MISSING);
    return secured(reply).type('text/html; charset=utf-8').send(PAGE);
  };
  app.get(CONSOLE_PATH, page);
  app.get(`${CONSOLE_PATH}/`, page);
  app.get<{ Params: { name: string } }>(`${CONSOLE_PATH}/assets/:name`, async (request, reply) => {
    const type = Object.hasOwn(ASSETS, request.params.name) ? ASSETS[request.params.name] : undefined;
    const body = type ? await bundleFile(dist, request.params.name) : null;
    if (!type) return secured(reply).code(404).type('text/plain; charset=utf-8').send('Not found\n');
    if (body === null) return secured(reply).code(503).type('text/plain; charset=utf-8').send(MISSING);
    return secured(reply).type(type).send(body);
  });
}
