// board.js -- the bed board: wards grouped by hospital, each ward a card
// with its occupancy, counts and (opened) its beds, patients and waiting list.
//
// Rendering is keyed and patched in place: a ward card and a hospital
// section are created once and then updated from new data, so a live update
// does not rebuild the page, an opened ward stays open and the keyboard focus
// stays where it was. Colour is never the only signal: the occupancy band is
// written out and the bar carries a pattern (stripes, cross-hatch).

import { h, replace, setText, setAttr, icon, domId } from './dom.js';
import { t, nameOf, num, pct, dateTime } from './i18n.js';

export const BAND_HIGH = 85;
export const BAND_CRITICAL = 95;

const ICON_CHEVRON = 'M7.4 8.6 12 13.2l4.6-4.6L18 10l-6 6-6-6z';
const ICON_BAND = {
  normal: 'M12 4a8 8 0 1 0 0 16 8 8 0 0 0 0-16z',
  high: 'M12 3 22 20H2z',
  critical: 'M12 2 22 12 12 22 2 12z',
  none: 'M4 11h16v2H4z',
};

/** Occupancy in per cent of staffed beds, or null when the ward has none. */
export function occupancyOf(w) {
  if (typeof w.occupancy_pct === 'number' && Number.isFinite(w.occupancy_pct)) return w.occupancy_pct;
  if (typeof w.beds === 'number' && w.beds > 0 && typeof w.occupied === 'number') return (w.occupied / w.beds) * 100;
  return null;
}

/** The band of an occupancy: under 85 normal, 85-95 high, over 95 critical. */
export function bandOf(p) {
  if (p == null) return 'none';
  if (p > BAND_CRITICAL) return 'critical';
  if (p >= BAND_HIGH) return 'high';
  return 'normal';
}

/** Number waiting for a bed on the ward, or null when not known. */
export function waitingOf(w) {
  if (typeof w.waiting_count === 'number') return w.waiting_count;
  if (Array.isArray(w.waiting)) return w.waiting.length;
  if (typeof w.waiting === 'number') return w.waiting;
  return null;
}

/** True for an emergency department (patients, no staffed beds). */
export function isEd(w) {
  return w.type === 'ed';
}

