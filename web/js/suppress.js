// suppress.js -- small-cell suppression: reading it from the API and showing it.
//
// For roles without person-level rights the server withholds counts under
// five persons, and the figures that would reveal them (src/suppress.h):
//   - a suppressed count (1..4 persons) is null with its key listed in the
//     object's "suppressed" array: {"occupied": null, "suppressed":
//     ["occupied"]}; it is shown as "<5";
//   - a withheld value (derived from a suppressed count, e.g. free beds or
//     a percentage, or a sum that would reveal one) is null with its key in
//     "withheld"; its true value may be large, so it is shown as a dash,
//     never "<5";
//   - tolerated too: {"suppressed": true} or the string "<5" in place of a
//     number, and null inside an object marked {"suppressed": true}.
// Both are shown with an explanation that appears on hover and on keyboard
// focus (and on a tap, which focuses the button), is dismissed with Escape
// and stays while the pointer is over it (WCAG 1.4.13). Neither is ever
// shown as a blank or a zero.

import { h } from './dom.js';
import { t } from './i18n.js';

/** True when 'v' itself says it was withheld ("<5" or {suppressed:true}). */
export function isSuppressedValue(v) {
  return v === '<5' || (v != null && typeof v === 'object' && !Array.isArray(v) && v.suppressed === true);
}

function listed(obj, field, key) {
  const s = obj[field];
  if (field === 'suppressed' && s === true) return true;
  return Array.isArray(s) && s.some((k) => String(k) === key);
}

/**
 * The value of obj[key] as a cell: {v: number|null, suppressed, withheld}.
 * v is null when the value is missing, not a number, suppressed or withheld.
 */
export function cellOf(obj, key) {
  if (!obj || typeof obj !== 'object') return { v: null, suppressed: false, withheld: false };
  const raw = obj[key];
  if (isSuppressedValue(raw)) return { v: null, suppressed: true, withheld: false };
  if (typeof raw === 'number' && Number.isFinite(raw)) return { v: raw, suppressed: false, withheld: false };
  if (raw == null && listed(obj, 'suppressed', key)) return { v: null, suppressed: true, withheld: false };
  if (raw == null && listed(obj, 'withheld', key)) return { v: null, suppressed: false, withheld: true };
  return { v: null, suppressed: false, withheld: false };
}

/** A number as a cell (for values that are not read from an object). */
export function cell(v) {
  if (isSuppressedValue(v)) return { v: null, suppressed: true, withheld: false };
  return { v: typeof v === 'number' && Number.isFinite(v) ? v : null, suppressed: false, withheld: false };
}

/** True when the cell is not shown (suppressed or withheld). */
export function hiddenCell(c) {
  return !!(c && (c.suppressed || c.withheld));
}

let seq = 0;

/**
 * The marker of a value not shown: "<5" (kind 'suppressed') or a dash
 * (kind 'withheld'), a button (so a keyboard or a tap reaches it) described
 * by a tooltip with the reason. 'key' makes it findable again after a
 * rebuild (dom.js keepFocus).
 */
export function suppressedMarker(key = null, kind = 'suppressed') {
  seq += 1;
  const id = `sup-tip-${seq}`;
  const withheld = kind === 'withheld';
  const tip = h('span', { class: 'sup__tip', role: 'tooltip', id, text: t(withheld ? 'withheld.note' : 'suppressed.note') });
  const btn = h('button', { type: 'button', class: 'sup__btn', 'aria-describedby': id, 'data-focus-key': key ? `sup:${key}` : null, text: t(withheld ? 'withheld' : 'suppressed') });
  return h('span', { class: ['sup', withheld && 'sup--withheld'], dataset: { kind } }, btn, tip);
}

/** The marker for a hidden cell. */
export function markerFor(c, key = null) {
  return suppressedMarker(key, c.suppressed ? 'suppressed' : 'withheld');
}

/** Re-applies the markers' texts after a language change. */
export function relabelMarkers(root = document) {
  for (const m of root.querySelectorAll('.sup')) {
    const withheld = m.dataset.kind === 'withheld';
    m.querySelector('.sup__btn').textContent = t(withheld ? 'withheld' : 'suppressed');
    m.querySelector('.sup__tip').textContent = t(withheld ? 'withheld.note' : 'suppressed.note');
  }
}

/**
 * Puts a cell's display into 'el': the formatted number, or the marker of
 * a hidden value, or the 'none' text. A marker of the same kind already
 * there is kept (so a live update does not take the keyboard focus away).
 */
export function setCell(el, c, format, key = null) {
  if (hiddenCell(c)) {
    const kind = c.suppressed ? 'suppressed' : 'withheld';
    const m = el.childElementCount === 1 ? el.firstElementChild : null;
    if (m && m.classList.contains('sup') && m.dataset.kind === kind) return;
    el.replaceChildren(suppressedMarker(key, kind));
    return;
  }
  const s = c.v == null ? t('patient.none') : format(c.v);
  if (el.childElementCount === 0 && el.textContent === s) return;
  el.textContent = s;
}

/** The cell as plain text ("<5", or a dash when withheld), for
 * announcements. */
export function cellText(c, format) {
  if (c.suppressed) return t('suppressed');
  return c.v == null ? t('patient.none') : format(c.v);
}

/** Escape hides the explanation under the pointer or the focus (WCAG
 * 1.4.13: dismissible) until the pointer leaves or the focus moves. */
export function installMarkerDismiss(doc = document) {
  doc.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    for (const m of doc.querySelectorAll('.sup:hover, .sup:focus-within')) m.classList.add('sup--dismissed');
  });
  const undismiss = (e) => {
    const m = e.target instanceof Element ? e.target.closest('.sup') : null;
    if (m) m.classList.remove('sup--dismissed');
  };
  doc.addEventListener('focusout', undismiss);
  doc.addEventListener('mouseout', (e) => {
    const m = e.target instanceof Element ? e.target.closest('.sup') : null;
    if (m && !(e.relatedTarget instanceof Node && m.contains(e.relatedTarget))) m.classList.remove('sup--dismissed');
  });
}
