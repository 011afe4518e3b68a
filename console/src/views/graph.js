// The identity graph of one profile, drawn by cytoscape (bundled from npm). Hovering an edge
// shows the evidence behind it (which message joined the two identifiers); tapping identifiers
// selects them for a split.
import cytoscape from "cytoscape";
import { fmtTime, h } from "../dom.js";

const TYPE_COLOURS = { user_id: "#0072B2", email: "#009E73", phone: "#CC79A7", anonymous_id: "#E69F00" };

const STYLE = [
  { selector: "node", style: { label: "data(label)", "font-size": 11, color: "#1a1a1a", "text-valign": "bottom",
    "text-margin-y": 4, "background-color": "#888", width: 26, height: 26, "text-wrap": "ellipsis", "text-max-width": 140 } },
  { selector: "node[kind = 'profile']", style: { shape: "round-rectangle", "background-color": "#1f2937", width: 40,
    height: 40, color: "#1f2937", "font-weight": "bold" } },
  { selector: "node[?retired]", style: { "background-color": "#9ca3af", width: 30, height: 30, "font-weight": "normal" } },
  ...Object.entries(TYPE_COLOURS).map(([type, colour]) => ({ selector: `node[type = '${type}']`,
    style: { "background-color": colour } })),
  { selector: "node[?outside]", style: { "background-opacity": 0.35, "border-width": 2, "border-style": "dashed",
    "border-color": "#b91c1c" } },
  { selector: "node:selected", style: { "border-width": 4, "border-color": "#111", "border-style": "double" } },
  { selector: "edge", style: { width: 2, "curve-style": "bezier", "line-color": "#9ca3af" } },
  { selector: "edge[kind = 'belongs_to']", style: { width: 1, "line-color": "#d1d5db" } },
  { selector: "edge[kind = 'seen_with']", style: { width: "mapData(count, 1, 20, 2, 7)", "line-color": "#2563eb",
    label: "data(label)", "font-size": 9, "text-rotation": "autorotate", "text-background-color": "#fff",
    "text-background-opacity": 0.8 } },
  { selector: "edge[kind = 'refused_with']", style: { "line-color": "#b91c1c", "line-style": "dashed", label: "refused",
    "font-size": 9, color: "#b91c1c" } },
  { selector: "edge[kind = 'merged_into']", style: { "line-color": "#6b7280", "target-arrow-shape": "triangle",
    "target-arrow-color": "#6b7280", label: "merged", "font-size": 9 } },
  { selector: ".hover", style: { "overlay-opacity": 0.15, "overlay-color": "#2563eb" } },
];

export function describeEdge(d) {
  if (d.kind === "seen_with") {
    return [`Seen together ${d.count}×`, `first in message ${d.firstMessageId}`, `from source ${d.messageSource}`,
      `at ${fmtTime(d.firstAt)}`, d.lastMessageId && d.lastMessageId !== d.firstMessageId ? `last in ${d.lastMessageId} at ${fmtTime(d.lastAt)}` : null];
  }
  if (d.kind === "refused_with") {
    return [`Join refused ${d.count}×: ${d.reason}`, `first in message ${d.firstMessageId}`, `from source ${d.messageSource}`,
      `at ${fmtTime(d.firstAt)}`];
  }
  if (d.kind === "merged_into") {
    return [`Profile ${d.source.slice(0, 8)} merged into ${d.target.slice(0, 8)}`, `by message ${d.messageId}`,
      `from source ${d.messageSource}`, `at ${fmtTime(d.at)}`, d.reason ? `reason: ${d.reason}` : null];
  }
  if (d.kind === "belongs_to") return ["Identifier belongs to this profile"];
  return [d.label || d.kind];
}

function describeNode(d) {
  if (d.kind === "profile") {
    return [`Profile ${d.id}`, d.retired ? `retired ${fmtTime(d.retiredAt)}: merged into this one` : null,
      `first seen ${fmtTime(d.firstSeen)}`, `last seen ${fmtTime(d.lastSeen)}`];
  }
  return [`${d.type}: ${d.value}`, d.outside ? "on another profile (a refused join)" : "click to select for a split",
    d.firstSeen ? `first seen ${fmtTime(d.firstSeen)}` : null, d.lastSeen ? `last seen ${fmtTime(d.lastSeen)}` : null];
}

export function identityGraph(elements, { onSelect }) {
  const container = h("div", { class: "graph", id: "identity-graph", role: "img",
    "aria-label": `Identity graph: ${elements.nodes.length} nodes, ${elements.edges.length} edges. The evidence table below lists the same links.` });
  const tooltip = h("div", { class: "tooltip", role: "tooltip", id: "graph-tooltip", hidden: true });
  const wrapper = h("div", { class: "graph-wrap" }, container, tooltip);
  const cy = cytoscape({
    container,
    elements: {
      nodes: elements.nodes.map((n) => ({ data: n, selectable: n.kind === "identifier" && !n.outside })),
      edges: elements.edges.map((e) => ({ data: e })),
    },
    style: STYLE,
    layout: { name: "null" }, // the real layout runs once the container has a size (below)
    boxSelectionEnabled: false,
    selectionType: "additive",
  });
  const show = (lines, pos) => {
    tooltip.replaceChildren(...lines.filter(Boolean).map((l) => h("div", {}, l)));
    tooltip.hidden = false;
    tooltip.style.left = `${Math.min(pos.x + 12, container.clientWidth - 260)}px`;
    tooltip.style.top = `${pos.y + 12}px`;
  };
  cy.on("mouseover", "edge", (e) => { e.target.addClass("hover"); show(describeEdge(e.target.data()), e.renderedPosition); });
  cy.on("mouseover", "node", (e) => { e.target.addClass("hover"); show(describeNode(e.target.data()), e.renderedPosition); });
  cy.on("mouseout", "node, edge", (e) => { e.target.removeClass("hover"); tooltip.hidden = true; });
  cy.on("select unselect", "node", () => onSelect(cy.$("node:selected").map((n) => n.id())));
  // Layout needs the container's size, known once it is in the document.
  requestAnimationFrame(() => {
    cy.resize();
    // The live profile in the middle, its identifiers on a ring around it, retired profiles and
    // refused outsiders on an outer ring turned half a step, so no link runs through a node.
    const inner = cy.nodes().filter((n) => n.data("kind") === "identifier" && !n.data("outside"));
    const outer = cy.nodes().filter((n) => n.id() !== elements.profileId && !inner.contains(n));
    const r1 = Math.max(110, inner.length * 22), r2 = r1 + Math.max(90, outer.length * 12);
    const place = (nodes, radius, turn) => Object.fromEntries(nodes.map((n, i) => {
      const angle = -Math.PI / 2 + turn + (2 * Math.PI * i) / Math.max(1, nodes.length);
      return [n.id(), { x: radius * Math.cos(angle), y: radius * Math.sin(angle) }];
    }));
    const halfStep = Math.PI / Math.max(1, inner.length);
    const positions = { [elements.profileId]: { x: 0, y: 0 }, ...place(inner, r1, 0), ...place(outer, r2, halfStep) };
    cy.layout({ name: "preset", positions: (n) => positions[n.id()], fit: true, padding: 30 }).run();
  });
  container.cy = cy; // for the browser tests and the devtools console
  return {
    element: wrapper,
    select(ids) {
      cy.batch(() => cy.nodes().forEach((n) => (ids.includes(n.id()) ? n.select() : n.unselect())));
    },
  };
}
