// app.js -- the bed-board page: sign-in, state, URL (?unit=ID), live stream,
// language.
//
// Sign-in first: the page asks GET /api/v1/me who is signed in; without a
// session (401) it shows the sign-in screen (signin.js) and nothing else, and
// no other API call is made. Signed in, the header shows the user, their role
// and their scope (the units they may see, as links) and a sign-out button.
// Any later 401 (the session ended) brings the sign-in screen back with a
// note, keeping the address so that signing in again returns to the view.
//
// Scope: views outside the user's scope are never requested. A user whose
// scope does not include the county starts at their first scope unit
// (?unit=ID); an address outside the scope falls back to it with a note;
// breadcrumbs start at the outermost unit in scope; hospitals outside it are
// not links.
//
// One view is one request: the bed board of the unit in the URL comes from
// GET /api/v1/bedboard[?unit=ID] without an access reason, so it carries
// counts only (and, for roles without person-level rights, "<5" for small
// cells); the organisation tree (GET /api/v1/units) gives names, hospitals
// and breadcrumbs; the flow panel comes from GET /api/v1/flow?unit=ID.
//
// Person-level detail: opening a ward's beds (roles with person-level
// rights only) first asks for the access reason (reason.js, a modal dialog),
// remembered for the rest of the session (session.js) unless the user
// changes it; then GET /api/v1/bedboard?unit=WARD with X-Access-Reason
// fetches that ward's patients (the server audits the view). Live updates
// refetch the opened wards they touch, with the same reason.
//
// The page follows EventSource /api/v1/stream: a "bedboard" event
// {"version":N,"as_of":..,"changed":[ids]} newer than the board shown
// refetches it once (events arriving meanwhile coalesce into one more fetch)
// and patches the DOM in place; events for wards out of view are skipped. A
// "reset" event (events lost) reloads. The freshness indicator says "live"
// while the stream is open and turns "stale" after 30 s without it.
// Announcements go to one polite live region, coalesced and rate-limited.
//
// Views: the bed board (the default; ?unit=ID) and the health-station view
// (stations.js), chosen by the URL hash #/stations?unit=&period=&at=. A
// popstate or hashchange renders whichever the URL names; while the
// stations view is up the board is neither fetched nor rendered (its stream
// events are ignored) and the header's live indicator is hidden (the view
// says when its figures were computed).

import { fetchMe, fetchUnits, fetchBedboard, fetchFlow, fetchDashboard, fetchIndicators, signOut, onUnauthorized, ApiError, STREAM_URL } from './api.js';
import { LANGS, setLang, storedLang, t, nameOf, applyStatic, time, currentLang, apiMessage, num } from './i18n.js';
import { normaliseUnits, pathTo, hospitalOf, isWithin } from './org.js';
import { BoardView, OccupancyView, CountsView, totals, totalsFromServer, waitingCell, setUnitNamer } from './board.js';
import { FlowPanel } from './flow.js';
import { h, replace, setText, keepFocus } from './dom.js';
import { setPrincipal, normalisePrincipal, inScope, scopeUnits, homeUnit, currentReason, rememberReason, forgetReason } from './session.js';
import { SigninView } from './signin.js';
import { ReasonDialog, reasonLabel } from './reason.js';
import { cellOf, cellText, installMarkerDismiss, relabelMarkers } from './suppress.js';
import { StationsView, isStationsHash, parseRoute } from './stations.js';

const STALE_AFTER_MS = 30000;
const FLOW_REFRESH_MS = 15000;
const ANNOUNCE_MIN_GAP_MS = 10000;
const ANNOUNCE_DEBOUNCE_MS = 1500;
const OPEN_KEY = 'tilannekuva.open';

const $ = (id) => document.getElementById(id);

const state = {
  me: null, // the principal (session.js), null when signed out
  epoch: 0, // bumped at every sign-in and sign-out: late answers are dropped
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
  details: new Map(), // ward id -> {status: 'loading'|'ok'|'error', ward, message}
  detailLoading: new Map(),
  detailPending: new Set(),
  announce: { names: new Set(), timer: null, last: 0 },
  view: 'board', // 'board' or 'stations' (the URL hash #/stations)
  routeKey: null, // the URL last rendered (popstate and hashchange both fire)
};

