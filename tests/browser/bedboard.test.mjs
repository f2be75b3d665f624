// bedboard.test.mjs -- the bed-board page in a real browser against the real
// server, with sign-in.
//
// Starts build/tilannekuva (env TK_BIN) on loopback with a small test county
// (fixtures/org.json) and two local accounts made with the CLI
// (`tilannekuva user add ... --password-stdin`): a coordinator scoped to the
// county (person-level rows) and an analyst scoped to one hospital
// (aggregates only). Drives Debian's Chromium through playwright-core and
// checks:
//   (a) the sign-in page: axe-core finds no WCAG 2.1 A/AA violation in fi, sv
//       or en; empty fields and a wrong password give announced errors with
//       the focus managed; throttling shows the wait;
//   (b) signed in as the coordinator: the header shows user, role and scope;
//       the wards are listed; an ADT^A01 sent over MLLP (python3-hl7's
//       mllp_send) shows without a reload within 2 s; opening the ward asks
//       for an access reason (modal dialog), then shows the patient, fetched
//       with X-Access-Reason and recorded in the audit log; the reason is
//       remembered for the session, can be changed, and opened wards follow
//       live updates;
//   (c) the language switch (fi/sv/en, <html lang>, remembered);
//   (d) axe-core on the main view, with the reason prompt open, with a ward
//       opened and on a ward view, in each language;
//   (e) no horizontal scroll on a phone (sign-in, board, reason prompt);
//   (f) screenshots kept in build/artifacts (env TK_ARTIFACTS);
//   (g) signed in as the analyst: the page starts at the scope's unit, shows
//       nothing outside it, has no patient list and shows small counts as
//       "<5" with an explanation on hover and keyboard focus;
//   (h) signing out returns to the sign-in screen and ends the session;
// plus drill-down by URL, no Content-Security-Policy violation, and the
// freshness indicator turning "stale" when the server goes away.
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
const LANGS = ['fi', 'sv', 'en'];

const S1 = WARDS.find((w) => w.id === 'bt-ks-s1');
const K2 = WARDS.find((w) => w.id === 'bt-ks-k2');
const LA = WARDS.find((w) => w.id === 'bt-ls-a');
const KS = HOSPITALS.find((x) => x.id === 'bt-ks');

// Accounts made with the CLI before the server starts.
const COORD = { user: 'kaisa', role: 'coordinator', scope: 'bt', password: 'kaisa-koordinaattori-2026', roleName: { fi: 'Koordinaattori', sv: 'Koordinator', en: 'Coordinator' } };
const ANALYST = { user: 'antti', role: 'analyst', scope: 'bt-ks', password: 'antti-analyytikko-2026', roleName: { fi: 'Analyytikko', sv: 'Analytiker', en: 'Analyst' } };
const REASON_LABEL = {
  care: { fi: 'Potilaan hoito', sv: 'Vård av patienten', en: 'Patient care' },
  care_coordination: { fi: 'Hoidon koordinointi (paikat ja siirrot)', sv: 'Vårdkoordinering (platser och förflyttningar)', en: 'Care coordination (beds and transfers)' },
};

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

async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(25);
  }
}

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
function a01({ control, visit, hetu, poc, bed, when, sex = 'F', family = 'Testinen', given = 'Tiina' }) {
  const ts = hl7Time(when);
  const pv1 = ['PV1', '1', 'I', `${poc}^^${bed}`, ...Array(15).fill(''), visit];
  return [
    `MSH|^~\\&|BROWSERTEST|TEST|TILANNEKUVA|BT|${ts}||ADT^A01^ADT_A01|${control}|P|2.5`,
    `EVN|A01|${ts}`,
    `PID|1||${hetu}^^^1.2.246.21^NNFIN||${family}^${given}||19521013|${sex}`,
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
  requests: [],
};

function serverLogTail() {
  try {
    return fs.readFileSync(ctx.serverLog, 'utf8').split('\n').slice(-30).join('\n');
  } catch (e) {
    return '(no server log)';
  }
}

/** Runs the CLI with 'input' on standard input. */
function runCli(args, input) {
  return new Promise((resolve, reject) => {
    const p = spawn(TK_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`tilannekuva ${args.slice(0, 2).join(' ')} failed (${code}): ${err}`))));
    p.stdin.end(input ?? '');
  });
}

