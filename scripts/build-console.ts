/**
 * npm run build:console: bundles the registry console (registry/console/src, Preact + TSX) with
 * esbuild into registry/console/dist/ (console.js, console.css), which the registry serves at
 * /registry. Nothing is fetched at run time. npm start and npm test run it first.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = new URL('../registry/console/', import.meta.url);

export async function buildConsole(): Promise<void> {
  await build({
    // main.tsx imports console.css: esbuild writes it beside console.js.
    entryPoints: { console: fileURLToPath(new URL('src/main.tsx', root)) },
    outdir: fileURLToPath(new URL('dist/', root)),
    entryNames: '[name]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildConsole();
  process.stdout.write('registry console built: registry/console/dist/\n');
}
