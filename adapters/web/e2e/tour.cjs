// The README's five-minute tour, in headless Chromium: deliver v0.1.1, see qa pass with its score table,
// try to approve as someone with no role, approve as an approver (through the console's own confirmation
// dialog), see production finish; then deliver v0.1.2, see it fail qa and production left alone; follow
// /deliver history's link to a thread, and read /deliver audit as the auditor. Along the way it checks
// what a person would trip over: a note or toast covering a control or a message, a score table wider
// than the thread panel, a status that needs an emoji font, and a browser dialog the console did not
// draw itself. Screenshots of each step go to the folder given.
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

// The status emoji the bot writes for Slack and Discord; the console draws its own icons instead.
const STATUS_EMOJI = /[✅❌⛔✋⏳⚠⏸🕓🛑⌛]/u;

// layoutProblems runs in the page: every toast and note must leave every control and message in view,
// and Send must take a click at its centre; with atBottom, the channel must show its newest message
// whole. It waits two frames first, so that what the page does when its boxes change size (keeping the
// channel at its newest message) has run.
async function layoutProblems(atBottom) {
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const clip = (a, b) => ({ left: Math.max(a.left, b.left), top: Math.max(a.top, b.top), right: Math.min(a.right, b.right), bottom: Math.min(a.bottom, b.bottom) });
  const empty = (r) => r.right - r.left < 1 || r.bottom - r.top < 1;
  // seen is the part of a node's box that is on the screen: inside the window and every scrolling box
  // around it.
  const seen = (node) => {
    let r = clip(node.getBoundingClientRect(), { left: 0, top: 0, right: innerWidth, bottom: innerHeight });
    for (let a = node.parentElement; a; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX !== 'visible' || s.overflowY !== 'visible') r = clip(r, a.getBoundingClientRect());
    }
    return r;
  };
  const name = (n) => (n ? `<${n.tagName.toLowerCase()}${n.dataset && n.dataset.testid ? ' ' + n.dataset.testid : ''}> "${(n.textContent || '').trim().slice(0, 40)}"` : 'nothing');
  const problems = [];
  const shown = (n) => n.getClientRects().length > 0;
  const overlays = [...document.querySelectorAll('[data-testid="toast"], [data-testid="composer-note"]')].filter(shown);
  const targets = [...document.querySelectorAll('button, input, select, textarea, a, [data-testid="card"], [data-testid="broadcast"], ' +
    '[data-testid="reply"], [data-testid="thread-root"]')].filter(shown);
  for (const o of overlays) {
    const over = seen(o);
    if (empty(over)) continue;
    for (const t of targets) {
      if (o.contains(t) || t.contains(o)) continue;
      if (!empty(clip(seen(t), over))) problems.push(`${name(o)} covers ${name(t)}`);
    }
  }
  const send = document.querySelector('[data-testid="composer-send"]');
  const r = send.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  if (!hit || !send.contains(hit)) problems.push(`Send is covered by ${name(hit)}`);
  if (!atBottom) return problems;
  const list = document.querySelector('[data-testid="messages"]');
  const cards = list.querySelectorAll('[data-testid="card"], [data-testid="broadcast"]');
  const newest = cards[cards.length - 1];
  if (newest && newest.getBoundingClientRect().bottom > list.getBoundingClientRect().bottom + 1) {
    problems.push(`the newest message ${name(newest)} is cut off at the bottom of the channel`);
  }
  return problems;
}