async function request(p, { method = 'GET', body, headers = {}, cookie } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (cookie) h.Cookie = cookie;
  const res = await fetch(ctx.base + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  return { status: res.status, body: json, headers: res.headers };
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

async function newPage(context) {
  const page = await context.newPage();
  page.on('pageerror', (e) => {
    throw new Error(`page error: ${e.message}`);
  });
  return page;
}

/** Loads 'url' and waits for the sign-in screen. */
async function gotoSignin(page, url = '/') {
  const res = await page.goto(ctx.base + url);
  assert.equal(res.status(), 200, `GET ${url} answered ${res.status()}`);
  await page.waitForSelector('body[data-view="signin"][data-ready="true"]', { timeout: 15000 });
}

/** Signs in through the form and waits until the board has its data. */
async function signIn(page, who) {
  await page.fill('#signin-user', who.user);
  await page.fill('#signin-password', who.password);
  await page.click('#signin-submit');
  await page.waitForSelector('body[data-view="app"][data-ready="true"]', { timeout: 15000 });
}

/** Loads 'url' (a path) in a signed-in context and waits for the data. */
async function gotoReady(page, url) {
  const res = await page.goto(ctx.base + url);
  assert.equal(res.status(), 200, `GET ${url} answered ${res.status()}: ${(await res.text()).slice(0, 300)}`);
  await page.waitForSelector('body[data-view="app"][data-ready="true"]', { timeout: 15000 });
}

async function openSignedIn(context, who, url = '/') {
  const page = await newPage(context);
  const res = await page.goto(ctx.base + url);
  assert.equal(res.status(), 200);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  if ((await page.evaluate(() => document.body.dataset.view)) === 'signin') await signIn(page, who);
  return page;
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

async function screenshot(page, name, { fullPage = true } = {}) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage });
  assert.ok(fs.statSync(file).size > 1000, `screenshot ${file} is empty`);
  return file;
}

const focusedId = (page) => page.evaluate(() => document.activeElement?.id || document.activeElement?.dataset?.focusKey || document.activeElement?.tagName);

/** Chooses 'code' in the open reason dialog and submits it. */
async function chooseReason(page, code) {
  await page.waitForSelector('#reason-dialog[open]', { timeout: 5000 });
  await page.click(`label[for="reason-opt-${code}"]`);
  await page.click('#reason-submit');
  await page.waitForSelector('#reason-dialog:not([open])', { state: 'attached', timeout: 5000 });
}

