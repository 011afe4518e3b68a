// Destinations and their syncs: schedule, last run, run history with counts and errors, dead letters.
import { api } from "../api.js";
import { fmtNumber, fmtTime, h, notice, replace, rerender, takeNotice } from "../dom.js";

// A run under way: the last-run fields name finished runs only, so a deferred run shows here.
function activeRunText(run) {
  if (!run) return "";
  const retry = run.status === "deferred" && run.resumeAt ? `, retrying at ${fmtTime(run.resumeAt)}` : "";
  return ` · run ${run.status} (${run.trigger}${retry})`;
}

function interval(seconds) {
  for (const [unit, size] of [["day", 86400], ["h", 3600], ["min", 60]]) {
    if (seconds % size === 0) return `${seconds / size} ${unit}${unit === "day" && seconds !== size ? "s" : ""}`;
  }
  return `${seconds} s`;
}

const num = (v) => (v === null || v === undefined ? "–" : fmtNumber(v));

export async function destinationsView(main, { scope }) {
  const [{ destinations }, { syncs }, { segments }] = await Promise.all([
    api("/v1/destinations"), api("/v1/syncs"), api("/v1/segments")]);
  const segmentName = Object.fromEntries(segments.map((s) => [s.id, s.name]));
  const status = h("div", { "aria-live": "polite" }, takeNotice());
  const canWrite = scope === "admin";
  replace(main,
    h("h1", {}, "Destinations"),
    status,
    canWrite ? destinationForm() : null,
    destinations.length ? null : h("p", { class: "empty" }, "No destinations yet."),
    destinations.map((d) => {
      const mine = syncs.filter((s) => s.destinationId === d.id);
      return h("section", { class: "card destination", "aria-labelledby": `dest-${d.id}`, "data-testid": "destination" },
        h("div", { class: "section-head" },
          h("h2", { id: `dest-${d.id}` }, d.name, " ", h("span", { class: "badge" }, d.type)),
          h("span", { class: "meta" }, d.enabled === false ? "disabled" : "enabled")),
        mine.length ? mine.map((s) => syncPanel(s, segmentName, scope, status)) : h("p", { class: "empty" }, "No sync uses this destination."),
        canWrite ? syncForm(d, segments) : null);
    }));
}

// Per type: [config fields, secret fields]; a trailing "?" marks an optional one (app/destinations/models.py).
const SHAPES = {
  resend: [["audienceId"], ["apiKey"]],
  hubspot: [["membershipProperty?"], ["accessToken"]],
  facebook: [["audienceId", "adAccountId?"], ["accessToken", "appSecret?"]],
  webhook: [["url"], ["signingSecret"]],
};


