// stations.js -- the health-station view: access to care (T3, waiting
// times, care guarantee) for the county, an area or one station.
//
// One view is one request: GET /api/v1/dashboards/health-stations
// ?unit=&period=&at= answers every panel (docs/API.md). The state lives in
// the URL hash, #/stations?unit=ID&period=KIND&at=YYYY-MM-DD, so a view can
// be bookmarked and shared and the browser's back button walks the drill
// path; links inside the view are plain hash links and app.js renders the
// route on popstate/hashchange.
//
// What is shown, per indicator panel: the value of the period with n, the
// target and which direction is better, whether the target is met (in words
// and an icon, never colour alone), the previous period, the rule version
// (care guarantee), a line chart of the 13 periods ending at 'at' with the
// same numbers in a table beside it, and the value per unit one level down
// (areas, or stations) with links that drill into them. The waiting-time
// distribution is a bar chart with its table. Every table sits in its own
// horizontally scrolling container (a phone at 360 px never scrolls the
// page sideways) and every panel has CSV and XLSX links to
// /api/v1/dashboards/health-stations/export with the view's filters and
// the current language.
//
// Suppressed figures (small cells, for roles without person-level rights)
// are shown with suppress.js's markers: a suppressed count as "<5", a value
// computed from one (a median, a share) as a dash, both with the
// explanation on hover and focus; never as a blank or a zero.
//
// Pure helpers (parseRoute, routeHash, pointCell, binLabel, exportHref) are
// exported for the node tests.

import { h, replace, setText, domId } from './dom.js';
import { t, num, pct, date, time, nameOf, currentLang, locale } from './i18n.js';
import { suppressedMarker } from './suppress.js';
import { chartLib } from './flow.js';

export const ROUTE = '#/stations';
export const PERIODS = ['month', 'quarter', 'year', 'rolling30', 'rolling365'];
export const DASHBOARD_URL = '/api/v1/dashboards/health-stations';
export const EXPORT_URL = '/api/v1/dashboards/health-stations/export';

const COLOR_LINE = '#1d4f91';
const COLOR_TARGET = '#8a5300';
const COLOR_BAR = '#2f6f9f';
const COLOR_GRID = '#d5dbe1';
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const UNIT_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/* ---------- the route ---------- */

/** True when the hash names this view. */
export function isStationsHash(hash) {
  return hash === ROUTE || (typeof hash === 'string' && hash.startsWith(`${ROUTE}?`));
}

/** {unit, period, at} from a hash, or null when the hash is not this
 * view's. Unknown periods read as 'month', malformed values as absent. */
export function parseRoute(hash) {
  if (!isStationsHash(hash)) return null;
  const q = new URLSearchParams(hash.slice(ROUTE.length + 1));
  const u = (q.get('unit') || '').trim();
  const p = q.get('period');
  const a = q.get('at');
  return {
    unit: UNIT_ID_RE.test(u) ? u : null,
    period: PERIODS.includes(p) ? p : 'month',
    at: a && DATE_RE.test(a) ? a : null,
  };
}

/** The hash of a route (the defaults left out). */
export function routeHash({ unit = null, period = 'month', at = null } = {}) {
  const q = new URLSearchParams();
  if (unit) q.set('unit', unit);
  if (period && period !== 'month') q.set('period', period);
  if (at) q.set('at', at);
  const s = q.toString();
  return s ? `${ROUTE}?${s}` : ROUTE;
}

/** The query string of the dashboard request for a route. */
export function dashboardQuery({ unit = null, period = 'month', at = null } = {}) {
  const q = new URLSearchParams();
  if (unit) q.set('unit', unit);
  q.set('period', period || 'month');
  if (at) q.set('at', at);
  return q.toString();
}

/** The export link of one panel (or, with panel null, the whole view as
 * XLSX) for what is on the screen: the unit, period kind and date of the
 * answer shown. */
