// flow.js -- patient-flow panel: key figures, the 30-day occupancy trend and
// admissions by hour of day, each chart with a table alternative.
//
// Charts are drawn with Chart.js (window.Chart, loaded from the npm package
// by a classic script); without it the tables are shown open instead. Each
// chart has a visible one-sentence summary and a <details> table with the
// same numbers, so nothing is available only as pixels. Small counts that the
// server suppressed ("<5") are shown as such, with the reason, never as 0.

import { h, replace, setText, domId } from './dom.js';
import { t, num, pct, date, hour, locale } from './i18n.js';
import { BAND_HIGH, BAND_CRITICAL } from './board.js';
import { isSuppressedValue, suppressedMarker } from './suppress.js';

const COLOR_LINE = '#1d4f91';
const SUPPRESSED = Symbol('suppressed');
const WITHHELD = Symbol('withheld');
const COLOR_BAR = '#2f6f9f';
const COLOR_GRID = '#d5dbe1';
const COLOR_TEXT = '#2b3540';
const COLOR_HIGH = '#8a5300';
const COLOR_CRITICAL = '#b3261e';

/** 'suppressed', 'withheld' or null: how a value (a number, or an object
 * such as {"pct": null, "withheld": ["pct"]}) is hidden (suppress.js). */
function hiddenKind(v) {
  if (v === SUPPRESSED || isSuppressedValue(v)) return 'suppressed';
  if (v === WITHHELD) return 'withheld';
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const k of ['pct', 'value', 'n', 'count']) {
      if (!(k in v) || v[k] != null) continue;
      if (Array.isArray(v.suppressed) && v.suppressed.includes(k)) return 'suppressed';
      if (Array.isArray(v.withheld) && v.withheld.includes(k)) return 'withheld';
    }
  }
  return null;
}

function isSuppressed(v) {
  return hiddenKind(v) === 'suppressed';
}

/** obj[key], or SUPPRESSED / WITHHELD when it is null and listed in obj's
 * "suppressed" / "withheld" array. */
function field(obj, key) {
  if (!obj || typeof obj !== 'object') return undefined;
  const v = obj[key];
  if (v != null) return v;
  if (obj.suppressed === true || (Array.isArray(obj.suppressed) && obj.suppressed.includes(key))) return SUPPRESSED;
  if (Array.isArray(obj.withheld) && obj.withheld.includes(key)) return WITHHELD;
  return v;
}

function value(v) {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v && typeof v === 'object') {
    if ('pct' in v) return typeof v.pct === 'number' ? v.pct : null;
    if (typeof v.value === 'number') return v.value;
    if (typeof v.n === 'number') return v.n;
    if (typeof v.count === 'number') return v.count;
  }
  return null;
}

/** Normalises admissions_by_hour to 24 entries {v: number|null,
 * suppressed}; null when the flow has no such array (missing or withheld
 * whole: see hoursWithheld). A null cell of an array listed in the flow's
 * "suppressed" is a suppressed one. */
export function hoursOf(flow) {
  const out = Array.from({ length: 24 }, () => ({ v: 0, suppressed: false }));
  const src = flow?.admissions_by_hour;
  if (!Array.isArray(src)) return null;
  const nullIsSuppressed = Array.isArray(flow.suppressed) && flow.suppressed.includes('admissions_by_hour');
  src.forEach((e, i) => {
    let hr = i;
    let raw = e;
    if (e && typeof e === 'object' && !isSuppressed(e) && typeof e.hour === 'number') {
      hr = e.hour;
      raw = e.n ?? e.count ?? e.value ?? e.admissions;
    }
    if (hr < 0 || hr > 23) return;
    if (raw == null && nullIsSuppressed) out[hr] = { v: null, suppressed: true };
    else out[hr] = isSuppressed(raw) ? { v: null, suppressed: true } : { v: value(raw) ?? 0, suppressed: false };
  });
  return out;
}

/** True when the server withheld admissions_by_hour whole. */
export function hoursWithheld(flow) {
  return flow?.admissions_by_hour == null && Array.isArray(flow?.withheld) && flow.withheld.includes('admissions_by_hour');
}

/** Normalises the daily series (occupancy_trend or series) to
 * [{date, v: number|null}]; null values are days without data. */
