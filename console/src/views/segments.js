// Segments: the list, and the editor (visual builder and text form side by side, live preview).
import { api, ApiError } from "../api.js";
import { debounce, fmtNumber, fmtTime, h, notice, replace } from "../dom.js";
import { Builder, fromDefinition, problems, toDefinition } from "./builder.js";

export async function segmentsView(main) {
  const { segments } = await api("/v1/segments");
  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, "Segments"), h("a", { class: "button primary", href: "#/segments/new" }, "New segment")),
    segments.length
      ? h("table", { "data-testid": "segments-table" },
        h("thead", {}, h("tr", {}, ["Name", "Definition", "Members", "Evaluated"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, segments.map((s) => h("tr", {},
          h("td", {}, h("a", { href: `#/segments/${encodeURIComponent(s.id)}` }, s.name)),
          h("td", { class: "mono small" }, s.text),
          h("td", { class: "num" }, fmtNumber(s.memberCount)),
          h("td", {}, fmtTime(s.evaluatedAt))))))
      : h("p", { class: "empty" }, "No segments yet. Build one from condition blocks with “New segment”."));
}

export async function segmentEditorView(main, { args: [segmentId = null], scope }) {
  const [existing, vocabulary, { segments }] = await Promise.all([
    segmentId ? api(`/v1/segments/${encodeURIComponent(segmentId)}`) : null,
    api("/v1/segments/vocabulary"),
    api("/v1/segments"),
  ]);
  const canWrite = scope === "admin";
  const count = h("output", { id: "preview-count", "aria-live": "polite", "aria-label": "Matching profiles" }, "–");
  const previewState = h("div", { id: "preview-state", "aria-live": "polite" });
  const sample = h("ul", { class: "sample", "data-testid": "preview-sample" });
  const text = h("textarea", { id: "segment-text", rows: 8, spellcheck: false, "aria-describedby": "text-help" }, existing?.text || "");
  const textStatus = h("div", { id: "text-status", "aria-live": "polite" });
  const name = h("input", { id: "segment-name", type: "text", required: true, maxlength: 200, value: existing?.name || "" });
  const description = h("input", { id: "segment-description", type: "text", maxlength: 2000, value: existing?.description || "" });
  const saveStatus = h("div", { id: "save-status", "aria-live": "polite" });
  let textDirty = false;
  let seq = 0;

  const builder = new Builder({
    root: fromDefinition(existing?.definition),
    vocabulary,
    segments: segments.filter((s) => s.id !== segmentId),
    onChange: () => {
      // A block change after an unapplied text edit was already warned about (below): the blocks win.
      if (textDirty && textStatus.textContent) { textDirty = false; textStatus.replaceChildren(); }
      schedulePreview();
    },
  });

  // Only a complete tree is sent; the newest answer wins when several are in flight.
  const preview = async () => {
    const mine = ++seq; // any answer still in flight is now stale, even if nothing is sent below
    const missing = problems(builder.root);
    if (missing.size) {
      count.textContent = "–";
      sample.replaceChildren();
      replace(previewState, notice("info", `${missing.size} block(s) to complete: ${[...new Set(missing.values())].join("; ")}.`));
      return;
    }
    previewState.replaceChildren(h("span", { class: "hint" }, "Counting…"));
    try {
      const result = await api("/v1/segments/preview", { method: "POST", body: { definition: toDefinition(builder.root), sample: 5 } });
      if (mine !== seq) return;
      count.textContent = fmtNumber(result.count);
      previewState.replaceChildren();
      replace(sample, result.sample.map((id) => h("li", {}, h("a", { href: `#/profiles/${encodeURIComponent(id)}` }, id.slice(0, 8)))));
      if (!textDirty && document.activeElement !== text) text.value = result.text;
      else if (textDirty) replace(textStatus, notice("info", "The text has edits not applied to the blocks: apply them, or they are replaced on the next change."));
    } catch (err) {
      if (mine !== seq) return;
      count.textContent = "–";
      replace(previewState, notice("error", err.message));
    }
  };
  const schedulePreview = debounce(preview, 250);

  const applyText = async () => {
    try {
      const result = await api("/v1/segments/preview", { method: "POST", body: { text: text.value, sample: 5 } });
      textDirty = false;
      builder.setRoot(fromDefinition(result.definition));
      text.value = result.text;
      replace(textStatus, notice("ok", "Blocks rebuilt from the text."));
      await preview();
    } catch (err) {
      const where = err instanceof ApiError && Number.isInteger(err.body.position) ? err.body.position : null;
      replace(textStatus, notice("error", err.message));
      if (where !== null) { text.focus(); text.setSelectionRange(where, where); }
    }
  };
  text.addEventListener("input", () => { textDirty = true; textStatus.replaceChildren(); });

  const save = async (event) => {
    event.preventDefault();
    if (problems(builder.root).size) {
      replace(saveStatus, notice("error", "Complete the highlighted blocks first."));
      return;
    }
    const body = { name: name.value.trim(), description: description.value.trim() || null, definition: toDefinition(builder.root) };
    try {
      const saved = segmentId
        ? await api(`/v1/segments/${encodeURIComponent(segmentId)}`, { method: "PUT", body })
        : await api("/v1/segments", { method: "POST", body });
      replace(saveStatus, notice("ok", `Saved; ${fmtNumber(saved.memberCount)} members.`));
      if (!segmentId) location.hash = `#/segments/${encodeURIComponent(saved.id)}`;
    } catch (err) {
      replace(saveStatus, notice("error", err.message));
    }
  };

  const remove = async () => {
    if (!window.confirm(`Delete the segment “${existing.name}”? Syncs using it must be deleted first.`)) return;
    try {
      await api(`/v1/segments/${encodeURIComponent(segmentId)}`, { method: "DELETE" });
      location.hash = "#/segments";
    } catch (err) {
      replace(saveStatus, notice("error", err.message));
    }
  };

  replace(main,
    h("div", { class: "page-head" },
      h("h1", {}, existing ? `Segment: ${existing.name}` : "New segment"),
      existing ? h("p", { class: "meta" }, `${fmtNumber(existing.memberCount)} members · evaluated ${fmtTime(existing.evaluatedAt)}`) : null),
    h("form", { class: "segment-meta card", onsubmit: save },
      h("div", { class: "field" }, h("label", { for: "segment-name" }, "Name"), name),
      h("div", { class: "field grow" }, h("label", { for: "segment-description" }, "Description"), description),
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary", id: "save-segment", disabled: !canWrite }, existing ? "Save changes" : "Save segment"),
        existing && canWrite ? h("button", { type: "button", class: "danger", onclick: remove }, "Delete") : null),
      saveStatus),
    h("div", { class: "editor" },
      builder.palette(),
      h("section", { class: "canvas", "aria-labelledby": "canvas-title" },
        h("h2", { id: "canvas-title" }, "Conditions"), builder.element),
      h("aside", { class: "side", "aria-label": "Preview and text form" },
        h("section", { class: "card preview" }, h("h2", {}, "Live preview"),
          h("div", { class: "big" }, count, h("span", {}, " profiles")), previewState, sample),
        h("section", { class: "card" }, h("h2", {}, h("label", { for: "segment-text" }, "Text form")),
          text,
          h("p", { id: "text-help", class: "hint" }, "e.g. ", h("code", {}, "traits.plan = 'pro' AND performed('Order Completed') >= 2 WITHIN 30 DAYS")),
          h("button", { type: "button", id: "apply-text", onclick: applyText }, "Apply text to blocks"),
          textStatus))));
  if (existing) main.append(await membersSection(existing));
  builder.render();
  await preview();
}

