/**
 * `omnistock service-keys …`: the key set with which the gateway and the services sign and check
 * service tokens (SERVICE_TOKEN_KEYS_FILE). The first key signs, every key verifies, so a key is
 * rotated without downtime in three roll-outs: `add` (every process learns the new key), `promote`
 * (they sign with it), `remove` the old one. `public` prints what a partner's subgraph needs to check
 * the gateway's tokens (the gateway also serves it at /.well-known/omnistock-service-keys.json).
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Command } from 'commander';
import type { JWK } from 'jose';
import { newServiceKey, readServiceKeys } from '../../lib/service-token.js';
import { run } from './common.js';

type KeySet = { keys: (JWK & { kid: string })[] };

const newKid = () => `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${Math.random().toString(36).slice(2, 8)}`;

async function load(file: string): Promise<KeySet> {
  readServiceKeys({ file }); // refuses a file that is not a usable key set, naming why
  return JSON.parse(await readFile(file, 'utf8')) as KeySet;
}

/** Writes the key set readable by this user only, replacing the file at once (a reader never sees half of it). */
async function save(file: string, set: KeySet): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(set, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

/**
 * The key set at `file`, created with one new key when there is none.
 * @returns whether it was created now
 */
export async function ensureServiceKeys(file: string): Promise<boolean> {
  const exists = await readFile(file, 'utf8').then(
    () => true,
    () => false,
  );
  if (exists) {
    readServiceKeys({ file });
    return false;
  }
  await save(file, { keys: [(await newServiceKey(newKid())) as JWK & { kid: string }] });
  return true;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

export function serviceKeysCommand(): Command {
  const command = new Command('service-keys').description('The key set of service tokens (gateway → subgraphs, service → service)');
  const fileOption = ['--file <path>', 'the key set file (SERVICE_TOKEN_KEYS_FILE)'] as const;
  command
    .command('create')
    .description('Write a new key set with one key (refuses to overwrite one)')
    .requiredOption(...fileOption)
    .action(
      run(async (opts: { file: string }) => {
        if (!(await ensureServiceKeys(opts.file))) throw new Error(`${opts.file} already holds a key set: rotate with add, promote and remove`);
        say(`created ${opts.file}`);
      }),
    );
  command
    .command('add')
    .description('Add a new key that verifies but does not sign yet; roll it out to every process, then promote it')
    .requiredOption(...fileOption)
    .action(
      run(async (opts: { file: string }) => {
        const set = await load(opts.file);
        const key = (await newServiceKey(newKid())) as JWK & { kid: string };
        await save(opts.file, { keys: [...set.keys, key] });
        say(`added ${key.kid}; once every process has it, run: omnistock service-keys promote --file ${opts.file} --kid ${key.kid}`);
      }),
    );
  command
    .command('promote')
    .description('Sign with this key from now on (it moves first); the previous one still verifies')
    .requiredOption(...fileOption)
    .requiredOption('--kid <kid>', 'the key to sign with')
    .action(
      run(async (opts: { file: string; kid: string }) => {
        const set = await load(opts.file);
        const key = set.keys.find((k) => k.kid === opts.kid);
        if (!key?.d) throw new Error(`${opts.file} holds no private key ${opts.kid}`);
        await save(opts.file, { keys: [key, ...set.keys.filter((k) => k !== key)] });
        say(`${opts.kid} signs; once every process has it and tokens signed before have expired (SERVICE_TOKEN_TTL_S), remove the old key`);
      }),
    );
  command
    .command('remove')
    .description('Drop a key that no longer signs: tokens it signed are refused from then on')
    .requiredOption(...fileOption)
    .requiredOption('--kid <kid>', 'the key to drop')
    .action(
      run(async (opts: { file: string; kid: string }) => {
        const set = await load(opts.file);
        if (set.keys[0]!.kid === opts.kid) throw new Error(`${opts.kid} is the signing key: promote another one first`);
        if (!set.keys.some((k) => k.kid === opts.kid)) throw new Error(`${opts.file} holds no key ${opts.kid}`);
        await save(opts.file, { keys: set.keys.filter((k) => k.kid !== opts.kid) });
        say(`removed ${opts.kid}`);
      }),
    );
  command
    .command('public')
    .description("Print the public keys (a JWK set): what a partner's subgraph needs to check the gateway's tokens")
    .requiredOption(...fileOption)
    .action(
      run(async (opts: { file: string }) => {
        say(JSON.stringify(readServiceKeys({ file: opts.file }).publicKeys, null, 2));
      }),
    );
  return command;
}
