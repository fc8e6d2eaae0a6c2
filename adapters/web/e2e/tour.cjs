// The README's five-minute tour, in headless Chromium: deliver v0.1.1, see qa pass with its score table,
// try to approve as someone with no role, approve as an approver, see production finish; then deliver
// v0.1.2, see it fail qa and production left alone. Screenshots of each step go to the folder given.
//
//   node tour.cjs http://127.0.0.1:8080 SCREENSHOT_DIR
//
// playwright-core is found through NODE_PATH; the browser is Debian's chromium (CHROMIUM, default
// /usr/bin/chromium): no browser is downloaded.
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

const [url, shots] = process.argv.slice(2);
const timeout = 60000;

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(timeout);
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('dialog', (d) => d.accept()); // Approve's confirmation
    const shot = (name) => page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
    const as = (user) => page.getByTestId('user-picker').selectOption(user);
    const send = async (text) => {
      await page.getByTestId('composer-input').fill(text);
      await page.getByTestId('composer-send').click();
    };
    const card = (n) => page.locator(`[data-testid="card"][data-delivery="${n}"]`);
    const status = (n) => card(n).getByTestId('status-line');
    const thread = page.getByTestId('thread-panel');

    await page.goto(url);
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
    await shot('00-console');

    // v0.1.1: qa passes with a score table; production waits for an approval.
    await as('dana');
    await send('/deliver helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1');
    await page.getByTestId('composer-note').filter({ hasText: 'Delivery #1' }).waitFor();
    await status(1).filter({ hasText: 'production ✋' }).waitFor();
    await card(1).getByTestId('thread-open').click();
    await thread.getByTestId('score-table').filter({ hasText: 'PASS' }).first().waitFor();
    await shot('01-qa-passed');

    // Eve holds no role: refused, with the reason.
    await as('eve');
    await thread.getByTestId('approve').first().click();
    await page.getByTestId('toast').filter({ hasText: 'role approver' }).waitFor();
    await shot('02-refused');

    // Ann approves: production runs and finishes.
    await as('ann');
    await thread.getByTestId('approve').first().click();
    await status(1).filter({ hasText: 'production ✅' }).waitFor();
    await shot('03-production-done');

    // v0.1.2 is slow: qa's evaluation fails, qa is rolled back, production is not touched.
    await as('dana');
    await send('/deliver helloservice ghcr.io/podtato-head/podtatoserver:v0.1.2');
    await status(2).filter({ hasText: 'qa ❌' }).waitFor();
    await status(2).filter({ hasText: 'rollback ✅' }).waitFor();
    const line = await status(2).innerText();
    if (!/production\s*·/.test(line) || /production\s*[✅❌⏳✋]/.test(line)) {
      throw new Error('production was touched: ' + line);
    }
    await card(2).getByTestId('thread-open').click();
    await thread.getByTestId('score-table').filter({ hasText: 'FAIL' }).first().waitFor();
    const production = await thread.getByTestId('reply').filter({ hasText: 'production ·' }).count();
    if (production !== 0) throw new Error(`${production} production replies in v0.1.2's thread`);
    await shot('04-v0.1.2-failed');
    if (errors.length) throw new Error('page errors: ' + errors.join('; '));
    console.log('tour passed');
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
