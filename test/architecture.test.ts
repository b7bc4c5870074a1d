import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const DEPCRUISE = path.join(ROOT, 'node_modules/.bin/depcruise');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');

/** dependency-cruiser's verdict on the trees under `cwd`: its exit code and its report. */
async function cruise(cwd: string): Promise<{ code: number; report: string }> {
  try {
    // The whole folder, as `npm run check:imports` does (node_modules is excluded by the config).
    const { stdout } = await run(DEPCRUISE, ['.', '--config', CONFIG, '--output-type', 'err'], { cwd });
    return { code: 0, report: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, report: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('import rules', () => {
  it('hold for the whole tree', async () => {
    const { code, report } = await cruise(ROOT);
    // The report names every violating import with its rule, so a failure says what to move.
    expect(report).toContain('no dependency violations found');
    expect(code).toBe(0);
  });

  describe('catch each kind of forbidden import', () => {
    let fixture: string;
    afterAll(async () => {
      if (fixture) await rm(fixture, { recursive: true, force: true });
    });

    it('names the importing file, the imported one and the rule', async () => {
      fixture = await mkdtemp(path.join(tmpdir(), 'omnistock-imports-'));
      const files: Record<string, string> = {
        'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
        'package.json': JSON.stringify({ type: 'module' }),
        'subgraphs/inventory/data/level.entity.ts': 'export class LevelEntity { sku = ""; }\n',
        'subgraphs/inventory/index.ts': 'export const inventory = 1;\n',
        'subgraphs/orders/index.ts': "import { inventory } from '../inventory/index.js';\nexport const orders = inventory;\n",
        'subgraphs/inventory/domain/rules.ts': "import type { LevelEntity } from '../data/level.entity.js';\nexport type Level = LevelEntity;\n",
        'lib/config.ts': "import { orders } from '../subgraphs/orders/index.js';\nexport const config = orders;\n",
        'gateway/gateway.ts': "import { inventory } from '../subgraphs/inventory/index.js';\nexport const gateway = inventory;\n",
        'subgraphs/inventory/seed.ts': "import { estate } from '../../scripts/estate.js';\nexport const seed = estate;\n",
        'scripts/estate.ts': 'export const estate = 1;\n',
        'registry/runtime.ts': "import { gateway } from '../gateway/gateway.js';\nexport const runtime = gateway;\n",
        'registry/index.ts': "export { runtime } from './runtime.js';\n",
        'gateway/boot.ts': "import { runtime } from '../registry/runtime.js';\nimport { orders } from '../subgraphs/orders/index.js';\nexport const boot = [runtime, orders];\n",
        'subgraphs/orders/main.ts': "import { boot } from '../../gateway/boot.js';\nexport const main = boot;\n",
      };
      for (const [file, text] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(fixture, file)), { recursive: true });
        await writeFile(path.join(fixture, file), text);
      }
      const { code, report } = await cruise(fixture);
      expect(code).not.toBe(0);
      expect(report).toContain('no-cross-subgraph: subgraphs/orders/index.ts → subgraphs/inventory/index.ts');
      expect(report).toContain('domain-is-pure: subgraphs/inventory/domain/rules.ts → subgraphs/inventory/data/level.entity.ts');
      expect(report).toContain('lib-is-platform: lib/config.ts → subgraphs/orders/index.ts');
      expect(report).toContain('gateway-imports-no-internals: gateway/gateway.ts → subgraphs/inventory/index.ts');
      expect(report).toContain('nothing-imports-tooling: subgraphs/inventory/seed.ts → scripts/estate.ts');
      expect(report).toContain('gateway-imports-no-internals: gateway/boot.ts → registry/runtime.ts');
      expect(report).toContain('registry-starts-no-gateway: registry/runtime.ts → gateway/gateway.ts');
      expect(report).toContain('subgraphs-import-no-process: subgraphs/orders/main.ts → gateway/boot.ts');
    });
  });
});
