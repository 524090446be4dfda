// REST client for the engine. One choke point for: the base URL, the bearer token,
// JSON encoding, turning {"error","code"} bodies into ApiError, and the 401 -> ask for a
// token -> retry loop. The token prompt appears only when the engine actually answers 401,
// so a --no-auth engine never shows it.

import { config } from "./config.js";
import { getToken, requestToken } from "./auth.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status; // 0 = network failure
    this.code = code;
  }
}

function url(path, query) {
  const u = new URL(config.apiBase + path, location.origin);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, String(v));
    }
  }
  return u.pathname + u.search;
}

export function authHeaders() {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Low-level request; returns {data, response}. Retries once per fresh token after a 401. */
export async function request(method, path, { query, body, signal } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { Accept: "application/json", ...authHeaders() };
    const init = { method, headers, signal };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url(path, query), init);
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new ApiError(0, "unreachable", "The engine is not reachable.");
    }
    if (response.status === 401 && attempt < 3) {
      // Wait for the operator to supply a token (shared prompt), then try again.
      await requestToken(getToken() ? "The engine rejected the token. Enter a valid one." : null);
      continue;
    }
    const data = await readBody(response);
    if (!response.ok) {
      const message = (data && typeof data === "object" && data.error) || response.statusText || `HTTP ${response.status}`;
      const code = (data && typeof data === "object" && data.code) || `http_${response.status}`;
      throw new ApiError(response.status, code, message);
    }
    return { data, response };
  }
}

async function readBody(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const api = {
  get: async (path, query, opts) => (await request("GET", path, { query, ...opts })).data,
  post: async (path, body, query) => (await request("POST", path, { body: body ?? {}, query })).data,
  patch: async (path, body, query) => (await request("PATCH", path, { body, query })).data,
  del: async (path, query) => (await request("DELETE", path, { query })).data,
  /** A paged list: the rows plus the X-Total-Count header (null when absent). */
  async list(path, query, opts) {
    const { data, response } = await request("GET", path, { query, ...opts });
    const total = response.headers.get("X-Total-Count");
    return { items: Array.isArray(data) ? data : [], total: total === null ? null : Number(total) };
  },
};

/** Encode one path segment (workflow ids may hold '/', '?', '#'). */
export const seg = (s) => encodeURIComponent(String(s));
