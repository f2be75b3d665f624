// stations.test.mjs -- the health-station view in a real browser against
// the real server, fed through the real ingest path.
//
// Starts the server binary (env TK_BIN) on loopback with a small county of
// two service areas and three health stations (fixtures/stations-org.json)
// and two accounts made with the CLI: a coordinator scoped to the county
// (unsuppressed counts) and an analyst scoped to one area (small cells
// suppressed). Drives Debian's Chromium through playwright-core.
//
// Part 1 (the page against the documented shape): the dashboard request is
// answered with fixtures/health-stations.json (the JSON of /tmp/contracts
// "Dashboard API"), so every rendering rule is checked with known values:
// values with units, targets and their direction, the target verdict in
// words, the previous period, the rule version, "<5" for a suppressed count
// and a dash for a withheld median with their explanations, the
// distribution table, export links with the filters and the language, axe
// in fi/sv/en, and no horizontal page scroll at 360 px.
//
// Part 2 (end to end): SIU messages sent over MLLP by a tiny client in this
// file -- free slots of a physician's appointment book, and completed
// visits carrying the ZHT segment (needs-assessment time, urgency, group,
// channel) -- then the page must show, for the month of the day D:
//   - the station's physician T3 computed by hand from the slots (measured
//     daily at 08:00: on day d the third free slot is D+33, so T3(d) =
//     D+33-d for every day d from D to the month's end, and the value is
//     their median);
//   - the waiting-time distribution counts of the 25 visits (five each of
//     0, 3, 10, 20 and 95 days), the median (10), the share within 7 days
//     (40 %) and the count over 90 days (5), care-guarantee compliance
//     (80 %: the 95-day waits are over three months);
//   - drill-down county -> area -> station through the links, and back with
//     the browser's back button (the state is in the URL hash);
//   - the same figures in Swedish and English;
//   - on a phone (360 px) no horizontal page scroll, tables scrolling in
//     their own box, the chart no wider than the screen;
//   - the panel's CSV export link downloads a file whose first data row is
//     the first row of the table on the screen;
//   - axe-core finds no WCAG 2.1 A/AA violation;
//   - the analyst sees the small counts of station 2 (two visits) as "<5"
//     with the explanation.
//
// Run: node --test tests/browser/stations.test.mjs   (after ninja and npm ci)

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

import { parseRoute, routeHash, dashboardQuery, exportHref, pointCell, nCell, binCell, targetMet, directionOf, isStationsHash } from '../../web/js/stations.js';

