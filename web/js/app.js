// app.js -- the bed-board page: state, URL (?unit=ID), live stream, language.
//
// One view is one request: the bed board of the unit in the URL comes from
// GET /api/v1/bedboard[?unit=ID]; the organisation tree (GET /api/v1/units)
// gives names, hospitals and breadcrumbs; the flow panel comes from
// GET /api/v1/flow?unit=ID. The page then follows EventSource
// /api/v1/stream: a "bedboard" event {"version":N,"as_of":..,"changed":N}
// newer than the board shown refetches it once (events arriving meanwhile
// coalesce into one more fetch) and patches the DOM in place; when "changed"
// is a list of ward ids, events for wards out of view are skipped. A "reset"
// event (events lost) reloads. The freshness indicator says
// "live" while the stream is open and turns "stale" after 30 s without it.
// Announcements go to one polite live region, coalesced and rate-limited.

import { fetchUnits, fetchBedboard, fetchFlow, ApiError, STREAM_URL } from './api.js';
import { LANGS, setLang, storedLang, t, nameOf, applyStatic, time, currentLang, apiMessage } from './i18n.js';
import { normaliseUnits, pathTo, hospitalOf, isWithin } from './org.js';
import { BoardView, OccupancyView, CountsView, totals, totalsFromServer, waitingOf, setUnitNamer } from './board.js';
import { FlowPanel } from './flow.js';
import { h, replace, setText, keepFocus } from './dom.js';

const STALE_AFTER_MS = 30000;
const FLOW_REFRESH_MS = 15000;
const ANNOUNCE_MIN_GAP_MS = 10000;
const ANNOUNCE_DEBOUNCE_MS = 1500;
const OPEN_KEY = 'tilannekuva.open';

const $ = (id) => document.getElementById(id);

const state = {
  org: { rootId: null, units: new Map() },
  scope: null, // unit id in the URL (null = the whole county)
  board: null,
  version: -1,
  updatedAt: null,
  flowAt: 0,
  flowTimer: null,
  conn: 'connecting',
  disconnectedAt: Date.now(),
  staleTimer: null,
  loading: null,
  reloadPending: false,
  open: new Set(),
  announce: { names: new Set(), timer: null, last: 0 },
};

let boardView;
let flowPanel;
let summaryOcc;
let summaryCounts;
let es = null;
let reconnectTimer = null;
let reconnectDelay = 2000;

/* ---------- URL and scope ---------- */

function scopeFromUrl() {
  const u = new URLSearchParams(window.location.search).get('unit');
  return u && u.trim() ? u.trim() : null;
}

function hrefFor(id) {
  const base = window.location.pathname;
  return id == null || id === state.org.rootId ? base : `${base}?unit=${encodeURIComponent(id)}`;
}

function scopeUnit() {
  return state.scope ? state.org.units.get(state.scope) || null : state.org.units.get(state.org.rootId) || null;
}

function scopeName() {
  const u = scopeUnit();
  if (u) return nameOf(u.name);
  if (state.scope && state.board?.wards?.length === 1) return nameOf(state.board.wards[0].name);
  return state.scope || t('scope.county');
}

function isWardScope() {
  if (!state.scope) return false;
  const u = state.org.units.get(state.scope);
  if (u) return u.type === 'ward' || (u.children.length === 0 && (state.board?.wards || []).some((w) => w.id === u.id));
  return (state.board?.wards || []).length === 1 && state.board.wards[0].id === state.scope;
}

async function navigate(id, { push = true, focus = true } = {}) {
  const target = id === state.org.rootId ? null : id;
  if (push) window.history.pushState({ unit: target }, '', hrefFor(target));
  await setScope(target);
  if (focus) $('page-title').focus({ preventScroll: false });
}

async function setScope(id) {
  state.scope = id;
  if (id && isWardScopeId(id)) state.open.add(id);
  state.board = null;
  state.version = -1;
  boardView.clear();
  flowPanel.hide();
  $('summary').hidden = true;
  $('loading').hidden = false;
  renderChrome();
  await loadBoard();
  loadFlow(true);
}

