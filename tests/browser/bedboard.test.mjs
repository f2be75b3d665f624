// bedboard.test.mjs -- the bed-board page in a real browser against the real
// server.
//
// Starts build/tilannekuva (env TK_BIN) on loopback with a small test county
// (fixtures/org.json), drives Debian's Chromium through playwright-core, and
// checks: the wards are listed; an ADT^A01 sent over MLLP with python3-hl7's
// mllp_send shows on the page without a reload within 2 s (open ward and
// keyboard focus kept); the language switch (fi/sv/en, <html lang>, remembered);
// drill-down by URL (?unit=ID) with breadcrumbs and the flow charts' table
// alternatives; axe-core finds no WCAG 2.1 A/AA violations in any language,
// on the main view and with a ward opened; no horizontal scroll on a phone;
// no Content-Security-Policy violations; the freshness indicator turns
// "stale" when the server goes away. Screenshots go to build/artifacts/
// (env TK_ARTIFACTS).
//
// Run: node --test tests/browser/   (after `ninja -C build` and `npm ci`)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const execFileP = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const TK_BIN = path.resolve(ROOT, process.env.TK_BIN || 'build/tilannekuva');
const ARTIFACTS = path.resolve(ROOT, process.env.TK_ARTIFACTS || 'build/artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const MLLP_SEND = process.env.MLLP_SEND || '/usr/bin/mllp_send';
const ORG_FILE = path.join(HERE, 'fixtures', 'org.json');
const AXE = path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');
const ORG = JSON.parse(fs.readFileSync(ORG_FILE, 'utf8'));
const WARDS = ORG.units.filter((u) => u.type === 'ward');
const HOSPITALS = ORG.units.filter((u) => u.type === 'hospital');
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const LAUNCH_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const S1 = WARDS.find((w) => w.id === 'bt-ks-s1');
const K2 = WARDS.find((w) => w.id === 'bt-ks-k2');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** HL7 TS (YYYYMMDDHHMMSS) of 'd' in Finnish time. */
function hl7Time(d) {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Helsinki', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .formatToParts(d)
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}${p.month}${p.day}${p.hour}${p.minute}${p.second}`;
}

/** An ADT^A01 v2.5 from the BROWSERTEST/TEST channel (segments joined by \n
 * for mllp_send --loose, which turns them into \r). */
function a01({ control, visit, hetu, poc, bed, when }) {
  const ts = hl7Time(when);
  const pv1 = ['PV1', '1', 'I', `${poc}^^${bed}`, ...Array(15).fill(''), visit];
  return [
    `MSH|^~\\&|BROWSERTEST|TEST|TILANNEKUVA|BT|${ts}||ADT^A01^ADT_A01|${control}|P|2.5`,
    `EVN|A01|${ts}`,
    `PID|1||${hetu}^^^1.2.246.21^NNFIN||Testinen^Tiina||19521013|F`,
    pv1.join('|'),
  ].join('\n');
}

const ctx = {
  tmp: null,
  data: null,
  server: null,
  serverLog: null,
  mllpPort: 0,
  httpPort: 0,
  base: '',
  browser: null,
  context: null,
  axeContext: null,
  page: null,
};

function serverLogTail() {
  try {
    return fs.readFileSync(ctx.serverLog, 'utf8').split('\n').slice(-30).join('\n');
  } catch (e) {
    return '(no server log)';
  }
}

async function getJSON(p) {
  const res = await fetch(ctx.base + p, { headers: { Accept: 'application/json' } });
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch (e) {
    body = null;
  }
  return { status: res.status, body };
}

async function waitHealthy(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (ctx.server.exitCode !== null || ctx.server.signalCode !== null) throw new Error(`server exited (${ctx.server.exitCode ?? ctx.server.signalCode})\n${serverLogTail()}`);
    try {
      const res = await fetch(`${ctx.base}/healthz`);
      if (res.status === 200) return;
    } catch (e) {
      /* not up yet */
    }
    await sleep(50);
  }
  throw new Error(`server did not become healthy\n${serverLogTail()}`);
}

async function sendHl7(text) {
  const file = path.join(ctx.tmp, `msg-${Date.now()}-${Math.random().toString(36).slice(2)}.hl7`);
  fs.writeFileSync(file, text + '\n');
  let stdout;
  try {
    ({ stdout } = await execFileP(MLLP_SEND, ['--loose', '-f', file, '-p', String(ctx.mllpPort), '127.0.0.1'], { timeout: 20000 }));
  } catch (e) {
    throw new Error(`mllp_send got no ACK from the server (${e.killed ? 'timed out after 20 s' : `exit ${e.code}`}): ${e.stdout || ''}${e.stderr || ''}\n${serverLogTail()}`);
  }
  assert.match(stdout, /MSA\|AA/, `the server did not accept the message: ${stdout}`);
  return stdout;
}

async function openPage(context, url = '/') {
  const page = await context.newPage();
  page.on('pageerror', (e) => {
    throw new Error(`page error: ${e.message}`);
  });
  await gotoReady(page, url);
  return page;
}

/** Loads 'url' (a path) in 'page' and waits until the page has its data. */
async function gotoReady(page, url) {
  const res = await page.goto(ctx.base + url);
  assert.equal(res.status(), 200, `GET ${url} answered ${res.status()}: ${(await res.text()).slice(0, 300)}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
}

