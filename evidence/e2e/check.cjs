// Opens an evidence pack's HTML from disk in headless Chromium, as an auditor would open an attachment,
// and checks that it loads nothing from anywhere, shows the texts it is given, and prints.
//
//   node check.cjs PAGE.html OUTDIR TEXT...
//
// Writes OUTDIR/evidence.png (the whole page) and OUTDIR/evidence.pdf (as printed on A4). Exits 1 with
// one line per problem. playwright-core is found through NODE_PATH; the browser is Debian's chromium
// (CHROMIUM, default /usr/bin/chromium).
'use strict';

const path = require('path');
const { pathToFileURL } = require('url');
const { chromium } = require('playwright-core');

async function main() {
  const [file, out, ...texts] = process.argv.slice(2);
  const url = pathToFileURL(path.resolve(file)).href;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const problems = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    // Every request but the page itself is a problem, and is refused so nothing leaves the machine.
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u === url) return route.continue();
      problems.push('requested ' + u);
      return route.abort();
    });
    page.on('pageerror', (e) => problems.push('page error: ' + e));
    await page.goto(url, { waitUntil: 'load' });
    for (const text of texts) {
      const el = page.getByText(text, { exact: false }).first();
      if ((await el.count()) === 0 || !(await el.isVisible())) problems.push('not visible: ' + text);
    }
    await page.screenshot({ path: path.join(out, 'evidence.png'), fullPage: true });
    await page.emulateMedia({ media: 'print' });
    await page.pdf({ path: path.join(out, 'evidence.pdf'), format: 'A4', printBackground: false });
  } finally {
    await browser.close();
  }
  if (problems.length > 0) {
    console.log(problems.join('\n'));
    process.exit(1);
  }
}

main().catch((e) => {
  console.log(String(e && e.stack || e));
  process.exit(1);
});