describe('bed board in the browser', { timeout: 300000 }, () => {
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
    for (const u of [COORD, ANALYST]) {
      await runCli(['user', 'add', '--data', ctx.data, '--user', u.user, '--role', u.role, '--scope', u.scope, '--password-stdin'], `${u.password}\n`);
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
    // Every bed-board request the page makes, with its access reason.
    ctx.context.on('request', (r) => {
      if (r.url().includes('/api/v1/bedboard')) ctx.requests.push({ url: r.url(), reason: r.headers()['x-access-reason'] ?? null });
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

  it('serves the page without sign-in, and the API only with it', async () => {
    for (const p of ['/', '/static/js/app.js', '/static/js/signin.js', '/static/css/app.css', '/static/i18n/fi.json', '/static/i18n/sv.json', '/static/i18n/en.json', '/vendor/chart.js/dist/chart.umd.js', '/healthz']) {
      const res = await fetch(ctx.base + p);
      assert.equal(res.status, 200, `GET ${p}`);
      await res.arrayBuffer();
    }
    for (const p of ['/api/v1/units', '/api/v1/bedboard', '/api/v1/me']) {
      const r = await request(p);
      assert.equal(r.status, 401, `GET ${p} without a session`);
      assert.equal(typeof r.body?.error?.i18n?.fi, 'string', `${p}: 401 without an i18n message`);
    }
    const si = await request('/api/v1/session', { method: 'POST', body: { user: COORD.user, password: COORD.password } });
    assert.equal(si.status, 200);
    assert.equal(si.body.role, 'coordinator');
    assert.deepEqual(si.body.scope, ['bt']);
    assert.deepEqual(si.body.reasons, ['care', 'care_coordination', 'patient_safety', 'client_request', 'investigation']);
    const cookie = si.headers.get('set-cookie').split(';')[0];
    assert.match(si.headers.get('set-cookie'), /HttpOnly/i);
    assert.match(si.headers.get('set-cookie'), /SameSite=Strict/i);
    const board = await request('/api/v1/bedboard', { cookie });
    assert.equal(board.status, 200);
    assert.deepEqual(board.body.wards.map((w) => w.id).sort(), WARDS.map((w) => w.id).sort());
    // Without a reason the board has counts only.
    for (const w of board.body.wards) assert.ok(!('patients' in w) || w.patients == null, `aggregate board lists patients of ${w.id}`);
    const out = await request('/api/v1/session', { method: 'DELETE', cookie, headers: { 'X-CSRF-Token': si.body.csrf } });
    assert.equal(out.status, 200);
    assert.equal((await request('/api/v1/me', { cookie })).status, 401);
  });

  it('(a) shows an accessible sign-in page in fi, sv and en, and announces errors', async () => {
    // axe on the sign-in page in each language, also with errors shown.
    const ax = await newPage(ctx.axeContext);
    await gotoSignin(ax);
    for (const lang of LANGS) {
      await setLanguage(ax, lang);
      await axeCheck(ax, `${lang}, sign-in page`);
    }
    await ax.click('#signin-submit');
    await ax.waitForSelector('#signin-user[aria-invalid="true"]');
    for (const lang of LANGS) {
      await setLanguage(ax, lang);
      await axeCheck(ax, `${lang}, sign-in page with errors`);
    }
    await setLanguage(ax, 'fi');
    await ax.close();

    const page = await newPage(ctx.context);
    ctx.page = page;
    await gotoSignin(page);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'fi');
    assert.equal((await page.locator('#signin-title').textContent()).trim(), 'Kirjaudu sisään');
    assert.equal(await page.title(), 'Kirjaudu sisään – Tilannekuva');
    // Nothing of the board is on the screen, and the first field has the focus.
    assert.ok(await page.locator('#app').isHidden());
    assert.ok(await page.locator('#session-bar').isHidden());
    assert.ok(await page.locator('#freshness').isHidden());
    assert.equal(await focusedId(page), 'signin-user');
    // Labels belong to their fields.
    assert.equal(await page.locator('label[for="signin-user"]').textContent(), 'Käyttäjätunnus');
    assert.equal(await page.getAttribute('#signin-user', 'autocomplete'), 'username');
    assert.equal(await page.getAttribute('#signin-password', 'autocomplete'), 'current-password');
    assert.equal(await page.getAttribute('#signin-form', 'method'), 'post');

    // Empty fields: errors at the fields, the focus on the first one.
    await page.click('#signin-submit');
    await page.waitForSelector('#signin-alert p');
    assert.equal(await page.getAttribute('#signin-user', 'aria-invalid'), 'true');
    assert.equal(await page.getAttribute('#signin-password', 'aria-invalid'), 'true');
    assert.equal((await page.locator('#signin-user-error').textContent()).trim(), 'Anna käyttäjätunnus.');
    assert.equal(await page.getAttribute('#signin-user', 'aria-describedby'), 'signin-user-error');
    assert.equal(await focusedId(page), 'signin-user');

    // A wrong password: the server's message in an alert, the password
    // cleared and focused.
    await page.fill('#signin-user', COORD.user);
    await page.fill('#signin-password', 'not-the-password-at-all');
    assert.equal(await page.getAttribute('#signin-user', 'aria-invalid'), null, 'typing did not clear the field error');
    await page.click('#signin-submit');
    await page.waitForFunction(() => /salasana/.test(document.querySelector('#signin-alert')?.textContent || ''));
    assert.equal(await page.getAttribute('#signin-alert', 'role'), 'alert');
    assert.equal((await page.locator('#signin-alert').textContent()).trim(), 'Virheellinen käyttäjätunnus tai salasana.');
    assert.equal(await page.inputValue('#signin-password'), '');
    assert.equal(await focusedId(page), 'signin-password');
    assert.equal(await page.evaluate(() => document.body.dataset.view), 'signin');
    await screenshot(page, 'signin-error-desktop.png');
    // The message follows the language.
    await setLanguage(page, 'sv');
    assert.equal((await page.locator('#signin-alert').textContent()).trim(), 'Felaktigt användarnamn eller lösenord.');
    assert.equal((await page.locator('label[for="signin-password"]').textContent()).trim(), 'Lösenord');
    await setLanguage(page, 'en');
    assert.equal((await page.locator('#signin-alert').textContent()).trim(), 'Wrong user name or password.');
    assert.equal((await page.locator('#signin-submit').textContent()).trim(), 'Sign in');
    await setLanguage(page, 'fi');

    // Throttling: after the free failures the server answers 429 with
    // Retry-After, which the page turns into a wait (another user name, so
    // the coordinator is not locked out).
    let text = '';
    for (let i = 0; i < 9 && !/sekunnin/.test(text); i++) {
      await page.fill('#signin-user', 'ei-ketaan');
      await page.fill('#signin-password', `vaara-salasana-${i}`);
      await page.click('#signin-submit');
      await page.waitForFunction(() => document.querySelector('#signin-form').getAttribute('aria-busy') === 'false' && document.querySelector('#signin-alert p'));
      text = (await page.locator('#signin-alert').textContent()).trim();
    }
    assert.match(text, /^Liian monta epäonnistunutta kirjautumista, yritä myöhemmin uudelleen\. Yritä uudelleen \d+ sekunnin kuluttua\.$/);
  });

  it('(b) signs in the coordinator, lists the wards, follows MLLP live and asks a reason before patients', async () => {
    const page = ctx.page;
    await page.fill('#signin-user', '');
    await signIn(page, COORD);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'fi');
    // The header: who, role, scope, sign-out.
    assert.ok(await page.locator('#session-bar').isVisible());
    assert.equal((await page.locator('#session-user').textContent()).trim(), COORD.user);
    assert.equal((await page.locator('#session-role').textContent()).trim(), COORD.roleName.fi);
    assert.deepEqual((await page.locator('#session-scope li').allTextContents()).map((s) => s.trim()), [ORG.name.fi]);
    assert.equal((await page.locator('#signout-button').textContent()).trim(), 'Kirjaudu ulos');
    assert.ok(await page.locator('#signin').isHidden());
    assert.ok(await page.locator('#access-note').isHidden());
    // The focus moved to the page's heading.
    assert.equal(await focusedId(page), 'page-title');

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

    // An admission over MLLP shows without a reload within 2 s.
    await page.evaluate(() => {
      window.__noReload = 'still here';
    });
    const when = new Date(Date.now() - 5 * 60000);
    await sendHl7(a01({ control: `BT${Date.now()}`, visit: 'V1001', hetu: '131052-308T', poc: 'S1', bed: '3', when }));
    const t0 = Date.now();
    await page.waitForFunction((id) => document.querySelector(`article.ward[data-ward="${id}"] .counts__item--occupied .counts__value`)?.textContent.trim() === '1', S1.id, { timeout: 2000 });
    const took = Date.now() - t0;
    assert.ok(took <= 2000, `update took ${took} ms`);
    assert.equal(await page.evaluate(() => window.__noReload), 'still here', 'the page was reloaded');
    assert.equal(await countOf(page, S1.id, 'free'), String(S1.beds.length - 1));
    assert.equal(await countOf(page, K2.id, 'occupied'), '0');
    const total = WARDS.reduce((a, w) => a + w.beds.length, 0);
    assert.equal((await page.locator('.counts--summary .counts__item--occupied .counts__value').textContent()).trim(), '1');
    assert.equal((await page.locator('.counts--summary .counts__item--beds .counts__value').textContent()).trim(), String(total));
    await page.waitForFunction((name) => document.getElementById('live-region').textContent.includes(name), S1.name.fi, { timeout: 5000 });
    // No request so far asked for person-level rows.
    assert.ok(ctx.requests.length > 0);
    assert.deepEqual(ctx.requests.filter((r) => r.reason), [], 'the board was fetched with an access reason');

    // Opening the ward asks for the reason first: a modal dialog with the
    // focus on the first option; nothing opens yet.
    const toggle = card(page, S1.id).locator('button.disclosure');
    await toggle.focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#reason-dialog[open]', { timeout: 5000 });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal((await page.locator('#reason-title').textContent()).trim(), 'Miksi avaat potilastiedot?');
    assert.match(await page.locator('#reason-intro').textContent(), new RegExp(S1.name.fi));
    assert.deepEqual(await page.locator('#reason-options input[type="radio"]').evaluateAll((els) => els.map((e) => e.value)), ['care', 'care_coordination', 'patient_safety', 'client_request', 'investigation']);
    assert.equal((await page.locator('label[for="reason-opt-care_coordination"]').textContent()).trim(), REASON_LABEL.care_coordination.fi);
    assert.equal(await focusedId(page), 'reason-opt-care');
    await screenshot(page, 'reason-desktop.png', { fullPage: false });
    // Submitting without a choice is an announced error.
    await page.click('#reason-submit');
    await page.waitForSelector('#reason-error p');
    assert.equal((await page.locator('#reason-error').textContent()).trim(), 'Valitse käyttötarkoitus ennen kuin jatkat.');
    assert.ok(await page.locator('#reason-dialog[open]').count());
    // Escape cancels: the ward stays closed, the focus returns to the button.
    await page.keyboard.press('Escape');
    await page.waitForSelector('#reason-dialog:not([open])', { state: 'attached' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await focusedId(page), `ward-toggle:${S1.id}`);
    assert.deepEqual(ctx.requests.filter((r) => r.reason), []);

    // Choose a reason: the ward opens and shows the patient in bed 3.
    await toggle.click();
    await chooseReason(page, 'care_coordination');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.equal(await focusedId(page), `ward-toggle:${S1.id}`);
    const bed = card(page, S1.id).locator('.ward__detail li.bed[data-bed="3"]');
    await bed.locator('.facts').waitFor({ timeout: 5000 });
    assert.match(await bed.getAttribute('class'), /bed--occupied/);
    const pseudonym = (await bed.locator('.fact--id .fact__value').textContent()).trim();
    assert.ok(pseudonym.length > 0 && pseudonym !== '–', 'bed 3 shows no patient pseudonym');
    assert.ok(!pseudonym.includes('131052'), 'the identity code leaked to the page');
    assert.ok(!(await page.content()).includes('Testinen'), 'the patient name leaked to the page');
    assert.equal((await bed.locator('.fact').nth(2).locator('.fact__value').textContent()).trim(), 'Nainen');
    assert.match(await card(page, S1.id).locator('.reason-line').textContent(), new RegExp(REASON_LABEL.care_coordination.fi.replace(/[()]/g, '\\$&')));
    // Exactly that ward was fetched with the reason.
    const withReason = ctx.requests.filter((r) => r.reason);
    assert.ok(withReason.length >= 1);
    for (const r of withReason) {
      assert.equal(r.reason, 'care_coordination');
      assert.equal(new URL(r.url).searchParams.get('unit'), S1.id);
    }

    // An opened ward follows live updates (fetched again with the reason).
    await sendHl7(a01({ control: `BT${Date.now()}`, visit: 'V1002', hetu: '010101A123N', poc: 'S1', bed: '5', when, sex: 'M', family: 'Toinen', given: 'Taneli' }));
    const t1 = Date.now();
    await card(page, S1.id).locator('.ward__detail li.bed[data-bed="5"] .facts').waitFor({ timeout: 2000 });
    assert.ok(Date.now() - t1 <= 2000);
    assert.equal(await countOf(page, S1.id, 'occupied'), '2');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');

    // The server recorded the views with the reason, per patient too.
    const activity = await runCli(['audit', 'user-activity', '--data', ctx.data, '--user', COORD.user, '--csv']);
    const views = activity.split('\n').filter((l) => l.includes('/api/v1/bedboard'));
    assert.ok(views.length > 0, `no view in the audit log:\n${activity}`);
    for (const l of views) assert.ok(l.includes('care_coordination') && l.includes(S1.id), `audit record without the reason or unit: ${l}`);
    const viewed = await runCli(['audit', 'who-viewed', '--data', ctx.data, '--hetu-stdin', '--csv'], '131052-308T\n');
    assert.ok(viewed.split('\n').some((l) => l.includes(COORD.user) && l.includes('care_coordination')), `who-viewed does not list the coordinator:\n${viewed}`);
    await screenshot(page, 'bedboard-desktop-ward-open.png');
  });

  it('(b) remembers the reason for the session, and lets the user change it', async () => {
    const page = ctx.page;
    // A second ward opens without asking.
    const before = ctx.requests.length;
    const k2 = card(page, K2.id).locator('button.disclosure');
    await k2.click();
    assert.equal(await k2.getAttribute('aria-expanded'), 'true');
    await card(page, K2.id).locator('.ward__detail ul.beds').waitFor({ timeout: 5000 });
    assert.equal(await page.locator('#reason-dialog[open]').count(), 0, 'the reason was asked again');
    const k2req = ctx.requests.slice(before).filter((r) => new URL(r.url).searchParams.get('unit') === K2.id);
    assert.ok(k2req.length >= 1 && k2req.every((r) => r.reason === 'care_coordination'));

    // Change it: the dialog opens with the current reason chosen.
    await card(page, K2.id).locator('.reason-line__change').click();
    await page.waitForSelector('#reason-dialog[open]');
    assert.equal((await page.locator('#reason-title').textContent()).trim(), 'Vaihda käyttötarkoitus');
    assert.equal(await page.isChecked('#reason-opt-care_coordination'), true);
    const n = ctx.requests.length;
    await chooseReason(page, 'care');
    await page.waitForFunction((label) => [...document.querySelectorAll('.reason-line')].every((e) => e.textContent.includes(label)), REASON_LABEL.care.fi);
    // The opened wards are fetched again with the new reason.
    await until(() => ctx.requests.slice(n).some((r) => r.reason === 'care'), 5000, 'no request with the new reason');
    const again = ctx.requests.slice(n).filter((r) => r.reason);
    assert.ok(again.length >= 1 && again.every((r) => r.reason === 'care'), JSON.stringify(again));
    await k2.click();
    assert.equal(await k2.getAttribute('aria-expanded'), 'false');

    // A reload keeps the reason and the opened ward (same session).
    await page.reload();
    await page.waitForSelector('body[data-view="app"][data-ready="true"]');
    const s1 = card(page, S1.id);
    assert.equal(await s1.locator('button.disclosure').getAttribute('aria-expanded'), 'true');
    await s1.locator('.ward__detail li.bed[data-bed="3"] .facts').waitFor({ timeout: 5000 });
    assert.equal(await page.locator('#reason-dialog[open]').count(), 0);
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
    assert.equal((await page.locator('#session-role').textContent()).trim(), COORD.roleName.sv);
    assert.equal((await page.locator('#signout-button').textContent()).trim(), 'Logga ut');
    assert.match(await card(page, S1.id).locator('.reason-line').textContent(), new RegExp(REASON_LABEL.care.sv));

    await setLanguage(page, 'en');
    assert.equal((await card(page, S1.id).locator('.ward__name').textContent()).trim(), S1.name.en);
    assert.equal((await page.locator('#page-title').textContent()).trim(), ORG.name.en);
    assert.equal((await card(page, S1.id).locator('.counts__item--beds .counts__label').textContent()).trim(), 'Beds');
    assert.match(await page.locator('#freshness-label').textContent(), /Live/);
    assert.equal((await page.locator('#session-role').textContent()).trim(), COORD.roleName.en);
    assert.equal((await page.locator('#session-scope li').first().textContent()).trim(), ORG.name.en);
    const bed = card(page, S1.id).locator('.ward__detail li.bed[data-bed="3"]');
    assert.equal((await bed.locator('.fact').nth(2).locator('.fact__value').textContent()).trim(), 'Female');
    assert.equal(await card(page, S1.id).locator('button.disclosure').getAttribute('aria-expanded'), 'true');

    // Remembered across a reload.
    await page.reload();
    await page.waitForSelector('body[data-view="app"][data-ready="true"]');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    assert.equal((await card(page, S1.id).locator('.ward__name').textContent()).trim(), S1.name.en);
    await setLanguage(page, 'fi');
    assert.equal((await card(page, S1.id).locator('.ward__name').textContent()).trim(), S1.name.fi);
  });

  it('drills down county -> hospital -> ward, kept in the URL', async () => {
    const page = ctx.page;
    await page.click(`section.hospital[data-hospital="bt-ks"] .hospital__link`);
    await page.waitForURL(/\?unit=bt-ks$/);
    assert.equal((await page.locator('#page-title').textContent()).trim(), KS.name.fi);
    assert.equal(await page.locator('article.ward').count(), WARDS.filter((w) => w.parent === 'bt-ks').length);
    assert.deepEqual(await page.locator('#breadcrumb-list li').allTextContents(), [ORG.name.fi, KS.name.fi]);

    await card(page, K2.id).locator('.ward__link').click();
    await page.waitForURL(/\?unit=bt-ks-k2$/);
    assert.equal((await page.locator('#page-title').textContent()).trim(), K2.name.fi);
    assert.deepEqual(await page.locator('#breadcrumb-list li').allTextContents(), [ORG.name.fi, KS.name.fi, K2.name.fi]);
    assert.equal(await page.getAttribute('#breadcrumb-list li:last-child [aria-current]', 'aria-current'), 'page');
    // The ward view opens its beds (a reason is already chosen).
    assert.equal(await card(page, K2.id).locator('button.disclosure').getAttribute('aria-expanded'), 'true');
    const detail = card(page, K2.id).locator('.ward__detail');
    await detail.locator('h4').first().waitFor({ timeout: 5000 });
    assert.match(await detail.locator('h4').first().textContent(), new RegExp(`\\(${K2.beds.length}\\)`));

    // The flow panel: charts with table alternatives when the API has them.
    await page.waitForSelector('#flow:not([hidden])', { timeout: 5000 });
    const hasTables = await page.locator('#flow .table-alt').count();
    if (hasTables) {
      await page.waitForSelector('#flow .table-alt table', { state: 'attached', timeout: 5000 });
      assert.equal(await page.locator('#flow .table-alt[data-key="hours"] tbody tr').count(), 24);
    } else {
      assert.ok((await page.locator('#flow .note').count()) > 0, 'flow neither shown nor explained');
    }

    // A bookmark opens the same view; back returns to the hospital.
    const again = await newPage(ctx.context);
    await gotoReady(again, `/?unit=${K2.id}`);
    assert.equal((await again.locator('#page-title').textContent()).trim(), K2.name.fi);
    await again.close();
    await page.goBack();
    await page.waitForURL(/\?unit=bt-ks$/);
    await page.waitForFunction((n) => document.getElementById('page-title').textContent.trim() === n, KS.name.fi);
    await gotoReady(page, '/');
  });

  it('(d) has no axe-core WCAG 2.1 A/AA violations in any language', async () => {
    const page = await openSignedIn(ctx.axeContext, COORD);
    await page.waitForSelector('#flow:not([hidden])', { timeout: 5000 }).catch(() => {});
    const toggle = card(page, S1.id).locator('button.disclosure');
    for (const lang of LANGS) {
      await setLanguage(page, lang);
      if ((await toggle.getAttribute('aria-expanded')) === 'true') await toggle.click();
      await axeCheck(page, `${lang}, main view`);
      await toggle.click();
      if (lang === 'fi') {
        // The first time this session: the reason prompt.
        await page.waitForSelector('#reason-dialog[open]');
        await axeCheck(page, `${lang}, reason prompt`);
        await chooseReason(page, 'care');
      } else {
        await card(page, S1.id).locator('.reason-line__change').click();
        await page.waitForSelector('#reason-dialog[open]');
        await axeCheck(page, `${lang}, reason prompt (change)`);
        await page.click('#reason-cancel');
      }
      assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
      await card(page, S1.id).locator('.ward__detail li.bed[data-bed="3"] .facts').waitFor({ timeout: 5000 });
      await page.locator('#flow details.table-alt').evaluateAll((ds) => ds.forEach((d) => (d.open = true)));
      await axeCheck(page, `${lang}, ward opened, tables shown`);
      await toggle.click();
    }
    await gotoReady(page, `/?unit=${S1.id}`);
    for (const lang of LANGS) {
      await setLanguage(page, lang);
      await axeCheck(page, `${lang}, ward view`);
    }
    await setLanguage(page, 'fi');
    await page.close();
  });

  it('(e) has no horizontal scroll on a phone: sign-in, board and reason prompt', async () => {
    const phone = await ctx.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'fi-FI', timezoneId: 'Europe/Helsinki' });
    try {
      const page = await newPage(phone);
      const noScroll = () => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
      await gotoSignin(page);
      assert.ok(await noScroll(), 'horizontal scroll on the sign-in page');
      for (const hgt of await page.locator('#signin-user, #signin-password, #signin-submit').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height))) assert.ok(hgt >= 44, `sign-in control only ${hgt}px high`);
      await screenshot(page, 'signin-phone.png', { fullPage: false });
      await signIn(page, COORD);
      assert.ok(await noScroll(), 'horizontal scroll on the main view');
      const widths = await page.locator('article.ward').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
      for (const w of widths) assert.ok(w > 300, `ward card only ${w}px wide on a phone`);
      const heights = await page.locator('button.disclosure, .lang-switch__btn, #signout-button').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
      for (const hgt of heights) assert.ok(hgt >= 44, `touch target only ${hgt}px high`);
      await card(page, S1.id).locator('button.disclosure').tap();
      await page.waitForSelector('#reason-dialog[open]');
      assert.ok(await noScroll(), 'horizontal scroll with the reason prompt');
      const box = await page.locator('#reason-dialog').boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= 390, `reason prompt outside the screen: ${JSON.stringify(box)}`);
      for (const hgt of await page.locator('.choice, #reason-submit, #reason-cancel').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height))) assert.ok(hgt >= 44, `reason control only ${hgt}px high`);
      await screenshot(page, 'reason-phone.png', { fullPage: false });
      await page.locator('label[for="reason-opt-care"]').tap();
      await page.locator('#reason-submit').tap();
      await card(page, S1.id).locator('.ward__detail li.bed[data-bed="3"] .facts').waitFor({ timeout: 5000 });
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
    const fresh = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fi-FI', timezoneId: 'Europe/Helsinki' });
    const files = [];
    try {
      const p = await newPage(fresh);
      await gotoSignin(p);
      files.push(await screenshot(p, 'signin-desktop.png'));
    } finally {
      await fresh.close();
    }
    const page = ctx.page;
    await gotoReady(page, '/');
    const toggle = card(page, S1.id).locator('button.disclosure');
    if ((await toggle.getAttribute('aria-expanded')) === 'true') await toggle.click();
    files.push(await screenshot(page, 'bedboard-desktop.png'));
    const wardView = await newPage(ctx.context);
    await gotoReady(wardView, `/?unit=${S1.id}`);
    await card(wardView, S1.id).locator('.ward__detail li.bed[data-bed="3"] .facts').waitFor({ timeout: 5000 });
    files.push(await screenshot(wardView, 'bedboard-ward-view.png'));
    await wardView.close();
    for (const f of [...files, 'signin-error-desktop.png', 'reason-desktop.png', 'reason-phone.png', 'signin-phone.png', 'bedboard-desktop-ward-open.png', 'bedboard-phone.png']) assert.ok(fs.existsSync(path.resolve(ARTIFACTS, f)), `${f} missing`);
  });

  it('(g) shows the analyst only their scope, no patients, and "<5" with an explanation', async () => {
    const actx = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true, locale: 'fi-FI', timezoneId: 'Europe/Helsinki' });
    try {
      const page = await newPage(actx);
      await gotoSignin(page);
      await signIn(page, ANALYST);
      // The view starts at the scope's unit, not the county (403 for them).
      await page.waitForURL(/\?unit=bt-ks$/);
      assert.equal((await page.locator('#page-title').textContent()).trim(), KS.name.fi);
      assert.equal((await page.locator('#session-role').textContent()).trim(), ANALYST.roleName.fi);
      assert.deepEqual((await page.locator('#session-scope li').allTextContents()).map((s) => s.trim()), [KS.name.fi]);
      // Nothing outside the scope: no county in the breadcrumbs, no other hospital.
      assert.deepEqual(await page.locator('#breadcrumb-list li').allTextContents(), [KS.name.fi]);
      assert.equal(await page.locator(`article.ward[data-ward="${LA.id}"]`).count(), 0);
      assert.equal(await page.locator('section.hospital[data-hospital="bt-ls"]').count(), 0);
      assert.deepEqual(await page.locator('article.ward').evaluateAll((els) => els.map((e) => e.dataset.ward)), [S1.id, K2.id]);
      // No patient list, no way to open one, and a note that says why.
      assert.equal(await page.locator('button.disclosure:visible').count(), 0);
      assert.equal(await page.locator('.ward__detail .bed, .fact--id').count(), 0);
      assert.ok(await page.locator('#access-note').isVisible());
      assert.match(await page.locator('#access-note').textContent(), /Potilaskohtaiset tiedot eivät ole käytettävissä roolillesi \(Analyytikko\)/);
      const api = await page.evaluate(async (id) => {
        const plain = await fetch(`/api/v1/bedboard?unit=${id}`);
        const body = await plain.json();
        // A reason does not give a role without person-level rights any rows.
        const person = await fetch(`/api/v1/bedboard?unit=${id}`, { headers: { 'X-Access-Reason': 'care' } });
        const personText = await person.text();
        const county = await fetch('/api/v1/bedboard');
        return { status: plain.status, patients: JSON.stringify(body).includes('"patients"'), personRows: personText.includes('"patients"') || personText.includes('"subject"'), countyStatus: county.status };
      }, S1.id);
      assert.deepEqual(api, { status: 200, patients: false, personRows: false, countyStatus: 403 });

      // S1 has two patients: its occupied count is withheld and reads "<5".
      const occ = card(page, S1.id).locator('.counts__item--occupied .counts__value');
      assert.equal((await occ.textContent()).replace(/\s+/g, ' ').includes('<5'), true, `occupied shows '${await occ.textContent()}'`);
      const marker = occ.locator('.sup__btn');
      assert.equal((await marker.textContent()).trim(), '<5');
      const tipId = await marker.getAttribute('aria-describedby');
      const tip = page.locator(`#${tipId}`);
      assert.equal(await tip.getAttribute('role'), 'tooltip');
      assert.equal((await tip.textContent()).trim(), 'Alle 5 henkilöä: tarkka luku on piilotettu tietosuojan vuoksi.');
      assert.ok(await tip.isHidden(), 'the explanation shows before hover or focus');
      // Keyboard focus shows it; Escape hides it; hover shows it.
      await marker.focus();
      assert.ok(await tip.isVisible(), 'no explanation on keyboard focus');
      await screenshot(page, 'analyst-desktop.png', { fullPage: false });
      await page.keyboard.press('Escape');
      assert.ok(await tip.isHidden(), 'Escape does not hide the explanation');
      await page.locator('#page-title').focus();
      await page.mouse.move(0, 0);
      await marker.hover();
      assert.ok(await tip.isVisible(), 'no explanation on hover');
      await page.mouse.move(0, 0);
      // Free beds would reveal the count: withheld, a dash with its reason.
      const free = card(page, S1.id).locator('.counts__item--free .counts__value .sup');
      assert.equal(await free.getAttribute('data-kind'), 'withheld');
      assert.equal((await free.locator('.sup__btn').textContent()).trim(), '–');
      await free.locator('.sup__btn').focus();
      assert.equal((await free.locator('.sup__tip').textContent()).trim(), 'Ei näytetä: luku paljastaisi alle viiden henkilön määrän.');
      assert.ok(await free.locator('.sup__tip').isVisible());
      // The occupancy is not shown either (no band, no bar).
      assert.equal((await card(page, S1.id).locator('.occ__pct').textContent()).trim(), 'Käyttöaste piilotettu');
      assert.ok(await card(page, S1.id).locator('.occ__bar').isHidden());
      // A hidden count is never shown as a blank or a zero anywhere.
      const blanks = await page.locator('.counts__value').evaluateAll((els) => els.filter((e) => e.textContent.trim() === '').length);
      assert.equal(blanks, 0);
      // In every language, accessible.
      for (const lang of LANGS) {
        await setLanguage(page, lang);
        assert.equal((await marker.textContent()).trim(), '<5');
        await axeCheck(page, `${lang}, analyst`);
        await marker.focus();
        await axeCheck(page, `${lang}, analyst, explanation shown`);
      }
      assert.equal((await tip.textContent()).trim(), 'Fewer than 5 persons: the exact number is hidden to protect privacy.');
      await setLanguage(page, 'fi');
      // An address outside the scope falls back to it with a note.
      await gotoReady(page, `/?unit=${LA.id}`);
      await page.waitForURL(/\?unit=bt-ks$/);
      assert.match(await page.locator('#error-text').textContent(), /ei kuulu käyttöoikeuteesi/);
      assert.equal(await page.locator(`article.ward[data-ward="${LA.id}"]`).count(), 0);
    } finally {
      await actx.close();
    }
  });

  it('(h) signs out back to the sign-in screen and ends the session', async () => {
    const page = ctx.page;
    await gotoReady(page, '/');
    await page.click('#signout-button');
    await page.waitForSelector('body[data-view="signin"][data-ready="true"]');
    assert.ok(await page.locator('#signin').isVisible());
    assert.ok(await page.locator('#app').isHidden());
    assert.ok(await page.locator('#session-bar').isHidden());
    assert.equal(await page.locator('article.ward').count(), 0, 'the board stayed in the page');
    assert.equal((await page.locator('#signin-status').textContent()).trim(), 'Olet kirjautunut ulos.');
    assert.equal(await focusedId(page), 'signin-title');
    assert.equal(await page.evaluate(async () => (await fetch('/api/v1/me')).status), 401);
    await page.reload();
    await page.waitForSelector('body[data-view="signin"][data-ready="true"]');
    // Signing in again asks the reason again (a new session).
    await signIn(page, COORD);
    await card(page, S1.id).locator('button.disclosure').click();
    await page.waitForSelector('#reason-dialog[open]');
    await chooseReason(page, 'care');
    await card(page, S1.id).locator('.ward__detail li.bed[data-bed="3"] .facts').waitFor({ timeout: 5000 });
  });

  it('(h) brings the sign-in back, with a note and the address kept, when the session ends elsewhere', async () => {
    const other = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fi-FI', timezoneId: 'Europe/Helsinki' });
    try {
      const page = await newPage(other);
      await gotoSignin(page, `/?unit=${KS.id}`);
      await signIn(page, COORD);
      await page.waitForURL(/\?unit=bt-ks$/);
      await page.waitForSelector('#freshness[data-state="live"]', { timeout: 10000 });
      // End this session from outside the page (as an expiry would).
      const cookie = (await other.cookies()).filter((c) => c.name === 'tk_session').map((c) => `${c.name}=${c.value}`)[0];
      assert.ok(cookie, 'no session cookie');
      const me = await request('/api/v1/me', { cookie });
      assert.equal(me.status, 200);
      assert.equal((await request('/api/v1/session', { method: 'DELETE', cookie, headers: { 'X-CSRF-Token': me.body.csrf } })).status, 200);
      // The next update the page fetches answers 401.
      await sendHl7(a01({ control: `BT${Date.now()}`, visit: 'V1003', hetu: '280264-051U', poc: 'K2', bed: '2', when: new Date(Date.now() - 60000), sex: 'M', family: 'Kolmas', given: 'Kalle' }));
      await page.waitForSelector('body[data-view="signin"][data-ready="true"]', { timeout: 5000 });
      assert.equal((await page.locator('#signin-alert').textContent()).trim(), 'Istuntosi on päättynyt. Kirjaudu uudelleen.');
      assert.equal(await focusedId(page), 'signin-title');
      assert.ok(await page.locator('#app').isHidden());
      assert.match(page.url(), /\?unit=bt-ks$/);
      // Signing in again returns to the same view.
      await signIn(page, COORD);
      assert.equal((await page.locator('#page-title').textContent()).trim(), KS.name.fi);
      assert.equal(await countOf(page, K2.id, 'occupied'), '1');
    } finally {
      await other.close();
    }
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
    // The figures stay on the page (stale, not a calm zero), still signed in.
    assert.equal(await countOf(page, S1.id, 'occupied'), occupied);
    assert.ok(Number(occupied) > 0);
    assert.equal(await page.evaluate(() => document.body.dataset.view), 'app');
  });
});
