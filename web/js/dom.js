// dom.js -- small DOM helpers. No innerHTML with data: every text goes in
// through textContent, so names and codes from the API cannot inject markup.
// No style attributes either (the CSP forbids them); looks come from classes.

/**
 * Creates an element. attrs: class, text, hidden, dataset {..}, on {event: fn},
 * any other key is set as an attribute (null/false leaves it out).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'hidden') el.hidden = !!v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces all children of 'el'. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** Sets textContent only when it changed (keeps screen readers calm). */
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

/** Sets an attribute only when it changed. */
export function setAttr(el, name, value) {
  const s = String(value);
  if (el.getAttribute(name) !== s) el.setAttribute(name, s);
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** A decorative inline SVG icon from a path string. */
export function icon(pathD, cls = 'icon') {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', cls);
  const p = document.createElementNS(SVG_NS, 'path');
  p.setAttribute('d', pathD);
  svg.append(p);
  return svg;
}

/**
 * Runs 'fn' (which may rebuild parts of the page) and puts the keyboard focus
 * back where it was: on the same element if it survived, else on the element
 * carrying the same data-focus-key.
 */
export function keepFocus(fn) {
  const active = document.activeElement;
  const key = active && active !== document.body ? active.closest('[data-focus-key]')?.dataset.focusKey : null;
  const r = fn();
  const restore = () => {
    if (active && active.isConnected) {
      if (document.activeElement !== active) active.focus({ preventScroll: true });
      return;
    }
    if (key) {
      const el = document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
      if (el) el.focus({ preventScroll: true });
    }
  };
  if (r && typeof r.then === 'function') return r.then((v) => (restore(), v));
  restore();
  return r;
}

/** A stable, valid element id from any string. */
export function domId(prefix, s) {
  let hsh = 0;
  for (const ch of String(s)) hsh = (Math.imul(hsh, 31) + ch.codePointAt(0)) | 0;
  const safe = String(s).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
  return `${prefix}-${safe}-${(hsh >>> 0).toString(36)}`;
}
