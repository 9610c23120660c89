/**
 * Debian's Chromium driven by playwright-core, for tests that look at pages as a person does. `.ci/run` installs
 * Chromium when it is missing; where it still is not there (a developer's machine), browser tests say they are
 * skipped. Every page records the requests it made and the cookies it received, so a test can assert that nothing
 * left 127.0.0.1 and nothing was remembered; screenshots go to `test-artifacts/screenshots/` for a person to look at.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from './cli.js';

/** Where Debian installs Chromium. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** True when Chromium is installed (browser tests skip themselves otherwise). */
export const HAS_CHROMIUM = existsSync(CHROMIUM_PATH);

/** Where screenshots are written. */
export const SCREENSHOT_DIR = join(repoRoot, 'test-artifacts', 'screenshots');

/** Launches headless Chromium with the flags this machine needs (no sandbox as root, no background network). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
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

/** A browser context that records every request and lets a test read its cookies. */
export interface WatchedContext {
  context: BrowserContext;
  /** Every URL any page of the context requested, in order. */
  requests: string[];
  /** Requests to anywhere but 127.0.0.1 / localhost (and data:/about: URLs), which a test expects to be none. */
  foreignRequests(): string[];
  /** Every `Set-Cookie` header any response carried. */
  setCookieHeaders: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Opens a context on the browser that records requests and Set-Cookie headers; requests to other hosts are aborted. */
export async function watchContext(
  browser: Browser,
  options: {
    viewport?: { width: number; height: number };
    colorScheme?: 'light' | 'dark';
    offline?: boolean;
    /** HTTP Basic credentials the browser answers a login prompt with (the editor and ops areas). */
    httpCredentials?: { username: string; password: string };
  } = {},
): Promise<WatchedContext> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1200, height: 900 },
    colorScheme: options.colorScheme ?? 'light',
    offline: options.offline ?? false,
    ...(options.httpCredentials ? { httpCredentials: options.httpCredentials } : {}),
  });
  const requests: string[] = [];
  const setCookieHeaders: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  context.on('response', (response) => {
    const cookie = response.headers()['set-cookie'];
    if (cookie) setCookieHeaders.push(cookie);
  });
  // Nothing may leave the machine; abort it (and a test sees it in foreignRequests).
  await context.route(
    (url) => !isLocal(url.toString()),
    (route) => route.abort('blockedbyclient'),
  );
  return {
    context,
    requests,
    setCookieHeaders,
    foreignRequests: () => requests.filter((url) => !isLocal(url)),
    newPage: () => context.newPage(),
    close: () => context.close(),
  };
}

function isLocal(url: string): boolean {
  if (/^(data|about|blob):/.test(url)) return true;
  try {
    const host = new URL(url).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  } catch {
    return false;
  }
}

/** Saves a full-page screenshot as `test-artifacts/screenshots/<name>.png` and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