const execFileP = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const TK_BIN = path.resolve(ROOT, process.env.TK_BIN || 'build/tilannekuva');
const ARTIFACTS = path.resolve(ROOT, process.env.TK_ARTIFACTS || 'build/artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ORG_FILE = path.join(HERE, 'fixtures', 'stations-org.json');
const FIXTURE = JSON.parse(fs.readFileSync(path.join(HERE, 'fixtures', 'health-stations.json'), 'utf8'));
const AXE = path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const LAUNCH_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const LANGS = ['fi', 'sv', 'en'];
const DAYS = { fi: 'vrk', sv: 'dygn', en: 'days' };

const COORD = { user: 'kerttu', role: 'coordinator', scope: 'st', password: 'kerttu-koordinaattori-2026' };
const ANALYST = { user: 'aapo', role: 'analyst', scope: 'st-a1', password: 'aapo-analyytikko-2026' };
const HETU = '131052-308T'; // valid; born 1952

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

/* ---------- calendar days (local Helsinki dates as plain Y-M-D) ---------- */

function todayHelsinki() {
  const s = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Helsinki', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  const [y, m, d] = s.split('-').map(Number);
  return { y, m, d };
}

/** The day 'n' days after {y, m, d}. */
function addDays({ y, m, d }, n) {
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

function dayDiff(a, b) {
  return Math.round((Date.UTC(a.y, a.m - 1, a.d) - Date.UTC(b.y, b.m - 1, b.d)) / 86400000);
}

const pad = (n, w = 2) => String(n).padStart(w, '0');
const iso = ({ y, m, d }) => `${y}-${pad(m)}-${pad(d)}`;
/** HL7 DTM of a local day and time "HHMMSS". */
const dtm = (day, hms) => `${day.y}${pad(day.m)}${pad(day.d)}${hms}`;

/** HL7 TS of 'd' in Finnish time. */
function hl7Now(d = new Date()) {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Helsinki', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .formatToParts(d)
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}${p.month}${p.day}${p.hour}${p.minute}${p.second}`;
}

/* ---------- the scenario ---------- */

// D: the 20th of the month two months back, so the whole month and the
// slots after it lie in the past whatever day the test runs.
const TODAY = todayHelsinki();
const MONTH = (() => {
  let y = TODAY.y;
  let m = TODAY.m - 2;
  if (m <= 0) {
    m += 12;
    y -= 1;
  }
  return { y, m };
})();
const D = { y: MONTH.y, m: MONTH.m, d: 20 };
const LAST = addDays({ y: MONTH.m === 12 ? MONTH.y + 1 : MONTH.y, m: MONTH.m === 12 ? 1 : MONTH.m + 1, d: 1 }, -1);
// Physician A of station 1: free slots on D+31..D+34 at 10:00; on every
// measured day d of the month the third is D+33.
const SLOT_OFFSETS = [31, 32, 33, 34];
const T3_VALUES = Array.from({ length: dayDiff(LAST, D) + 1 }, (_, k) => 33 - k);
const T3_EXPECTED = median(T3_VALUES);
// Physician C of station 2: free slots on D+41..D+44.
const SLOT_OFFSETS_C = [41, 42, 43, 44];
// Completed visits of station 1 (physician A): visit day of the month, and
// days from the needs assessment (HTA) to the visit; five of each wait, so
// that no count is small enough to be suppressed.
const WAITS = [0, 3, 10, 20, 95].flatMap((w) => Array(5).fill(w));
const VISITS = WAITS.map((wait, i) => ({ day: 1 + (i % 19), wait }));
// Two visits of station 2: counts under five, shown as "<5" to an analyst.
const SMALL_VISITS = [
  { day: 8, wait: 2 },
  { day: 9, wait: 4 },
];

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** A SIU message of the STATIONTEST channel ('\r' between segments). */
function siu({ trigger = 'S12', control, msh7, slot, start, loc, prof, status = '', patient = false, zht = null }) {
  const seg = [
    `MSH|^~\\&|STATIONTEST|TEST|TILANNEKUVA|ST|${msh7}||SIU^${trigger}^SIU_${trigger}|${control}|P|2.5`,
    `SCH||${slot}|||||ROUTINE||30|min|||||||||||||||${status}`,
  ];
  if (patient) seg.push(`PID|1||${HETU}^^^1.2.246.21^NNFIN||Testinen^Tiina||19521013|F`);
  seg.push('RGS|1', `AIS|1||VO^Vastaanotto|${start}`, `AIL|1||${loc}`, `AIP|1||${prof}|physician`);
  if (zht) seg.push(`ZHT|1|${zht.hta}|${zht.contact}|N|physician|IN_PERSON|`);
  return seg.join('\r');
}

/** Sends one message over MLLP and resolves to the ACK (an HL7 text). */
function mllpSend(port, message) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no ACK within 20 s'));
    }, 20000);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`\x0b${message}\x1c\r`));
    sock.on('data', (d) => {
      buf += d;
      const end = buf.indexOf('\x1c\r');
      if (end >= 0) {
        clearTimeout(timer);
        sock.end();
        resolve(buf.slice(buf.indexOf('\x0b') + 1, end));
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** RFC 4180 rows of a CSV text (BOM stripped). */
function parseCsv(text) {
  const s = text.replace(/^\uFEFF/, '');
  const rows = [];
  let row = [];
  let cell = '';
  let q = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === '"' && s[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') q = false;
      else cell += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && s[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell !== '' || row.length) rows.push([...row, cell]);
  return rows;
}

/* ---------- server and browser ---------- */

const ctx = { tmp: null, data: null, server: null, serverLog: null, mllpPort: 0, httpPort: 0, base: '', browser: null, context: null, axeContext: null };

function serverLogTail() {
  try {
    return fs.readFileSync(ctx.serverLog, 'utf8').split('\n').slice(-30).join('\n');
  } catch (e) {
    return '(no server log)';
  }
}

function runCli(args, input) {
  return new Promise((resolve, reject) => {
    const p = spawn(TK_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tilannekuva ${args.slice(0, 2).join(' ')} failed (${code}): ${err}`))));
    p.stdin.end(input ?? '');
  });
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

async function send(message) {
  let ack;
  try {
    ack = await mllpSend(ctx.mllpPort, message);
  } catch (e) {
    throw new Error(`MLLP send failed: ${e.message}\n${serverLogTail()}`);
  }
  assert.match(ack, /MSA\|AA/, `the server did not accept the message: ${ack.replace(/\r/g, '\n')}`);
}