function card(page, wardId) {
  return page.locator(`article.ward[data-ward="${wardId}"]`);
}

async function countOf(page, wardId, key) {
  return (await card(page, wardId).locator(`.counts__item--${key} .counts__value`).textContent()).trim();
}

async function axeCheck(page, label) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`) }));
  }, WCAG_TAGS);
  assert.deepEqual(result, [], `axe violations (${label}):\n${JSON.stringify(result, null, 2)}`);
}

async function setLanguage(page, lang) {
  await page.click(`.lang-switch__btn[data-lang="${lang}"]`);
  await page.waitForFunction((l) => document.documentElement.lang === l && document.querySelector(`.lang-switch__btn[data-lang="${l}"]`).getAttribute('aria-pressed') === 'true', lang);
}

async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(fs.statSync(file).size > 1000, `screenshot ${file} is empty`);
  return file;
}

describe('bed board in the browser', { timeout: 240000 }, () => {
  before(async () => {
    assert.ok(fs.existsSync(TK_BIN), `server binary '${TK_BIN}' not found: build it first (ninja -C build) or set TK_BIN`);
    assert.ok(fs.existsSync(CHROMIUM), `chromium not found at '${CHROMIUM}'`);
    assert.ok(fs.existsSync(MLLP_SEND), `mllp_send not found at '${MLLP_SEND}' (Debian package python3-hl7)`);
    assert.ok(fs.existsSync(AXE), 'axe-core is missing: run npm ci');
    ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-browser-'));
    ctx.data = path.join(ctx.tmp, 'data');
    ctx.serverLog = path.join(ctx.tmp, 'server.log');
    try {
      await execFileP(TK_BIN, ['init', '--data', ctx.data, '--org', ORG_FILE], { timeout: 60000 });
    } catch (e) {
      throw new Error(`'tilannekuva init' failed: ${e.stderr || e.message}`);
    }
    ctx.mllpPort = await freePort();
    ctx.httpPort = await freePort();
    ctx.base = `http://127.0.0.1:${ctx.httpPort}`;
    const log = fs.openSync(ctx.serverLog, 'a');
    ctx.server = spawn(TK_BIN, ['serve', '--data', ctx.data, '--mllp', `127.0.0.1:${ctx.mllpPort}`, '--http', `127.0.0.1:${ctx.httpPort}`], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    await waitHealthy(30000);

    ctx.browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    ctx.context = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fi-FI', timezoneId: 'Europe/Helsinki' });
    // Record any Content-Security-Policy violation (the page must need none).
    await ctx.context.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    // axe-core is injected as a script, which the page's CSP rightly forbids;
    // this second context only bypasses the CSP to let axe in.
    ctx.axeContext = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true, locale: 'fi-FI', timezoneId: 'Europe/Helsinki' });
  });

  after(async () => {
    if (ctx.browser) await ctx.browser.close().catch(() => {});
    if (ctx.server && ctx.server.exitCode === null && ctx.server.signalCode === null) {
      ctx.server.kill('SIGTERM');
      const done = await Promise.race([new Promise((r) => ctx.server.once('exit', () => r(true))), sleep(10000).then(() => false)]);
      if (!done) ctx.server.kill('SIGKILL');
    }
    if (ctx.tmp && !process.env.TK_KEEP) fs.rmSync(ctx.tmp, { recursive: true, force: true });
  });

  it('serves the page, its modules and the charting library', async () => {
    for (const p of ['/', '/static/js/app.js', '/static/css/app.css', '/static/i18n/fi.json', '/static/i18n/sv.json', '/static/i18n/en.json', '/vendor/chart.js/dist/chart.umd.js']) {
      const res = await fetch(ctx.base + p);
      assert.equal(res.status, 200, `GET ${p}`);
      await res.arrayBuffer();
    }
    const units = await getJSON('/api/v1/units');
    assert.equal(units.status, 200);
    const board = await getJSON('/api/v1/bedboard');
    assert.equal(board.status, 200);
    assert.deepEqual(board.body.wards.map((w) => w.id).sort(), WARDS.map((w) => w.id).sort());
  });

  it('(a) lists every ward of the county, grouped by hospital', async () => {
    ctx.page = await openPage(ctx.context);
    const page = ctx.page;
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'fi');
    for (const w of WARDS) {
      const name = (await card(page, w.id).locator('.ward__name').textContent()).trim();
      assert.equal(name, w.name.fi);
      assert.equal(await countOf(page, w.id, 'beds'), String(w.beds.length));
      assert.equal(await countOf(page, w.id, 'occupied'), '0');
    }
    for (const hsp of HOSPITALS) {
      const sec = page.locator(`section.hospital[data-hospital="${hsp.id}"]`);
      assert.equal((await sec.locator('.hospital__name').textContent()).trim(), hsp.name.fi);
      const wardIds = await sec.locator('article.ward').evaluateAll((els) => els.map((e) => e.dataset.ward));
      assert.deepEqual(wardIds, WARDS.filter((w) => w.parent === hsp.id).map((w) => w.id));
    }
    assert.equal((await page.locator('#page-title').textContent()).trim(), ORG.name.fi);
    await page.waitForSelector('#freshness[data-state="live"]', { timeout: 10000 });
    assert.match(await page.locator('#freshness-time').textContent(), /\d{2}[.:]\d{2}[.:]\d{2}/);
  });

  it('(b) shows an admission sent over MLLP within 2 s, without a reload', async () => {
    const page = ctx.page;
    await page.evaluate(() => {
      window.__noReload = 'still here';
    });
    // Open the ward and leave the keyboard focus on its disclosure button.
    const toggle = card(page, S1.id).locator('button.disclosure');
    await toggle.focus();
    await page.keyboard.press('Enter');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.equal(await countOf(page, S1.id, 'occupied'), '0');
    assert.equal(await card(page, S1.id).locator('.ward__detail li.bed--occupied').count(), 0);

    const when = new Date(Date.now() - 5 * 60000);
    await sendHl7(a01({ control: `BT${Date.now()}`, visit: 'V1001', hetu: '131052-308T', poc: 'S1', bed: '3', when }));
    const t0 = Date.now();
    await page.waitForFunction((id) => document.querySelector(`article.ward[data-ward="${id}"] .counts__item--occupied .counts__value`)?.textContent.trim() === '1', S1.id, { timeout: 2000 });
    const took = Date.now() - t0;
    assert.ok(took <= 2000, `update took ${took} ms`);

    assert.equal(await page.evaluate(() => window.__noReload), 'still here', 'the page was reloaded');
    assert.equal(await countOf(page, S1.id, 'free'), String(S1.beds.length - 1));
    // The opened ward stayed open and shows the patient in bed 3.
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    const bed = card(page, S1.id).locator('.ward__detail li.bed[data-bed="3"]');
    await bed.locator('.facts').waitFor({ timeout: 2000 });
    assert.match(await bed.getAttribute('class'), /bed--occupied/);
    const pseudonym = (await bed.locator('.fact--id .fact__value').textContent()).trim();
    assert.ok(pseudonym.length > 0 && pseudonym !== '–', 'bed 3 shows no patient pseudonym');
    assert.ok(!pseudonym.includes('131052'), 'the identity code leaked to the page');
    assert.equal((await bed.locator('.fact').nth(2).locator('.fact__value').textContent()).trim(), 'Nainen');
    // Keyboard focus stayed on the button.
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.focusKey), `ward-toggle:${S1.id}`);
    // The other wards did not change.
    assert.equal(await countOf(page, K2.id, 'occupied'), '0');
    // The summary follows.
    const total = WARDS.reduce((a, w) => a + w.beds.length, 0);
    assert.equal((await page.locator('.counts--summary .counts__item--occupied .counts__value').textContent()).trim(), '1');
    assert.equal((await page.locator('.counts--summary .counts__item--beds .counts__value').textContent()).trim(), String(total));
    // A polite announcement names the ward.
    await page.waitForFunction((name) => document.getElementById('live-region').textContent.includes(name), S1.name.fi, { timeout: 5000 });
    assert.equal(await page.getAttribute('#live-region', 'aria-live'), 'polite');
  });

  it('(c) switches language to Swedish and English and remembers it', async () => {
    const page = ctx.page;
    await setLanguage(page, 'sv');
    assert.equal((await card(page, S1.id).locator('.ward__name').textContent()).trim(), S1.name.sv);
    assert.equal((await page.locator('#page-title').textContent()).trim(), ORG.name.sv);
    assert.equal((await card(page, S1.id).locator('.counts__item--beds .counts__label').textContent()).trim(), 'Platser');
    assert.equal((await card(page, S1.id).locator('button.disclosure').textContent()).trim(), 'Dölj platser och patienter');
    assert.equal((await page.locator('.skip-link').textContent()).trim(), 'Hoppa till innehållet');
    assert.equal(await page.getAttribute('#breadcrumb', 'aria-label'), 'Brödsmulor');

    await setLanguage(page, 'en');
    assert.equal((await card(page, S1.id).locator('.ward__name').textContent()).trim(), S1.name.en);
    assert.equal((await page.locator('#page-title').textContent()).trim(), ORG.name.en);
    assert.equal((await card(page, S1.id).locator('.counts__item--beds .counts__label').textContent()).trim(), 'Beds');
    assert.match(await page.locator('#freshness-label').textContent(), /Live/);
    const bed = card(page, S1.id).locator('.ward__detail li.bed[data-bed="3"]');
    assert.equal((await bed.locator('.fact').nth(2).locator('.fact__value').textContent()).trim(), 'Female');
    // The ward stayed open through the switches.
    assert.equal(await card(page, S1.id).locator('button.disclosure').getAttribute('aria-expanded'), 'true');

    // Remembered across a reload.
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    assert.equal((await card(page, S1.id).locator('.ward__name').textContent()).trim(), S1.name.en);
    await setLanguage(page, 'fi');
    assert.equal((await card(page, S1.id).locator('.ward__name').textContent()).trim(), S1.name.fi);
  });

  it('drills down county -> hospital -> ward, kept in the URL', async () => {
    const page = ctx.page;
    await page.click(`section.hospital[data-hospital="bt-ks"] .hospital__link`);
    await page.waitForURL(/\?unit=bt-ks$/);
    assert.equal((await page.locator('#page-title').textContent()).trim(), HOSPITALS[0].name.fi);
    assert.equal(await page.locator('article.ward').count(), WARDS.filter((w) => w.parent === 'bt-ks').length);
    assert.deepEqual(await page.locator('#breadcrumb-list li').allTextContents(), [ORG.name.fi, HOSPITALS[0].name.fi]);

    await card(page, K2.id).locator('.ward__link').click();
    await page.waitForURL(/\?unit=bt-ks-k2$/);
    assert.equal((await page.locator('#page-title').textContent()).trim(), K2.name.fi);
    assert.deepEqual(await page.locator('#breadcrumb-list li').allTextContents(), [ORG.name.fi, HOSPITALS[0].name.fi, K2.name.fi]);
    assert.equal(await page.getAttribute('#breadcrumb-list li:last-child [aria-current]', 'aria-current'), 'page');
    // The ward view opens its beds.
    assert.equal(await card(page, K2.id).locator('button.disclosure').getAttribute('aria-expanded'), 'true');
    const detail = card(page, K2.id).locator('.ward__detail');
    assert.ok(await detail.isVisible());
    assert.match(await detail.locator('h4').first().textContent(), new RegExp(`\\(${K2.beds.length}\\)`));

    // The flow panel: charts with table alternatives when the API has them.
    const flow = await getJSON(`/api/v1/flow?unit=${K2.id}`);
    await page.waitForSelector('#flow:not([hidden])', { timeout: 5000 });
    if (flow.status === 200) {
      if (Array.isArray(flow.body.admissions_by_hour)) {
        await page.waitForSelector('#flow .table-alt table', { state: 'attached', timeout: 5000 });
        const hourRows = await page.locator('#flow .table-alt[data-key="hours"] tbody tr').count();
        assert.equal(hourRows, 24);
        assert.equal(await page.locator('#flow canvas[role="img"]').first().getAttribute('aria-label') !== null, true);
      }
    } else {
      assert.ok((await page.locator('#flow .note').count()) > 0, 'flow error not shown');
    }

    // A bookmark opens the same view; back returns to the hospital.
    const again = await openPage(ctx.context, `/?unit=${K2.id}`);
    assert.equal((await again.locator('#page-title').textContent()).trim(), K2.name.fi);
    await again.close();
    await page.goBack();
    await page.waitForURL(/\?unit=bt-ks$/);
    await page.waitForFunction((n) => document.getElementById('page-title').textContent.trim() === n, HOSPITALS[0].name.fi);
    await gotoReady(page, '/');
  });

  it('(d) has no axe-core WCAG 2.1 A/AA violations in any language', async () => {
    const page = await openPage(ctx.axeContext);
    await page.waitForSelector('#flow:not([hidden])', { timeout: 5000 }).catch(() => {});
    for (const lang of ['fi', 'sv', 'en']) {
      await setLanguage(page, lang);
      const toggle = card(page, S1.id).locator('button.disclosure');
      if ((await toggle.getAttribute('aria-expanded')) === 'true') await toggle.click();
      await axeCheck(page, `${lang}, main view`);
      await toggle.click();
      assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
      await page.locator('#flow details.table-alt').evaluateAll((ds) => ds.forEach((d) => (d.open = true)));
      await axeCheck(page, `${lang}, ward opened, tables shown`);
      await toggle.click();
    }
    // The ward view of a ward with a patient, in each language.
    await gotoReady(page, `/?unit=${S1.id}`);
    for (const lang of ['fi', 'sv', 'en']) {
      await setLanguage(page, lang);
      await axeCheck(page, `${lang}, ward view`);
    }
    await setLanguage(page, 'fi');
    await page.close();
  });

  it('(e) has no horizontal scroll on a phone', async () => {
    const phone = await ctx.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'fi-FI', timezoneId: 'Europe/Helsinki' });
    try {
      const page = await openPage(phone);
      const noScroll = () => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
      assert.ok(await noScroll(), 'horizontal scroll on the main view');
      // One ward per screen width.
      const widths = await page.locator('article.ward').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
      for (const w of widths) assert.ok(w > 300, `ward card only ${w}px wide on a phone`);
      // Touch targets at least 44 px high.
      const heights = await page.locator('button.disclosure, .lang-switch__btn').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
      for (const hgt of heights) assert.ok(hgt >= 44, `touch target only ${hgt}px high`);
      await card(page, S1.id).locator('button.disclosure').tap();
      assert.ok(await noScroll(), 'horizontal scroll with a ward opened');
      await screenshot(page, 'bedboard-phone.png');
      for (const lang of ['sv', 'en']) {
        await setLanguage(page, lang);
        assert.ok(await noScroll(), `horizontal scroll in ${lang}`);
      }
      await gotoReady(page, `/?unit=${S1.id}`);
      assert.ok(await noScroll(), 'horizontal scroll on the ward view');
    } finally {
      await phone.close();
    }
  });

  it('(f) keeps screenshots as test artifacts', async () => {
    const page = ctx.page;
    await gotoReady(page, '/');
    const toggle = card(page, S1.id).locator('button.disclosure');
    if ((await toggle.getAttribute('aria-expanded')) === 'true') await toggle.click();
    const main = await screenshot(page, 'bedboard-desktop.png');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    const opened = await screenshot(page, 'bedboard-desktop-ward-open.png');
    const wardView = await openPage(ctx.context, `/?unit=${S1.id}`);
    await sleep(300);
    const ward = await screenshot(wardView, 'bedboard-ward-view.png');
    await wardView.close();
    for (const f of [main, opened, ward]) assert.ok(fs.existsSync(f));
  });

  it('needs no Content-Security-Policy exception', async () => {
    const csp = await ctx.page.evaluate(() => window.__csp);
    assert.deepEqual(csp, []);
  });

  it('turns "stale" when the live stream is gone for more than 30 s', { timeout: 60000 }, async () => {
    const page = ctx.page;
    await gotoReady(page, '/');
    await page.waitForSelector('#freshness[data-state="live"]', { timeout: 10000 });
    const occupied = await countOf(page, S1.id, 'occupied');
    assert.ok(await page.locator('#stale-banner').isHidden());
    ctx.server.kill('SIGKILL');
    await new Promise((r) => (ctx.server.exitCode !== null || ctx.server.signalCode !== null ? r() : ctx.server.once('exit', r)));
    await page.waitForSelector('#freshness[data-state="reconnecting"]', { timeout: 10000 });
    const t0 = Date.now();
    await page.waitForSelector('#freshness[data-state="stale"]', { timeout: 45000 });
    assert.ok(Date.now() - t0 >= 25000, 'stale came too early');
    assert.ok(await page.locator('#stale-banner').isVisible());
    assert.equal((await page.locator('#freshness-label').textContent()).trim(), 'Vanhentunut');
    // The figures stay on the page (stale, not a calm zero).
    assert.equal(await countOf(page, S1.id, 'occupied'), occupied);
    assert.ok(Number(occupied) > 0);
  });
});
