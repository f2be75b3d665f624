// board.js -- the bed board: wards grouped by hospital, each ward a card
// with its occupancy, counts and (opened) its beds, patients and waiting list.
//
// Rendering is keyed and patched in place: a ward card and a hospital
// section are created once and then updated from new data, so a live update
// does not rebuild the page, an opened ward stays open and the keyboard focus
// stays where it was. Colour is never the only signal: the occupancy band is
// written out and the bar carries a pattern (stripes, cross-hatch).
//
// Counts the server withheld (small cells, for roles without person-level
// rights; suppress.js) read "<5" with an explanation, never 0 or a blank;
// sums over wards with a withheld count are withheld too, and an occupancy
// that would reveal one is not shown.
//
// Person-level rows are never in the board itself: an opened ward shows
// what the page fetched for that ward with an access reason (hooks.detailOf),
// and only roles with person-level rights get the "Show beds and patients"
// button at all.

import { h, replace, setText, setAttr, icon, domId } from './dom.js';
import { t, tParts, nameOf, num, pct, dateTime } from './i18n.js';
import { cellOf, setCell, markerFor, hiddenCell } from './suppress.js';

export const BAND_HIGH = 85;
export const BAND_CRITICAL = 95;

const ICON_CHEVRON = 'M7.4 8.6 12 13.2l4.6-4.6L18 10l-6 6-6-6z';
const ICON_BAND = {
  normal: 'M12 4a8 8 0 1 0 0 16 8 8 0 0 0 0-16z',
  high: 'M12 3 22 20H2z',
  critical: 'M12 2 22 12 12 22 2 12z',
  none: 'M4 11h16v2H4z',
};

/** Occupancy in per cent of staffed beds, or null when the ward has none
 * or it is withheld. */
export function occupancyOf(w) {
  const p = cellOf(w, 'occupancy_pct');
  if (hiddenCell(p)) return null;
  if (p.v != null) return p.v;
  const occ = cellOf(w, 'occupied');
  if (typeof w.beds === 'number' && w.beds > 0 && occ.v != null) return (occ.v / w.beds) * 100;
  return null;
}

/** True when the ward's occupancy is withheld (it would reveal a small
 * count). */
export function occupancyHidden(w) {
  const p = cellOf(w, 'occupancy_pct');
  if (hiddenCell(p)) return true;
  return p.v == null && (hiddenCell(cellOf(w, 'occupied')) || hiddenCell(cellOf(w, 'patient_count')));
}

/** The band of an occupancy: under 85 normal, 85-95 high, over 95 critical. */
export function bandOf(p) {
  if (p == null) return 'none';
  if (p > BAND_CRITICAL) return 'critical';
  if (p >= BAND_HIGH) return 'high';
  return 'normal';
}

/** Number waiting for a bed on the ward as a cell ({v, suppressed}); v is
 * null when not known. */
export function waitingCell(w) {
  const c = cellOf(w, 'waiting_count');
  if (hiddenCell(c) || c.v != null) return c;
  if (Array.isArray(w.waiting)) return { v: w.waiting.length, suppressed: false, withheld: false };
  return cellOf(w, 'waiting');
}

/** Number waiting for a bed on the ward, or null when not known or withheld. */
export function waitingOf(w) {
  return waitingCell(w).v;
}

/** True for an emergency department (patients, no staffed beds). */
export function isEd(w) {
  return w.type === 'ed';
}

/** Patients beyond the staffed beds (0 when withheld or unknown). */
export function overflowOf(w) {
  const c = cellOf(w, 'overflow');
  if (hiddenCell(c)) return 0;
  if (c.v != null) return c.v;
  const occ = cellOf(w, 'occupied');
  return occ.v == null ? 0 : Math.max(0, occ.v - n0(w.beds));
}

/** An age band: the API gives the lower bound of a 5-year band (0..95). */
export function ageBand(v) {
  if (typeof v === 'number' && Number.isFinite(v)) return v >= 95 ? t('age.top', { from: 95 }) : t('age.band', { from: v, to: v + 4 });
  if (typeof v === 'string' && v) return v;
  return t('patient.none');
}