let boardView;
let flowPanel;
let stationsView;
let summaryOcc;
let summaryCounts;
let signin;
let reasonDialog;
let es = null;
let reconnectTimer = null;
let reconnectDelay = 2000;

/* ---------- URL and scope ---------- */

function scopeFromUrl() {
  const u = new URLSearchParams(window.location.search).get('unit');
  return u && u.trim() ? u.trim() : null;
}

function rootInScope() {
  return state.org.rootId != null && inScope(state.org, state.org.rootId);
}

function home() {
  return homeUnit(state.org);
}

function hrefFor(id) {
  const base = window.location.pathname;
  if (id == null) id = home() ?? state.org.rootId;
  return id == null || (id === state.org.rootId && rootInScope()) ? base : `${base}?unit=${encodeURIComponent(id)}`;
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

function personLevel() {
  return state.me?.personLevel === true;
}

/** The view to show for the unit 'id': itself when in scope, else home. */
function viewFor(id) {
  let target = id;
  if (target == null || !inScope(state.org, target)) target = home();
  return target === state.org.rootId ? null : target;
}

async function navigate(id, { push = true, focus = true } = {}) {
  if (state.view !== 'board') leaveStations();
  const target = viewFor(id);
  if (push) window.history.pushState({ unit: target }, '', hrefFor(target ?? state.org.rootId));
  await setScope(target);
  if (focus) $('page-title').focus({ preventScroll: false });
}

async function setScope(id) {
  state.scope = id;
  if (id && isWardScopeId(id) && personLevel() && currentReason()) state.open.add(id);
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
  if (state.view !== 'board') {
    stationsView.renderChrome();
    renderViewNav();
    renderLangButtons();
    renderFreshness();
    return;
  }
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
  renderViewNav();
  renderLangButtons();
  renderFreshness();
}

/** Marks the current view's link in the view navigation. */
function renderViewNav() {
  for (const a of document.querySelectorAll('[data-view-link]')) {
    if (a.dataset.viewLink === state.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function renderLangButtons() {
  for (const b of document.querySelectorAll('.lang-switch__btn')) b.setAttribute('aria-pressed', b.dataset.lang === currentLang() ? 'true' : 'false');
}

function renderBreadcrumb() {
  const list = $('breadcrumb-list');
  const items = [];
  const root = state.org.units.get(state.org.rootId);
  let path = state.scope ? pathTo(state.org, state.scope) : root ? [root] : [];
  // Only units in scope: the path starts at the outermost one the user may see.
  path = path.filter((u) => inScope(state.org, u.id));
  if (state.scope && !state.org.units.has(state.scope)) path = [{ id: state.scope, name: scopeName() }];
  path.forEach((u, i) => {
    const last = i === path.length - 1;
    const label = nameOf(u.name) || u.id;
    items.push(h('li', { class: 'breadcrumb__item' }, last ? h('span', { 'aria-current': 'page', class: 'breadcrumb__current', text: label }) : h('a', { href: hrefFor(u.id), 'data-nav': u.id, 'data-focus-key': `crumb:${u.id}`, text: label })));
  });
  if (!items.length) items.push(h('li', { class: 'breadcrumb__item' }, h('span', { 'aria-current': 'page', class: 'breadcrumb__current', text: scopeName() })));
  replace(list, items);
  setAttrText($('breadcrumb'), 'aria-label', t('nav.breadcrumb'));
}

function setAttrText(el, attr, v) {
  if (el.getAttribute(attr) !== v) el.setAttribute(attr, v);
}

function roleLabel(role) {
  const k = `role.${role}`;
  const s = t(k);
  return s === k ? role : s;
}

/** The header's "signed in as" bar: user, role, scope (links), sign-out. */
function renderSession() {
  const me = state.me;
  $('session-bar').hidden = !me;
  if (!me) return;
  setText($('session-user'), me.user);
  setText($('session-role'), roleLabel(me.role));
  const units = scopeUnits(state.org);
  const shown = units.length ? units : me.scope;
  replace(
    $('session-scope'),
    shown.map((id) => {
      const u = state.org.units.get(id);
      const label = u ? nameOf(u.name) || id : id;
      return h('li', { class: 'scope-list__item' }, u ? h('a', { class: 'scope-list__link', href: hrefFor(id), 'data-nav': id, 'data-focus-key': `scope:${id}`, text: label }) : h('span', { text: label }));
    }),
  );
  if (!shown.length) $('session-scope').append(h('li', { class: 'scope-list__item', text: t('session.no_scope') }));
  const note = $('access-note');
  note.hidden = personLevel() || state.view !== 'board';
  if (!personLevel()) setText(note, t('access.no_person_level', { role: roleLabel(me.role) }));
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
      linkable = inScope(org, hosp.id);
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
  if (state.view !== 'board') return;
  const board = state.board;
  $('loading').hidden = board != null;
  if (!board) return;
  const groups = groupsOf(board);
  keepFocus(() => {
    boardView.update(
      groups,
      (id) => state.org.units.get(id) || null,
      (id) => state.open.has(id) && personLevel(),
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
  summaryOcc.update(s, 'summary');
  summaryCounts.update(s, 'summary');
  setText($('band-legend'), t('band.legend'));
  renderChrome();
  // Opened wards whose patients are not fetched yet (a restored or a ward
  // view, a card that came back into view).
  for (const id of state.open) {
    if (boardView.card(id)?.open && !state.details.has(id) && !state.detailLoading.has(id)) loadDetail(id);
  }
}

function renderFreshness() {
  const el = $('freshness');
  if (state.me) el.hidden = state.view !== 'board';
  el.dataset.state = state.conn;
  setText($('freshness-label'), t(`status.${state.conn}`));
  setText($('freshness-time'), state.updatedAt ? t('status.updated', { time: time(state.updatedAt) }) : t('status.not_updated'));
  const stale = state.conn === 'stale' && !!state.me;
  $('stale-banner').hidden = !stale;
  document.body.classList.toggle('is-stale', stale);
}

/* ---------- errors ---------- */

function errorText(err) {
  if (err instanceof ApiError) return apiMessage(err.i18n) || (err.status === 0 ? t('error.network') : t('error.generic'));
  if (typeof err === 'string') return err;
  return t('error.generic');
}

function showError(err) {
  setText($('error-text'), errorText(err));
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
    if (!(e instanceof ApiError && e.status === 401)) showError(e);
  }
}

/** Fetches the bed board of the scope (aggregate: no access reason); calls
 * made while one is in flight coalesce into one more fetch after it.
 * Resolves when the data is shown. */
function loadBoard() {
  if (!state.me || state.view !== 'board') return Promise.resolve();
  if (state.loading) {
    state.reloadPending = true;
    return state.loading;
  }
  const scopeAtStart = state.scope;
  const epoch = state.epoch;
  state.loading = (async () => {
    try {
      const json = await fetchBedboard(state.scope);
      if (scopeAtStart !== state.scope || epoch !== state.epoch) return;
      const prev = state.board;
      if (prev && typeof json.version === 'number' && typeof prev.version === 'number' && json.version < prev.version) return;
      state.board = json;
      state.version = typeof json.version === 'number' ? json.version : state.version;
      state.updatedAt = new Date();
      clearError();
      renderBoard();
      if (prev) noteChanges(prev, json);
    } catch (e) {
      if (scopeAtStart !== state.scope || epoch !== state.epoch) return;
      if (e instanceof ApiError && e.status === 401) return; // the sign-in screen is up
      const fallback = viewFor(null);
      if (e instanceof ApiError && (e.status === 404 || e.code === 'unknown_unit' || e.status === 403) && state.scope && state.scope !== fallback) {
        showError(e.status === 403 ? t('error.out_of_scope') : apiMessage(e.i18n) || t('error.unit_not_found'));
        window.history.replaceState({ unit: fallback }, '', hrefFor(fallback ?? state.org.rootId));
        state.scope = fallback;
        state.loading = null;
        state.reloadPending = false;
        renderChrome();
        await loadBoard();
        return;
      }
      showError(e);
      $('loading').hidden = true;
    } finally {
      if (epoch === state.epoch) state.loading = null;
    }
    if (state.reloadPending && epoch === state.epoch) {
      state.reloadPending = false;
      await loadBoard();
    }
  })();
  return state.loading;
}

/** Fetches one opened ward's patients with the session's access reason.
 * Calls made while one is in flight for the ward coalesce into one more. */
function loadDetail(id) {
  const reason = currentReason();
  if (!state.me || !personLevel() || !reason) return Promise.resolve();
  if (state.detailLoading.has(id)) {
    state.detailPending.add(id);
    return state.detailLoading.get(id);
  }
  const epoch = state.epoch;
  if (!state.details.has(id)) {
    state.details.set(id, { status: 'loading' });
    keepFocus(() => boardView.refreshDetail(id));
  }
  const p = (async () => {
    try {
      const json = await fetchBedboard(id, { reason });
      if (epoch !== state.epoch) return;
      const ward = (Array.isArray(json.wards) ? json.wards : []).find((w) => w && w.id === id) || null;
      state.details.set(id, ward ? { status: 'ok', ward } : { status: 'error', message: t('ward.detail_missing') });
    } catch (e) {
      if (epoch !== state.epoch) return;
      if (e instanceof ApiError && e.status === 401) return;
      let message = errorText(e);
      if (e instanceof ApiError && e.status === 403) message = t('ward.forbidden');
      if (e instanceof ApiError && e.status === 400 && e.field === 'reason') {
        forgetReason();
        message = t('reason.rejected');
      }
      state.details.set(id, { status: 'error', message });
    } finally {
      if (epoch === state.epoch) state.detailLoading.delete(id);
    }
    if (epoch !== state.epoch) return;
    keepFocus(() => boardView.refreshDetail(id));
    if (state.detailPending.delete(id) && state.open.has(id)) await loadDetail(id);
  })();
  state.detailLoading.set(id, p);
  return p;
}

/** Refetches the opened wards (all, or those in 'ids'). */
function loadOpenDetails(ids = null) {
  if (state.view !== 'board') return;
  for (const id of state.open) {
    if (ids && !ids.includes(id)) continue;
    if (boardView.card(id)?.open) loadDetail(id);
  }
}

/** Fetches the flow panel's figures; live updates refresh it at most every
 * FLOW_REFRESH_MS (a change inside the window is fetched at its end). */
async function loadFlow(force = false) {
  if (!state.me || state.view !== 'board') return;
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
  const epoch = state.epoch;
  try {
    const flow = await fetchFlow(unit);
    if (scopeAtStart !== state.scope || epoch !== state.epoch) return;
    keepFocus(() => flowPanel.render(flow, name));
  } catch (e) {
    if (scopeAtStart !== state.scope || epoch !== state.epoch) return;
    if (e instanceof ApiError && e.status === 401) return;
    const msg = e instanceof ApiError ? apiMessage(e.i18n) : null;
    keepFocus(() => flowPanel.unavailable(name, msg || t('flow.unavailable')));
  }
}

/* ---------- person-level detail: the access reason ---------- */

function wardNameOf(id) {
  const w = state.board?.wards?.find((x) => x.id === id);
  const u = state.org.units.get(id);
  return w?.name || u?.name || id;
}

/** Before a ward opens: a reason must be chosen (asked once a session). */
async function beforeOpen(id) {
  if (!personLevel()) return false;
  if (currentReason()) return true;
  const code = await reasonDialog.ask({ codes: state.me.reasons, ward: wardNameOf(id) });
  if (!code || !state.me) return false;
  rememberReason(code);
  keepFocus(() => boardView.refreshDetails());
  return true;
}

async function changeReason(id) {
  const before = currentReason();
  const code = await reasonDialog.ask({ codes: state.me.reasons, current: before, ward: wardNameOf(id), changing: true });
  if (!code || !state.me || code === before) return;
  rememberReason(code);
  keepFocus(() => boardView.refreshDetails());
  // The rows on screen were fetched with the old reason: fetch them again.
  loadOpenDetails();
  announce(t('reason.changed', { reason: reasonLabel(code) }));
}

function currentReasonLabel() {
  const r = currentReason();
  return r ? reasonLabel(r) : null;
}

/* ---------- live announcements ---------- */

function wardSig(w) {
  return ['beds', 'patient_count', 'occupied', 'free', 'awaiting_transfer', 'on_leave'].map((k) => JSON.stringify(cellOf(w, k))).join('/') + JSON.stringify(waitingCell(w));
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
    if (!shown.length || !state.me) return;
    let text;
    if (shown.length <= 3) {
      text = t('live.updated_one', {
        wards: shown
          .map((id) => {
            const w = wards.get(id);
            return `${nameOf(w.name) || id} ${t('occupancy.beds', { occupied: cellText(cellOf(w, 'occupied'), (v) => num(v)), beds: w.beds ?? 0 })}`;
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
  if (!state.me) return;
  if (c === 'stale') announce(t('live.stale'));
  if (c === 'live' && was === 'stale') announce(t('live.reconnected'));
}

function armStaleTimer() {
  if (state.staleTimer || !state.me) return;
  const wait = Math.max(0, state.disconnectedAt + STALE_AFTER_MS - Date.now());
  state.staleTimer = setTimeout(() => {
    state.staleTimer = null;
    if (state.conn !== 'live' && state.me) setConn('stale');
  }, wait);
}

function onBedboardEvent(ev) {
  if (state.view !== 'board') return;
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
  loadOpenDetails(changed && changed.length ? changed : null);
  loadFlow(false);
}

function closeStream() {
  if (es) {
    es.close();
    es = null;
  }
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
}

/** The stream gave up (e.g. 401 after the session ended): ask who is
 * signed in before reconnecting. */
async function reconnectLater() {
  const epoch = state.epoch;
  try {
    await fetchMe();
  } catch (e) {
    if (epoch !== state.epoch) return;
    if (e instanceof ApiError && e.status === 401) {
      sessionEnded();
      return;
    }
  }
  if (epoch === state.epoch && state.me) connectStream();
}

function connectStream() {
  if (typeof window.EventSource !== 'function' || !state.me) return;
  closeStream();
  const source = new EventSource(STREAM_URL);
  es = source;
  source.addEventListener('open', () => {
    if (es !== source) return;
    reconnectDelay = 2000;
    const wasDown = state.conn !== 'live';
    if (state.staleTimer) {
      clearTimeout(state.staleTimer);
      state.staleTimer = null;
    }
    setConn('live');
    // Events may have been missed while the stream was down.
    if (wasDown && state.board) {
      loadBoard();
      loadOpenDetails();
    }
  });
  source.addEventListener('bedboard', onBedboardEvent);
  // "reset": events were lost (slow reader, gap after a restart): reload.
  source.addEventListener('reset', () => {
    loadBoard();
    loadOpenDetails();
    loadFlow(true);
  });
  source.addEventListener('error', () => {
    if (es !== source) return;
    if (state.conn === 'live') {
      state.disconnectedAt = Date.now();
      setConn('reconnecting');
    }
    armStaleTimer();
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (e.g. an HTTP error): retry ourselves, backing off.
      clearTimeout(reconnectTimer);
      reconnectTimer = setTimeout(reconnectLater, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 30000);
    }
  });
}

/* ---------- signing in and out ---------- */

function setView(view, ready) {
  document.body.dataset.view = view;
  document.body.dataset.ready = ready ? 'true' : 'false';
}

/** Shows the sign-in screen (the app is stopped). */
function showSignin(message = null, focus = 'user') {
  $('app').hidden = true;
  $('breadcrumb').hidden = true;
  $('freshness').hidden = true;
  $('session-bar').hidden = true;
  $('stale-banner').hidden = true;
  document.body.classList.remove('is-stale');
  document.title = t('title.signin');
  renderLangButtons();
  signin.showScreen({ message, focus });
  setView('signin', true);
}

/** Starts the signed-in page for the principal 'p'. */
async function startApp(p, { interactive = false } = {}) {
  if (!normalisePrincipal(p)) {
    showSignin({ kind: 'alert', key: 'error.generic' });
    return;
  }
  state.epoch += 1;
  const epoch = state.epoch;
  state.me = setPrincipal(p);
  setView('app', false);
  signin.hideScreen();
  clearError();
  $('app').hidden = false;
  $('breadcrumb').hidden = false;
  $('freshness').hidden = false;
  state.conn = 'connecting';
  state.updatedAt = null;
  state.disconnectedAt = Date.now();
  renderFreshness();
  connectStream();
  armStaleTimer();
  await loadOrg();
  if (epoch !== state.epoch) return;
  renderSession();
  if (home() == null) {
    // The scope names no unit of this organisation: nothing to show.
    showError(t('error.no_scope'));
    $('loading').hidden = true;
    renderBreadcrumb();
    setView('app', true);
    return;
  }
  if (isStationsHash(window.location.hash)) {
    state.routeKey = routeKey();
    enterStations();
    if (interactive) $('page-title').focus();
    await stationsView.show(parseRoute(window.location.hash));
    return;
  }
  if (state.view !== 'board') leaveStations();
  let scope = scopeFromUrl();
  if (scope && state.org.rootId && !state.org.units.has(scope)) {
    showError(t('error.unit_not_found_home'));
    scope = null;
  } else if (scope && !inScope(state.org, scope)) {
    showError(t('error.out_of_scope'));
    scope = null;
  }
  scope = viewFor(scope);
  if (scopeFromUrl() !== scope) window.history.replaceState({ unit: scope }, '', hrefFor(scope ?? state.org.rootId));
  state.scope = scope;
  state.routeKey = routeKey();
  restoreOpen();
  if (state.scope && isWardScopeId(state.scope) && personLevel() && currentReason()) state.open.add(state.scope);
  renderChrome();
  if (interactive) $('page-title').focus();
  await loadBoard();
  if (epoch !== state.epoch) return;
  loadFlow(true);
  setView('app', true);
}

/** Stops everything the signed-in page does and forgets its data. */
function stopApp() {
  state.epoch += 1;
  closeStream();
  clearTimeout(state.staleTimer);
  state.staleTimer = null;
  clearTimeout(state.flowTimer);
  state.flowTimer = null;
  clearTimeout(state.announce.timer);
  state.announce.timer = null;
  state.announce.names.clear();
  reasonDialog.cancel();
  state.me = null;
  setPrincipal(null);
  state.board = null;
  state.version = -1;
  state.loading = null;
  state.reloadPending = false;
  state.open.clear();
  state.details.clear();
  state.detailLoading.clear();
  state.detailPending.clear();
  rememberOpen();
  boardView.clear();
  flowPanel.hide();
  stationsView.hide();
  stationsView.data = null;
  if (state.view !== 'board') leaveStations();
  $('summary').hidden = true;
  $('access-note').hidden = true;
  $('loading').hidden = false;
  clearError();
  replace($('breadcrumb-list'));
}

/** A request answered 401: the session ended (expired, or signed out
 * elsewhere). Back to the sign-in screen, keeping the address. */
function sessionEnded() {
  if (!state.me) return;
  stopApp();
  forgetReason();
  showSignin({ kind: 'alert', key: 'signin.expired' }, 'heading');
}

async function doSignOut() {
  try {
    await signOut();
  } catch (e) {
    // 401: the session had already ended; anything else: still signed in.
    if (!(e instanceof ApiError && e.status === 401)) {
      showError(t('error.signout_failed'));
      return;
    }
  }
  stopApp();
  forgetReason();
  window.history.replaceState({ unit: null }, '', window.location.pathname);
  showSignin({ kind: 'status', key: 'signin.signed_out' }, 'heading');
  announce(t('signin.signed_out'));
}

/* ---------- language ---------- */

async function switchLang(l) {
  if (l === currentLang()) return;
  await keepFocus(async () => {
    await setLang(l);
    applyStatic();
    renderLangButtons();
    if (!state.me) {
      document.title = t('title.signin');
      signin.relabel();
      return;
    }
    renderSession();
    renderChrome();
    renderBoard();
    boardView.relabel();
    relabelMarkers();
    if (flowPanel.flow) flowPanel.render(flowPanel.flow, scopeName());
    else if (!flowPanel.section.hidden) flowPanel.unavailable(scopeName(), t('flow.unavailable'));
    if (state.view === 'stations') {
      stationsView.relabel();
      setBrandSection('stations.section');
    }
  });
}

/* ---------- views: the bed board and the health stations ---------- */

function routeKey() {
  return window.location.search + window.location.hash;
}

function setBrandSection(key) {
  const el = document.querySelector('.brand__section');
  if (!el) return;
  el.dataset.i18n = key;
  setText(el, t(key));
}

/** Hides the board and shows the stations view (the board stops). */
function enterStations() {
  state.view = 'stations';
  clearTimeout(state.flowTimer);
  state.flowTimer = null;
  flowPanel.hide();
  clearError();
  for (const id of ['summary', 'board', 'loading', 'access-note']) $(id).hidden = true;
  setBrandSection('stations.section');
  renderViewNav();
  renderFreshness();
}

/** Hides the stations view; the caller loads the board (setScope). */
function leaveStations() {
  state.view = 'board';
  stationsView.hide();
  $('board').hidden = false;
  setBrandSection('app.section');
  renderViewNav();
  renderSession();
}

/** Renders the view the URL names (on popstate, hashchange). */
async function applyRoute(force) {
  if (!state.me) return;
  const key = routeKey();
  if (!force && key === state.routeKey) return;
  state.routeKey = key;
  if (isStationsHash(window.location.hash)) {
    if (state.view !== 'stations') enterStations();
    await stationsView.show(parseRoute(window.location.hash), { focus: true });
    return;
  }
  if (state.view !== 'board') leaveStations();
  await setScope(viewFor(scopeFromUrl()));
}

/* ---------- start ---------- */

function restoreOpen() {
  state.open.clear();
  // Opened wards come back only with a reason already chosen this session.
  if (!personLevel() || !currentReason()) return;
  try {
    const v = JSON.parse(window.sessionStorage.getItem(OPEN_KEY) || '[]');
    if (Array.isArray(v)) for (const id of v) if (inScope(state.org, String(id))) state.open.add(String(id));
  } catch (e) {
    /* nothing remembered */
  }
}

function rememberOpen() {
  try {
    if (state.open.size) window.sessionStorage.setItem(OPEN_KEY, JSON.stringify([...state.open]));
    else window.sessionStorage.removeItem(OPEN_KEY);
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
    if (!state.me) return;
    const id = a.dataset.nav === 'root' ? null : a.dataset.nav;
    navigate(id);
  });
  // A fragment navigation fires popstate and then hashchange: the URL is
  // rendered once.
  window.addEventListener('popstate', () => applyRoute(true));
  window.addEventListener('hashchange', () => applyRoute(false));
  $('error-retry').addEventListener('click', async () => {
    clearError();
    if (!state.me) return;
    if (state.view !== 'board') {
      await stationsView.show(parseRoute(window.location.hash));
      return;
    }
    if (!state.org.rootId) await loadOrg();
    renderSession();
    renderChrome();
    await loadBoard();
    loadFlow(true);
  });
  $('signout-button').addEventListener('click', doSignOut);
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
    personLevel,
    beforeOpen,
    detailOf: (id) => state.details.get(id) || null,
    reasonLabel: currentReasonLabel,
    onChangeReason: changeReason,
    onRetry: (id) => {
      state.details.set(id, { status: 'loading' });
      keepFocus(() => boardView.refreshDetail(id));
      loadDetail(id);
    },
    onToggle: (id, open) => {
      if (open) {
        state.open.add(id);
        loadDetail(id);
      } else {
        state.open.delete(id);
        state.details.delete(id);
      }
      rememberOpen();
    },
  });
  flowPanel = new FlowPanel($('flow'), $('flow-body'), $('flow-heading'));
  stationsView = new StationsView($('stations'), {
    titleEl: $('page-title'),
    subtitleEl: $('page-subtitle'),
    crumbs: $('breadcrumb-list'),
    crumbNav: $('breadcrumb'),
    inScope: (id) => !state.org.units.has(id) || inScope(state.org, id),
    defaultUnit: () => {
      const hm = home();
      return hm == null || hm === state.org.rootId ? null : hm;
    },
    fetchDashboard: (query) => fetchDashboard('health-stations', query),
    fetchCatalogue: () => fetchIndicators(),
    errorText: (e) => (e instanceof ApiError && e.status === 403 ? t('error.out_of_scope') : errorText(e)),
    onReady: () => setView('app', true),
  });
  summaryOcc = new OccupancyView();
  summaryCounts = new CountsView('counts counts--summary');
  $('summary-occ').replaceChildren(h('div', { class: 'summary__band' }, summaryOcc.badge), summaryOcc.el);
  $('summary-counts').replaceWith(summaryCounts.el);
  signin = new SigninView($('signin'), (p) => startApp(p, { interactive: true }));
  reasonDialog = new ReasonDialog($('reason-dialog'));
  installMarkerDismiss();
  onUnauthorized(() => sessionEnded());
  wire();
  let me = null;
  let err = null;
  try {
    me = await fetchMe();
  } catch (e) {
    err = e;
  }
  if (me) await startApp(me);
  else showSignin(err instanceof ApiError && err.status !== 401 ? { kind: 'alert', error: err } : null);
}

main().catch((e) => {
  showError(e);
});
