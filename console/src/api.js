// The console's only way to the service: the public /v1 API with the admin token from login.
const TOKEN_KEY = "cdp.console.token";

export class ApiError extends Error {
  constructor(status, body) {
    super(ApiError.describe(status, body));
    this.status = status;
    this.body = body || {};
  }

  // "field: reason" for each error the API named, so the user sees exactly what to fix.
  static describe(status, body) {
    const errors = body && Array.isArray(body.errors) ? body.errors : [];
    if (errors.length) return errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join("; ");
    if (body && typeof body.message === "string") return body.message;
    if (body && typeof body.detail === "string") return body.detail;
    return `HTTP ${status}`;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export async function api(path, { method = "GET", body, query, auth = token.get() } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Accept: "application/json" };
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) {
    // The stored token stopped working (rotated): back to the login form. A login attempt is not that.
    if (response.status === 401 && auth && auth === token.get()) window.dispatchEvent(new CustomEvent("cdp:unauthorized"));
    throw new ApiError(response.status, data);
  }
  return data;
}

// Path segment for a profile reference such as "email:ann@x.io" (a user id may hold a slash).
export const ref = (value) => encodeURIComponent(value);