// tableProblems runs in the page: each score table in the thread panel shows every column header
// whole, inside the panel and without scrolling the table.
function tableProblems() {
  const panel = document.querySelector('[data-testid="thread-panel"]');
  const box = panel.getBoundingClientRect();
  const problems = [];
  const tables = panel.querySelectorAll('[data-testid="score-table"]');
  if (tables.length === 0) problems.push('no score table in the thread panel');
  for (const table of tables) {
    const wrap = table.parentElement;
    if (wrap.scrollWidth > wrap.clientWidth + 1) problems.push(`the table is ${wrap.scrollWidth}px wide in ${wrap.clientWidth}px`);
    let edge = { left: box.left, right: box.right };
    for (let a = table.parentElement; a && a !== panel.parentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX !== 'visible') {
        const r = a.getBoundingClientRect();
        edge = { left: Math.max(edge.left, r.left), right: Math.min(edge.right, r.right) };
      }
    }
    for (const th of table.querySelectorAll('thead th')) {
      const r = th.getBoundingClientRect();
      if (r.left < edge.left - 0.5 || r.right > edge.right + 0.5) {
        problems.push(`column ${th.textContent} at ${Math.round(r.left)}–${Math.round(r.right)}px, the panel shows ${Math.round(edge.left)}–${Math.round(edge.right)}px`);
      }
    }
  }
  return problems;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    page.setDefaultTimeout(timeout);
    page.on('pageerror', (e) => errors.push(String(e)));
    // The console asks in its own dialogs; a browser dialog (alert, confirm, prompt) is a failure.
    // step races a step of the tour against one, so that the tour stops at once with what it said.
    const browserDialogs = [];
    let failOnDialog;
    const dialogOpened = new Promise((_, reject) => { failOnDialog = reject; });
    dialogOpened.catch(() => {});
    page.on('dialog', (d) => {
      browserDialogs.push(`${d.type()} "${d.message()}"`);
      failOnDialog(new Error('a browser dialog opened: ' + browserDialogs.join('; ')));
      d.dismiss().catch(() => {});
    });
    const step = (p) => Promise.race([p, dialogOpened]);
    let clicks = 0;
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/web/click') clicks++;
    });
    const shot = (name) => page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
    const as = (user) => page.getByTestId('user-picker').selectOption(user);
    const send = async (text) => {
      await page.getByTestId('composer-input').fill(text);
      await page.getByTestId('composer-send').click();
    };
    const card = (n) => page.locator(`[data-testid="card"][data-delivery="${n}"]`);
    const stage = (n, name, state) => card(n).locator(`[data-testid="stage"][data-stage="${name}"][data-state="${state}"]`);
    const thread = page.getByTestId('thread-panel');
    const confirmDialog = page.getByTestId('confirm-dialog');
    const nothingCovered = async (when, atBottom = true) => {
      const problems = await page.evaluate(layoutProblems, atBottom);
      if (problems.length) throw new Error(`${when}: ${problems.join('; ')}`);
    };
    const tableFits = async (when) => {
      const problems = await page.evaluate(tableProblems);
      if (problems.length) throw new Error(`${when}: ${problems.join('; ')}`);
    };
    const noBrowserDialogs = () => {
      if (browserDialogs.length) throw new Error('a browser dialog opened: ' + browserDialogs.join('; '));
    };

    await page.goto(url);
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
    await shot('00-console');

    // v0.1.1: qa passes with a score table; production waits for an approval.
    await as('dana');
    await send('/deliver helloservice ghcr.io/podtato-head/podtatoserver:v0.1.1');
    await page.getByTestId('composer-note').filter({ hasText: 'Delivery #1' }).waitFor();
    await stage(1, 'production', 'waiting-for-approval').waitFor();
    await page.getByTestId('broadcast').getByTestId('approve').waitFor();
    await nothingCovered('after /deliver');

    // Eve holds no role: the console asks her to confirm, then refuses, with the reason. The thread
    // panel is closed, so that the toast has the channel's width to itself.
    await as('eve');
    await page.getByTestId('broadcast').getByTestId('approve').click();
    await step(confirmDialog.filter({ hasText: 'Promote helloservice v0.1.1 to production.' }).waitFor());
    await shot('02-approve-dialog');
    await page.getByTestId('confirm-submit').click();
    await confirmDialog.waitFor({ state: 'hidden' });
    await page.getByTestId('toast').filter({ hasText: 'role approver' }).waitFor();
    await nothingCovered("after Eve's refused approval");
    await shot('02-refused');

    await card(1).getByTestId('thread-open').click();
    await thread.getByTestId('score-table').filter({ hasText: 'PASS' }).first().waitFor();
    await shot('01-qa-passed');

    // Ann cancels once (nothing is sent), then approves: production runs and finishes.
    await as('ann');
    await thread.getByTestId('approve').first().click();
    await step(confirmDialog.waitFor());
    await page.getByTestId('confirm-cancel').click();
    await confirmDialog.waitFor({ state: 'hidden' });
    await thread.getByTestId('approve').first().click();
    await step(page.getByTestId('confirm-submit').click());
    await stage(1, 'production', 'passed').waitFor();
    // What the README's tour says the thread shows: a release task in each stage, and the picker's line
    // naming both of Ann's roles.
    for (const where of ['qa', 'production']) {
      await thread.getByTestId('reply').filter({ hasText: `${where} · release` }).first().waitFor();
    }
    const annNote = await page.locator('#user-note').innerText();
    if (!/approver/.test(annNote) || !/auditor/.test(annNote)) throw new Error(`the picker says of Ann: "${annNote}"`);
    await thread.getByTestId('toast').filter({ hasText: 'Your approval counted' }).waitFor(); // where she clicked
    if (clicks !== 2) throw new Error(`${clicks} clicks reached shipgate; want 2 (Eve's and Ann's confirmed ones, not the cancelled one)`);
    await nothingCovered("after Ann's approval");
    await shot('03-production-done');

    // v0.1.2 is slow: qa's evaluation fails, qa is rolled back, production is not touched.
    await as('dana');
    await send('/deliver helloservice ghcr.io/podtato-head/podtatoserver:v0.1.2');
    await page.getByTestId('composer-note').filter({ hasText: 'Delivery #2' }).waitFor();
    await nothingCovered('after the second /deliver');
    await stage(2, 'qa', 'failed').filter({ hasText: 'rollback' }).locator('[data-mark="pass"]').waitFor();
    if (await stage(2, 'production', 'not-reached').count() !== 1) {
      throw new Error('production was touched: ' + await card(2).getByTestId('status-line').innerText());
    }
    await card(2).getByTestId('thread-open').click();
    await thread.getByTestId('score-table').filter({ hasText: 'FAIL' }).first().waitFor();
    await thread.getByTestId('reply').filter({ hasText: 'Score 33.33 of 100 (pass >= 90, warning >= 75): FAIL' }).first().waitFor();
    // Both the response time and the throughput objectives failed, as the README's tour says.
    for (const objective of ['Response time', 'Throughput']) {
      const row = thread.getByTestId('score-table').locator('tr').filter({ hasText: objective });
      const said = await row.first().innerText();
      if (!/fail/.test(said)) throw new Error(`the ${objective} row of v0.1.2's score table: ${said}`);
    }
    const production = await thread.getByTestId('reply').filter({ hasText: 'production ·' }).count();
    if (production !== 0) throw new Error(`${production} production replies in v0.1.2's thread`);
    await shot('04-v0.1.2-failed');
    await tableFits('at 1400px');
    await page.setViewportSize({ width: 1280, height: 900 });
    await shot('04-v0.1.2-failed-1280');
    await tableFits('at 1280px');
    await nothingCovered('at 1280px');

    // The console draws every status itself: no status emoji is left for a font to draw, and each icon
    // says in words what it shows.
    const text = await page.evaluate(() => document.body.innerText);
    if (STATUS_EMOJI.test(text)) throw new Error('a status emoji is left on the page: ' + text.match(STATUS_EMOJI)[0]);
    const said = await card(1).locator('[data-stage="production"] .vh').innerText();
    if (said !== 'passed') throw new Error(`production's icon says "${said}" to screen readers`);

    // /deliver history links to each delivery's thread; the link opens it in the panel, and so does
    // loading the page at the link.
    await thread.getByTestId('thread-close').click();
    await send('/deliver history helloservice');
    const note = page.getByTestId('composer-note');
    await note.filter({ hasText: 'History of helloservice' }).waitFor();
    const first = await card(1).getAttribute('data-id');
    const toFirst = note.locator(`[data-testid="message-link"][href$="#m-${first}"]`);
    const href = await toFirst.getAttribute('href');
    await toFirst.click();
    await page.locator('#thread-title').filter({ hasText: 'Delivery #1: helloservice v0.1.1' }).waitFor();
    if (!page.url().endsWith('#m-' + first)) throw new Error('the address after following the link: ' + page.url());
    await nothingCovered('after /deliver history', false); // the link scrolled the channel to #1
    await shot('05-history');
    const opened = await context.newPage();
    opened.setDefaultTimeout(timeout);
    opened.on('pageerror', (e) => errors.push(String(e)));
    await opened.goto(new URL(href, url).href);
    await opened.locator('#thread-title').filter({ hasText: 'Delivery #1: helloservice v0.1.1' }).waitFor();
    await opened.getByTestId('thread-panel').getByTestId('score-table').first().waitFor();
    await opened.close();

    // Ann is the auditor: her audit shows Eve's refusal as denied and the rest as allowed.
    await thread.getByTestId('thread-close').click();
    await page.setViewportSize({ width: 1400, height: 1000 });
    await as('ann');
    await send('/deliver audit');
    await note.filter({ hasText: 'Audit trail since' }).waitFor();
    const verdicts = await note.locator('.mark .vh').allInnerTexts();
    if (!verdicts.includes('denied') || !verdicts.includes('allowed')) throw new Error('the audit says ' + JSON.stringify(verdicts));
    await nothingCovered('after /deliver audit');
    await shot('06-audit');

    noBrowserDialogs();
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