async function newPage(context) {
  const page = await context.newPage();
  page.on('pageerror', (e) => {
    throw new Error(`page error: ${e.message}`);
  });
  return page;
}

/** Opens 'url' signed in as 'who' and waits for the view to be ready. */
async function openStations(context, who, url) {
  const page = await newPage(context);
  const res = await page.goto(ctx.base + url);
  assert.equal(res.status(), 200);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  if ((await page.evaluate(() => document.body.dataset.view)) === 'signin') {
    await page.fill('#signin-user', who.user);
    await page.fill('#signin-password', who.password);
    await page.click('#signin-submit');
  }
  await page.waitForSelector('#stations[data-state="ready"]', { timeout: 15000 });
  return page;
}

/** Waits until the view shows 'unit'. */
async function waitUnit(page, unit) {
  await page.waitForSelector(`#stations[data-state="ready"][data-unit="${unit}"]`, { timeout: 15000 });
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
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}

const panel = (page, id) => page.locator(`section.st-panel[data-panel="${id}"]`);
const text = async (loc) => (await loc.textContent()).replace(/\s+/g, ' ').trim();
/** The "This period" value of a panel as shown. */
const panelValue = (page, id) => text(panel(page, id).locator('.st-kpi--value .kpi__value'));
/** The value cell of a unit's row in a panel's by-unit table. */
const rowValue = (page, id, unit) => text(panel(page, id).locator(`.st-table--by tr[data-unit="${unit}"] .st-td--value`));

/** Horizontal page scroll at the current viewport, in px (0 = none). */
const pageOverflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** A number in the page's Finnish/Swedish/English format ("27,5 vrk"). */
function shown(n, lang) {
  const s = new Intl.NumberFormat({ fi: 'fi-FI', sv: 'sv-FI', en: 'en-GB' }[lang], { maximumFractionDigits: 1 }).format(n);
  return `${s} ${DAYS[lang]}`.replace(/\s/g, ' ');
}

describe('health-station view: the pure helpers', () => {
  it('reads and writes the route in the hash', () => {
    assert.equal(isStationsHash('#/stations'), true);
    assert.equal(isStationsHash('#/stations?unit=x'), true);
    assert.equal(isStationsHash('#/stationsx'), false);
    assert.equal(isStationsHash(''), false);
    assert.deepEqual(parseRoute('#/stations'), { unit: null, period: 'month', at: null });
    assert.deepEqual(parseRoute('#/stations?unit=st-ts-1&period=rolling365&at=2026-09-20'), { unit: 'st-ts-1', period: 'rolling365', at: '2026-09-20' });
    // unknown periods read as month; malformed dates and ids as absent
    assert.deepEqual(parseRoute('#/stations?unit=a%20b&period=week&at=20.9.2026'), { unit: null, period: 'month', at: null });
    assert.equal(parseRoute('#/other'), null);
    assert.equal(routeHash({ unit: 'st-a1', period: 'month', at: '2026-09-20' }), '#/stations?unit=st-a1&at=2026-09-20');
    assert.equal(routeHash({}), '#/stations');
    assert.equal(routeHash({ period: 'quarter' }), '#/stations?period=quarter');
    for (const r of [{ unit: 'st', period: 'year', at: '2026-01-31' }, { unit: null, period: 'rolling30', at: null }]) assert.deepEqual(parseRoute(routeHash(r)), r);
    assert.equal(dashboardQuery({ unit: 'st', period: 'month', at: null }), 'unit=st&period=month');
    assert.equal(exportHref({ unit: 'st', period: 'month', at: '2026-09-20' }, 'csv', 't3_physician', 'sv'), '/api/v1/dashboards/health-stations/export?unit=st&period=month&at=2026-09-20&format=csv&panel=t3_physician&lang=sv');
    assert.equal(exportHref({ unit: 'st', period: 'year', at: null }, 'xlsx', null, 'en'), '/api/v1/dashboards/health-stations/export?unit=st&period=year&format=xlsx&lang=en');
  });

  it('reads POINTs, bins and targets', () => {
    const none = { v: null, suppressed: false, withheld: false };
    assert.deepEqual(pointCell({ value: 14, n: 5, suppressed: false }, 'days'), { v: 14, suppressed: false, withheld: false });
    assert.deepEqual(pointCell({ value: 0, n: 0, suppressed: false }, 'count'), { v: 0, suppressed: false, withheld: false });
    // a suppressed count is "<5"; a median or share resting on one is withheld
    assert.deepEqual(pointCell({ value: null, n: null, suppressed: true }, 'count'), { v: null, suppressed: true, withheld: false });
    assert.deepEqual(pointCell({ value: null, n: null, suppressed: true }, 'days'), { v: null, suppressed: false, withheld: true });
    assert.deepEqual(pointCell({ value: null, n: null, suppressed: true }, '%'), { v: null, suppressed: false, withheld: true });
    assert.deepEqual(pointCell({ value: null, n: 0, suppressed: false }, 'days'), none, 'no data is not suppressed');
    assert.deepEqual(pointCell(null, 'days'), none);
    assert.deepEqual(nCell({ value: null, n: null, suppressed: true }), { v: null, suppressed: true, withheld: false });
    assert.deepEqual(nCell({ value: 3, n: 11, suppressed: false }), { v: 11, suppressed: false, withheld: false });
    assert.deepEqual(binCell({ count: null, suppressed: true }), { v: null, suppressed: true, withheld: false });
    assert.deepEqual(binCell({ count: 0, suppressed: false }), { v: 0, suppressed: false, withheld: false });
    assert.equal(directionOf('lower_is_better'), 'lower');
    assert.equal(directionOf('higher'), 'higher');
    assert.equal(directionOf(undefined), 'neutral');
    assert.equal(targetMet(14, 14, 'lower'), true);
    assert.equal(targetMet(14.5, 14, 'lower'), false);
    assert.equal(targetMet(95.7, 100, 'higher'), false);
    assert.equal(targetMet(100, 100, 'higher_is_better'), true);
    assert.equal(targetMet(5, null, 'lower'), null);
    assert.equal(targetMet(5, 3, 'neutral'), null);
  });

  it('computes the scenario\'s expected T3 by the rule', () => {
    // T3(d) = D+33-d on each measured day d = D..month end; the median.
    assert.equal(T3_VALUES[0], 33);
    assert.equal(T3_VALUES.length, dayDiff(LAST, D) + 1);
    assert.equal(T3_EXPECTED, 33 - (T3_VALUES.length - 1) / 2);
    assert.equal(median(WAITS), 10);
  });
});