export function trendOf(flow) {
  const src = flow?.occupancy_trend ?? flow?.series;
  if (!Array.isArray(src)) return null;
  return src
    .filter((e) => e && e.date)
    .map((e) => {
      const key = 'pct' in e ? 'pct' : 'occupancy_pct' in e ? 'occupancy_pct' : 'value';
      const f = field(e, key);
      const hidden = hiddenKind(f);
      return hidden ? { date: e.date, v: null, hidden } : { date: e.date, v: value(f) };
    });
}

// Dashed lines at the band limits, drawn by a tiny Chart.js plugin.
const bandLines = {
  id: 'tkBandLines',
  afterDatasetsDraw(chart) {
    const y = chart.scales.y;
    const area = chart.chartArea;
    if (!y || !area) return;
    const ctx = chart.ctx;
    for (const [v, color] of [
      [BAND_HIGH, COLOR_HIGH],
      [BAND_CRITICAL, COLOR_CRITICAL],
    ]) {
      const py = y.getPixelForValue(v);
      if (py < area.top || py > area.bottom) continue;
      ctx.save();
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(area.left, py);
      ctx.lineTo(area.right, py);
      ctx.stroke();
      ctx.restore();
    }
  },
};

/** Chart.js (window.Chart) with the page's defaults, or null without it. */
export function chartLib() {
  const C = window.Chart;
  if (typeof C !== 'function') return null;
  if (!C.__tkDefaults) {
    C.defaults.font.family = getComputedStyle(document.body).fontFamily || 'system-ui, sans-serif';
    C.defaults.font.size = 13;
    C.defaults.color = COLOR_TEXT;
    C.__tkDefaults = true;
  }
  return C;
}

/** A text, or the marker of a hidden value (SUPPRESSED, WITHHELD). */
function markerOr(v, key) {
  if (v === SUPPRESSED) return suppressedMarker(key, 'suppressed');
  if (v === WITHHELD) return suppressedMarker(key, 'withheld');
  return v;
}

export class FlowPanel {
  constructor(section, body, heading) {
    this.section = section;
    this.body = body;
    this.heading = heading;
    this.charts = [];
    this.openDetails = new Set();
    this.flow = null;
    this.unitName = '';
  }

  destroyCharts() {
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }

  hide() {
    this.destroyCharts();
    this.section.hidden = true;
    this.flow = null;
  }

  unavailable(unitName, message) {
    this.destroyCharts();
    this.flow = null;
    this.section.hidden = false;
    setText(this.heading, t('flow.heading_unit', { unit: unitName }));
    replace(this.body, h('p', { class: 'note', text: message || t('flow.unavailable') }));
  }

