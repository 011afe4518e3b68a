// Ingest volume per source over time, top track events and graph totals (GET /v1/stats/ingest).
import { api } from "../api.js";
import { fmtNumber, h, replace, table } from "../dom.js";

const WINDOWS = [["24", "Last 24 hours"], ["168", "Last 7 days"], ["720", "Last 30 days"]];
// Colour-blind-safe palette (Okabe-Ito); sources beyond it cycle.
const COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

export async function dashboardView(main, { params }) {
  const hours = params.get("hours") || "24";
  const stats = await api("/v1/stats/ingest", { query: { hours } });
  const picker = h("select", { id: "window", onchange: (e) => { location.hash = `#/?hours=${e.target.value}`; } },
    WINDOWS.map(([value, label]) => h("option", { value, selected: value === hours }, label)));
  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, "Dashboard"),
      h("div", { class: "field-inline" }, h("label", { for: "window" }, "Window"), picker)),
    h("section", { class: "cards", "aria-label": "Totals" },
      card("Live profiles", stats.totals.profiles, "totals-profiles"),
      card("Identifiers", stats.totals.identifiers, "totals-identifiers"),
      card("Events stored", stats.totals.events, "totals-events"),
      card("Events in window", stats.sources.reduce((n, s) => n + s.events, 0), "window-events")),
    h("section", { class: "card", "aria-labelledby": "volume-title" },
      h("h2", { id: "volume-title" }, `Events per source by event time (${stats.bucketHours === 1 ? "hourly" : "daily"}, UTC)`),
      volumeChart(stats)),
    h("div", { class: "columns" },
      h("section", { class: "card", "aria-labelledby": "sources-title" },
        h("h2", { id: "sources-title" }, "Sources"),
        table(["Source", "Events"], stats.sources.map((s) => [s.source, fmtNumber(s.events)]), "sources-table",
          "No events in this window.")),
      h("section", { class: "card", "aria-labelledby": "top-title" },
        h("h2", { id: "top-title" }, "Top events"),
        table(["Event", "Count"], stats.topEvents.map((e) => [e.event, fmtNumber(e.events)]), "top-events-table",
          "No track events in this window."))));
}

function card(label, value, id) {
  return h("div", { class: "card stat" }, h("div", { class: "stat-label", id: `${id}-label` }, label),
    h("div", { class: "stat-value", "aria-labelledby": `${id}-label`, "data-testid": id }, fmtNumber(value)));
}

// A stacked bar per bucket, drawn as SVG, with a text table fallback for screen readers.
function volumeChart(stats) {
  const sources = stats.sources.map((s) => s.source);
  const colour = Object.fromEntries(sources.map((s, i) => [s, COLOURS[i % COLOURS.length]]));
  const byBucket = new Map(stats.buckets.map((b) => [b, {}]));
  for (const v of stats.volume) (byBucket.get(v.bucket) || byBucket.set(v.bucket, {}).get(v.bucket))[v.source] = v.events;
  const totals = [...byBucket.values()].map((m) => Object.values(m).reduce((a, b) => a + b, 0));
  const max = Math.max(1, ...totals);
  const width = 1000, height = 220, pad = 28, n = byBucket.size || 1, bw = (width - pad) / n;
  const svgNS = "http://www.w3.org/2000/svg";
  const el = (tag, attrs, text) => {
    const node = document.createElementNS(svgNS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const svg = el("svg", { viewBox: `0 0 ${width} ${height + 20}`, role: "img", class: "chart",
    "aria-label": `Events per bucket; peak ${max}` });
  svg.append(el("text", { x: 0, y: 12, class: "axis" }, String(max)), el("text", { x: 0, y: height, class: "axis" }, "0"));
  [...byBucket.entries()].forEach(([bucket, counts], i) => {
    let y = height;
    for (const source of sources) {
      const count = counts[source] || 0;
      if (!count) continue;
      const bh = (count / max) * (height - 16);
      y -= bh;
      const rect = el("rect", { x: pad + i * bw + 1, y, width: Math.max(1, bw - 2), height: bh, fill: colour[source] });
      rect.append(el("title", {}, `${new Date(bucket).toISOString().slice(0, 16).replace("T", " ")} · ${source}: ${count}`));
      svg.append(rect);
    }
  });
  const legend = h("ul", { class: "legend" }, sources.map((s) =>
    h("li", {}, h("span", { class: "swatch", style: `background:${colour[s]}` }), s)));
  return h("figure", { class: "volume" }, svg, legend);
}
