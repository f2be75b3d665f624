// session.js -- who is signed in: role, scope, CSRF token and the chosen
// access reason.
//
// The principal is the body of POST /api/v1/session or GET /api/v1/me:
// {"user","role","scope":[unit ids],"person_level","csrf","expires_at",
// "reasons":[codes]}. It lives in memory only; the session itself is the
// HttpOnly cookie, which script never sees.
//
// Scope: a unit is in scope when it lies at or below one of the scope's
// units. The "home" unit is the county when it is in scope, else the first
// scope unit the organisation knows (a request for the county would be 403).
//
// The access reason for person-level views is asked once and remembered for
// the rest of the sign-in session, in every tab of it, until the user
// changes it: localStorage, keyed by the user and the session's expiry so
// that another session never inherits it (a code only, nothing personal).
// Signing out, or the session ending, forgets it.

import { isWithin } from './org.js';

const REASON_KEY = 'tilannekuva.reason';

/** Roles that the page knows names for (others show their code). */
export const ROLES = ['leader', 'analyst', 'unit_manager', 'coordinator', 'integration_admin', 'registrar', 'admin'];
/** Reason codes in the server's order, used when /me lists none. */
export const DEFAULT_REASONS = ['care', 'care_coordination', 'patient_safety', 'client_request', 'investigation'];

let current = null;
let memo = null; // the reason, also when localStorage is unavailable

/** Normalises a principal from the API; null when it is not one. */
export function normalisePrincipal(p) {
  if (!p || typeof p !== 'object' || typeof p.user !== 'string' || !p.user) return null;
  const scope = Array.isArray(p.scope) ? p.scope.filter((u) => typeof u === 'string' && u) : [];
  const reasons = Array.isArray(p.reasons) ? p.reasons.filter((r) => typeof r === 'string' && /^[a-z_]{1,40}$/.test(r)) : [];
  return {
    user: p.user,
    role: typeof p.role === 'string' ? p.role : '',
    scope,
    personLevel: p.person_level === true,
    csrf: typeof p.csrf === 'string' && p.csrf ? p.csrf : null,
    expiresAt: typeof p.expires_at === 'string' ? p.expires_at : null,
    reasons: reasons.length ? reasons : DEFAULT_REASONS.slice(),
  };
}

export function setPrincipal(p) {
  current = p ? normalisePrincipal(p) : null;
  return current;
}

export function principal() {
  return current;
}

export function csrfToken() {
  return current?.csrf ?? null;
}

/** True when the unit 'id' lies within the principal's scope. */
export function inScope(org, id, p = current) {
  if (!p || id == null) return false;
  if (!org.units.has(id)) return false;
  return p.scope.some((s) => org.units.has(s) && isWithin(org, id, s));
}

/** The scope's units the organisation knows, outermost first, no unit
 * listed twice or below another listed one. */
export function scopeUnits(org, p = current) {
  if (!p) return [];
  const known = p.scope.filter((s, i) => org.units.has(s) && p.scope.indexOf(s) === i);
  return known.filter((s) => !known.some((o) => o !== s && isWithin(org, s, o)));
}

/** The unit a view starts from: the county if in scope, else the first
 * scope unit; null when the scope names no known unit. */
export function homeUnit(org, p = current) {
  if (!p) return null;
  if (org.rootId != null && inScope(org, org.rootId, p)) return org.rootId;
  const units = scopeUnits(org, p);
  return units.length ? units[0] : null;
}

function sessionKey(p) {
  return `${p.user}\n${p.expiresAt ?? ''}`;
}

/** The remembered access reason of this session, or null. */
export function rememberedReason(p = current) {
  if (!p) return null;
  try {
    const v = JSON.parse(window.localStorage.getItem(REASON_KEY) || 'null');
    if (v && v.session === sessionKey(p) && p.reasons.includes(v.reason)) return v.reason;
  } catch (e) {
    /* nothing remembered */
  }
  return null;
}

/** Remembers 'reason' for this session (in memory too, for when storage
 * fails). */
export function rememberReason(reason, p = current) {
  if (!p) return;
  memo = { session: sessionKey(p), reason };
  try {
    window.localStorage.setItem(REASON_KEY, JSON.stringify(memo));
  } catch (e) {
    /* kept in memory only */
  }
}

/** The reason to send: remembered in storage, else in memory. */
export function currentReason(p = current) {
  if (!p) return null;
  const r = rememberedReason(p);
  if (r) return r;
  return memo && memo.session === sessionKey(p) && p.reasons.includes(memo.reason) ? memo.reason : null;
}

export function forgetReason() {
  memo = null;
  try {
    window.localStorage.removeItem(REASON_KEY);
  } catch (e) {
    /* nothing to forget */
  }
}