function n0(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

const SUM_KEYS = ['beds', 'patient_count', 'occupied', 'free', 'overflow', 'awaiting_transfer', 'on_leave'];

/**
 * Sums the counts of several wards (for a hospital or the whole scope), in
 * the bed board's own shape: {beds, patient_count, occupied, free, overflow,
 * awaiting_transfer, on_leave, waiting_count, occupancy_pct, suppressed: [],
 * withheld: [..]}. A sum with a hidden term (suppressed or withheld) is
 * withheld: null, its key in 'withheld' (not "<5": the sum may be large);
 * so is the occupancy then. waiting_count is null when no ward knows it.
 * Emergency departments add only their waiting.
 */
export function totals(wards) {
  const s = { suppressed: [], withheld: [] };
  for (const k of SUM_KEYS) s[k] = 0;
  s.waiting_count = null;
  const hide = new Set();
  for (const w of wards) {
    const wt = waitingCell(w);
    if (hiddenCell(wt)) hide.add('waiting_count');
    else if (wt.v != null) s.waiting_count = (s.waiting_count ?? 0) + wt.v;
    if (isEd(w)) continue;
    for (const k of SUM_KEYS) {
      let c = cellOf(w, k);
      if (k === 'overflow' && !hiddenCell(c)) c = { v: overflowOf(w), suppressed: false, withheld: false };
      if (k === 'patient_count' && c.v == null && !hiddenCell(c)) c = cellOf(w, 'occupied');
      if (hiddenCell(c)) hide.add(k);
      else s[k] += c.v ?? 0;
    }
  }
  for (const k of hide) {
    s[k] = null;
    s.withheld.push(k);
  }
  const reveal = hide.has('patient_count') || hide.has('occupied');
  if (reveal) s.withheld.push('occupancy_pct');
  s.occupancy_pct = !reveal && s.beds > 0 ? (s.patient_count / s.beds) * 100 : null;
  return s;
}

/** The server's totals for the scope, in the shape totals() returns
 * (hidden fields stay hidden, of the same kind). */
export function totalsFromServer(tt) {
  const s = { suppressed: [], withheld: [] };
  const put = (k, c, dflt) => {
    s[k] = c.v ?? (hiddenCell(c) ? null : dflt);
    if (c.suppressed) s.suppressed.push(k);
    else if (c.withheld) s.withheld.push(k);
  };
  for (const k of SUM_KEYS) put(k, cellOf(tt, k), 0);
  put('occupancy_pct', cellOf(tt, 'occupancy_pct'), null);
  if (typeof tt.patient_count !== 'number' && !hiddenCell(cellOf(tt, 'patient_count'))) {
    const occ = cellOf(tt, 'occupied');
    s.patient_count = occ.v;
    if (occ.suppressed) s.suppressed.push('patient_count');
    else if (occ.withheld) s.withheld.push('patient_count');
  }
  put('waiting_count', waitingCell(tt), null);
  return s;
}

/** A short form of a pseudonym (the first 8 characters). */
export function shortPseudonym(s) {
  if (s == null) return t('patient.none');
  const str = String(s);
  return str.length > 10 ? `${str.slice(0, 8)}…` : str;
}

function sexLabel(s) {
  const v = String(s ?? '').toUpperCase();
  if (v === 'F' || v === 'FEMALE' || v === '2') return t('sex.F');
  if (v === 'M' || v === 'MALE' || v === '1') return t('sex.M');
  return t('sex.U');
}

function bedCompare(a, b) {
  return String(a).localeCompare(String(b), 'fi', { numeric: true });
}

/** Occupancy bar + text, shared by the summary and the cards. */
export class OccupancyView {
  constructor() {
    this.fill = h('span', { class: 'occ__fill' });
    this.bar = h('div', { class: 'occ__bar', 'aria-hidden': 'true' }, this.fill, h('span', { class: 'occ__mark occ__mark--high' }), h('span', { class: 'occ__mark occ__mark--critical' }));
    this.pctEl = h('strong', { class: 'occ__pct' });
    this.bedsEl = h('span', { class: 'occ__beds' });
    this.badgeText = h('span', { class: 'badge__text' });
    this.badgeIcon = h('span', { class: 'badge__icon' });
    this.badge = h('span', { class: 'badge' }, this.badgeIcon, this.badgeText);
    this.text = h('p', { class: 'occ__text' }, this.pctEl, ' ', this.bedsEl);
    this.el = h('div', { class: 'occ' }, this.bar, this.text);
    this.band = null;
  }

  update(w, key = '') {
    const ed = isEd(w);
    this.bar.hidden = ed;
    this.badge.hidden = ed;
    if (ed) {
      this.band = 'none';
      this.el.dataset.band = 'none';
      const pc = cellOf(w, 'patient_count');
      const n = hiddenCell(pc) || pc.v != null ? pc : cellOf(w, 'occupied');
      this.setParts(this.pctEl, hiddenCell(n) ? tParts('ed.patients', { n: markerFor(n, `${key}:patients`) }) : [t('ed.patients', { n: n.v ?? 0 })]);
      setText(this.bedsEl, '');
      return;
    }
    const hidden = occupancyHidden(w);
    const p = occupancyOf(w);
    const band = hidden ? 'hidden' : bandOf(p);
    if (band !== this.band) {
      this.band = band;
      this.el.dataset.band = band === 'hidden' ? 'none' : band;
      this.badge.className = `badge badge--${band === 'hidden' ? 'none' : band}`;
      replace(this.badgeIcon, icon(ICON_BAND[band === 'hidden' ? 'none' : band], 'badge__svg'));
    }
    // A withheld occupancy has no band, and the bar would tell the number.
    this.badge.hidden = hidden;
    this.bar.hidden = hidden;
    setText(this.badgeText, band === 'none' || band === 'hidden' ? t('patient.none') : t(`band.${band}`));
    // Width through the CSSOM (allowed by the CSP, unlike style attributes).
    const width = `${Math.max(0, Math.min(100, p ?? 0)).toFixed(1)}%`;
    if (this.fill.style.width !== width) this.fill.style.width = width;
    this.setParts(this.pctEl, [hidden ? t('occupancy.hidden') : t('occupancy.text', { pct: pct(p) })]);
    const occ = cellOf(w, 'occupied');
    const beds = tParts('occupancy.beds', { occupied: hiddenCell(occ) ? markerFor(occ, `${key}:occupied`) : num(occ.v ?? 0), beds: num(n0(w.beds)) });
    const over = overflowOf(w);
    if (over > 0) beds.push(` + ${t('count.overflow', { n: over })}`);
    this.setParts(this.bedsEl, ['· ', ...beds]);
  }

  /** Replaces the element's content with 'parts' unless it reads the same
   * (so a focused "<5" marker survives a live update). */
  setParts(el, parts) {
    const sig = parts.map((x) => (typeof x === 'string' ? x : `[${x.textContent}]`)).join('');
    if (el.dataset.sig === sig) return;
    el.dataset.sig = sig;
    el.replaceChildren(...parts);
  }
}

const COUNT_KEYS = ['beds', 'occupied', 'free', 'awaiting_transfer', 'on_leave', 'waiting'];
const ED_KEYS = ['patient_count', 'waiting'];

/** The counts as a description list, patched in place (six for a ward,
 * patients and waiting for an emergency department). */
export class CountsView {
  constructor(cls = 'counts') {
    this.el = h('dl', { class: cls });
    this.items = new Map();
    this.keys = null;
  }

  build(keys) {
    if (this.keys === keys) return;
    this.keys = keys;
    this.items.clear();
    this.el.replaceChildren();
    for (const k of keys) {
      const dt = h('dt', { class: 'counts__label' });
      const dd = h('dd', { class: 'counts__value' });
      this.items.set(k, { dt, dd });
      this.el.append(h('div', { class: `counts__item counts__item--${k}` }, dt, dd));
    }
  }

  /** @param s ward, bed board totals or totals(); @param key prefix for
   * the focus keys of "<5" markers */
  update(s, key = '') {
    const keys = isEd(s) ? ED_KEYS : COUNT_KEYS;
    this.build(keys);
    for (const k of keys) {
      const { dt, dd } = this.items.get(k);
      setText(dt, t(`count.${k}`));
      let c = k === 'waiting' ? waitingCell(s) : cellOf(s, k);
      if (k === 'patient_count' && c.v == null && !hiddenCell(c)) c = cellOf(s, 'occupied');
      // A count the data lacks is 0, except waiting, which is "not known".
      if (k !== 'waiting' && c.v == null && !hiddenCell(c)) c = { v: 0, suppressed: false, withheld: false };
      setCell(dd, c, (v) => num(v), `${key}:${k}`);
      dd.parentElement.dataset.nonzero = hiddenCell(c) ? 'hidden' : k !== 'beds' && c.v != null && c.v !== 0 ? 'true' : 'false';
    }
  }
}

/** One ward: card with disclosure to its beds. */
export class WardCard {
  /**
   * @param {string} id ward id
   * @param {{onToggle: (id: string, open: boolean) => void, hrefFor: (id: string) => string,
   *          isCurrent: (id: string) => boolean, personLevel: () => boolean,
   *          beforeOpen: (id: string) => Promise<boolean>,
   *          detailOf: (id: string) => ({status: 'loading'|'ok'|'error', ward?: object, message?: string}|null),
   *          reasonLabel: () => string|null, onChangeReason: (id: string) => void,
   *          onRetry: (id: string) => void}} hooks
   *   beforeOpen asks for the access reason when none is chosen yet and
   *   resolves false when the user cancels; detailOf gives the ward's
   *   person-level rows fetched with that reason.
   */
  constructor(id, hooks) {
    this.id = id;
    this.hooks = hooks;
    this.open = false;
    this.detailKey = null;
    const hid = domId('ward-h', id);
    const did = domId('ward-d', id);
    this.link = h('a', { class: 'ward__link', href: hooks.hrefFor(id), 'data-nav': id, 'data-focus-key': `ward-link:${id}` });
    this.heading = h('h3', { class: 'ward__name', id: hid }, this.link);
    this.occ = new OccupancyView();
    this.counts = new CountsView('counts counts--ward');
    this.toggleText = h('span', { class: 'disclosure__text' });
    this.toggle = h(
      'button',
      {
        type: 'button',
        class: 'disclosure',
        'aria-expanded': 'false',
        'aria-controls': did,
        'data-focus-key': `ward-toggle:${id}`,
        on: { click: () => this.onToggleClick() },
      },
      this.toggleText,
      icon(ICON_CHEVRON, 'disclosure__icon'),
    );
    this.detail = h('div', { class: 'ward__detail', id: did, hidden: true });
    this.expected = h('p', { class: 'ward__expected', hidden: true });
    this.el = h(
      'article',
      { class: 'ward', 'aria-labelledby': hid, dataset: { ward: id } },
      h('div', { class: 'ward__head' }, this.heading, this.occ.badge),
      this.occ.el,
      this.counts.el,
      this.expected,
      this.toggle,
      this.detail,
    );
    this.data = null;
    this.unit = null;
    this.asking = false;
  }

  async onToggleClick() {
    if (this.open) {
      this.setOpen(false, true);
      return;
    }
    if (this.asking) return;
    this.asking = true;
    try {
      if (await this.hooks.beforeOpen(this.id)) this.setOpen(true, true);
    } finally {
      this.asking = false;
    }
  }

  setOpen(open, fromUser = false) {
    if (open && !this.hooks.personLevel()) open = false;
    this.open = open;
    setAttr(this.toggle, 'aria-expanded', open ? 'true' : 'false');
    this.detail.hidden = !open;
    this.el.classList.toggle('ward--open', open);
    setText(this.toggleText, t(open ? 'ward.hide_beds' : 'ward.show_beds'));
    if (open) this.renderDetail(false);
    else {
      this.detail.replaceChildren();
      this.detailKey = null;
    }
    if (fromUser) this.hooks.onToggle(this.id, open);
  }

  /** @param w ward from the bed board; @param unit org unit (beds) or null */
  update(w, unit) {
    this.data = w;
    this.unit = unit;
    setText(this.link, nameOf(w.name) || nameOf(unit?.name) || w.id);
    setAttr(this.link, 'href', this.hooks.hrefFor(this.id));
    this.occ.update(w, `ward:${this.id}`);
    this.el.dataset.band = this.occ.band === 'hidden' ? 'none' : this.occ.band;
    this.el.classList.toggle('ward--ed', isEd(w));
    this.counts.update(w, `ward:${this.id}`);
    const edd = cellOf(w, 'expected_discharges_today');
    this.expected.hidden = !hiddenCell(edd) && !(edd.v > 0);
    if (hiddenCell(edd)) {
      if (!this.expected.querySelector('.sup')) replace(this.expected, tParts('ward.expected_today', { n: markerFor(edd, `ward:${this.id}:edd`) }));
    }
    else if (edd.v > 0) setText(this.expected, t('ward.expected_today', { n: edd.v }));
    // Only roles with person-level rights can open a ward's patients.
    const person = this.hooks.personLevel();
    this.toggle.hidden = !person;
    if (!person && this.open) this.setOpen(false);
    setText(this.toggleText, t(this.open ? 'ward.hide_beds' : 'ward.show_beds'));
    if (this.open) this.renderDetail(false);
  }

  /** Rebuilds the opened part when its data, the reason or the language
   * changed. */
  renderDetail(force) {
    const w = this.data;
    if (!w || !this.open) return;
    const d = this.hooks.detailOf(this.id);
    const dw = d && d.status === 'ok' ? d.ward : null;
    const key = JSON.stringify([document.documentElement.lang, d?.status, d?.message, this.hooks.reasonLabel(), dw?.patients, dw?.waiting, dw?.beds, dw?.free, dw?.bed_ids, this.unit?.beds, this.hooks.isCurrent(this.id)]);
    if (!force && key === this.detailKey) return;
    this.detailKey = key;
    replace(this.detail, this.buildDetail(d));
  }

  reasonLine() {
    const label = this.hooks.reasonLabel();
    if (!label) return null;
    return h(
      'div',
      { class: 'reason-line' },
      h('p', { class: 'reason-line__text' }, `${t('reason.current')} `, h('strong', { text: label }), ` · ${t('reason.logged')}`),
      h('button', { type: 'button', class: 'reason-line__change', 'data-focus-key': `reason-change:${this.id}`, on: { click: () => this.hooks.onChangeReason(this.id) }, text: t('reason.change') }),
    );
  }

  buildDetail(d) {
    const parts = [this.reasonLine()];
    if (!d || d.status === 'loading') {
      parts.push(h('p', { class: 'note', text: t('ward.loading_patients') }));
      return parts;
    }
    if (d.status === 'error') {
      parts.push(
        h(
          'div',
          { class: 'error-box error-box--inline' },
          h('p', { class: 'error-box__text', text: d.message || t('error.generic') }),
          h('button', { type: 'button', class: 'button', 'data-focus-key': `detail-retry:${this.id}`, on: { click: () => this.hooks.onRetry(this.id) }, text: t('error.retry') }),
        ),
      );
      return parts;
    }
    const w = d.ward;
    const hasPatients = Array.isArray(w.patients);
    if (!hasPatients) {
      parts.push(h('p', { class: 'note', text: t('ward.no_patient_data') }));
    } else {
      const known = bedIdsOf(w, this.unit);
      const byBed = new Map();
      const unplaced = [];
      for (const p of w.patients) {
        const bed = p.bed == null || p.bed === '' ? null : String(p.bed);
        if (bed == null || (known && !known.includes(bed))) {
          unplaced.push(p);
          continue;
        }
        if (!byBed.has(bed)) byBed.set(bed, []);
        byBed.get(bed).push(p);
      }
      const bedIds = known ?? [...byBed.keys()].sort(bedCompare);
      const list = h('ul', { class: 'beds' });
      for (const b of bedIds) list.append(bedItem(b, byBed.get(b) || []));
      // Without the ward's bed ids the free beds are one tile with their count.
      const freeCount = known ? 0 : Math.max(0, n0(w.free));
      if (freeCount > 0) list.append(freeItem(freeCount));
      parts.push(h('h4', { class: 'ward__subhead', text: `${t('ward.beds_heading')} (${num(known ? bedIds.length : Math.max(n0(w.beds), bedIds.length))})` }), list);
      if (unplaced.length) {
        const ul = h('ul', { class: 'beds beds--unplaced' });
        for (const p of unplaced) ul.append(bedItem(p.bed ?? null, [p], true));
        parts.push(h('h4', { class: 'ward__subhead', text: t('ward.unplaced_heading') }), ul);
      }
    }
    if (Array.isArray(w.waiting)) {
      parts.push(h('h4', { class: 'ward__subhead', text: `${t('ward.waiting_heading')} (${num(w.waiting.length)})` }));
      if (w.waiting.length === 0) parts.push(h('p', { class: 'note', text: t('ward.no_waiting') }));
      else parts.push(h('ul', { class: 'waiting' }, w.waiting.map(waitingItem)));
    }
    if (!this.hooks.isCurrent(this.id)) parts.push(h('p', { class: 'ward__more' }, h('a', { class: 'link-button', href: this.hooks.hrefFor(this.id), 'data-nav': this.id, 'data-focus-key': `ward-view:${this.id}`, text: t('ward.open_view') })));
    return parts;
  }
}

/** The ward's bed ids: from the bed board ("bed_ids") or from the
 * organisation ("beds" as a list); null when only their number is known. */
function bedIdsOf(w, unit) {
  if (Array.isArray(w.bed_ids)) return w.bed_ids.map(String);
  if (Array.isArray(unit?.beds)) return unit.beds.slice();
  return null;
}

function freeItem(n) {
  return h('li', { class: 'bed bed--free bed--free-count' }, h('p', { class: 'bed__head' }, h('span', { class: 'bed__id', text: t('bed.free_n', { n }) }), h('span', { class: 'bed__state', text: t('bed.free') })));
}

let unitNameOf = (id) => id;

/** Sets how unit ids in the data (e.g. a transfer's target) get their names. */
export function setUnitNamer(fn) {
  unitNameOf = fn;
}

function unitName(id) {
  return unitNameOf(String(id)) || String(id);
}

function fact(label, value, cls = '') {
  return h('div', { class: ['fact', cls] }, h('dt', { class: 'fact__label', text: label }), h('dd', { class: 'fact__value', text: value }));
}

function bedItem(bed, patients, unplaced = false) {
  const occupied = patients.length > 0;
  const p0 = patients[0];
  let state = occupied ? 'occupied' : 'free';
  if (occupied && patients.some((p) => p.ready_for_transfer)) state = 'ready';
  if (occupied && patients.every((p) => p.on_leave)) state = 'leave';
  const title = bed != null ? t('bed.label', { bed }) : unplaced ? t('ward.unplaced_heading') : t('bed.free');
  let stateText = occupied ? (patients.length > 1 ? t('bed.shared', { n: patients.length }) : t('bed.occupied')) : t('bed.free');
  if (unplaced) stateText = t('bed.occupied');
  const li = h('li', { class: ['bed', `bed--${state}`], 'data-bed': bed ?? null }, h('p', { class: 'bed__head' }, h('span', { class: 'bed__id', text: title }), h('span', { class: 'bed__state', text: stateText })));
  for (const p of patients) li.append(patientFacts(p));
  if (!occupied && p0 === undefined) li.classList.add('bed--empty');
  return li;
}

function patientFacts(p) {
  const dl = h('dl', { class: 'facts' });
  dl.append(fact(t('patient.pseudonym'), shortPseudonym(p.subject), 'fact--id'));
  dl.append(fact(t('patient.age'), ageBand(p.age_band)));
  dl.append(fact(t('patient.sex'), sexLabel(p.sex)));
  dl.append(fact(t('patient.los'), typeof p.los_days === 'number' ? t('days', { n: p.los_days }) : t('patient.none')));
  dl.append(fact(t('patient.expected_discharge'), p.expected_discharge ? dateTime(p.expected_discharge) : t('patient.none')));
  const flags = h('ul', { class: 'flags' });
  if (p.on_leave) flags.append(h('li', { class: 'flag flag--leave', text: t('patient.on_leave') }));
  if (p.pending_transfer_to) flags.append(h('li', { class: 'flag flag--moving', text: t('patient.moving_to', { unit: unitName(p.pending_transfer_to) }) }));
  if (p.bed_conflict) flags.append(h('li', { class: 'flag flag--conflict', text: t('patient.bed_conflict') }));
  if (p.non_disclosure) flags.append(h('li', { class: 'flag flag--nondisclosure', text: t('patient.non_disclosure') }));
  if (p.ready_for_transfer) {
    flags.append(h('li', { class: 'flag flag--ready', text: p.ready_since ? t('patient.ready_since', { date: dateTime(p.ready_since) }) : t('patient.ready') }));
  }
  const wrap = h('div', { class: 'patient' }, dl);
  if (flags.childElementCount) wrap.append(flags);
  return wrap;
}

function waitingItem(wt) {
  const kindKey = ['pending_admit', 'pending_transfer', 'in_ed'].includes(wt.kind) ? wt.kind : 'other';
  const bits = [];
  if (wt.age_band != null) bits.push(ageBand(wt.age_band));
  if (wt.sex) bits.push(sexLabel(wt.sex));
  return h(
    'li',
    { class: 'waiting__item' },
    h('span', { class: 'waiting__kind', text: t(`waiting.kind.${kindKey}`) }),
    wt.since ? h('span', { class: 'waiting__since', text: t('waiting.since', { since: dateTime(wt.since) }) }) : null,
    h('span', { class: 'waiting__who', text: [shortPseudonym(wt.subject), ...bits].join(' · ') }),
  );
}

/** A hospital: heading with its totals and the grid of its ward cards. */
export class HospitalSection {
  constructor(id, hooks) {
    this.id = id;
    this.hooks = hooks;
    const hid = domId('hosp-h', id);
    this.link = h('a', { class: 'hospital__link', 'data-nav': id, 'data-focus-key': `hosp-link:${id}` });
    this.heading = h('h2', { class: 'hospital__name', id: hid }, this.link);
    this.meta = h('p', { class: 'hospital__meta' });
    this.grid = h('div', { class: 'ward-grid' });
    this.el = h('section', { class: 'hospital', 'aria-labelledby': hid, dataset: { hospital: id } }, h('div', { class: 'hospital__head' }, this.heading, this.meta), this.grid);
  }

  update(name, wards, linkable) {
    setText(this.link, name);
    if (linkable) {
      setAttr(this.link, 'href', this.hooks.hrefFor(this.id));
    } else {
      this.link.removeAttribute('href');
    }
    const s = totals(wards);
    const nWards = wards.filter((w) => !isEd(w)).length;
    // A sum over a withheld count is not shown at all (not even as "<5":
    // the hospital's total may well be larger).
    const bits = [t('hospital.wards', { n: nWards })];
    if (s.occupied == null) bits.push(t('hospital.beds', { n: s.beds }));
    else bits.push(t('occupancy.beds', { occupied: num(s.occupied), beds: num(s.beds) }), `${t('occupancy.label').toLowerCase()} ${pct(s.occupancy_pct)}`);
    setText(this.meta, bits.join(' · '));
  }
}

/** Puts 'el' at position i of 'parent' unless it already is there (moving a
 * focused node would blur it). */
function place(parent, el, i) {
  if (parent.children[i] !== el) parent.insertBefore(el, parent.children[i] || null);
}

/** The whole board under a container, keyed by hospital and ward ids. */
export class BoardView {
  constructor(container, hooks) {
    this.container = container;
    this.hooks = hooks;
    this.sections = new Map();
    this.cards = new Map();
  }

  /** Drops every card (used when the scope changes). */
  clear() {
    this.sections.clear();
    this.cards.clear();
    this.container.replaceChildren();
  }

  /**
   * @param groups [{id, name, linkable, wards: [ward]}] in display order
   * @param unitOf (wardId) => org unit or null
   * @param isOpen (wardId) => boolean
   */
  update(groups, unitOf, isOpen) {
    const seenS = new Set();
    const seenW = new Set();
    groups.forEach((g, gi) => {
      let sec = this.sections.get(g.id);
      if (!sec) {
        sec = new HospitalSection(g.id, this.hooks);
        this.sections.set(g.id, sec);
      }
      seenS.add(g.id);
      place(this.container, sec.el, gi);
      sec.update(g.name, g.wards, g.linkable);
      g.wards.forEach((w, wi) => {
        let card = this.cards.get(w.id);
        if (!card) {
          card = new WardCard(w.id, this.hooks);
          this.cards.set(w.id, card);
          card.update(w, unitOf(w.id));
          if (isOpen(w.id)) card.setOpen(true);
        } else {
          card.update(w, unitOf(w.id));
        }
        seenW.add(w.id);
        place(sec.grid, card.el, wi);
      });
    });
    for (const [id, card] of this.cards) {
      if (!seenW.has(id)) {
        card.el.remove();
        this.cards.delete(id);
      }
    }
    for (const [id, sec] of this.sections) {
      if (!seenS.has(id)) {
        sec.el.remove();
        this.sections.delete(id);
      }
    }
  }

  /** Re-applies texts after a language change. */
  relabel() {
    for (const card of this.cards.values()) {
      if (card.data) card.update(card.data, card.unit);
      if (card.open) card.renderDetail(true);
    }
  }

  /** Re-renders the opened part of one ward (its detail arrived). */
  refreshDetail(id) {
    const card = this.cards.get(id);
    if (card && card.open) card.renderDetail(false);
  }

  /** Re-renders every opened ward (e.g. the reason changed). */
  refreshDetails() {
    for (const card of this.cards.values()) if (card.open) card.renderDetail(false);
  }

  /** The card of a ward, or undefined. */
  card(id) {
    return this.cards.get(id);
  }
}

