import { chromium, type Browser } from 'playwright-core'

/** Debian's chromium (package `chromium`, installed by test/setup/system-packages.sh). */
export const CHROMIUM = '/usr/bin/chromium'

/** Flags for a headless run in a container: no sandbox (root), no GPU, no /dev/shm, no background traffic. */
export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run']

/** Longest wait for the browser to start or to close. */
const LIMIT_MS = 30_000

/**
 * A headless chromium driven by playwright-core (no browser download: the system's
 * chromium), closed when the test ends. A browser that does not close within 30 s is left
 * to the test runner's process clean-up rather than hanging the test.
 */
export async function launchBrowser (t: { teardown (fn: () => unknown): void }): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: LIMIT_MS })
  t.teardown(async () => {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      browser.close(),
      new Promise<void>(resolve => { timer = setTimeout(resolve, LIMIT_MS) }),
    ])
    clearTimeout(timer)
  })
  return browser
}
