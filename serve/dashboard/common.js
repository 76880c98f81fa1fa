// Shared by the dashboard's modules: the API client, DOM building and formatting.

// The API token: in memory only (dashboard.js may also keep it in sessionStorage when
// asked). Sent as the Authorization header of POST and DELETE requests, never in a URL.
let token = '';
export function setToken(value) { token = value; }

// An API error: the HTTP status and the server's {"error", "detail"}.
export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && typeof body === 'object'
      ? `${body.error || 'error'}: ${body.detail || ''}` : String(body || '');
    super(status === 401 ? `401 ${detail} (enter the API token above)` : `${status} ${detail}`);
    this.status = status;
  }
}

// method path [body] -> the parsed JSON answer; throws ApiError for a non-2xx answer
// and TypeError when the server cannot be reached.
export async function api(method, path, body) {
  const headers = {Accept: 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, {
    method, headers, cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

export const enc = encodeURIComponent;
export const $ = (selector) => document.querySelector(selector);

// el('td', {class: 'num'}, 'text', childNode, ...): text goes in as text, never HTML.
export function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(n.dataset, v);
    else n.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return n;
}

// A number for a table: up to `digits` significant digits; '–' when absent.
export function num(value, digits = 4) {
  if (value === undefined || value === null || !Number.isFinite(Number(value))) return '–';
  const v = Number(value);
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e7 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(digits)));
}

// A fitness value; the engine scores a set breaking a constraint kInfeasible (-1e9) +
// its score.
export function fitness(value) {
  if (Number.isFinite(value) && value <= -1e8) return 'infeasible';
  return num(value);
}

// Seconds as "45 s", "3 min 05 s", "2 h 07 min".
export function duration(seconds) {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`;
}

// Replaces the <dt>/<dd> pairs of `dl` with [[label, value, title?], ...].
export function tiles(dl, pairs) {
  dl.replaceChildren(...pairs.map(([label, value, title]) =>
    el('div', {title}, el('dt', {}, label), el('dd', {}, value))));
}

// Replaces the rows of `tbody` with `rows`, arrays of cell values (numbers right-aligned).
export function fillRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => el('tr', {}, ...cells.map((c) =>
    c instanceof Node ? el('td', {}, c)
      : el('td', {class: typeof c === 'number' ? 'num' : undefined},
           typeof c === 'number' ? num(c) : c)))));
}

// "fast=6, slow=50" from {"fast": 6, "slow": 50}.
export function params(p) {
  if (!p || typeof p !== 'object') return p === undefined || p === null ? '' : String(p);
  return Object.entries(p).map(([k, v]) => `${k}=${typeof v === 'number' ? num(v) : v}`)
    .join(', ');
}

// Sets `message` (a status element) to `text` as ok or error.
export function say(message, text, ok = true) {
  message.textContent = text;
  message.classList.toggle('error', !ok);
  message.classList.toggle('ok', ok);
}
