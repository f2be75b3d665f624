// api.js -- the JSON API client: one function per endpoint the page uses.
//
// Errors become ApiError with the HTTP status and, when the server sent one,
// its message in fi/sv/en ("i18n") so the page can show it in the user's
// language. A network failure is an ApiError with status 0.

export class ApiError extends Error {
  constructor(status, message, i18n = null, code = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.i18n = i18n;
    this.code = code;
  }
}

async function getJSON(path, { signal } = {}) {
  let res;
  try {
    res = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin', signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, `cannot reach '${path}'`);
  }
  let body = null;
  const text = await res.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch (e) {
      body = null;
    }
  }
  if (!res.ok) {
    const errObj = body && typeof body === 'object' ? body : {};
    const inner = errObj.error && typeof errObj.error === 'object' ? errObj.error : errObj;
    const message = typeof inner.message === 'string' ? inner.message : typeof errObj.error === 'string' ? errObj.error : `HTTP ${res.status}`;
    throw new ApiError(res.status, message, inner.i18n || errObj.i18n || null, inner.code || errObj.code || null);
  }
  if (body === null) throw new ApiError(res.status, `'${path}' did not return JSON`);
  return body;
}

function q(unit) {
  return unit ? `?unit=${encodeURIComponent(unit)}` : '';
}

/** GET /api/v1/units: the organisation tree. */
export function fetchUnits(opts) {
  return getJSON('/api/v1/units', opts);
}

/** GET /api/v1/bedboard[?unit=ID]: the bed board of the wards under a unit. */
export function fetchBedboard(unit, opts) {
  return getJSON(`/api/v1/bedboard${q(unit)}`, opts);
}

/** GET /api/v1/flow?unit=ID: patient-flow figures for a unit. */
export function fetchFlow(unit, opts) {
  return getJSON(`/api/v1/flow${q(unit)}`, opts);
}

export const STREAM_URL = '/api/v1/stream';