function isWardScopeId(id) {
  const u = state.org.units.get(id);
  return !!u && u.type === 'ward';
}

/* ---------- rendering ---------- */

function renderChrome() {
  const name = scopeName();
  document.title = t('title.page', { scope: name });
  setText($('page-title'), name);
  const u = scopeUnit();
  let sub = t('scope.county');
  if (state.scope) {
    const type = u?.type;
    if (type === 'hospital') sub = t('scope.hospital');
    else if (type === 'ward' || isWardScope()) {
      const hosp = u ? hospitalOf(state.org, u.id) : null;
      sub = hosp && hosp.id !== state.org.rootId ? `${t('scope.ward')} · ${nameOf(hosp.name)}` : t('scope.ward');
    } else sub = t('scope.unit');
  }
  setText($('page-subtitle'), sub);
  renderBreadcrumb();
  for (const b of document.querySelectorAll('.lang-switch__btn')) b.setAttribute('aria-pressed', b.dataset.lang === currentLang() ? 'true' : 'false');
  renderFreshness();
}

function renderBreadcrumb() {
  const list = $('breadcrumb-list');
  const items = [];
  let path = state.scope ? pathTo(state.org, state.scope) : [];
  const root = state.org.units.get(state.org.rootId);
  if (!path.length) path = root ? [root] : [];
  if (state.scope && !state.org.units.has(state.scope)) path = [...(root ? [root] : []), { id: state.scope, name: scopeName() }];
  path.forEach((u, i) => {
    const last = i === path.length - 1;
    const label = nameOf(u.name) || u.id;
    items.push(h('li', { class: 'breadcrumb__item' }, last ? h('span', { 'aria-current': 'page', class: 'breadcrumb__current', text: label }) : h('a', { href: hrefFor(u.id), 'data-nav': u.id, 'data-focus-key': `crumb:${u.id}`, text: label })));
  });
  if (!items.length) items.push(h('li', { class: 'breadcrumb__item' }, h('span', { 'aria-current': 'page', class: 'breadcrumb__current', text: t('scope.county') })));
  replace(list, items);
  setAttrText($('breadcrumb'), 'aria-label', t('nav.breadcrumb'));
}

function setAttrText(el, attr, v) {
  if (el.getAttribute(attr) !== v) el.setAttribute(attr, v);
}