/** Patients beyond the staffed beds. */
export function overflowOf(w) {
  if (typeof w.overflow === 'number') return w.overflow;
  return Math.max(0, n0(w.occupied) - n0(w.beds));
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

/** Sums the counts of several wards (for a hospital or the whole scope). */
export function totals(wards) {
  const s = { beds: 0, occupied: 0, free: 0, overflow: 0, awaiting_transfer: 0, on_leave: 0, waiting: 0, waitingKnown: false, patient_count: 0 };
  for (const w of wards) {
    const wt = waitingOf(w);
    if (wt != null) {
      s.waiting += wt;
      s.waitingKnown = true;
    }
    if (isEd(w)) continue;
    s.beds += n0(w.beds);
    s.overflow += overflowOf(w);
    s.patient_count += typeof w.patient_count === 'number' ? w.patient_count : n0(w.occupied);
    s.occupied += n0(w.occupied);
    s.free += n0(w.free);
    s.awaiting_transfer += n0(w.awaiting_transfer);
    s.on_leave += n0(w.on_leave);
  }
  s.occupancy_pct = s.beds > 0 ? (s.patient_count / s.beds) * 100 : null;
  return s;
}

/** A short form of a pseudonym (the first 8 characters). */
export function shortPseudonym(s) {
  if (s == null) return t('patient.none');
  const str = String(s);
  return str.length > 10 ? `${str.slice(0, 8)}…` : str;
}

/** The server's totals for the scope, in the shape totals() returns. */
export function totalsFromServer(tt) {
  return {
    beds: n0(tt.beds),
    occupied: n0(tt.occupied),
    free: n0(tt.free),
    overflow: n0(tt.overflow),
    awaiting_transfer: n0(tt.awaiting_transfer),
    on_leave: n0(tt.on_leave),
    waiting: n0(tt.waiting_count),
    waitingKnown: typeof tt.waiting_count === 'number',
    patient_count: typeof tt.patient_count === 'number' ? tt.patient_count : n0(tt.occupied),
    occupancy_pct: typeof tt.occupancy_pct === 'number' ? tt.occupancy_pct : null,
  };
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

  update(w) {
    const ed = isEd(w);
    this.bar.hidden = ed;
    this.badge.hidden = ed;
    if (ed) {
      this.band = 'none';
      this.el.dataset.band = 'none';
      setText(this.pctEl, t('ed.patients', { n: typeof w.patient_count === 'number' ? w.patient_count : n0(w.occupied) }));
      setText(this.bedsEl, '');
      return;
    }
    const p = occupancyOf(w);
    const band = bandOf(p);
    if (band !== this.band) {
      this.band = band;
      this.el.dataset.band = band;
      this.badge.className = `badge badge--${band}`;
      replace(this.badgeIcon, icon(ICON_BAND[band], 'badge__svg'));
    }
    setText(this.badgeText, band === 'none' ? t('patient.none') : t(`band.${band}`));
    // Width through the CSSOM (allowed by the CSP, unlike style attributes).
    const width = `${Math.max(0, Math.min(100, p ?? 0)).toFixed(1)}%`;
    if (this.fill.style.width !== width) this.fill.style.width = width;
    setText(this.pctEl, t('occupancy.text', { pct: pct(p) }));
    let beds = t('occupancy.beds', { occupied: num(n0(w.occupied)), beds: num(n0(w.beds)) });
    const over = overflowOf(w);
    if (over > 0) beds += ` + ${t('count.overflow', { n: over })}`;
    setText(this.bedsEl, `· ${beds}`);
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

  update(s) {
    const keys = isEd(s) ? ED_KEYS : COUNT_KEYS;
    this.build(keys);
    for (const k of keys) {
      const { dt, dd } = this.items.get(k);
      setText(dt, t(`count.${k}`));
      let v;
      if (k === 'waiting') {
        const wt = typeof s.waitingKnown === 'boolean' ? (s.waitingKnown ? s.waiting : null) : waitingOf(s);
        v = wt == null ? t('patient.none') : num(wt);
      } else {
        v = num(n0(s[k]));
      }
      setText(dd, v);
      dd.parentElement.dataset.nonzero = k !== 'beds' && dd.textContent !== '0' && dd.textContent !== t('patient.none') ? 'true' : 'false';
    }
  }
}

/** One ward: card with disclosure to its beds. */
export class WardCard {
  /**
   * @param {string} id ward id
   * @param {{onToggle: (id: string, open: boolean) => void, hrefFor: (id: string) => string,
   *          isCurrent: (id: string) => boolean}} hooks
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
        on: { click: () => this.setOpen(!this.open, true) },
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
  }

  setOpen(open, fromUser = false) {
    this.open = open;
    setAttr(this.toggle, 'aria-expanded', open ? 'true' : 'false');
    this.detail.hidden = !open;
    this.el.classList.toggle('ward--open', open);
    setText(this.toggleText, t(open ? 'ward.hide_beds' : 'ward.show_beds'));
    if (open) this.renderDetail(false);
    if (fromUser) this.hooks.onToggle(this.id, open);
  }

  /** @param w ward from the bed board; @param unit org unit (beds) or null */
  update(w, unit) {
    this.data = w;
    this.unit = unit;
    setText(this.link, nameOf(w.name) || nameOf(unit?.name) || w.id);
    setAttr(this.link, 'href', this.hooks.hrefFor(this.id));
    this.occ.update(w);
    this.el.dataset.band = this.occ.band;
    this.el.classList.toggle('ward--ed', isEd(w));
    this.counts.update(w);
    const edd = typeof w.expected_discharges_today === 'number' ? w.expected_discharges_today : 0;
    this.expected.hidden = edd === 0;
    if (edd > 0) setText(this.expected, t('ward.expected_today', { n: edd }));
    setText(this.toggleText, t(this.open ? 'ward.hide_beds' : 'ward.show_beds'));
    if (this.open) this.renderDetail(false);
  }

  /** Rebuilds the opened part when its data or the language changed. */
  renderDetail(force) {
    const w = this.data;
    if (!w) return;
    const key = JSON.stringify([document.documentElement.lang, w.patients, w.waiting, w.beds, w.free, w.bed_ids, this.unit?.beds]);
    if (!force && key === this.detailKey) return;
    this.detailKey = key;
    replace(this.detail, this.buildDetail(w));
  }

  buildDetail(w) {
    const parts = [];
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
    setText(this.meta, `${t('hospital.wards', { n: nWards })} · ${t('occupancy.beds', { occupied: num(s.occupied), beds: num(s.beds) })} · ${t('occupancy.label').toLowerCase()} ${pct(s.occupancy_pct)}`);
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
}

