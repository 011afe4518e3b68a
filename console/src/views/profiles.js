// Profile search: identifier prefix or whole trait value, any case (GET /v1/profiles?q=).
import { api, ref } from "../api.js";
import { fmtTime, h, notice, replace } from "../dom.js";

export async function profilesView(main, { params }) {
  const q = params.get("q") || "";
  const input = h("input", { id: "q", type: "search", name: "q", value: q, autocomplete: "off",
    placeholder: "ann@, a user id prefix, or a trait value" });
  const results = h("section", { "aria-live": "polite", "aria-label": "Search results" });
  replace(main,
    h("h1", {}, "Profiles"),
    h("form", { role: "search", class: "search", onsubmit: (e) => {
      e.preventDefault();
      location.hash = `#/profiles?q=${encodeURIComponent(input.value.trim())}`;
    } },
    h("label", { for: "q" }, "Search profiles"), input, h("button", { type: "submit", class: "primary" }, "Search")),
    results);
  input.focus();
  if (!q) {
    results.append(h("p", { class: "hint" }, "Type the start of an email, user id, anonymous id or phone, or a whole trait value (any case). ",
      "An external id such as ", h("code", {}, "email:ann@example.com"), " opens the profile directly."));
    return;
  }
  if (/^(user_id|anonymous_id|email|phone):./.test(q)) {
    location.replace(`#/profiles/${ref(q)}`);
    return;
  }
  await showPage(results, q, null);
}

async function showPage(results, q, cursor) {
  const moreButton = results.querySelector(".more");
  if (moreButton) moreButton.disabled = true; // one page at a time
  let page;
  try {
    page = await api("/v1/profiles", { query: { q, cursor, limit: 25 } });
  } catch (err) {
    if (moreButton) moreButton.disabled = false;
    results.append(notice("error", err.message));
    return;
  }
  if (!cursor) results.replaceChildren();
  if (!page.profiles.length && !cursor) {
    results.append(notice("info", `No profile matches “${q}”.`));
    return;
  }
  let body = results.querySelector("tbody");
  if (!body) {
    body = h("tbody");
    results.append(h("table", { "data-testid": "profile-results" },
      h("thead", {}, h("tr", {}, ["Profile", "Identifiers", "First seen", "Last seen"].map((t) => h("th", { scope: "col" }, t)))),
      body));
  }
  for (const p of page.profiles) {
    body.append(h("tr", {},
      h("td", {}, h("a", { href: `#/profiles/${ref(p.id)}` }, p.id.slice(0, 8))),
      h("td", {}, p.identifiers.map((i) => h("span", { class: `chip chip-${i.type}` }, `${i.type}: ${i.value}`))),
      h("td", {}, fmtTime(p.firstSeen)),
      h("td", {}, fmtTime(p.lastSeen))));
  }
  results.querySelector(".more")?.remove();
  if (page.next) {
    results.append(h("button", { type: "button", class: "more", onclick: () => showPage(results, q, page.next) }, "More results"));
  }
}
