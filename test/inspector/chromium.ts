import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

type LaunchOptions = NonNullable<Parameters<typeof chromium.launchPersistentContext>[1]>;

/** Debian's Chromium (playwright-core downloads no browser), headless, in a profile under `dir`. */
export function launchChromium(
  dir: string,
  options: Omit<LaunchOptions, 'executablePath' | 'headless' | 'args'> = {},
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1440, height: 900 },
    colorScheme: 'light',
    ...options,
  });
}
