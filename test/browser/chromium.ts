/**
 * The system Chromium for the browser tests and bench:browser, driven by playwright-core (which never
 * downloads a browser): `GHMDET_CHROMIUM`, else /usr/bin/chromium. `GHMDET_REQUIRE_BROWSER=1` (set in CI) makes
 * a missing browser a failure instead of a note.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const REQUIRE_BROWSER = process.env['GHMDET_REQUIRE_BROWSER'] === '1';

/** The Chromium executable, or null when there is none. */
export function findChromium(): string | null {
  const candidates = [process.env['GHMDET_CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p)) ?? null;
}

/** Why the browser tests cannot run here, for the "not run" note and the CI failure. */
export function missingBrowserNote(): string {
  return (
    'no Chromium found (looked at GHMDET_CHROMIUM, /usr/bin/chromium, /usr/bin/chromium-browser); ' +
    'install it (apt-get install chromium) or set GHMDET_CHROMIUM'
  );
}

export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
