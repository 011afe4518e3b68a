// Destinations and their syncs: schedule, last run, run history with counts and errors, dead letters.
import { api } from "../api.js";
import { fmtNumber, fmtTime, h, notice, replace } from "../dom.js";

const num = (v) => (v === null || v === undefined ? "–" : fmtNumber(v));

export async function destinationsView(main, { scope }) {
  const [{ destinations }, { syncs }, { segments }] = await Promise.all([
    api("/v1/destinations"), api("/v1/syncs"), api("/v1/segments")]);
  const segmentName = Object.fromEntries(segments.map((s) => [s.id, s.name]));
  const status = h("div", { "aria-live": "polite" });
  replace(main,
    h("h1", {}, "Destinations"),
    status,
    destinations.length ? null : h("p", { class: "empty" }, "No destinations yet. Create them with POST /v1/destinations (see the README)."),
    destinations.map((d) => {
      const mine = syncs.filter((s) => s.destinationId === d.id);
      return h("section", { class: "card destination", "aria-labelledby": `dest-${d.id}`, "data-testid": "destination" },
        h("div", { class: "section-head" },
          h("h2", { id: `dest-${d.id}` }, d.name, " ", h("span", { class: "badge" }, d.type)),
          h("span", { class: "meta" }, d.enabled === false ? "disabled" : "enabled")),
        mine.length ? mine.map((s) => syncPanel(s, segmentName, scope, status)) : h("p", { class: "empty" }, "No sync uses this destination."));
    }));
}

function syncPanel(sync, segmentName, scope, status) {
  const runsBox = h("div", { class: "runs" });
  const schedule = sync.schedule ? (sync.schedule.cron ? `cron ${sync.schedule.cron}` : `every ${sync.schedule.intervalSeconds} s`) : "manual only";
  const runNow = h("button", { type: "button", disabled: scope !== "admin", onclick: async () => {
    try {
      const r = await api(`/v1/syncs/${encodeURIComponent(sync.id)}/run`, { method: "POST" });
      replace(status, notice("ok", `Run ${r.run.id} queued for ${segmentName[sync.segmentId] || sync.segmentId}.`));
      await loadRuns(runsBox, sync);
    } catch (err) {
      replace(status, notice("error", err.message));
    }
  } }, "Run now");
  const panel = h("div", { class: "sync", "data-testid": "sync" },
    h("h3", {}, "Segment ", h("a", { href: `#/segments/${encodeURIComponent(sync.segmentId)}` }, segmentName[sync.segmentId] || sync.segmentId)),
    h("p", { class: "meta" }, `${schedule} · ${sync.enabled === false ? "paused" : "active"} · last run ${sync.lastRunStatus || "never"}${sync.lastRunAt ? ` at ${fmtTime(sync.lastRunAt)}` : ""} · last success ${fmtTime(sync.lastSuccessAt)}`),
    h("div", { class: "actions" }, runNow),
    runsBox);
  loadRuns(runsBox, sync).catch((err) => replace(runsBox, notice("error", err.message)));
  return panel;
}

async function loadRuns(box, sync) {
  const [{ runs }, { deadLetters }] = await Promise.all([
    api(`/v1/syncs/${encodeURIComponent(sync.id)}/runs`, { query: { limit: 10 } }),
    api(`/v1/syncs/${encodeURIComponent(sync.id)}/dead-letters`, { query: { limit: 20 } })]);
  replace(box,
    runs.length ? h("table", { "data-testid": "runs-table" },
      h("caption", {}, "Recent runs"),
      h("thead", {}, h("tr", {}, ["Status", "Trigger", "Started", "Duration", "Added", "Removed", "Failed", "Errors"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, runs.map((r) => h("tr", { class: `run-${r.status}` },
        h("td", {}, h("span", { class: `badge status-${r.status}` }, r.status)),
        h("td", {}, r.trigger || "–"),
        h("td", {}, fmtTime(r.startedAt || r.createdAt)),
        h("td", {}, r.durationMs === null || r.durationMs === undefined ? "–" : `${(r.durationMs / 1000).toFixed(1)} s`),
        h("td", { class: "num" }, num(r.added)), h("td", { class: "num" }, num(r.removed)), h("td", { class: "num" }, num(r.failed)),
        h("td", { class: "errors" }, (r.errors || []).length ? h("ul", {}, r.errors.map((e) => h("li", {}, typeof e === "string" ? e : JSON.stringify(e)))) : "–")))))
      : h("p", { class: "empty" }, "No runs yet."),
    deadLetters.length ? h("details", { open: true }, h("summary", {}, `${deadLetters.length} dead letter(s): items the destination refused`),
      h("table", { "data-testid": "dead-letters" },
        h("thead", {}, h("tr", {}, ["At", "Operation", "Profile", "Error"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, deadLetters.map((d) => h("tr", {}, h("td", {}, fmtTime(d.at)), h("td", {}, d.op),
          h("td", {}, h("a", { href: `#/profiles/${encodeURIComponent(d.profileId)}` }, String(d.profileId).slice(0, 8))),
          h("td", {}, d.error)))))) : null);
}