export function exportHref({ unit, period, at }, format, panel, lang) {
  const q = new URLSearchParams();
  if (unit) q.set('unit', unit);
  q.set('period', period || 'month');
  if (at) q.set('at', at);
  q.set('format', format);
  if (panel) q.set('panel', panel);
  q.set('lang', lang);
  return `${EXPORT_URL}?${q.toString()}`;
}

/* ---------- reading the JSON ---------- */

/** 'lower', 'higher' or 'neutral' (the catalogue's lower_is_better too). */
export function directionOf(d) {
  if (d === 'lower' || d === 'lower_is_better') return 'lower';
  if (d === 'higher' || d === 'higher_is_better') return 'higher';
  return 'neutral';
}

/**
 * A POINT's value as a cell {v, suppressed, withheld} (suppress.js). A
 * suppressed count is "<5" (suppressed); a suppressed median or share is
 * derived from a small count and shown as a dash (withheld).
 */
export function pointCell(p, unit) {
  if (!p || typeof p !== 'object') return { v: null, suppressed: false, withheld: false };
  if (typeof p.value === 'number' && Number.isFinite(p.value)) return { v: p.value, suppressed: false, withheld: false };
  if (p.suppressed === true) return unit === 'count' ? { v: null, suppressed: true, withheld: false } : { v: null, suppressed: false, withheld: true };
  return { v: null, suppressed: false, withheld: false };
}

/** A POINT's n as a cell: a suppressed n is a count under five. */
export function nCell(p) {
  if (!p || typeof p !== 'object') return { v: null, suppressed: false, withheld: false };
  if (typeof p.n === 'number' && Number.isFinite(p.n)) return { v: p.n, suppressed: false, withheld: false };
  if (p.suppressed === true) return { v: null, suppressed: true, withheld: false };
  return { v: null, suppressed: false, withheld: false };
}

/** A distribution bin's count as a cell. */
export function binCell(b) {
  if (b && typeof b.count === 'number' && Number.isFinite(b.count)) return { v: b.count, suppressed: false, withheld: false };
  if (b && b.suppressed === true) return { v: null, suppressed: true, withheld: false };
  return { v: null, suppressed: false, withheld: false };
}

/** A bin's label in days: "0", "1–7", "181 or more" (from/to; 'label' when
 * neither is a number). */
export function binLabel(b) {
  const from = typeof b?.from === 'number' ? b.from : null;
  const to = typeof b?.to === 'number' ? b.to : null;
  if (from == null) return String(b?.label ?? '');
  if (to == null) return t('stations.bin_open', { from: num(from) });
  if (to === from) return num(from);
  return `${num(from)}–${num(to)}`;
}

/** True when the target is met ('value' vs 'target' in 'direction'); null
 * when it cannot be said. */
export function targetMet(value, target, direction) {
  if (typeof value !== 'number' || typeof target !== 'number') return null;
  const d = directionOf(direction);
  if (d === 'lower') return value <= target;
  if (d === 'higher') return value >= target;
  return null;
}

/* ---------- formatting ---------- */

function fmtValue(v, unit) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return t('patient.none');
  if (unit === 'days') return t('days', { n: Math.round(v * 10) / 10 });
  if (unit === '%') return pct(v, 1);
  return num(v);
}

function periodText(period) {
  if (!period) return '';
  const kind = PERIODS.includes(period.kind) ? period.kind : 'month';
  return t('stations.period_range', { period: t(`stations.period_${kind}`), from: date(period.from), to: date(period.to) });
}

/** A short label of a trend point: "marras 26", "Q4/26", "2026", "23.11.". */
function pointLabel(p, kind) {
  const m = DATE_RE.test(p?.from || '') ? p.from.split('-').map(Number) : null;
  if (!m) return '';
  if (kind === 'month') return new Intl.DateTimeFormat(locale(), { month: 'short', year: '2-digit', timeZone: 'UTC' }).format(new Date(Date.UTC(m[0], m[1] - 1, 1)));
  if (kind === 'quarter') return `Q${Math.floor((m[1] - 1) / 3) + 1}/${String(m[0]).slice(2)}`;
  if (kind === 'year') return String(m[0]);
  return date(p.to, { short: true });
}

