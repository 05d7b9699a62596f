// The API client: the key lives in sessionStorage only (gone when the tab closes, never in a URL), every
// error answer becomes an ApiError carrying the RFC 7807 problem's title and detail.
const KEY = "plugyard.apiKey";
const CALLER = "plugyard.caller"; // who the key is (workspace, role): shown at once on a reload, no round trip
// The API is where this file is served from, one level up (…/console/api.js → …/), so a stage's console
// talks to that stage's API whatever its base path.
export const API_BASE = new URL("../", import.meta.url);

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
  get caller() {
    const raw = sessionStorage.getItem(CALLER);
    return raw ? JSON.parse(raw) : null;
  },
  set caller(value) {
    if (value) sessionStorage.setItem(CALLER, JSON.stringify(value));
    else sessionStorage.removeItem(CALLER);
  },
};

export async function api(path, { method = "GET", body, query, key } = {}) {
  const url = new URL(path.replace(/^\//, ""), API_BASE);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  const token = key || session.key;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, { title: "The API cannot be reached", detail: String(err.message || err) });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const problem = data && typeof data === "object" ? data : { title: `HTTP ${response.status}`, detail: text.slice(0, 300) };
    throw new ApiError(response.status, problem);
  }
  return data;
}

// Every item of a paged listing, following next_token: for the workspace's own short lists the console shows whole.
export async function everyItem(path) {
  const items = [];
  let token = null;
  do {
    const page = await api(path, { query: { limit: 100, next_token: token } });
    items.push(...page.items);
    token = page.next_token;
  } while (token);
  return items;
}