describe('health-station view in the browser', { timeout: 300000 }, () => {
  before(async () => {
    assert.ok(fs.existsSync(TK_BIN), `server binary '${TK_BIN}' not found: build it first or set TK_BIN`);
    assert.ok(fs.existsSync(CHROMIUM), `chromium not found at '${CHROMIUM}'`);
    assert.ok(fs.existsSync(AXE), 'axe-core is missing: run npm ci');
    ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-stations-'));
    ctx.data = path.join(ctx.tmp, 'data');
    ctx.serverLog = path.join(ctx.tmp, 'server.log');
    await execFileP(TK_BIN, ['init', '--data', ctx.data, '--org', ORG_FILE], { timeout: 60000 });
    for (const u of [COORD, ANALYST]) await runCli(['user', 'add', '--data', ctx.data, '--user', u.user, '--role', u.role, '--scope', u.scope, '--password-stdin'], `${u.password}\n`);
    ctx.mllpPort = await freePort();
    ctx.httpPort = await freePort();
    ctx.base = `http://127.0.0.1:${ctx.httpPort}`;
    const log = fs.openSync(ctx.serverLog, 'a');
    ctx.server = spawn(TK_BIN, ['serve', '--data', ctx.data, '--mllp', `127.0.0.1:${ctx.mllpPort}`, '--http', `127.0.0.1:${ctx.httpPort}`], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    await waitHealthy(30000);
    ctx.browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    const opts = { viewport: { width: 1280, height: 900 }, locale: 'fi-FI', timezoneId: 'Europe/Helsinki', acceptDownloads: true };
    ctx.context = await ctx.browser.newContext(opts);
    await ctx.context.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    // axe is injected as a script, which the CSP rightly forbids: this
    // context only bypasses the CSP to let it in.
    ctx.axeContext = await ctx.browser.newContext({ ...opts, bypassCSP: true });
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

  /* ---------- part 1: the documented shape, answered from the fixture ---------- */

  it('renders the documented dashboard JSON: values, targets, suppression, tables, exports', async () => {
    const isDashboard = (url) => url.pathname === '/api/v1/dashboards/health-stations';
    for (const c of [ctx.context, ctx.axeContext]) {
      await c.route(isDashboard, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(FIXTURE) }));
    }
    try {
      const page = await openStations(ctx.context, COORD, '/#/stations?at=2026-11-23');
      assert.equal(await text(page.locator('#page-title')), 'Asemakokeen hyvinvointialue');
      assert.equal(await page.title(), 'Asemakokeen hyvinvointialue – terveysasemat – Tilannekuva');
      assert.match(await text(page.locator('#page-subtitle')), /Kuukausi 1\.11\.2026–30\.11\.2026/);
      assert.equal(await page.locator('[data-view-link="stations"]').getAttribute('aria-current'), 'page');
      assert.ok(await page.locator('#board').isHidden());
      // T3: value, n, target with its direction, verdict in words, previous period.
      assert.equal(await panelValue(page, 't3_physician'), '14 vrk');
      const t3 = panel(page, 't3_physician');
      assert.equal(await text(t3.locator('.st-kpi--n .kpi__value')), '5');
      assert.equal(await text(t3.locator('.st-kpi--target .kpi__value')), '≤ 14 vrk');
      assert.equal(await text(t3.locator('.st-kpi--prev .kpi__value')), '14 vrk');
      assert.match(await text(t3.locator('.st-statusline')), /Pienempi on parempi\. ✓ Tavoite saavutettu/);
      assert.equal(await rowValue(page, 't3_physician', 'st-a1'), '14 vrk');
      assert.equal(await rowValue(page, 't3_physician', 'st-a2'), '9 vrk');
      // the trend table beside the chart: 13 periods
      assert.equal(await t3.locator('.st-table--trend tbody tr').count(), 13);
      assert.equal(await text(t3.locator('.st-table--trend tbody tr').first().locator('td').first()), '20 vrk');
      // a share in per cent, the care guarantee with its rule version
      assert.equal(await panelValue(page, 'wait_physician_within_7'), '43,5 %');
      assert.equal(await text(panel(page, 'care_guarantee_primary_care').locator('.st-kpi--rule .kpi__value')), '2025-01-01');
      assert.match(await text(panel(page, 'care_guarantee_primary_care').locator('.st-statusline')), /Tavoite ei toteudu/);
      // suppression: a count is "<5", a median from one is a dash; both explained
      assert.equal(await text(panel(page, 'wait_physician_over_90').locator('.st-kpi--value .sup__btn')), '<5');
      const dash = panel(page, 'wait_physician_median').locator('.st-table--by tr[data-unit="st-a2"] .st-td--value .sup');
      assert.equal(await dash.getAttribute('data-kind'), 'withheld');
      assert.match(await text(dash.locator('.sup__tip')), /alle viiden/);
      assert.ok(await page.locator('#st-suppressed-note').isVisible());
      // the distribution: bins in days, counts, "<5"
      const dist = panel(page, 'wait_distribution');
      const rows = await dist.locator('.st-table--dist tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.querySelector('th').textContent.trim(), (tr.querySelector('td .sup__btn') || tr.querySelector('td')).textContent.trim()]));
      assert.deepEqual(rows, [['0', '0'], ['1–7', '10'], ['8–14', '6'], ['15–28', '5'], ['29–90', '<5'], ['91–180', '<5'], ['181 tai enemmän', '0']]);
      assert.match(await text(dist.locator('.chart__summary')), /23 käyntiä jaksolla\. 2 luokkaa, joissa on 1–4 käyntiä/);
      // export links: the filters shown, the panel, the format, the language
      const csv = new URL(await t3.locator('a.st-export__link[data-format="csv"]').getAttribute('href'), ctx.base);
      assert.equal(csv.pathname, '/api/v1/dashboards/health-stations/export');
      assert.deepEqual(Object.fromEntries(csv.searchParams), { unit: 'st', period: 'month', at: '2026-11-23', format: 'csv', panel: 't3_physician', lang: 'fi' });
      const all = new URL(await page.locator('.st-export--all a').getAttribute('href'), ctx.base);
      assert.equal(all.searchParams.get('format'), 'xlsx');
      assert.equal(all.searchParams.get('panel'), null);
      // drill links keep the period and date in the hash
      assert.equal(await page.locator('.st-drill a[data-unit="st-a1"]').getAttribute('href'), '#/stations?unit=st-a1&at=2026-11-23');
      // a chart per trend and for the distribution, when Chart.js is there
      assert.ok((await page.locator('.st-panel canvas').count()) >= 10);
      // the period form reflects the route; choosing a quarter changes the hash
      await page.selectOption('#st-period', 'quarter');
      await page.click('#st-show');
      await page.waitForFunction(() => window.location.hash === '#/stations?period=quarter&at=2026-11-23');
      await page.waitForSelector('#stations[data-state="ready"]');
      // languages: labels and numbers follow
      await setLanguage(page, 'sv');
      assert.equal(await panelValue(page, 'wait_physician_within_7'), '43,5 %');
      assert.equal(await panelValue(page, 't3_physician'), '14 dygn');
      assert.match(await text(t3.locator('.st-statusline')), /Lägre är bättre\. ✓ Målet nått/);
      await setLanguage(page, 'en');
      assert.equal(await panelValue(page, 'wait_physician_within_7'), '43.5%');
      assert.equal(await panelValue(page, 't3_physician'), '14 days');
      assert.equal(new URL(await t3.locator('a.st-export__link[data-format="xlsx"]').getAttribute('href'), ctx.base).searchParams.get('lang'), 'en');
      await setLanguage(page, 'fi');
      assert.deepEqual(await page.evaluate(() => window.__csp), []);
      // a phone: no horizontal page scroll, tables scroll in their own box
      await page.setViewportSize({ width: 360, height: 740 });
      await page.waitForTimeout(200);
      assert.ok((await pageOverflow(page)) <= 0, `the page scrolls sideways by ${await pageOverflow(page)} px at 360 px`);
      const canvasWidth = await page.locator('.st-panel canvas').first().evaluate((c) => c.getBoundingClientRect().width);
      assert.ok(canvasWidth > 100 && canvasWidth <= 360, `chart width ${canvasWidth}`);
      await screenshot(page, 'stations-fixture-phone.png');
      await page.close();

      const ax = await openStations(ctx.axeContext, COORD, '/#/stations?at=2026-11-23');
      for (const lang of LANGS) {
        await setLanguage(ax, lang);
        await axeCheck(ax, `${lang}, fixture view`);
      }
      await ax.setViewportSize({ width: 360, height: 740 });
      await axeCheck(ax, 'en, fixture view, phone');
      await setLanguage(ax, 'fi');
      await ax.close();
    } finally {
      for (const c of [ctx.context, ctx.axeContext]) await c.unroute(isDashboard);
    }
  });

  /* ---------- part 2: the real server, fed over MLLP ---------- */

  it('shows T3 and waiting times computed from SIU messages sent over MLLP', async () => {
    // The server side must be there: a 404 here means the dashboard
    // endpoint has not landed.
    const si = await fetch(`${ctx.base}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user: COORD.user, password: COORD.password }) });
    assert.equal(si.status, 200);
    const cookie = si.headers.get('set-cookie').split(';')[0];
    const probe = await fetch(`${ctx.base}/api/v1/dashboards/health-stations`, { headers: { Cookie: cookie, Accept: 'application/json' } });
    assert.equal(probe.status, 200, `GET /api/v1/dashboards/health-stations answered ${probe.status}: ${(await probe.text()).slice(0, 300)}`);

    // The books: physician A (station 1), physician C (station 2).
    const first = dtm(D, '070000');
    let n = 0;
    for (const off of SLOT_OFFSETS) await send(siu({ control: `A${++n}`, msh7: first, slot: `A-${off}`, start: dtm(addDays(D, off), '100000'), loc: 'TS1', prof: 'A' }));
    for (const off of SLOT_OFFSETS_C) await send(siu({ control: `C${++n}`, msh7: first, slot: `C-${off}`, start: dtm(addDays(D, off), '100000'), loc: 'TS2', prof: 'C' }));
    // The visits, with their needs assessments in ZHT.
    for (const [i, v] of VISITS.entries()) {
      const day = { y: D.y, m: D.m, d: v.day };
      const hta = addDays(day, -v.wait);
      await send(siu({ control: `V${i}`, msh7: dtm(D, `0700${pad(i + 1)}`), slot: `V-${i}`, start: dtm(day, '110000'), loc: 'TS1', prof: 'A', status: 'Complete', patient: true, zht: { hta: dtm(hta, '083000'), contact: dtm(hta, '081500') } }));
    }
    for (const [i, v] of SMALL_VISITS.entries()) {
      const day = { y: D.y, m: D.m, d: v.day };
      const hta = addDays(day, -v.wait);
      await send(siu({ control: `W${i}`, msh7: dtm(D, `0701${pad(i + 1)}`), slot: `W-${i}`, start: dtm(day, '110000'), loc: 'TS2', prof: 'C', status: 'Complete', patient: true, zht: { hta: dtm(hta, '083000'), contact: dtm(hta, '081500') } }));
    }
    // A change sent now: every day from D up to now is measured before it.
    await send(siu({ control: 'Z1', msh7: hl7Now(), slot: 'Z-1', start: dtm(addDays(TODAY, 200), '100000'), loc: 'TS3', prof: 'Z' }));

    // The API first (what the page must show), at the station.
    const q = (unit) => `unit=${unit}&period=month&at=${iso(D)}`;
    const api = async (unit) => (await fetch(`${ctx.base}/api/v1/dashboards/health-stations?${q(unit)}`, { headers: { Cookie: cookie } })).json();
    const station = await api('st-ts-1');
    const p = (j, id) => j.panels.find((x) => x.id === id);
    assert.equal(p(station, 't3_physician').value.value, T3_EXPECTED, `T3 of station 1 in ${iso(D)}'s month: ${JSON.stringify(p(station, 't3_physician').value)}`);
    assert.equal(p(station, 'wait_physician_within_7').value.value, 40);
    assert.equal(p(station, 'wait_physician_within_14').value.value, 60);
    assert.equal(p(station, 'wait_physician_over_90').value.value, 5);
    assert.equal(p(station, 'wait_physician_median').value.value, median(WAITS));
    assert.equal(p(station, 'care_guarantee_primary_care').value.value, 80);
    const distApi = station.panels.find((x) => x.kind === 'distribution' && x.n === WAITS.length);
    assert.ok(distApi, `no distribution of ${WAITS.length} visits: ${JSON.stringify(station.panels.filter((x) => x.kind === 'distribution'))}`);
    for (const b of distApi.bins) assert.equal(b.count, WAITS.filter((w) => w >= b.from && (b.to == null || w <= b.to)).length, `bin ${b.label}`);

    // The page: county -> area -> station by the links, and back.
    const page = await openStations(ctx.context, COORD, `/#/stations?at=${iso(D)}`);
    await waitUnit(page, 'st');
    await page.click('.st-drill a[data-unit="st-a1"]');
    await waitUnit(page, 'st-a1');
    assert.match(await text(page.locator('#breadcrumb-list')), /Asemakokeen hyvinvointialue › Pohjoinen palvelualue|Asemakokeen hyvinvointialue\s*Pohjoinen palvelualue/);
    assert.equal(await rowValue(page, 't3_physician', 'st-ts-1'), shown(T3_EXPECTED, 'fi'));
    await page.click(`section.st-panel[data-panel="t3_physician"] .st-table--by tr[data-unit="st-ts-1"] th a`);
    await waitUnit(page, 'st-ts-1');
    assert.equal(await text(page.locator('#page-title')), 'Kalliorinteen terveysasema');
    assert.ok(page.url().endsWith(`#/stations?unit=st-ts-1&at=${iso(D)}`), page.url());
    assert.equal(await panelValue(page, 't3_physician'), shown(T3_EXPECTED, 'fi'));
    assert.equal(await panelValue(page, 'wait_physician_within_7'), '40 %');
    assert.equal(await panelValue(page, 'wait_physician_over_90'), '5');
    assert.equal(await panelValue(page, 'wait_physician_median'), '10 vrk');
    assert.equal(await panelValue(page, 'care_guarantee_primary_care'), '80 %');
    const distPanel = page.locator(`section.st-panel[data-panel="${distApi.id}"]`);
    const counts = await distPanel.locator('.st-table--dist tbody td').allTextContents();
    assert.deepEqual(counts.map((s) => s.trim()), distApi.bins.map((b) => String(b.count)));
    assert.equal(await text(distPanel.locator('.st-kpi--n .kpi__value')), String(WAITS.length));
    await screenshot(page, 'stations-station-desktop.png');
    // The export link of the T3 panel: its first data row is the table's first row.
    const [download] = await Promise.all([page.waitForEvent('download'), panel(page, 't3_physician').locator('a.st-export__link[data-format="csv"]').click()]);
    const csvText = fs.readFileSync(await download.path(), 'utf8');
    assert.ok(csvText.startsWith('\uFEFF'), 'CSV without the UTF-8 BOM');
    const rowsCsv = parseCsv(csvText);
    const header = rowsCsv.findIndex((r) => r.length > 2);
    const firstData = rowsCsv[header + 1];
    const firstRow = page.locator('section.st-panel[data-panel="t3_physician"] .st-table--by tbody tr').first();
    assert.equal(firstData[0], await text(firstRow.locator('th')));
    assert.equal(Number(firstData[2]), T3_EXPECTED);
    assert.equal(await text(firstRow.locator('.st-td--value')), shown(Number(firstData[2]), 'fi'));
    // The XLSX link of the same panel: a workbook (a ZIP) with the panel's sheet.
    const xlsxHref = await panel(page, 't3_physician').locator('a.st-export__link[data-format="xlsx"]').getAttribute('href');
    const xlsx = await page.evaluate(async (href) => {
      const r = await fetch(href);
      const b = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), magic: Array.from(b.slice(0, 4)), text: new TextDecoder('latin1').decode(b) };
    }, xlsxHref);
    assert.equal(xlsx.status, 200);
    assert.match(xlsx.type, /spreadsheetml/);
    assert.match(xlsx.disposition, /attachment; filename="health-stations-st-ts-1-[0-9-]+\.xlsx"/);
    assert.deepEqual(xlsx.magic, [0x50, 0x4b, 0x03, 0x04]);
    assert.ok(xlsx.text.includes('xl/worksheets/sheet1.xml'), 'no worksheet in the workbook');
    // Back twice: the area, then the county.
    await page.goBack();
    await waitUnit(page, 'st-a1');
    await page.goBack();
    await waitUnit(page, 'st');
    await page.goForward();
    await waitUnit(page, 'st-a1');
    await page.goForward();
    await waitUnit(page, 'st-ts-1');
    // Swedish and English.
    await setLanguage(page, 'sv');
    assert.equal(await text(page.locator('#page-title')), 'Bergsbackens hälsostation');
    assert.equal(await panelValue(page, 't3_physician'), shown(T3_EXPECTED, 'sv'));
    await setLanguage(page, 'en');
    assert.equal(await text(page.locator('#page-title')), 'Kalliorinne Health Station');
    assert.equal(await panelValue(page, 't3_physician'), shown(T3_EXPECTED, 'en'));
    assert.equal(await panelValue(page, 'wait_physician_within_7'), '40%');
    await setLanguage(page, 'fi');
    // A phone.
    await page.setViewportSize({ width: 360, height: 740 });
    await page.waitForTimeout(200);
    assert.ok((await pageOverflow(page)) <= 0, `the page scrolls sideways by ${await pageOverflow(page)} px at 360 px`);
    const scrollBox = await page.locator('.table-scroll').first().evaluate((el) => ({ w: el.getBoundingClientRect().width, overflow: getComputedStyle(el).overflowX }));
    assert.ok(scrollBox.w <= 360 && scrollBox.overflow === 'auto', JSON.stringify(scrollBox));
    await screenshot(page, 'stations-station-phone.png');
    assert.deepEqual(await page.evaluate(() => window.__csp), []);
    // The board is one click away and the stations view one back.
    await page.click('[data-view-link="board"]');
    await page.waitForFunction(() => !document.getElementById('board').hidden && document.getElementById('stations').hidden);
    await page.goBack();
    await waitUnit(page, 'st-ts-1');
    await page.close();

    // axe on the real station view in every language.
    const ax = await openStations(ctx.axeContext, COORD, `/#/stations?unit=st-ts-1&at=${iso(D)}`);
    for (const lang of LANGS) {
      await setLanguage(ax, lang);
      await axeCheck(ax, `${lang}, station view`);
    }
    await setLanguage(ax, 'fi');
    await ax.close();

    // The analyst (aggregates only) sees the small counts as "<5".
    const an = await newPage(await ctx.browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'fi-FI', timezoneId: 'Europe/Helsinki' }));
    await an.goto(`${ctx.base}/#/stations?unit=st-ts-2&at=${iso(D)}`);
    await an.waitForSelector('body[data-view="signin"][data-ready="true"]', { timeout: 15000 });
    await an.fill('#signin-user', ANALYST.user);
    await an.fill('#signin-password', ANALYST.password);
    await an.click('#signin-submit');
    await waitUnit(an, 'st-ts-2');
    const small = an.locator(`section.st-panel[data-panel="${distApi.id}"] .st-table--dist tbody td .sup__btn`);
    assert.ok((await small.count()) >= 1, 'no "<5" cell in the distribution for the analyst');
    assert.equal((await small.first().textContent()).trim(), '<5');
    await small.first().focus();
    assert.ok(await an.locator(`section.st-panel[data-panel="${distApi.id}"] .st-table--dist .sup__tip`).first().isVisible(), 'the "<5" explanation does not show on focus');
    // ... and nothing outside the scope: the county is not offered.
    assert.equal(await an.locator('#breadcrumb-list a, #breadcrumb-list span').first().textContent(), 'Pohjoinen palvelualue');
    await an.context().close();
  });
});
