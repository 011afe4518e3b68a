// One profile: identifiers, traits, computed traits, timeline, identity graph with merge evidence,
// history, and the split action.
import { api, ApiError, ref } from "../api.js";
import { fmtNumber, fmtTime, h, notice, replace, rerender, table, takeNotice } from "../dom.js";
import { describeEdge, identityGraph } from "./graph.js";

const fmtValue = (v) => (typeof v === "string" ? v : JSON.stringify(v));

export async function profileView(main, { args: [profileRef], scope }) {
  const [doc, graph, history] = await Promise.all([
    api(`/v1/profiles/${ref(profileRef)}`),
    api(`/v1/profiles/${ref(profileRef)}/graph`),
    api(`/v1/profiles/${ref(profileRef)}/history`),
  ]);
  let selected = [];
  const splitStatus = h("div", { "aria-live": "polite", id: "split-status" }, takeNotice());
  const splitButton = h("button", { type: "button", class: "danger", id: "split-button", disabled: true,
    onclick: () => openSplit() }, "Split selected off…");
  const checkboxes = new Map();
  const onSelect = (ids) => {
    selected = ids;
    for (const [id, box] of checkboxes) box.checked = ids.includes(id);
    splitButton.disabled = !ids.length || scope !== "admin";
    splitButton.textContent = ids.length ? `Split ${ids.length} selected off…` : "Split selected off…";
  };
  const drawn = identityGraph(graph, { onSelect });

  const identifierRows = doc.identifiers.map((i) => {
    const id = `${i.type}:${i.value}`;
    const box = h("input", { type: "checkbox", id: `sel-${id}`, "aria-label": `Select ${id} for a split`,
      onchange: () => {
        const next = box.checked ? [...selected, id] : selected.filter((s) => s !== id);
        drawn.select(next);
        onSelect(next);
      } });
    checkboxes.set(id, box);
    return h("tr", {}, h("td", {}, box), h("td", {}, h("span", { class: `chip chip-${i.type}` }, i.type)),
      h("td", { class: "mono" }, i.value), h("td", {}, fmtTime(i.firstSeen)), h("td", {}, fmtTime(i.lastSeen)));
  });

  const dialog = splitDialog(doc, () => selected);
  const openSplit = () => dialog.open();

  const timeline = h("section", { class: "card", "aria-labelledby": "timeline-title" });
  replace(main,
    h("div", { class: "page-head" },
      h("h1", {}, "Profile ", h("span", { class: "mono", "data-testid": "profile-id" }, doc.id)),
      h("p", { class: "meta" }, `${fmtNumber(doc.eventCount)} events · sources ${doc.sources.join(", ") || "–"} · first seen ${fmtTime(doc.firstSeen)} · last seen ${fmtTime(doc.lastSeen)}`),
      h("p", { class: "meta", "data-testid": "profile-segments" }, "Segments: ",
        ...(doc.segments.length ? doc.segments.flatMap((m, n) => [n ? ", " : "",
          h("a", { href: `#/segments/${encodeURIComponent(m.id)}`, title: `member since ${fmtTime(m.since)}` }, m.name)])
          : ["none"]))),
    h("div", { class: "columns" },
      h("section", { class: "card", "aria-labelledby": "traits-title" },
        h("h2", { id: "traits-title" }, "Traits"),
        table(["Trait", "Value", "Set at", "Source"], Object.entries(doc.traits).map(([name, t]) =>
          [name, fmtValue(t.value), fmtTime(t.setAt), t.source]), "traits-table", "No traits yet.")),
      h("section", { class: "card", "aria-labelledby": "computed-title" },
        h("h2", { id: "computed-title" }, "Computed traits"),
        computed(doc.computedTraits))),
    h("section", { class: "card", "aria-labelledby": "graph-title" },
      h("div", { class: "section-head" }, h("h2", { id: "graph-title" }, "Identity graph"),
        h("div", { class: "actions" }, splitButton)),
      h("p", { class: "hint" }, "Hover a link to see the message that joined two identifiers. Select identifiers (click, or the checkboxes) to split them and their events into a new profile."),
      drawn.element,
      splitStatus,
      h("h3", {}, "Identifiers"),
      h("table", { "data-testid": "identifiers-table" },
        h("thead", {}, h("tr", {}, ["Select", "Type", "Value", "First seen", "Last seen"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, identifierRows)),
      h("h3", {}, "Evidence"),
      table(["From", "To", "Why"], graph.edges.filter((e) => e.kind !== "belongs_to").map((e) =>
        [e.source, e.target, describeEdge(e).filter(Boolean).join(", ")]), "evidence-table", "No links: a single identifier.")),
    historySection(history),
    timeline,
    dialog.element);
  await timelineSection(timeline, doc.id);
}

function computed(c) {
  const rows = [["Page views", fmtNumber(c.pageViews)], ["Screen views", fmtNumber(c.screenViews)],
    ["Conversions", fmtNumber(c.conversions)],
    ...Object.entries(c.eventCounts).map(([name, n]) => [`${name} (count)`, `${fmtNumber(n)} · last ${fmtTime(c.lastEvent[name])}`])];
  return table(["Computed trait", "Value"], rows, "computed-table", "");
}

function historySection(history) {
  const items = [
    ...history.merges.map((m) => ({ at: m.at, text: `Profile ${m.profileId.slice(0, 8)} merged into ${m.into.slice(0, 8)} by message ${m.messageId || "–"}${m.reason ? ` (${m.reason})` : ""}` })),
    ...history.splits.map((s) => ({ at: s.at, text: `Split: ${(s.identifiers || []).join(", ")} moved from ${s.splitFrom.slice(0, 8)} to ${s.profileId.slice(0, 8)} (${s.reason || "manual"})` })),
    ...history.moves.map((m) => ({ at: m.at, text: `Moved ${m.identifier} from ${String(m.from).slice(0, 8)} to ${String(m.to).slice(0, 8)}${m.reason ? ` (${m.reason})` : ""}` })),
    ...history.refusals.map((r) => ({ at: r.firstAt, text: `Refused to join ${r.a} and ${r.b}: ${r.reason} (${r.count}×, first in ${r.firstMessageId})` })),
  ].sort((a, b) => String(b.at).localeCompare(String(a.at)));
  return h("section", { class: "card", "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, "History"),
    items.length ? h("ol", { class: "history", "data-testid": "history" }, items.map((i) =>
      h("li", {}, h("time", { datetime: i.at || "" }, fmtTime(i.at)), " ", i.text)))
      : h("p", { class: "empty" }, `Created ${fmtTime(history.createdAt)}; no merges, splits or refused joins.`));
}

async function timelineSection(section, profileId) {
  const list = h("ol", { class: "timeline", "data-testid": "timeline" });
  const typeSelect = h("select", { id: "timeline-type" },
    ["", "track", "identify", "page", "screen", "group", "alias"].map((t) => h("option", { value: t }, t || "all types")));
  const more = h("button", { type: "button", class: "more" }, "Older events");
  const problem = h("div", { "aria-live": "polite" });
  let cursor = null;
  let latest = 0; // a newer load (another filter) makes an older one's answer stale
  const load = async (reset) => {
    const mine = ++latest;
    more.disabled = true;
    try {
      const page = await api(`/v1/profiles/${ref(profileId)}/events`,
        { query: { limit: 25, cursor: reset ? null : cursor, type: typeSelect.value } });
      if (mine !== latest) return;
      if (reset) list.replaceChildren();
      for (const ev of page.events) list.append(eventItem(ev));
      if (!list.children.length) list.append(h("li", { class: "empty" }, "No events."));
      cursor = page.next;
      more.hidden = !cursor;
      problem.replaceChildren();
    } catch (err) {
      if (mine === latest) replace(problem, notice("error", err.message));
    } finally {
      if (mine === latest) more.disabled = false;
    }
  };
  more.addEventListener("click", () => load(false));
  typeSelect.addEventListener("change", () => load(true));
  replace(section,
    h("div", { class: "section-head" }, h("h2", { id: "timeline-title" }, "Timeline"),
      h("div", { class: "field-inline" }, h("label", { for: "timeline-type" }, "Show"), typeSelect)),
    list, more, problem);
  await load(true);
}

function eventItem(ev) {
  const title = ev.type === "track" ? ev.event : ev.type === "page" || ev.type === "screen" ? `${ev.type}: ${ev.name || ev.properties?.path || ""}` : ev.type;
  const detail = ev.properties || ev.traits;
  return h("li", { class: `event event-${ev.type}` },
    h("div", { class: "event-head" }, h("strong", {}, title), h("span", { class: "badge" }, ev.source),
      h("time", { datetime: ev.timestamp }, fmtTime(ev.timestamp))),
    h("div", { class: "event-meta mono" }, `${ev.identifier} · ${ev.messageId}`),
    detail && Object.keys(detail).length ? h("details", {}, h("summary", {}, ev.properties ? "properties" : "traits"),
      h("pre", {}, JSON.stringify(detail, null, 2))) : null);
}

function splitDialog(doc, getSelected) {
  const reason = h("input", { id: "split-reason", type: "text", value: "manual split", maxlength: 500 });
  const list = h("ul", {});
  const error = h("div", { "aria-live": "assertive" });
  const dialog = h("dialog", { "aria-labelledby": "split-title", id: "split-dialog" },
    h("form", { method: "dialog", onsubmit: async (e) => {
      e.preventDefault();
      try {
        const result = await api(`/v1/profiles/${ref(doc.id)}/split`, { method: "POST",
          body: { identifiers: getSelected(), reason: reason.value || "manual split" } });
        dialog.close();
        rerender(notice("ok", `Split done: ${getSelected().length} identifier(s) now form profile `,
          h("a", { href: `#/profiles/${ref(result.newProfileId)}`, "data-testid": "new-profile-link" }, result.newProfileId), "."));
      } catch (err) {
        replace(error, notice("error", err instanceof ApiError ? err.message : String(err)));
      }
    } },
    h("h2", { id: "split-title" }, "Split identifiers into a new profile"),
    h("p", {}, "These identifiers and the events seen with them move to a new profile. Evidence up to now can no longer re-join the two sides."),
    list,
    h("label", { for: "split-reason" }, "Reason"), reason, error,
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"),
      h("button", { type: "submit", class: "danger", id: "split-confirm" }, "Split"))));
  return {
    element: dialog,
    open() {
      replace(list, getSelected().map((id) => h("li", { class: "mono" }, id)));
      error.replaceChildren();
      dialog.showModal();
      reason.select();
    },
  };
}
