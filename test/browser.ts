import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sparticuz from '@sparticuz/chromium';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's Chromium, used when the machine has it. */
const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * Without the background-networking flags Chromium calls out to Google's services, and this
 * machine's closed network refuses each call.
 */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * The Chromium the browser tests drive: `CHROMIUM_PATH` when set, Debian's when installed, else
 * the headless Chromium that `@sparticuz/chromium` ships inside its npm package (unpacked into the
 * temporary directory on first use; nothing is downloaded). Nothing has to be installed by hand.
 */
export async function chromiumExecutable(): Promise<string> {
  const chosen = process.env.CHROMIUM_PATH;
  if (chosen) {
    if (!existsSync(chosen)) throw new Error(`CHROMIUM_PATH=${chosen}: no such file`);
    return chosen;
  }
  if (existsSync(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  return sparticuz.executablePath();
}

/** A browser with a fresh profile of its own; `close` ends it and removes the profile. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'omnistock-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: await chromiumExecutable(), args: CHROMIUM_ARGS });
  return {
    context,
    async close() {
      // Closing the persistent context closes the browser.
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
