/**
 * npm run build: the processes' TypeScript compiled to JavaScript in dist/, file by file under the
 * same paths (gateway/main.ts is dist/gateway/main.js), with the files they read (schemas, the ops
 * page, the registry console's bundle) copied beside them. npm start, the
 * benchmarks and the image run dist/ with plain node: no compiler inside a service, no compile
 * cache to write at start, and none of tsx's work at run time (its resolver on every
 * `module.require`, which Apollo Server's query hashing calls per request; a name defined on every
 * closure).
 *
 * Only files whose output changed are written, each atomically (a temporary file renamed over it):
 * a build while processes run from dist/ (two test files starting services at once) never lets one
 * read half a file. Source maps are written beside the code; NODE_OPTIONS=--enable-source-maps
 * makes stack traces point at the TypeScript.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

/** Where the compiled processes go, under the repository's root. */
export const DIST = 'dist';

/** The folders the processes' code lives in (tests, benchmarks and examples are run from source). */
const SOURCES = ['contracts', 'gateway', 'jobs', 'lib', 'registry', 'scripts', 'subgraphs', 'tools'];

/** Not compiled or copied: the console's browser source (bundled by npm run build:console into registry/console/dist, copied). */
const SKIPPED = new Set(['node_modules', 'registry/console/src']);

/** The repository's root: processes are started from it (npm's scripts, the image's WORKDIR), with paths relative to it. */
const ROOT = process.cwd();

/** The file a process's source compiles to, relative to the root: dist/<path>.js. */
export const compiledPath = (source: string) => join(DIST, source.replace(/\.ts$/, '.js'));

/** Every file under `dir` (relative to ROOT), skipping SKIPPED. */
function filesUnder(dir: string): string[] {
  if (SKIPPED.has(dir) || !existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(path) : e.isFile() ? [path] : [];
  });
}

/** Writes `contents` to `file` unless it holds them already; atomically. @returns whether it wrote */
function writeIfChanged(file: string, contents: Uint8Array): boolean {
  if (existsSync(file) && Buffer.compare(readFileSync(file), contents) === 0) return false;
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
  return true;
}

/**
 * Compiles the processes' sources into dist/ and copies the files they read.
 * @returns how many files it wrote (0 when dist/ was current)
 */
export function buildProcesses(): { files: number; written: number } {
  const files = SOURCES.flatMap(filesUnder).filter((f) => !f.endsWith('.test.ts') && !f.endsWith('.d.ts'));
  const sources = files.filter((f) => f.endsWith('.ts'));
  const assets = files.filter((f) => !f.endsWith('.ts'));
  const out = buildSync({
    absWorkingDir: ROOT,
    entryPoints: sources,
    outdir: join(ROOT, DIST),
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    write: false,
    logLevel: 'warning',
  });
  let written = 0;
  for (const file of out.outputFiles) if (writeIfChanged(file.path, file.contents)) written++;
  for (const asset of assets) if (writeIfChanged(join(ROOT, DIST, asset), readFileSync(join(ROOT, asset)))) written++;
  return { files: out.outputFiles.length + assets.length, written };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const { files, written } = buildProcesses();
  process.stdout.write(`built ${DIST}/: ${files} files, ${written} written, in ${Date.now() - started} ms\n`);
}