  /** Renders 'flow' for the unit called 'unitName' (rebuilds the panel). */
  render(flow, unitName) {
    this.flow = flow;
    this.unitName = unitName;
    for (const d of this.body.querySelectorAll('details[data-key]')) {
      if (d.open) this.openDetails.add(d.dataset.key);
      else this.openDetails.delete(d.dataset.key);
    }
    this.destroyCharts();
    this.section.hidden = false;
    setText(this.heading, t('flow.heading_unit', { unit: unitName }));

    let anySuppressed = false;
    const show = (v, kind) => {
      const hidden = hiddenKind(v);
      if (hidden) {
        anySuppressed = true;
        return hidden === 'suppressed' ? SUPPRESSED : WITHHELD;
      }
      const n = value(v);
      if (n == null) return t('patient.none');
      if (kind === 'pct') return pct(n);
      if (kind === 'days') return t('days', { n: Math.round(n * 10) / 10 });
      return num(n);
    };

    const occ = flow.occupancy || {};
    const los = flow.los_days || flow.los || {};
    const atLeast = (text) => (los.capped === true && typeof text === 'string' ? t('flow.capped', { value: text }) : text);
    const kpi = h('dl', { class: 'kpis' });
    // A hidden figure is its marker ("<5" or a dash) with the explanation.
    const add = (label, text, key) => kpi.append(h('div', { class: 'kpi' }, h('dt', { class: 'kpi__label', text: label }), h('dd', { class: 'kpi__value' }, markerOr(text, `flow:${key}`))));
    add(t('flow.occ_today'), show(field(occ, 'today'), 'pct'), 'today');
    add(t('flow.occ_avg7'), show(field(occ, 'avg7'), 'pct'), 'avg7');
    add(t('flow.occ_avg30'), show(field(occ, 'avg30'), 'pct'), 'avg30');
    if (flow.admissions !== undefined) add(t('flow.admissions'), show(field(flow, 'admissions'), 'n'), 'admissions');
    if (flow.discharges !== undefined) add(t('flow.discharges'), show(field(flow, 'discharges'), 'n'), 'discharges');
    add(t('flow.los_median'), atLeast(show(field(los, 'median'), 'days')), 'median');
    add(t('flow.los_p90'), atLeast(show(field(los, 'p90'), 'days')), 'p90');
    add(t('flow.los_n'), show(field(los, 'n'), 'n'), 'los_n');
    add(t('flow.transfer_delay'), show(field(flow, 'transfer_delay_days'), 'n'), 'transfer_delay');

    const trend = trendOf(flow);
    const hours = hoursOf(flow);
    if (hours && hours.some((x) => x.suppressed)) anySuppressed = true;
    if (trend && trend.some((x) => x.hidden)) anySuppressed = true;

    const charts = h('div', { class: 'charts' });
    const C = chartLib();
    const pending = [];
    if (trend) pending.push(this.trendFigure(charts, trend, C));
    if (hours) pending.push(this.hourFigure(charts, hours, C));
    else if (hoursWithheld(flow)) {
      anySuppressed = true;
      charts.append(h('div', { class: 'chart' }, h('h3', { class: 'chart__title', text: t('flow.hour_title') }), h('p', { class: 'chart__summary', text: t('flow.hours_withheld') })));
    }

    const defs = h(
      'details',
      { class: 'definitions', 'data-key': 'defs' },
      h('summary', { class: 'definitions__summary', 'data-focus-key': 'flow-defs', text: t('flow.definitions') }),
      h('ul', { class: 'definitions__list' }, ['flow.def_occupancy', 'flow.def_los', 'flow.def_transfer', 'flow.def_hours'].map((k) => h('li', { text: t(k) }))),
    );
    if (this.openDetails.has('defs')) defs.open = true;

    replace(this.body, kpi, charts, anySuppressed ? h('p', { class: 'note note--suppressed', text: `${t('suppressed')}: ${t('suppressed.note')} ${t('withheld')}: ${t('withheld.note')}` }) : null, defs);
    // Charts need their canvas in the document to size themselves.
    for (const make of pending) if (make) make();
  }

