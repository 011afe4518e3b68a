// The admin console: a hash-routed single page over the /v1 API. Each view renders into <main>.
import { api, ApiError, token } from "./api.js";
import { h, notice, replace } from "./dom.js";
import { dashboardView } from "./views/dashboard.js";
import { destinationsView } from "./views/destinations.js";
import { profileView } from "./views/profile.js";
import { profilesView } from "./views/profiles.js";
import { segmentEditorView, segmentsView } from "./views/segments.js";

const routes = [
  [/^#\/$/, dashboardView, "Dashboard"],
  [/^#\/profiles$/, profilesView, "Profiles"],
  [/^#\/profiles\/(.+)$/, profileView, "Profile"],
  [/^#\/segments$/, segmentsView, "Segments"],
  [/^#\/segments\/new$/, segmentEditorView, "New segment"],
  [/^#\/segments\/(.+)$/, segmentEditorView, "Segment"],
  [/^#\/destinations$/, destinationsView, "Destinations"],
];

const NAV = [
  ["#/", "Dashboard"],
  ["#/profiles", "Profiles"],
  ["#/segments", "Segments"],
  ["#/destinations", "Destinations"],
];

const root = document.getElementById("app");
let scope = null;

function loginView() {
  const input = h("input", { id: "token", type: "password", name: "token", autocomplete: "current-password",
    required: true, placeholder: "admin token" });
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "login card", "aria-labelledby": "login-title",
    onsubmit: async (event) => {
      event.preventDefault();
      const value = input.value.trim();
      try {
        const who = await api("/v1/auth/whoami", { auth: value });
        token.set(value);
        scope = who.scope;
        route();
      } catch (err) {
        replace(status, notice("error", err instanceof ApiError && err.status === 401
          ? "That token is not known to this service." : `Could not sign in: ${err.message}`));
        input.select();
      }
    } },
  h("h1", { id: "login-title" }, "Graph CDP console"),
  h("input", { type: "text", name: "username", autocomplete: "username", value: "admin", hidden: true, "aria-hidden": "true" }),
  h("label", { for: "token" }, "Admin token"),
  input,
  h("button", { type: "submit", class: "primary" }, "Sign in"),
  status,
  h("p", { class: "hint" }, "Tokens are set with CDP_ADMIN_TOKENS. Read-scope tokens can look but not change."));
  replace(root, h("main", { id: "main", class: "login-page" }, form));
  document.title = "Sign in · Graph CDP";
  input.focus();
}

function shell(title) {
  const path = location.hash.split("?")[0];
  const nav = h("nav", { "aria-label": "Main" }, h("ul", {}, NAV.map(([href, label]) =>
    h("li", {}, h("a", { href, "aria-current": (href === "#/" ? path === "#/" : path.startsWith(href)) ? "page" : null }, label)))));
  const main = h("main", { id: "main", tabindex: "-1" });
  replace(root,
    h("a", { class: "skip", href: "#main", onclick: (e) => { e.preventDefault(); main.focus(); } }, "Skip to content"),
    h("header", { class: "top" },
      h("a", { class: "brand", href: "#/" }, "Graph CDP"),
      nav,
      h("span", { class: "scope", title: "token scope" }, scope ? `${scope} token` : ""),
      h("button", { type: "button", class: "link", onclick: () => { token.clear(); scope = null; loginView(); } }, "Sign out")),
    main);
  document.title = `${title} · Graph CDP`;
  return main;
}

async function route() {
  if (!token.get()) return loginView();
  if (!scope) {
    try {
      scope = (await api("/v1/auth/whoami")).scope;
    } catch {
      token.clear();
      return loginView();
    }
  }
  if (!location.hash || location.hash === "#") {
    location.replace("#/");
    return;
  }
  const [hash, queryString] = location.hash.split("?");
  for (const [pattern, view, title] of routes) {
    const match = hash.match(pattern);
    if (!match) continue;
    const main = shell(title);
    const params = new URLSearchParams(queryString || "");
    try {
      await view(main, { args: match.slice(1).map(decodeURIComponent), params, scope });
    } catch (err) {
      console.warn(err);
      main.append(notice("error", err.message));
    }
    return;
  }
  replace(shell("Not found"), h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to the dashboard")));
}

window.addEventListener("hashchange", route);
window.addEventListener("cdp:unauthorized", () => { token.clear(); scope = null; loginView(); });
route();