/** The text or marker of a cell (a node for a hidden value). */
function cellNode(c, format, key) {
  if (c.suppressed) return suppressedMarker(key, 'suppressed');
  if (c.withheld) return suppressedMarker(key, 'withheld');
  return c.v == null ? t('patient.none') : format(c.v);
}

/**
 * A table under its title, in a box that scrolls sideways on its own. The
 * title is outside the box (so it wraps on a phone) and names both the
 * table and the box; the box is focusable so that keyboard users can
 * scroll it (WCAG 2.1.1).
 */
function scrollTable(titleId, title, table) {
  table.setAttribute('aria-labelledby', titleId);
  return h('div', { class: 'st-tablewrap' }, h('h3', { class: 'st-table__title', id: titleId, text: title }), h('div', { class: 'table-scroll', role: 'region', tabindex: '0', 'aria-labelledby': titleId }, table));
}

/** A trend row's period: "marraskuu 2026", "Q4 2026", "2026", or the days. */
function periodLabel(p, kind) {
  const m = DATE_RE.test(p?.from || '') ? p.from.split('-').map(Number) : null;
  if (!m) return t('patient.none');
  if (kind === 'month') return new Intl.DateTimeFormat(locale(), { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(Date.UTC(m[0], m[1] - 1, 1)));
  if (kind === 'quarter') return `Q${Math.floor((m[1] - 1) / 3) + 1} ${m[0]}`;
  if (kind === 'year') return String(m[0]);
  return `${date(p.from)}–${date(p.to)}`;
}

/* ---------- the view ---------- */

export class StationsView {
  /**
   * section: the view's <section>; opts: {titleEl, subtitleEl, crumbs (the
   * breadcrumb <ol>), crumbNav, inScope(id), defaultUnit(), fetchDashboard(query),
   * fetchCatalogue(), errorText(err), onReady()}.
   */
  constructor(section, opts) {
    this.section = section;
    this.o = opts;
    this.charts = [];
    this.data = null;
    this.route = null;
    this.seq = 0;
    this.catalogue = null; // Map id -> indicator, once loaded
    this.catalogueLoading = null;
    this.status = h('p', { class: 'loading', id: 'st-loading', text: t('loading') });
    this.error = h('div', { class: 'error-box', role: 'alert', hidden: true });
    this.body = h('div', { class: 'st-body' });
    replace(section, this.controls(), this.status, this.error, this.body);
  }

  /* the period and date form */
  controls() {
    this.periodSel = h(
      'select',
      { class: 'field__input field__input--select', id: 'st-period', name: 'period' },
      PERIODS.map((p) => h('option', { value: p, 'data-i18n': `stations.period_${p}`, text: t(`stations.period_${p}`) })),
    );
    this.atInput = h('input', { class: 'field__input', id: 'st-at', name: 'at', type: 'date' });
    this.form = h(
      'form',
      { class: 'st-controls', id: 'st-controls', 'aria-labelledby': 'st-controls-title', on: { submit: (e) => this.submit(e) } },
      h('h2', { class: 'visually-hidden', id: 'st-controls-title', 'data-i18n': 'stations.controls', text: t('stations.controls') }),
      h('div', { class: 'field st-controls__field' }, h('label', { class: 'field__label', for: 'st-period', 'data-i18n': 'stations.period', text: t('stations.period') }), this.periodSel),
      h('div', { class: 'field st-controls__field' }, h('label', { class: 'field__label', for: 'st-at', 'data-i18n': 'stations.at', text: t('stations.at') }), this.atInput),
      h('button', { type: 'submit', class: 'button button--primary st-controls__submit', id: 'st-show', 'data-i18n': 'stations.show', text: t('stations.show') }),
    );
    return this.form;
  }

  submit(e) {
    e.preventDefault();
    const period = PERIODS.includes(this.periodSel.value) ? this.periodSel.value : 'month';
    const at = DATE_RE.test(this.atInput.value) ? this.atInput.value : null;
    const hash = routeHash({ unit: this.route?.unit ?? null, period, at });
    if (window.location.hash === hash) this.show(this.route, { force: true });
    else window.location.hash = hash;
  }

  destroyCharts() {
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }

  hide() {
    this.seq += 1;
    this.destroyCharts();
    this.section.hidden = true;
  }

  /** The unit the route shows (its own, else the user's home unit). */
  unitOf(route) {
    return route?.unit || this.o.defaultUnit() || null;
  }

  /** Shows 'route' ({unit, period, at}): fetches the dashboard and renders
   * it. Resolves when shown (or failed). */
  async show(route, { focus = false } = {}) {
    this.route = { unit: this.unitOf(route), period: route?.period || 'month', at: route?.at || null };
    this.section.hidden = false;
    this.periodSel.value = this.route.period;
    this.atInput.value = this.route.at || '';
    const seq = ++this.seq;
    this.status.hidden = false;
    this.error.hidden = true;
    this.section.dataset.state = 'loading';
    if (!this.data) this.renderChrome();
    this.loadCatalogue();
    try {
      const json = await this.o.fetchDashboard(dashboardQuery(this.route));
      if (seq !== this.seq) return;
      this.data = json;
      this.render();
      this.section.dataset.unit = json?.unit?.id ?? '';
      this.section.dataset.state = 'ready';
    } catch (e) {
      if (seq !== this.seq) return;
      if (e && e.status === 401) return; // the sign-in screen is up
      this.data = null;
      this.destroyCharts();
      replace(this.body);
      this.renderChrome();
      replace(this.error, h('p', { class: 'error-box__text', text: this.o.errorText(e) }), h('button', { type: 'button', class: 'button', text: t('error.retry'), on: { click: () => this.show(this.route) } }));
      this.error.hidden = false;
      this.section.dataset.state = 'error';
    } finally {
      if (seq === this.seq) this.status.hidden = true;
    }
    if (seq !== this.seq) return;
    if (focus) this.o.titleEl.focus();
    this.o.onReady();
  }

  /** The catalogue's definitions (GET /api/v1/indicators), once; the view
   * works without them. */
  loadCatalogue() {
    if (this.catalogue || this.catalogueLoading || !this.o.fetchCatalogue) return;
    this.catalogueLoading = this.o
      .fetchCatalogue()
      .then((c) => {
        const list = Array.isArray(c?.indicators) ? c.indicators : [];
        this.catalogue = new Map(list.filter((x) => x && x.id).map((x) => [String(x.id), x]));
        if (this.data && !this.section.hidden) this.render();
      })
      .catch(() => {
        this.catalogue = new Map();
      })
      .finally(() => {
        this.catalogueLoading = null;
      });
  }

  /** Re-renders after a language change. */
  relabel() {
    for (const el of this.section.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    this.status.textContent = t('loading');
    if (this.data) this.render();
    else this.renderChrome();
  }

  /** Title, subtitle, document title and breadcrumb of the view. */
  renderChrome() {
    const d = this.data;
    const name = d?.unit ? nameOf(d.unit.name) || d.unit.id : t('stations.heading');
    setText(this.o.titleEl, name);
    setText(this.o.subtitleEl, d ? `${t('stations.heading')} · ${periodText(d.period)}` : t('stations.heading'));
    document.title = t('stations.title_page', { scope: name });
    const path = Array.isArray(d?.path) ? d.path.filter((u) => u && u.id && this.o.inScope(String(u.id))) : [];
    const shown = this.shownRoute();
    const items = path.map((u, i) => {
      const label = nameOf(u.name) || u.id;
      const last = i === path.length - 1;
      return h('li', { class: 'breadcrumb__item' }, last ? h('span', { class: 'breadcrumb__current', 'aria-current': 'page', text: label }) : h('a', { href: routeHash({ ...shown, unit: u.id }), 'data-focus-key': `st-crumb:${u.id}`, text: label }));
    });
    if (!items.length) items.push(h('li', { class: 'breadcrumb__item' }, h('span', { class: 'breadcrumb__current', 'aria-current': 'page', text: name })));
    replace(this.o.crumbs, items);
    this.o.crumbNav.setAttribute('aria-label', t('nav.breadcrumb'));
  }

  /** The route of the answer on screen (the server's unit, kind and date). */
  shownRoute() {
    const d = this.data;
    return {
      unit: d?.unit?.id ?? this.route?.unit ?? null,
      period: PERIODS.includes(d?.period?.kind) ? d.period.kind : this.route?.period || 'month',
      at: d?.period?.at ?? this.route?.at ?? null,
    };
  }

  render() {
    const d = this.data;
    this.destroyCharts();
    this.renderChrome();
    const shown = this.shownRoute();
    const lang = currentLang();
    this.anyHidden = false;
    const pending = [];

    const generated = d.generated_at ? h('p', { class: 'st-generated', id: 'st-generated' }, t('stations.generated', { date: date(d.generated_at), time: time(d.generated_at) })) : null;
    const all = h(
      'p',
      { class: 'st-export st-export--all' },
      h('a', { class: 'st-export__link', href: exportHref(shown, 'xlsx', null, lang), download: '', 'data-format': 'xlsx', 'data-panel': '' }, t('stations.export_all')),
    );

    const children = Array.isArray(d.children) ? d.children.filter((c) => c && c.id) : [];
    const drill = children.length
      ? h(
          'nav',
          { class: 'st-drill', 'aria-labelledby': 'st-drill-title' },
          h('h2', { class: 'st-drill__title', id: 'st-drill-title', text: t('stations.drill') }),
          h(
            'ul',
            { class: 'st-drill__list' },
            children.map((c) => {
              const label = nameOf(c.name) || c.id;
              const canGo = c.drill !== false && this.o.inScope(String(c.id));
              return h('li', { class: 'st-drill__item' }, canGo ? h('a', { class: 'st-drill__link', href: routeHash({ ...shown, unit: c.id }), 'data-unit': c.id, 'data-focus-key': `st-drill:${c.id}` }, label) : h('span', { text: label }));
            }),
          ),
        )
      : null;

    const panels = Array.isArray(d.panels) ? d.panels.filter((p) => p && p.id) : [];
    const sections = panels.map((p) => (p.kind === 'distribution' ? this.distributionPanel(p, shown, lang, pending) : this.indicatorPanel(p, shown, lang, pending, children)));
    if (!panels.length) sections.push(h('p', { class: 'note', text: t('stations.no_panels') }));

    const note = this.anyHidden ? h('p', { class: 'note note--suppressed', id: 'st-suppressed-note', text: `${t('suppressed')}: ${t('suppressed.note')} ${t('withheld')}: ${t('withheld.note')}` }) : null;
    replace(this.body, h('div', { class: 'st-meta' }, generated, all), drill, h('div', { class: 'st-panels' }, sections), note);
    // Charts need their canvas in the document to size themselves.
    for (const make of pending) make();
  }

  cell(c, format, key) {
    if (c.suppressed || c.withheld) this.anyHidden = true;
    return cellNode(c, format, key);
  }

  exportLinks(p, shown, lang) {
    const name = nameOf(p.name) || p.id;
    return h(
      'p',
      { class: 'st-export' },
      h('span', { class: 'st-export__label', text: t('stations.export') }),
      ['csv', 'xlsx'].map((f) => h('a', { class: 'st-export__link', href: exportHref(shown, f, p.id, lang), download: '', 'data-format': f, 'data-panel': p.id }, f.toUpperCase(), h('span', { class: 'visually-hidden', text: `: ${name}` }))),
    );
  }

  definition(p) {
    const c = this.catalogue?.get(String(p.indicator ?? p.id));
    if (!c) return null;
    const items = [];
    if (c.description) items.push(h('p', { text: nameOf(c.description) }));
    if (c.source) items.push(h('p', {}, h('strong', { text: `${t('stations.source')}: ` }), typeof c.source === 'object' ? nameOf(c.source.name ?? c.source) : String(c.source)));
    if (c.rule_version) items.push(h('p', {}, h('strong', { text: `${t('stations.rule_version')}: ` }), String(c.rule_version)));
    if (!items.length) return null;
    return h('details', { class: 'definitions st-definition' }, h('summary', { class: 'definitions__summary', 'data-focus-key': `st-def:${p.id}` }, t('stations.definition'), h('span', { class: 'visually-hidden', text: `: ${nameOf(p.name)}` })), h('div', { class: 'st-definition__body' }, items));
  }

  indicatorPanel(p, shown, lang, pending, children) {
    const id = domId('st-panel', p.id);
    const unit = p.unit;
    const fmt = (v) => fmtValue(v, unit);
    const name = nameOf(p.name) || p.id;
    const dir = directionOf(p.direction);
    const val = pointCell(p.value, unit);
    const capped = p.value?.capped === true;
    const trend = Array.isArray(p.trend) ? p.trend : [];
    const prev = trend.length >= 2 ? trend[trend.length - 2] : null;

    const fig = h('dl', { class: 'kpis st-kpis' });
    const add = (label, node, cls) => fig.append(h('div', { class: ['kpi', cls] }, h('dt', { class: 'kpi__label', text: label }), h('dd', { class: 'kpi__value' }, node)));
    const valueNode = this.cell(val, (v) => (capped ? t('flow.capped', { value: fmt(v) }) : fmt(v)), `${p.id}:value`);
    add(t('stations.now'), valueNode, 'st-kpi--value');
    add(t('stations.n'), this.cell(nCell(p.value), (v) => num(v), `${p.id}:n`), 'st-kpi--n');
    const targetText = typeof p.target === 'number' ? `${dir === 'lower' ? '≤ ' : dir === 'higher' ? '≥ ' : ''}${fmt(p.target)}` : t('stations.no_target');
    add(t('stations.target'), targetText, 'st-kpi--target');
    if (prev) add(t('stations.previous'), this.cell(pointCell(prev, unit), fmt, `${p.id}:prev`), 'st-kpi--prev');
    if (p.value?.rule_version) add(t('stations.rule_version'), String(p.value.rule_version), 'st-kpi--rule');

    const met = val.v != null ? targetMet(val.v, p.target, dir) : null;
    const status = [];
    if (dir !== 'neutral') status.push(h('span', { class: 'st-direction' }, t(dir === 'lower' ? 'stations.lower_better' : 'stations.higher_better')));
    if (met != null) status.push(h('span', { class: ['st-status', met ? 'st-status--met' : 'st-status--missed'], 'data-met': met ? 'true' : 'false' }, h('span', { class: 'st-status__icon', 'aria-hidden': 'true', text: met ? '✓' : '!' }), ' ', t(met ? 'stations.target_met' : 'stations.target_missed')));
    if (p.value?.rule_changed) status.push(h('span', { class: 'st-rule-changed', text: t('stations.rule_changed') }));

    const panel = h('section', { class: 'st-panel', id, 'data-panel': p.id, 'aria-labelledby': `${id}-h` }, h('h2', { class: 'st-panel__title', id: `${id}-h`, text: name }), fig, status.length ? h('p', { class: 'st-statusline' }, status.flatMap((x, i) => (i ? [' ', x] : [x]))) : null);

    // The trend: a line chart with the table beside it.
    if (trend.length) {
      const capId = `${id}-trend-cap`;
      const kind = shown.period;
      const vals = trend.map((x) => pointCell(x, unit));
      const known = vals.filter((c) => c.v != null);
      const title = t('stations.trend_title', { n: trend.length });
      const summary = known.length ? t('stations.trend_summary', { from: date(trend[0].from), to: date(trend[trend.length - 1].to), min: fmt(Math.min(...known.map((c) => c.v))), max: fmt(Math.max(...known.map((c) => c.v))) }) : t('stations.trend_empty');
      const C = chartLib();
      const canvas = C && known.length ? h('canvas', { role: 'img', 'aria-label': `${name}: ${title}. ${summary}` }) : null;
      const rules = trend.some((x) => x.rule_version);
      const rows = trend.map((x, i) =>
        h(
          'tr',
          { 'data-from': x.from || '' },
          h('th', { scope: 'row', text: periodLabel(x, kind) }),
          h('td', { class: 'st-td--value' }, this.cell(vals[i], (v) => (x.capped ? t('flow.capped', { value: fmt(v) }) : fmt(v)), `${p.id}:t${i}`)),
          h('td', {}, this.cell(nCell(x), (v) => num(v), `${p.id}:tn${i}`)),
          rules ? h('td', { class: 'st-td--rule', text: x.rule_version ? `${x.rule_version}${x.rule_changed ? ` (${t('stations.rule_changed')})` : ''}` : t('patient.none') }) : null,
        ),
      );
      const cols = [t('stations.col_period'), t('stations.col_value'), t('stations.n')];
      if (rules) cols.push(t('stations.rule_version'));
      const table = h('table', { class: 'data-table st-table st-table--trend' }, h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', text: c })))), h('tbody', {}, rows));
      panel.append(h('div', { class: 'st-chartrow' }, h('div', { class: 'chart st-chart' }, h('h3', { class: 'chart__title', text: title }), canvas ? h('div', { class: 'chart__canvas' }, canvas) : null, h('p', { class: 'chart__summary', text: summary })), scrollTable(capId, t('stations.trend_table', { name }), table)));
      if (canvas) {
        pending.push(() => {
          const datasets = [{ label: name, data: vals.map((c) => c.v), borderColor: COLOR_LINE, backgroundColor: COLOR_LINE, borderWidth: 2, pointRadius: 3, spanGaps: false, tension: 0 }];
          if (typeof p.target === 'number') datasets.push({ label: t('stations.target'), data: trend.map(() => p.target), borderColor: COLOR_TARGET, backgroundColor: COLOR_TARGET, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0 });
          this.charts.push(
            new C(canvas, {
              type: 'line',
              data: { labels: trend.map((x) => pointLabel(x, kind)), datasets },
              options: {
                locale: locale(),
                responsive: true,
                maintainAspectRatio: false,
                animation: false,
                plugins: { legend: { display: datasets.length > 1, labels: { boxHeight: 2 } }, tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${fmt(ctx.parsed.y)}` } } },
                scales: { x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 7 } }, y: { beginAtZero: true, grid: { color: COLOR_GRID }, ticks: { callback: (v) => (unit === '%' ? pct(v) : num(v)) } } },
              },
            }),
          );
        });
      }
    }

    // The unit itself, then the units one level down with drill links (the
    // rows of the panel's CSV export, in the same order).
    const by = Array.isArray(p.by_child) ? p.by_child.filter((c) => c && c.unit) : [];
    {
      const capId = `${id}-by-cap`;
      const drillable = new Set(children.filter((c) => c.drill !== false).map((c) => String(c.id)));
      const self = { unit: this.data.unit?.id ?? '', name: this.data.unit?.name, type: this.data.unit?.type, value: p.value, self: true };
      const rows = [self, ...by].map((c, i) => {
        const label = nameOf(c.name) || c.unit;
        const cv = pointCell(c.value, unit);
        const met2 = cv.v != null ? targetMet(cv.v, p.target, dir) : null;
        const link = !c.self && (drillable.has(String(c.unit)) || c.type === 'health_station') && this.o.inScope(String(c.unit));
        return h(
          'tr',
          { 'data-unit': c.unit, class: c.self ? 'st-row--self' : null },
          h('th', { scope: 'row' }, link ? h('a', { href: routeHash({ ...shown, unit: c.unit }), 'data-focus-key': `st-by:${p.id}:${c.unit}` }, label) : label),
          h('td', { class: 'st-td--value' }, this.cell(cv, (v) => (c.value?.capped ? t('flow.capped', { value: fmt(v) }) : fmt(v)), `${p.id}:c${i}`)),
          h('td', {}, this.cell(nCell(c.value), (v) => num(v), `${p.id}:cn${i}`)),
          h('td', { class: 'st-td--status' }, met2 == null ? t('patient.none') : h('span', { class: ['st-status', met2 ? 'st-status--met' : 'st-status--missed'] }, h('span', { class: 'st-status__icon', 'aria-hidden': 'true', text: met2 ? '✓' : '!' }), ' ', t(met2 ? 'stations.target_met' : 'stations.target_missed'))),
        );
      });
      const table = h(
        'table',
        { class: 'data-table st-table st-table--by' },
        h('thead', {}, h('tr', {}, [t('stations.col_unit'), t('stations.col_value'), t('stations.n'), t('stations.col_target')].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, rows),
      );
      panel.append(scrollTable(capId, t('stations.by_child_title', { name }), table));
    }
    panel.append(this.exportLinks(p, shown, lang));
    const def = this.definition(p);
    if (def) panel.append(def);
    return panel;
  }

  distributionPanel(p, shown, lang, pending) {
    const id = domId('st-panel', p.id);
    const name = nameOf(p.name) || p.id;
    const bins = Array.isArray(p.bins) ? p.bins : [];
    const cells = bins.map(binCell);
    const panel = h('section', { class: 'st-panel st-panel--dist', id, 'data-panel': p.id, 'aria-labelledby': `${id}-h` }, h('h2', { class: 'st-panel__title', id: `${id}-h`, text: name }));
    const fig = h('dl', { class: 'kpis st-kpis' });
    const nc = typeof p.n === 'number' ? { v: p.n, suppressed: false, withheld: false } : { v: null, suppressed: p.suppressed === true, withheld: false };
    fig.append(h('div', { class: 'kpi st-kpi--n' }, h('dt', { class: 'kpi__label', text: t('stations.visits') }), h('dd', { class: 'kpi__value' }, this.cell(nc, (v) => num(v), `${p.id}:n`))));
    panel.append(fig);
    const capId = `${id}-cap`;
    const known = cells.filter((c) => c.v != null).reduce((a, c) => a + c.v, 0);
    const small = cells.filter((c) => c.suppressed).length;
    let summary = nc.v != null ? t('stations.dist_summary', { n: nc.v }) : t('stations.dist_summary_unknown');
    if (small) summary += ` ${t('stations.dist_suppressed', { n: small })}`;
    const C = chartLib();
    const canvas = C && bins.length && (known > 0 || small > 0) ? h('canvas', { role: 'img', 'aria-label': `${name}. ${summary}` }) : null;
    const table = h(
      'table',
      { class: 'data-table st-table st-table--dist' },
      h('thead', {}, h('tr', {}, [t('stations.col_wait'), t('stations.col_count')].map((c) => h('th', { scope: 'col', text: c })))),
      h(
        'tbody',
        {},
        bins.map((b, i) => h('tr', { 'data-bin': String(b.label ?? i) }, h('th', { scope: 'row', text: binLabel(b) }), h('td', {}, this.cell(cells[i], (v) => num(v), `${p.id}:b${i}`)))),
      ),
    );
    panel.append(h('div', { class: 'st-chartrow' }, h('div', { class: 'chart st-chart' }, h('h3', { class: 'chart__title', text: t('stations.dist_chart') }), canvas ? h('div', { class: 'chart__canvas' }, canvas) : null, h('p', { class: 'chart__summary', text: summary })), scrollTable(capId, t('stations.dist_table'), table)));
    if (canvas) {
      pending.push(() => {
        this.charts.push(
          new C(canvas, {
            type: 'bar',
            data: { labels: bins.map(binLabel), datasets: [{ label: t('stations.col_count'), data: cells.map((c) => c.v), backgroundColor: COLOR_BAR, borderRadius: 2 }] },
            options: {
              locale: locale(),
              responsive: true,
              maintainAspectRatio: false,
              animation: false,
              plugins: { legend: { display: false } },
              scales: { x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: false } }, y: { beginAtZero: true, grid: { color: COLOR_GRID }, ticks: { precision: 0 } } },
            },
          }),
        );
      });
    }
    panel.append(this.exportLinks(p, shown, lang));
    return panel;
  }
}
