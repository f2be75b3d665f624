// api.js -- the JSON API client: one function per endpoint the page uses.
//
// Errors become ApiError with the HTTP status and, when the server sent one,
// its message in fi/sv/en ("i18n") so the page can show it in the user's
// language. A network failure is an ApiError with status 0.
//
// Authentication: the session is an HttpOnly cookie the browser sends by
// itself (same origin). Every state-changing request (POST, PUT, PATCH,
// DELETE) carries X-CSRF-Token from the principal (session.js). A 401 from
// any call but sign-in means the session has ended: the handler set with
// onUnauthorized() is told, once per call. Person-level bed-board rows are
// asked for with the header X-Access-Reason.

import { csrfToken } from './session.js';

export class ApiError extends Error {
  constructor(status, message, i18n = null, code = null, { field = null, retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.i18n = i18n;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

export const REASON_HEADER = 'X-Access-Reason';
export const CSRF_HEADER = 'X-CSRF-Token';

let unauthorizedHandler = null;

/** Sets the function called when a request answers 401 (session ended). */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

function retryAfterOf(res) {
  const v = res.headers.get('Retry-After');
  if (!v) return null;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
  const d = Date.parse(v);
  return Number.isNaN(d) ? null : Math.max(0, Math.ceil((d - Date.now()) / 1000));
}

async function request(method, path, { body, headers = {}, signal, auth = true } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = csrfToken();
    if (csrf) h[CSRF_HEADER] = csrf;
  }
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store', signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, `cannot reach '${path}'`);
  }
  let parsed = null;
  const text = await res.text();
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      parsed = null;
    }
  }
  if (!res.ok) {
    const errObj = parsed && typeof parsed === 'object' ? parsed : {};
    const inner = errObj.error && typeof errObj.error === 'object' ? errObj.error : errObj;
    const message = typeof inner.message === 'string' ? inner.message : typeof errObj.error === 'string' ? errObj.error : `HTTP ${res.status}`;
    const err = new ApiError(res.status, message, inner.i18n || errObj.i18n || null, inner.code || errObj.code || null, {
      field: typeof inner.field === 'string' ? inner.field : null,
      retryAfter: retryAfterOf(res),
    });
    if (res.status === 401 && auth && unauthorizedHandler) unauthorizedHandler(err);
    throw err;
  }
  if (parsed === null) throw new ApiError(res.status, `'${path}' did not return JSON`);
  return parsed;
}

function q(unit) {
  return unit ? `?unit=${encodeURIComponent(unit)}` : '';
}

/** POST /api/v1/session: signs in; resolves to the principal. A wrong
 * password is an ApiError 401 (not reported to onUnauthorized), throttling
 * 429 with retryAfter in seconds. */
export function signIn(user, password) {
  return request('POST', '/api/v1/session', { body: { user, password }, auth: false });
}

/** DELETE /api/v1/session: signs out (with the CSRF token). */
export function signOut() {
  return request('DELETE', '/api/v1/session', { auth: false });
}

/** GET /api/v1/me: the signed-in principal; ApiError 401 when there is none
 * (not reported to onUnauthorized: the caller asked who is signed in). */
export function fetchMe(opts = {}) {
  return request('GET', '/api/v1/me', { ...opts, auth: false });
}

/** GET /api/v1/units: the organisation tree. */
export function fetchUnits(opts) {
  return request('GET', '/api/v1/units', opts);
}

/**
 * GET /api/v1/bedboard[?unit=ID]: the bed board of the wards under a unit.
 * Without a reason: the aggregate board (counts only). With opts.reason (an
 * access-reason code): the person-level rows, for roles allowed them and a
 * unit in scope; the server records the view in the audit log.
 */
export function fetchBedboard(unit, opts = {}) {
  const { reason, ...rest } = opts;
  return request('GET', `/api/v1/bedboard${q(unit)}`, { ...rest, headers: reason ? { [REASON_HEADER]: reason } : {} });
}

/** GET /api/v1/flow?unit=ID: patient-flow figures for a unit. */
export function fetchFlow(unit, opts) {
  return request('GET', `/api/v1/flow${q(unit)}`, opts);
}

/** GET /api/v1/dashboards/NAME?QUERY: every panel of a view in one answer
 * ('query' is an encoded query string without the '?'). */
export function fetchDashboard(name, query, opts) {
  return request('GET', `/api/v1/dashboards/${encodeURIComponent(name)}${query ? `?${query}` : ''}`, opts);
}

/** GET /api/v1/indicators: the indicator catalogue (definitions). */
export function fetchIndicators(opts) {
  return request('GET', '/api/v1/indicators', opts);
}

export const STREAM_URL = '/api/v1/stream';