  tableDetails(key, caption, cols, rows, forceOpen) {
    const table = h(
      'table',
      { class: 'data-table' },
      h('caption', { class: 'data-table__caption', text: caption }),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, rows.map((r, i) => h('tr', {}, h('th', { scope: 'row', text: r[0] }), h('td', {}, markerOr(r[1], `flow:${key}:${i}`))))),
    );
    const d = h('details', { class: 'table-alt', 'data-key': key }, h('summary', { class: 'table-alt__summary', 'data-focus-key': `flow-${key}` }, t('flow.show_table'), h('span', { class: 'visually-hidden', text: `: ${caption}` })), table);
    if (forceOpen || this.openDetails.has(key)) d.open = true;
    return d;
  }

  trendFigure(parent, trend, C) {
    const title = t('flow.trend_title');
    const hid = domId('flow-trend', this.unitName);
    const vals = trend.filter((e) => e.v != null);
    let summary;
    if (vals.length === 0) {
      summary = t('flow.trend_empty');
    } else {
      const min = Math.min(...vals.map((e) => e.v));
      const max = Math.max(...vals.map((e) => e.v));
      summary = t('flow.trend_summary', { from: date(trend[0].date), to: date(trend[trend.length - 1].date), min: pct(min), max: pct(max), last: pct(vals[vals.length - 1].v) });
    }
    const rows = trend.map((e) => [date(e.date), e.hidden === 'suppressed' ? SUPPRESSED : e.hidden === 'withheld' ? WITHHELD : e.v == null ? t('patient.none') : num(e.v)]);
    const canvas = C && vals.length ? h('canvas', { role: 'img', 'aria-label': `${title}. ${summary}` }) : null;
    parent.append(
      h(
        'div',
        { class: 'chart' },
        h('h3', { class: 'chart__title', id: hid, text: title }),
        canvas ? h('div', { class: 'chart__canvas' }, canvas) : null,
        h('p', { class: 'chart__summary', text: vals.length ? `${summary} ${t('flow.band_lines')}` : summary }),
        vals.length ? this.tableDetails('trend', title, [t('flow.col_date'), t('flow.col_pct')], rows, !canvas) : null,
      ),
    );
    if (!canvas) return null;
    const yMax = Math.max(110, Math.ceil((Math.max(...vals.map((e) => e.v)) + 5) / 10) * 10);
    return () => {
      this.charts.push(
        new C(canvas, {
          type: 'line',
          data: {
            labels: trend.map((e) => date(e.date, { short: true })),
            datasets: [{ label: t('flow.col_pct'), data: trend.map((e) => e.v), borderColor: COLOR_LINE, backgroundColor: COLOR_LINE, borderWidth: 2, pointRadius: 2.5, spanGaps: false, tension: 0 }],
          },
          options: {
            locale: locale(),
            responsive: true,
            maintainAspectRatio: false,
            animation: false,
            plugins: { legend: { display: false }, tooltip: { callbacks: { label: (ctx) => pct(ctx.parsed.y, 1) } } },
            scales: {
              x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } },
              y: { min: 0, max: yMax, grid: { color: COLOR_GRID }, ticks: { stepSize: 20, callback: (v) => pct(v) } },
            },
          },
          plugins: [bandLines],
        }),
      );
    };
  }

  hourFigure(parent, hours, C) {
    const title = t('flow.hour_title');
    const hid = domId('flow-hours', this.unitName);
    const known = hours.filter((x) => !x.suppressed);
    const total = known.reduce((a, x) => a + (x.v ?? 0), 0);
    const small = hours.filter((x) => x.suppressed).length;
    let summary;
    if (total === 0 && small === 0) {
      summary = t('flow.hour_empty');
    } else {
      let peak = 0;
      hours.forEach((x, i) => {
        if ((x.v ?? -1) > (hours[peak].v ?? -1)) peak = i;
      });
      const peakText = t('flow.hour_range', { from: hour(peak), to: hour((peak + 1) % 24) });
      // With suppressed hours the total is not known, only a lower bound;
      // a known peak (5 or more) is still the peak.
      if (small === 0) summary = t('flow.hour_summary', { total: num(total), peak: peakText, peakn: num(hours[peak].v ?? 0) });
      else summary = [total > 0 ? t('flow.hour_summary_partial', { total: num(total), peak: peakText, peakn: num(hours[peak].v ?? 0) }) : null, t('flow.hour_suppressed', { n: small })].filter(Boolean).join(' ');
    }
    const rows = hours.map((x, i) => [t('flow.hour_range', { from: hour(i), to: hour((i + 1) % 24) }), x.suppressed ? SUPPRESSED : num(x.v ?? 0)]);
    const canvas = C ? h('canvas', { role: 'img', 'aria-label': `${title}. ${summary}` }) : null;
    parent.append(
      h(
        'div',
        { class: 'chart' },
        h('h3', { class: 'chart__title', id: hid, text: title }),
        canvas ? h('div', { class: 'chart__canvas' }, canvas) : null,
        h('p', { class: 'chart__summary', text: summary }),
        this.tableDetails('hours', title, [t('flow.col_hour'), t('flow.col_admissions')], rows, !canvas),
      ),
    );
    if (!canvas) return null;
    return () => {
      this.charts.push(
        new C(canvas, {
          type: 'bar',
          data: {
            labels: hours.map((_, i) => String(i).padStart(2, '0')),
            datasets: [{ label: t('flow.col_admissions'), data: hours.map((x) => x.v), backgroundColor: COLOR_BAR, borderRadius: 2 }],
          },
          options: {
            locale: locale(),
            responsive: true,
            maintainAspectRatio: false,
            animation: false,
            plugins: { legend: { display: false } },
            scales: {
              x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true } },
              y: { beginAtZero: true, grid: { color: COLOR_GRID }, ticks: { precision: 0 } },
            },
          },
        }),
      );
    };
  }
}