function groupsOf(board) {
  const wards = Array.isArray(board?.wards) ? board.wards : [];
  const groups = new Map();
  const org = state.org;
  for (const w of wards) {
    if (!w || w.id == null) continue;
    if (state.scope && org.units.has(w.id) && org.units.has(state.scope) && !isWithin(org, w.id, state.scope)) continue;
    let gid;
    let gname;
    let linkable = false;
    const hospField = w.hospital && typeof w.hospital === 'object' ? w.hospital.id : w.hospital;
    const hosp = hospField != null && org.units.has(String(hospField)) ? org.units.get(String(hospField)) : org.units.has(w.id) ? hospitalOf(org, w.id) : null;
    if (hosp) {
      gid = hosp.id;
      gname = nameOf(hosp.name);
      linkable = true;
    } else if (hospField != null) {
      gid = String(hospField);
      gname = w.hospital && typeof w.hospital === 'object' ? nameOf(w.hospital.name) || gid : gid;
    } else {
      gid = '_';
      gname = t('scope.hospital');
    }
    if (!groups.has(gid)) groups.set(gid, { id: gid, name: gname, linkable, wards: [] });
    groups.get(gid).wards.push(w);
  }
  // Hospitals in the organisation's order; wards in the board's order.
  const order = [...org.units.keys()];
  const rank = (id) => {
    const i = order.indexOf(id);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  for (const g of groups.values()) g.wards.sort((a, b) => rank(a.id) - rank(b.id));
  return [...groups.values()].sort((a, b) => rank(a.id) - rank(b.id));
}

function renderBoard() {
  const board = state.board;
  $('loading').hidden = board != null;
  if (!board) return;
  const groups = groupsOf(board);
  keepFocus(() => {
    boardView.update(
      groups,
      (id) => state.org.units.get(id) || null,
      (id) => state.open.has(id),
    );
    if (!groups.length) {
      boardView.clear();
      $('board').append(h('p', { class: 'note', text: t('hospital.none') }));
    }
  });
  const summary = $('summary');
  const wardScope = isWardScope();
  summary.hidden = wardScope || !groups.length;
  const all = groups.flatMap((g) => g.wards);
  // The server's totals cover exactly the scope; else add the wards up.
  const s = board.totals && typeof board.totals === 'object' ? totalsFromServer(board.totals) : totals(all);
  summaryOcc.update({ beds: s.beds, occupied: s.occupied, overflow: s.overflow, occupancy_pct: s.occupancy_pct });
  summaryCounts.update(s);
  setText($('band-legend'), t('band.legend'));
  renderChrome();
}

function renderFreshness() {
  const el = $('freshness');
  el.dataset.state = state.conn;
  setText($('freshness-label'), t(`status.${state.conn}`));
  setText($('freshness-time'), state.updatedAt ? t('status.updated', { time: time(state.updatedAt) }) : t('status.not_updated'));
  const stale = state.conn === 'stale';
  $('stale-banner').hidden = !stale;
  document.body.classList.toggle('is-stale', stale);
}

/* ---------- errors ---------- */

function showError(err) {
  let msg;
  if (err instanceof ApiError) msg = apiMessage(err.i18n) || (err.status === 0 ? t('error.network') : t('error.generic'));
  else if (typeof err === 'string') msg = err;
  else msg = t('error.generic');
  setText($('error-text'), msg);
  $('error-box').hidden = false;
}

function clearError() {
  $('error-box').hidden = true;
}

/* ---------- data ---------- */

async function loadOrg() {
  try {
    state.org = normaliseUnits(await fetchUnits());
  } catch (e) {
    state.org = { rootId: null, units: new Map() };
    showError(e);
  }
}

/** Fetches the bed board of the scope; calls made while one is in flight
 * coalesce into one more fetch after it. Resolves when the data is shown. */
function loadBoard() {
  if (state.loading) {
    state.reloadPending = true;
    return state.loading;
  }
  const scopeAtStart = state.scope;
  state.loading = (async () => {
    try {
      const json = await fetchBedboard(state.scope);
      if (scopeAtStart !== state.scope) return;
      const prev = state.board;
      if (prev && typeof json.version === 'number' && typeof prev.version === 'number' && json.version < prev.version) return;
      state.board = json;
      state.version = typeof json.version === 'number' ? json.version : state.version;
      state.updatedAt = new Date();
      clearError();
      renderBoard();
      if (prev) noteChanges(prev, json);
    } catch (e) {
      if (scopeAtStart !== state.scope) return;
      if (e instanceof ApiError && (e.status === 404 || e.code === 'unknown_unit') && state.scope) {
        showError(apiMessage(e.i18n) || t('error.unit_not_found'));
        window.history.replaceState({ unit: null }, '', hrefFor(null));
        state.scope = null;
        state.loading = null;
        state.reloadPending = false;
        renderChrome();
        await loadBoard();
        return;
      }
      showError(e);
      $('loading').hidden = true;
    } finally {
      state.loading = null;
    }
    if (state.reloadPending) {
      state.reloadPending = false;
      await loadBoard();
    }
  })();
  return state.loading;
}

/** Fetches the flow panel's figures; live updates refresh it at most every
 * FLOW_REFRESH_MS (a change inside the window is fetched at its end). */
async function loadFlow(force = false) {
  const now = Date.now();
  if (!force && now - state.flowAt < FLOW_REFRESH_MS) {
    if (!state.flowTimer) {
      state.flowTimer = setTimeout(() => {
        state.flowTimer = null;
        loadFlow(false);
      }, state.flowAt + FLOW_REFRESH_MS - now);
    }
    return;
  }
  clearTimeout(state.flowTimer);
  state.flowTimer = null;
  state.flowAt = now;
  const unit = state.scope || state.org.rootId;
  const name = scopeName();
  if (!unit) {
    flowPanel.hide();
    return;
  }
  const scopeAtStart = state.scope;
  try {
    const flow = await fetchFlow(unit);
    if (scopeAtStart !== state.scope) return;
    keepFocus(() => flowPanel.render(flow, name));
  } catch (e) {
    if (scopeAtStart !== state.scope) return;
    const msg = e instanceof ApiError ? apiMessage(e.i18n) : null;
    keepFocus(() => flowPanel.unavailable(name, msg || t('flow.unavailable')));
  }
}

/* ---------- live announcements ---------- */

function wardSig(w) {
  return [w.beds, w.patient_count, w.occupied, w.free, w.awaiting_transfer, w.on_leave, waitingOf(w)].join('/');
}

function noteChanges(prev, next) {
  const before = new Map((prev.wards || []).map((w) => [w.id, wardSig(w)]));
  for (const w of next.wards || []) {
    if (before.get(w.id) !== wardSig(w)) state.announce.names.add(w.id);
  }
  if (state.announce.names.size) scheduleAnnounce();
}

function scheduleAnnounce() {
  const a = state.announce;
  if (a.timer) return;
  const wait = Math.max(ANNOUNCE_DEBOUNCE_MS, a.last + ANNOUNCE_MIN_GAP_MS - Date.now());
  a.timer = setTimeout(() => {
    a.timer = null;
    a.last = Date.now();
    const ids = [...a.names];
    a.names.clear();
    const wards = new Map((state.board?.wards || []).map((w) => [w.id, w]));
    const shown = ids.filter((id) => wards.has(id));
    if (!shown.length) return;
    let text;
    if (shown.length <= 3) {
      text = t('live.updated_one', {
        wards: shown
          .map((id) => {
            const w = wards.get(id);
            return `${nameOf(w.name) || id} ${t('occupancy.beds', { occupied: w.occupied ?? 0, beds: w.beds ?? 0 })}`;
          })
          .join(', '),
      });
    } else {
      text = t('live.updated_many', { n: shown.length });
    }
    announce(text);
  }, wait);
}

function announce(text) {
  const region = $('live-region');
  region.textContent = '';
  // A fresh text node after a tick, so the same sentence is read again.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

/* ---------- live stream ---------- */

function setConn(c) {
  if (state.conn === c) return;
  const was = state.conn;
  state.conn = c;
  renderFreshness();
  if (c === 'stale') announce(t('live.stale'));
  if (c === 'live' && was === 'stale') announce(t('live.reconnected'));
}

function armStaleTimer() {
  if (state.staleTimer) return;
  const wait = Math.max(0, state.disconnectedAt + STALE_AFTER_MS - Date.now());
  state.staleTimer = setTimeout(() => {
    state.staleTimer = null;
    if (state.conn !== 'live') setConn('stale');
  }, wait);
}

function onBedboardEvent(ev) {
  let data = null;
  try {
    data = JSON.parse(ev.data);
  } catch (e) {
    data = null;
  }
  if (!data || typeof data !== 'object') return;
  if (typeof data.version === 'number' && data.version <= state.version) return;
  const changed = Array.isArray(data.changed) ? data.changed.map(String) : null;
  const inView = (id) => {
    if (state.board?.wards?.some((w) => w.id === id)) return true;
    if (!state.scope) return true;
    return state.org.units.has(id) && state.org.units.has(state.scope) && isWithin(state.org, id, state.scope);
  };
  if (changed && changed.length && !changed.some(inView)) return;
  loadBoard();
  loadFlow(false);
}

function connectStream() {
  if (typeof window.EventSource !== 'function') return;
  if (es) es.close();
  es = new EventSource(STREAM_URL);
  es.addEventListener('open', () => {
    reconnectDelay = 2000;
    const wasDown = state.conn !== 'live';
    if (state.staleTimer) {
      clearTimeout(state.staleTimer);
      state.staleTimer = null;
    }
    setConn('live');
    // Events may have been missed while the stream was down.
    if (wasDown && state.board) loadBoard();
  });
  es.addEventListener('bedboard', onBedboardEvent);
  // "reset": events were lost (slow reader, gap after a restart): reload.
  es.addEventListener('reset', () => {
    loadBoard();
    loadFlow(true);
  });
  es.addEventListener('error', () => {
    if (state.conn === 'live') {
      state.disconnectedAt = Date.now();
      setConn('reconnecting');
    }
    armStaleTimer();
    if (es && es.readyState === EventSource.CLOSED) {
      // The browser gave up (e.g. an HTTP error): retry ourselves, backing off.
      clearTimeout(reconnectTimer);
      reconnectTimer = setTimeout(connectStream, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 30000);
    }
  });
}

/* ---------- language ---------- */

async function switchLang(l) {
  if (l === currentLang()) return;
  await keepFocus(async () => {
    await setLang(l);
    applyStatic();
    renderChrome();
    renderBoard();
    boardView.relabel();
    if (flowPanel.flow) flowPanel.render(flowPanel.flow, scopeName());
    else if (!flowPanel.section.hidden) flowPanel.unavailable(scopeName(), t('flow.unavailable'));
  });
}

/* ---------- start ---------- */

function restoreOpen() {
  try {
    const v = JSON.parse(window.sessionStorage.getItem(OPEN_KEY) || '[]');
    if (Array.isArray(v)) for (const id of v) state.open.add(String(id));
  } catch (e) {
    /* nothing remembered */
  }
}

function rememberOpen() {
  try {
    window.sessionStorage.setItem(OPEN_KEY, JSON.stringify([...state.open]));
  } catch (e) {
    /* not remembered */
  }
}

function wire() {
  for (const b of document.querySelectorAll('.lang-switch__btn')) {
    b.addEventListener('click', () => {
      if (LANGS.includes(b.dataset.lang)) switchLang(b.dataset.lang);
    });
  }
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a[data-nav]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (!a.getAttribute('href')) return;
    e.preventDefault();
    const id = a.dataset.nav === 'root' ? state.org.rootId : a.dataset.nav;
    navigate(id);
  });
  window.addEventListener('popstate', () => setScope(scopeFromUrl()));
  $('error-retry').addEventListener('click', async () => {
    clearError();
    if (!state.org.rootId) await loadOrg();
    renderChrome();
    await loadBoard();
    loadFlow(true);
  });
}

