import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProcesses, compiledPath } from '../scripts/build.js';
import { ENTRY } from '../scripts/system.js';

describe('npm run build', () => {
  it('compiles every process with the files it reads, writes nothing when current, and the compiled code runs', () => {
    buildProcesses();
    for (const entry of [...Object.values(ENTRY), 'scripts/migrate.ts', 'scripts/cli.ts']) expect(existsSync(compiledPath(entry)), entry).toBe(true);
    // What the processes read beside their code: the subgraphs' schemas, the ops page.
    expect(readFileSync('dist/subgraphs/inventory/api/schema.graphql', 'utf8')).toBe(readFileSync('subgraphs/inventory/api/schema.graphql', 'utf8'));
    expect(existsSync('dist/gateway/ops/page.html')).toBe(true);
    // No test is compiled.
    expect(existsSync('dist/lib/db.test.js')).toBe(false);

    expect(buildProcesses().written, 'a second build finds dist/ current').toBe(0);

    // Plain node runs it (no tsx): the CLI's help.
    const help = execFileSync(process.execPath, [compiledPath('scripts/cli.ts'), '--help'], { encoding: 'utf8' });
    expect(help).toContain('registry');
  });
});
