// i18n.js -- message catalogues (fi, sv, en) and language-aware formatting.
//
// Every text on the page comes from /static/i18n/<lang>.json. A message is a
// string with {name} placeholders, or an object of Intl.PluralRules
// categories ("one", "other", ...) chosen by the parameter n. Numbers, dates
// and times are formatted with Intl for fi-FI, sv-FI and en-GB; clock times
// are shown in Finnish time (Europe/Helsinki) whatever the browser's zone.
// The chosen language is remembered in localStorage.

export const LANGS = ['fi', 'sv', 'en'];
export const DEFAULT_LANG = 'fi';
const LOCALES = { fi: 'fi-FI', sv: 'sv-FI', en: 'en-GB' };
const STORAGE_KEY = 'tilannekuva.lang';
const ZONE = 'Europe/Helsinki';

const catalogues = new Map();
let lang = DEFAULT_LANG;
let messages = {};
let plural = new Intl.PluralRules(LOCALES[lang]);
let fmtCache = new Map();

export function currentLang() {
  return lang;
}

export function locale() {
  return LOCALES[lang];
}

/** The language remembered in localStorage, or the default. */
export function storedLang() {
  try {
    const v = window.localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(v)) return v;
  } catch (e) {
    /* storage disabled: fall back to the default */
  }
  return DEFAULT_LANG;
}

async function loadCatalogue(l) {
  if (catalogues.has(l)) return catalogues.get(l);
  const res = await fetch(`/static/i18n/${l}.json`, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`cannot load catalogue '${l}': HTTP ${res.status}`);
  const cat = await res.json();
  catalogues.set(l, cat);
  return cat;
}

/** Switches to 'l' (loading its catalogue), remembers it and sets <html lang>. */
export async function setLang(l, { remember = true } = {}) {
  if (!LANGS.includes(l)) l = DEFAULT_LANG;
  messages = await loadCatalogue(l);
  lang = l;
  plural = new Intl.PluralRules(LOCALES[l]);
  fmtCache = new Map();
  document.documentElement.lang = l;
  if (remember) {
    try {
      window.localStorage.setItem(STORAGE_KEY, l);
    } catch (e) {
      /* not remembered; the switch still works for this page */
    }
  }
}

function interpolate(s, params) {
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

/** The message 'key' in the current language with {params} filled in. */
export function t(key, params = {}) {
  let m = messages[key];
  if (m === undefined) return key;
  if (typeof m === 'object' && m !== null) {
    const cat = typeof params.n === 'number' ? plural.select(params.n) : 'other';
    m = m[cat] ?? m.other ?? '';
  }
  const shown = { ...params };
  if (typeof shown.n === 'number') shown.n = num(shown.n);
  return interpolate(m, shown);
}

/**
 * The message 'key' as a list of strings and nodes: like t(), but a
 * parameter may be a DOM node (e.g. a "<5" marker), put in place as is.
 */
export function tParts(key, params = {}) {
  let m = messages[key];
  if (m === undefined) return [key];
  if (typeof m === 'object' && m !== null) {
    const cat = typeof params.n === 'number' ? plural.select(params.n) : 'other';
    m = m[cat] ?? m.other ?? '';
  }
  const out = [];
  let last = 0;
  for (const x of m.matchAll(/\{(\w+)\}/g)) {
    if (!(x[1] in params)) continue;
    if (x.index > last) out.push(m.slice(last, x.index));
    const v = params[x[1]];
    out.push(typeof v === 'number' ? num(v) : v);
    last = x.index + x[0].length;
  }
  if (last < m.length) out.push(m.slice(last));
  return out;
}

/** A localised name from {fi, sv, en} (falls back to Finnish, then any). */
export function nameOf(name) {
  if (name == null) return '';
  if (typeof name === 'string') return name;
  return name[lang] || name.fi || name.sv || name.en || '';
}

/** The API's error message in the current language, when it has one. */
export function apiMessage(i18n) {
  if (!i18n || typeof i18n !== 'object') return null;
  const m = i18n[lang] || i18n.fi || i18n.en;
  // The server's messages start in lower case (they also go to logs).
  return typeof m === 'string' && m ? m.charAt(0).toLocaleUpperCase(LOCALES[lang]) + m.slice(1) : null;
}

function fmt(kind, opts) {
  const key = kind + JSON.stringify(opts);
  let f = fmtCache.get(key);
  if (!f) {
    f = kind === 'n' ? new Intl.NumberFormat(LOCALES[lang], opts) : new Intl.DateTimeFormat(LOCALES[lang], opts);
    fmtCache.set(key, f);
  }
  return f;
}

/** A number (integers as is, others with up to 'digits' decimals). */
export function num(n, digits = 1) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return t('patient.none');
  return fmt('n', { maximumFractionDigits: digits }).format(n);
}

/** A percentage given as 0-100 (e.g. 92.5 -> "92,5 %"). */
export function pct(p, digits = 0) {
  if (typeof p !== 'number' || !Number.isFinite(p)) return t('patient.none');
  return fmt('n', { style: 'percent', maximumFractionDigits: digits }).format(p / 100);
}

function parseDate(v) {
  if (v == null || v === '') return null;
  if (v instanceof Date) return { date: v, dateOnly: false };
  if (typeof v === 'number') return { date: new Date(v), dateOnly: false };
  const s = String(v);
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (m) return { date: new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], 12)), dateOnly: true };
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : { date: d, dateOnly: false };
}

/** A calendar date ("23.11.2026"). Date-only strings are not shifted by zones. */
export function date(v, { short = false } = {}) {
  const p = parseDate(v);
  if (!p) return t('patient.none');
  const opts = short ? { day: 'numeric', month: 'numeric' } : { day: 'numeric', month: 'numeric', year: 'numeric' };
  opts.timeZone = p.dateOnly ? 'UTC' : ZONE;
  return fmt('d', opts).format(p.date);
}

/** A clock time with seconds ("14:05:09"). */
export function time(v, { seconds = true } = {}) {
  const p = parseDate(v);
  if (!p) return t('patient.none');
  const opts = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: ZONE };
  if (seconds) opts.second = '2-digit';
  return fmt('d', opts).format(p.date);
}

/** A date with the time when the value has one ("23.11.2026 14:05"). */
export function dateTime(v) {
  const p = parseDate(v);
  if (!p) return t('patient.none');
  if (p.dateOnly) return date(v);
  return `${date(v)} ${time(v, { seconds: false })}`;
}

/** An hour of day 0-23 as "14:00". */
export function hour(h) {
  return `${String(h).padStart(2, '0')}:00`;
}

/** Today's date in Finnish time as YYYY-MM-DD. */
export function todayIso() {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  return parts;
}

/** Applies data-i18n (text) and data-i18n-aria-label attributes under 'root'. */
export function applyStatic(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
}
