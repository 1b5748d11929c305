import { mkdirSync } from 'fs';
import { join } from 'path';
import { Browser, chromium, Page } from 'playwright-core';
import { TEST_KEYS } from './auth';

/** Debian's package (`apt-get install chromium`); a browser a test tool downloads is never used. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(__dirname, '..', '..', 'test-results', 'screenshots');

/** Headless Chromium, as root in a sandbox, with no network but localhost: nothing in the background. */
export function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // playwright gives each launch a fresh, empty profile of its own.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Saves the whole page under test-results/screenshots. */
export const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

/** What the browser refused under the Content-Security-Policy (Chromium reports each on the console). */
export class CspRefusals {
  seen: string[] = [];

  /** What was refused since the last take; a test file takes them after every test and expects none. */
  take(): string[] {
    const seen = this.seen;
    this.seen = [];
    return seen;
  }
}

/**
 * A new browser context signed in to the dashboard at `url` with the role's key; what the
 * browser refuses under the Content-Security-Policy goes to `refusals`.
 */
export async function signIn(browser: Browser, url: string, role: keyof typeof TEST_KEYS, refusals: CspRefusals): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) refusals.seen.push(message.text());
  });
  await page.goto(url);
  await page.getByLabel('API key').fill(TEST_KEYS[role]);
  await page.getByLabel('API key').press('Enter');
  await page.getByRole('heading', { name: 'Transactions' }).waitFor();
  return page;
}