// The saved segment's members (paged by profile id) and its latest entries and exits.
async function membersSection(segment) {
  const id = encodeURIComponent(segment.id);
  const after = Math.max(0, segment.latestSeq - 20);
  const feed = await api(`/v1/segments/${id}/changes`, { query: { after, limit: 20 } });
  const body = h("tbody");
  const more = h("button", { type: "button", class: "more" }, "More members");
  let cursor = null;
  const problem = h("div", { "aria-live": "polite" });
  const load = async () => {
    more.disabled = true;
    let page;
    try {
      page = await api(`/v1/segments/${id}/members`, { query: { limit: 25, after: cursor } });
    } catch (err) {
      replace(problem, notice("error", err.message));
      return;
    } finally {
      more.disabled = false;
    }
    for (const m of page.members) {
      body.append(h("tr", {}, h("td", {}, h("a", { href: `#/profiles/${encodeURIComponent(m.profileId)}` }, m.profileId)),
        h("td", {}, fmtTime(m.since))));
    }
    cursor = page.next;
    more.hidden = !cursor;
  };
  more.addEventListener("click", load);
  await load();
  return h("div", { class: "columns" },
    h("section", { class: "card", "aria-labelledby": "members-title" },
      h("h2", { id: "members-title" }, `Members (${fmtNumber(segment.memberCount)})`),
      body.children.length
        ? h("table", { "data-testid": "members-table" },
          h("thead", {}, h("tr", {}, ["Profile", "Member since"].map((t) => h("th", { scope: "col" }, t)))), body)
        : h("p", { class: "empty" }, "No members."),
      more, problem),
    h("section", { class: "card", "aria-labelledby": "feed-title" },
      h("h2", { id: "feed-title" }, "Latest entries and exits"),
      feed.changes.length
        ? h("ol", { class: "history", reversed: true, "data-testid": "segment-feed" }, [...feed.changes].reverse().map((c) =>
          h("li", {}, h("time", {}, fmtTime(c.at)), " ", h("strong", {}, c.kind === "exit" ? "left" : "entered"), " ",
            h("a", { href: `#/profiles/${encodeURIComponent(c.profileId)}` }, c.profileId.slice(0, 8)))))
        : h("p", { class: "empty" }, "No changes yet.")));
}