async function main() {
  await setLang(storedLang(), { remember: false });
  setUnitNamer((id) => {
    const u = state.org.units.get(id);
    return u ? nameOf(u.name) : null;
  });
  applyStatic();
  boardView = new BoardView($('board'), {
    hrefFor,
    isCurrent: (id) => id === state.scope,
    onToggle: (id, open) => {
      if (open) state.open.add(id);
      else state.open.delete(id);
      rememberOpen();
    },
  });
  flowPanel = new FlowPanel($('flow'), $('flow-body'), $('flow-heading'));
  summaryOcc = new OccupancyView();
  summaryCounts = new CountsView('counts counts--summary');
  $('summary-occ').replaceChildren(h('div', { class: 'summary__band' }, summaryOcc.badge), summaryOcc.el);
  $('summary-counts').replaceWith(summaryCounts.el);
  restoreOpen();
  wire();
  renderFreshness();
  connectStream();
  armStaleTimer();
  await loadOrg();
  state.scope = scopeFromUrl();
  if (state.scope && state.org.rootId && !state.org.units.has(state.scope)) {
    showError(t('error.unit_not_found'));
    window.history.replaceState({ unit: null }, '', hrefFor(null));
    state.scope = null;
  }
  if (state.scope === state.org.rootId) state.scope = null;
  if (state.scope && isWardScopeId(state.scope)) state.open.add(state.scope);
  renderChrome();
  await loadBoard();
  loadFlow(true);
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  showError(e);
});

