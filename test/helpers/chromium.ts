import { spawnSync } from 'node:child_process';
import { type Browser, chromium } from 'playwright-core';

/** Debian's package (`.ci/run` installs it); CHROMIUM names another build. Playwright never downloads one. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let probed: boolean | undefined;
function installed(): boolean {
  probed ??= spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).status === 0;
  return probed;
}

const isCI = (env: NodeJS.ProcessEnv) => Boolean(env.CI) && env.CI !== 'false' && env.CI !== '0';

/**
 * The one line that says why the browser tests cannot run here and how to run them, or
 * undefined when they run. Never a reason under CI: there a missing Chromium fails them.
 */
export function chromiumSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (isCI(env) || installed()) return undefined;
  return `Skipping the dashboard browser tests: no Chromium at ${CHROMIUM}. Install it (apt-get install chromium) or set CHROMIUM to a Chrome or Chromium binary.`;
}

/** A headless Chromium; Playwright gives it a fresh profile of its own and removes it on close. */
export async function launchChromium(): Promise<Browser> {
  if (!installed()) {
    throw new Error(`Chromium is not installed at ${CHROMIUM} (the dashboard browser tests need it${process.env.CI ? ', and CI must provide it' : ''}). .ci/run installs it with apt-get install -y chromium.`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}