function field(id, label, input) {
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

function destinationForm() {
  const name = h("input", { id: "dest-name", required: true, maxlength: 200 });
  const type = h("select", { id: "dest-type" }, Object.keys(SHAPES).map((t) => h("option", { value: t }, t)));
  const rate = h("input", { id: "dest-rate", type: "number", min: 0.1, step: "any", placeholder: "default" });
  const fields = h("div", { class: "form-row" });
  const error = h("div", { "aria-live": "assertive" });
  const inputs = {};
  const drawFields = () => {
    const [config, secrets] = SHAPES[type.value];
    for (const key of Object.keys(inputs)) delete inputs[key];
    replace(fields, [...config.map((f) => ["config", f]), ...secrets.map((f) => ["secrets", f])].map(([group, f]) => {
      const key = f.replace("?", "");
      const input = h("input", { id: `dest-${group}-${key}`, type: group === "secrets" ? "password" : "text",
        autocomplete: "off", required: !f.endsWith("?") });
      inputs[`${group}.${key}`] = input;
      return field(input.id, `${key}${f.endsWith("?") ? " (optional)" : ""}${group === "secrets" ? " (secret)" : ""}`, input);
    }));
  };
  type.addEventListener("change", drawFields);
  drawFields();
  return h("details", { class: "card", id: "add-destination" }, h("summary", {}, "Add a destination"),
    h("form", { class: "stack", onsubmit: async (e) => {
      e.preventDefault();
      const body = { name: name.value.trim(), type: type.value, config: {}, secrets: {} };
      for (const [path, input] of Object.entries(inputs)) {
        const [group, key] = path.split(".");
        if (input.value.trim()) body[group][key] = input.value.trim();
      }
      if (rate.value) body.rateLimit = { perSecond: Number(rate.value) };
      try {
        const created = await api("/v1/destinations", { method: "POST", body });
        rerender(notice("ok", `Destination “${created.name}” added; secrets are stored encrypted and never shown again.`));
      } catch (err) {
        replace(error, notice("error", err.message));
      }
    } },
    h("div", { class: "form-row" }, field("dest-name", "Name", name), field("dest-type", "Type", type),
      field("dest-rate", "Requests per second (optional)", rate)),
    fields, error,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Add destination"))));
}

function syncForm(dest, segments) {
  const id = (name) => `sync-${dest.id}-${name}`;
  const segment = h("select", { id: id("segment"), required: true },
    h("option", { value: "" }, "choose a segment…"), segments.map((s) => h("option", { value: s.id }, s.name)));
  const every = h("select", { id: id("schedule") },
    [["", "manually only"], ["900", "every 15 minutes"], ["3600", "every hour"], ["86400", "every day"], ["cron", "cron (UTC)…"]]
      .map(([value, label]) => h("option", { value }, label)));
  const cron = h("input", { id: id("cron"), placeholder: "*/30 * * * *", hidden: true, "aria-label": "Cron expression" });
  every.addEventListener("change", () => { cron.hidden = every.value !== "cron"; });
  const error = h("div", { "aria-live": "assertive" });
  return h("details", { class: "add-sync" }, h("summary", {}, `Sync a segment to ${dest.name}`),
    h("form", { onsubmit: async (e) => {
      e.preventDefault();
      const body = { segmentId: segment.value, destinationId: dest.id };
      if (every.value === "cron") body.schedule = { cron: cron.value.trim() };
      else if (every.value) body.schedule = { intervalSeconds: Number(every.value) };
      try {
        await api("/v1/syncs", { method: "POST", body });
        rerender(notice("ok", `Sync to ${dest.name} added.`));
      } catch (err) {
        replace(error, notice("error", err.message));
      }
    } },
    h("div", { class: "form-row" }, field(id("segment"), "Segment", segment), field(id("schedule"), "Schedule", every), cron),
    error,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Add sync"))));
}

function syncPanel(sync, segmentName, scope, status) {
  const runsBox = h("div", { class: "runs" });
  const schedule = sync.schedule ? (sync.schedule.cron ? `cron ${sync.schedule.cron} (UTC)` : `every ${interval(sync.schedule.intervalSeconds)}`) : "manual only";
  const runNow = h("button", { type: "button", disabled: scope !== "admin", onclick: async () => {
    try {
      const r = await api(`/v1/syncs/${encodeURIComponent(sync.id)}/run`, { method: "POST" });
      replace(status, notice("ok", `Run ${r.run.id} queued for ${segmentName[sync.segmentId] || sync.segmentId}.`));
      await loadRuns(runsBox, sync, scope, status);
    } catch (err) {
      replace(status, notice("error", err.message));
    }
  } }, "Run now");
  const panel = h("div", { class: "sync", "data-testid": "sync" },
    h("h3", {}, "Segment ", h("a", { href: `#/segments/${encodeURIComponent(sync.segmentId)}` }, segmentName[sync.segmentId] || sync.segmentId)),
    h("p", { class: "meta" }, `${schedule} · ${sync.enabled === false ? "paused" : "active"}${activeRunText(sync.activeRun)} · last run ${sync.lastRunStatus || "never"}${sync.lastRunAt ? ` at ${fmtTime(sync.lastRunAt)}` : ""} · last success ${fmtTime(sync.lastSuccessAt)}`),
    h("div", { class: "actions" }, runNow),
    runsBox);
  loadRuns(runsBox, sync, scope, status).catch((err) => replace(runsBox, notice("error", err.message)));
  return panel;
}

// Sends the sync's dead letters again, as the profiles are now (a run with trigger dead_letters).
function retryButton(box, sync, scope, status) {
  return h("button", { type: "button", disabled: scope !== "admin", onclick: async () => {
    try {
      const r = await api(`/v1/syncs/${encodeURIComponent(sync.id)}/dead-letters/retry`, { method: "POST" });
      replace(status, notice("ok", `Run ${r.run.id} queued to send the dead letters again.`));
      await loadRuns(box, sync, scope, status);
    } catch (err) {
      replace(status, notice("error", err.message));
    }
  } }, "Send dead letters again");
}

async function loadRuns(box, sync, scope, status) {
  const [{ runs }, { deadLetters }] = await Promise.all([
    api(`/v1/syncs/${encodeURIComponent(sync.id)}/runs`, { query: { limit: 10 } }),
    api(`/v1/syncs/${encodeURIComponent(sync.id)}/dead-letters`, { query: { limit: 20 } })]);
  replace(box,
    runs.length ? h("table", { "data-testid": "runs-table" },
      h("caption", {}, "Recent runs"),
      h("thead", {}, h("tr", {}, ["Status", "Trigger", "Started", "Duration", "Added", "Removed", "Updated", "Failed", "Errors"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, runs.map((r) => h("tr", { class: `run-${r.status}` },
        h("td", {}, h("span", { class: `badge status-${r.status}` }, r.status)),
        h("td", {}, r.trigger || "–"),
        h("td", {}, fmtTime(r.startedAt || r.createdAt)),
        h("td", {}, r.durationMs === null || r.durationMs === undefined ? "–" : `${(r.durationMs / 1000).toFixed(1)} s`),
        h("td", { class: "num" }, num(r.added)), h("td", { class: "num" }, num(r.removed)),
        h("td", { class: "num" }, num(r.updated)), h("td", { class: "num" }, num(r.failed)),
        h("td", { class: "errors" }, (r.errors || []).length ? h("ul", {}, r.errors.map((e) => h("li", {}, typeof e === "string" ? e : JSON.stringify(e)))) : "–")))))
      : h("p", { class: "empty" }, "No runs yet."),
    deadLetters.length ? h("details", { open: true }, h("summary", {}, `${deadLetters.length} dead letter(s): items the destination refused`),
      h("table", { "data-testid": "dead-letters" },
        h("thead", {}, h("tr", {}, ["At", "Operation", "Profile", "Error"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, deadLetters.map((d) => h("tr", {}, h("td", {}, fmtTime(d.at)), h("td", {}, d.op),
          h("td", {}, h("a", { href: `#/profiles/${encodeURIComponent(d.profileId)}` }, String(d.profileId).slice(0, 8))),
          h("td", {}, d.error))))),
      h("div", { class: "actions" }, retryButton(box, sync, scope, status))) : null);
}
