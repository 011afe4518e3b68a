// The visual segment builder: condition blocks dragged from a palette into and/or groups. The tree
// it edits is the API's filter definition (app/segments/models.py); `negate` on a block stands for
// the API's {type: "not"} wrapper.
import { h } from "../dom.js";

const OPS = [["eq", "="], ["neq", "≠"], ["gt", ">"], ["gte", "≥"], ["lt", "<"], ["lte", "≤"], ["contains", "contains"],
  ["starts_with", "starts with"], ["ends_with", "ends with"], ["in", "is one of"], ["not_in", "is none of"],
  ["exists", "exists"], ["not_exists", "does not exist"], ["between", "between"], ["within_last", "within last (days)"]];
const COUNT_OPS = [["gte", "at least"], ["gt", "more than"], ["eq", "exactly"], ["lte", "at most"], ["lt", "fewer than"]];
const IDENTIFIER_KINDS = ["email", "user_id", "anonymous_id", "phone", "email_domain"];
const PROFILE_FIELDS = ["lastSeen", "firstSeen", "eventCount", "sources"];

export const BLOCKS = [
  ["trait", "Trait", "A profile trait compared with a value"],
  ["event", "Performed event", "Did an event a number of times, optionally within a window"],
  ["identifier", "Identifier", "Has (or matches) an identifier of a type"],
  ["profile", "Profile field", "First or last seen, event count, sources"],
  ["segment", "In segment", "Member of another saved segment"],
  ["and", "ALL group", "Every condition inside must hold"],
  ["or", "ANY group", "At least one condition inside must hold"],
];

let nextId = 1;
const uid = () => `b${nextId++}`;

export function newBlock(kind) {
  switch (kind) {
    case "trait": return { _id: uid(), type: "trait", name: "", op: "eq", value: "" };
    case "event": return { _id: uid(), type: "event", name: "", where: [], count: { op: "gte", value: 1 }, window: { days: 30 } };
    case "identifier": return { _id: uid(), type: "identifier", kind: "email", op: "exists", value: null };
    case "profile": return { _id: uid(), type: "profile", field: "lastSeen", op: "within_last", value: 30 };
    case "segment": return { _id: uid(), type: "segment", segment_id: "" };
    case "and": case "or": return { _id: uid(), type: kind, filters: [] };
    default: throw new Error(`unknown block ${kind}`);
  }
}

// API definition -> editable tree (the root is always a group).
export function fromDefinition(def) {
  const walk = (node) => {
    if (node.type === "not") {
      const inner = walk(node.filter);
      return { ...inner, negate: !inner.negate }; // NOT NOT x is x
    }
    if (node.type === "and" || node.type === "or") return { _id: uid(), type: node.type, filters: node.filters.map(walk) };
    const copy = JSON.parse(JSON.stringify(node));
    if (copy.type === "event") {
      copy.where = copy.where || [];
      copy.count = copy.count || { op: "gte", value: 1 };
      copy.window = copy.window && (copy.window.days || copy.window.start || copy.window.end) ? copy.window : null;
    }
    return { _id: uid(), ...copy };
  };
  const root = def ? walk(def) : newBlock("and");
  return root.type === "and" || root.type === "or" ? root : { _id: uid(), type: "and", filters: [root] };
}

// Editable tree -> API definition.
export function toDefinition(node) {
  const { _id, negate, ...rest } = node;
  let out;
  if (rest.type === "and" || rest.type === "or") out = { type: rest.type, filters: rest.filters.map(toDefinition) };
  else if (rest.type === "event") {
    out = { type: "event", name: rest.name, where: rest.where.map(({ _id: _, ...w }) => w), count: rest.count };
    if (rest.window && (rest.window.days || rest.window.start || rest.window.end)) out.window = rest.window;
  } else out = rest;
  return negate ? { type: "not", filter: out } : out;
}

// What is missing, per block id, before the tree can be previewed.
export function problems(node, out = new Map()) {
  const need = (cond, msg) => { if (!cond) out.set(node._id, msg); };
  const valued = (c) => ["exists", "not_exists"].includes(c.op) || (Array.isArray(c.value)
    ? c.value.length > 0 && c.value.every((v) => v !== "" && v !== null) : c.value !== "" && c.value !== null && c.value !== undefined);
  switch (node.type) {
    case "and": case "or":
      need(node.filters.length > 0, "Drop at least one condition into this group");
      node.filters.forEach((c) => problems(c, out));
      break;
    case "trait": need(node.name.trim(), "Name the trait"); if (!out.has(node._id)) need(valued(node), "Give a value"); break;
    case "identifier": case "profile": need(valued(node), "Give a value"); break;
    case "event":
      need(node.name.trim(), "Name the event");
      node.where.forEach((w) => { if (!w.name.trim() || !valued(w)) out.set(node._id, "Complete the property filter"); });
      break;
    case "segment": need(node.segment_id, "Choose a segment"); break;
    default: break;
  }
  return out;
}

// "42" -> 42, "true" -> true, "'42'" or "\"42\"" -> "42" (quotes keep a number-like value a string).
export function parseScalar(text) {
  const t = text.trim();
  if (/^(['"]).*\1$/.test(t) && t.length >= 2) return t.slice(1, -1);
  if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(t)) return Number(t); // 02134 (a zip code) stays a string
  if (t === "true" || t === "false") return t === "true";
  return t;
}
const showScalar = (v) => (v === null || v === undefined ? "" : typeof v === "string" && /^-?(0|[1-9]\d*)(\.\d+)?$|^(true|false)$/.test(v) ? `"${v}"` : String(v));

function parseValue(op, inputs) {
  if (op === "exists" || op === "not_exists") return null;
  if (op === "in" || op === "not_in") return inputs[0].split(",").map((s) => s.trim()).filter(Boolean).map(parseScalar);
  if (op === "between") return [parseScalar(inputs[0]), parseScalar(inputs[1] || "")];
  if (op === "within_last") return inputs[0].trim() === "" ? "" : Number(inputs[0]);
  return parseScalar(inputs[0]);
}

function valueText(op, value) {
  if (op === "in" || op === "not_in") return [Array.isArray(value) ? value.map(showScalar).join(", ") : ""];
  if (op === "between") return Array.isArray(value) ? value.map(showScalar) : ["", ""];
  return [showScalar(value)];
}

function select(options, current, label, onchange) {
  return h("select", { "aria-label": label, onchange: (e) => onchange(e.target.value) },
    options.map((o) => {
      const [value, text] = Array.isArray(o) ? o : [o, o];
      return h("option", { value, selected: value === current }, text);
    }));
}

// Operator + value inputs of a comparison (trait, identifier, profile, event property).
function comparison(cond, label, changed) {
  const wrap = h("span", { class: "comparison" });
  const draw = () => {
    const texts = valueText(cond.op, cond.value);
    const inputs = [];
    const input = (i, placeholder) => {
      const el = h("input", { type: "text", value: texts[i] || "", placeholder, "aria-label": `${label} value${i ? " (to)" : ""}`,
        class: "value", oninput: () => { cond.value = parseValue(cond.op, inputs.map((x) => x.value)); changed(); } });
      inputs.push(el);
      return el;
    };
    const parts = [select(OPS, cond.op, `${label} operator`, (op) => {
      const was = cond.op;
      cond.op = op;
      if (["exists", "not_exists"].includes(op)) cond.value = null;
      else if (op === "within_last") cond.value = 30;
      else if (op === "between") cond.value = ["", ""];
      else if (["in", "not_in"].includes(op) && !Array.isArray(cond.value)) cond.value = cond.value == null || cond.value === "" ? [] : [cond.value];
      else if (["in", "not_in", "between", "within_last", "exists", "not_exists"].includes(was)) cond.value = "";
      draw();
      changed();
    })];
    if (cond.op === "between") parts.push(input(0, "from"), " and ", input(1, "to"));
    else if (!["exists", "not_exists"].includes(cond.op)) parts.push(input(0, cond.op === "in" || cond.op === "not_in" ? "a, b, c" : cond.op === "within_last" ? "days" : "value"));
    wrap.replaceChildren(...parts.map((p) => (typeof p === "string" ? document.createTextNode(p) : p)));
  };
  draw();
  return wrap;
}

const textInput = (value, label, list, oninput) =>
  h("input", { type: "text", value, "aria-label": label, list, class: "name", oninput: (e) => oninput(e.target.value) });

export class Builder {
  constructor({ root, vocabulary, segments, onChange }) {
    this.root = root;
    this.vocabulary = vocabulary;
    this.segments = segments;
    this.onChange = onChange;
    this.activeGroup = root._id;
    this.element = h("div", { class: "builder", id: "builder" });
    this.lists = h("div", { hidden: true },
      h("datalist", { id: "trait-names" }, vocabulary.traits.map((t) => h("option", { value: t }))),
      h("datalist", { id: "event-names" }, vocabulary.events.map((t) => h("option", { value: t }))));
  }

  palette() {
    return h("section", { class: "palette", "aria-labelledby": "palette-title" },
      h("h2", { id: "palette-title" }, "Blocks"),
      h("p", { class: "hint" }, "Drag a block into a group, or press it to add it to the selected group."),
      h("ul", {}, BLOCKS.map(([kind, label, help]) => h("li", {},
        h("button", { type: "button", class: `palette-block block-${kind}`, draggable: "true", "data-block": kind,
          title: help, "aria-describedby": `help-${kind}`,
          ondragstart: (e) => { e.dataTransfer.setData("application/x-cdp-block", kind); e.dataTransfer.effectAllowed = "copy"; },
          onclick: () => this.insert(this.find(this.activeGroup) || this.root, newBlock(kind)) }, label),
        h("span", { id: `help-${kind}`, class: "sr-only" }, help)))));
  }

  setRoot(root) {
    this.root = root;
    this.activeGroup = root._id;
    this.render();
  }

  find(id, node = this.root) {
    if (node._id === id) return node;
    for (const child of node.filters || []) {
      const found = this.find(id, child);
      if (found) return found;
    }
    return null;
  }

  parentOf(id, node = this.root) {
    for (const child of node.filters || []) {
      if (child._id === id) return node;
      const found = this.parentOf(id, child);
      if (found) return found;
    }
    return null;
  }

  contains(ancestor, id) {
    return ancestor._id === id || (ancestor.filters || []).some((c) => this.contains(c, id));
  }

  insert(group, block, before = null) {
    const at = before ? group.filters.indexOf(before) : -1;
    if (at >= 0) group.filters.splice(at, 0, block);
    else group.filters.push(block);
    if (block.filters) this.activeGroup = block._id;
    this.changed();
  }

  move(id, group, before = null) {
    const block = this.find(id);
    if (!block || block === this.root || this.contains(block, group._id) || block === before) return;
    const from = this.parentOf(id);
    from.filters.splice(from.filters.indexOf(block), 1);
    this.insert(group, block, before);
  }

  remove(id) {
    const from = this.parentOf(id);
    if (!from) return;
    from.filters.splice(from.filters.findIndex((c) => c._id === id), 1);
    if (!this.find(this.activeGroup)) this.activeGroup = this.root._id;
    this.focusNext = `[data-id="${from._id}"] .target`;
    this.changed();
  }

  // Keyboard moves: up or down within the group, or out into the enclosing group (after this one).
  moveBy(id, delta) {
    const from = this.parentOf(id);
    const at = from.filters.findIndex((c) => c._id === id);
    const to = at + delta;
    if (to < 0 || to >= from.filters.length) return;
    [from.filters[at], from.filters[to]] = [from.filters[to], from.filters[at]];
    this.changed();
  }

  moveOut(id) {
    const from = this.parentOf(id);
    const outer = from && this.parentOf(from._id);
    if (!outer) return;
    const block = from.filters.splice(from.filters.findIndex((c) => c._id === id), 1)[0];
    outer.filters.splice(outer.filters.indexOf(from) + 1, 0, block);
    this.changed();
  }

  changed() {
    this.render();
    this.onChange();
  }

  // The block's own controls (not those of blocks nested in it), in document order.
  static controls(block) {
    return [...block.querySelectorAll("input, select, button")].filter((el) => el.closest("[data-id]") === block);
  }

  // A re-render keeps the keyboard where it was: the same control of the same block (found again by
  // block id and position), or the place the last action named (focusNext).
  render() {
    const focused = document.activeElement;
    let key = null;
    if (focused && this.element.contains(focused)) {
      const block = focused.closest("[data-id]");
      if (block) key = [block.dataset.id, Builder.controls(block).indexOf(focused), focused.selectionStart];
    }
    this.element.replaceChildren(this.lists, this.group(this.root, true));
    this.markProblems();
    if (this.focusNext) {
      this.element.querySelector(this.focusNext)?.focus();
      this.focusNext = null;
    } else if (key) {
      const block = this.element.querySelector(`[data-id="${key[0]}"]`);
      const controls = block ? Builder.controls(block) : [];
      // A control that just became disabled (↑ on the first block) hands focus to the next one.
      const el = controls.slice(key[1]).find((c) => !c.disabled) || controls.find((c) => !c.disabled);
      if (el) {
        el.focus();
        if (el.setSelectionRange && typeof key[2] === "number") el.setSelectionRange(key[2], key[2]);
      }
    }
  }

  markProblems() {
    const found = problems(this.root);
    for (const el of this.element.querySelectorAll("[data-id]")) {
      const msg = found.get(el.dataset.id);
      el.classList.toggle("invalid", Boolean(msg));
      const slot = el.querySelector(":scope > .block-problem");
      if (slot) slot.textContent = msg || "";
    }
    return found;
  }

  dropTarget(el, group, before) {
    el.addEventListener("dragover", (e) => {
      if (![...e.dataTransfer.types].some((t) => t.startsWith("application/x-cdp-"))) return;
      e.preventDefault();
      e.stopPropagation();
      el.classList.add("drop-here");
    });
    el.addEventListener("dragleave", () => el.classList.remove("drop-here"));
    el.addEventListener("drop", (e) => {
      e.preventDefault();
      e.stopPropagation();
      el.classList.remove("drop-here");
      const kind = e.dataTransfer.getData("application/x-cdp-block");
      const moving = e.dataTransfer.getData("application/x-cdp-move");
      if (kind) this.insert(group, newBlock(kind), before);
      else if (moving) this.move(moving, group, before);
    });
  }

  frame(node, title, body, { isRoot = false } = {}) {
    const negate = h("label", { class: "negate" }, h("input", { type: "checkbox", checked: Boolean(node.negate),
      "aria-label": `Negate ${title}`, onchange: (e) => { node.negate = e.target.checked; this.changed(); } }), " not");
    const parent = isRoot ? null : this.parentOf(node._id);
    const at = parent ? parent.filters.indexOf(node) : -1;
    const moves = isRoot ? null : h("span", { class: "moves" },
      h("button", { type: "button", class: "icon", "aria-label": `Move ${title} up`, title: "Move up", disabled: at === 0,
        onclick: () => this.moveBy(node._id, -1) }, "↑"),
      h("button", { type: "button", class: "icon", "aria-label": `Move ${title} down`, title: "Move down",
        disabled: at === parent.filters.length - 1, onclick: () => this.moveBy(node._id, 1) }, "↓"),
      parent !== this.root ? h("button", { type: "button", class: "icon", "aria-label": `Move ${title} out of its group`,
        title: "Move out of the group", onclick: () => this.moveOut(node._id) }, "⇤") : null);
    const el = h("div", { class: `block block-${node.type}${node.negate ? " negated" : ""}`, "data-id": node._id,
      "data-type": node.type, role: "group", "aria-label": title, draggable: isRoot ? null : "true",
      ondragstart: isRoot ? null : (e) => { e.stopPropagation(); e.dataTransfer.setData("application/x-cdp-move", node._id); e.dataTransfer.effectAllowed = "move"; } },
    h("div", { class: "block-head" },
      isRoot ? null : h("span", { class: "grip", "aria-hidden": "true" }, "⠿"),
      h("span", { class: "block-title" }, title),
      negate,
      moves,
      isRoot ? null : h("button", { type: "button", class: "remove", "aria-label": `Remove ${title}`, onclick: () => this.remove(node._id) }, "×")),
    h("div", { class: "block-body" }, body),
    h("div", { class: "block-problem", role: "note" }));
    return el;
  }

  group(node, isRoot = false) {
    const children = h("div", { class: "group-children" });
    for (const child of node.filters) {
      const el = child.filters ? this.group(child) : this.condition(child);
      this.dropTarget(el, node, child);
      children.append(el);
    }
    const zone = h("div", { class: `drop-zone${this.activeGroup === node._id ? " active" : ""}`, "data-drop": node._id },
      node.filters.length ? "Drop here to add" : "Drop conditions here");
    this.dropTarget(zone, node, null);
    const mode = select([["and", "ALL of"], ["or", "ANY of"]], node.type, "Group combines with", (type) => { node.type = type; this.changed(); });
    const el = this.frame(node, node.type === "and" ? "ALL group" : "ANY group",
      [h("div", { class: "group-mode" }, "Match ", mode, " these:",
        h("button", { type: "button", class: "link target", "aria-pressed": String(this.activeGroup === node._id),
          onclick: () => { this.activeGroup = node._id; this.render(); } }, this.activeGroup === node._id ? "adding here" : "add here")),
      children, zone], { isRoot });
    el.classList.add("group");
    return el;
  }

  condition(node) {
    const changed = () => { this.onChange(); this.markProblems(); };
    switch (node.type) {
      case "trait":
        return this.frame(node, "Trait", [h("span", { class: "prefix" }, "traits."),
          textInput(node.name, "Trait name", "trait-names", (v) => { node.name = v; changed(); }),
          comparison(node, "Trait", changed)]);
      case "identifier":
        return this.frame(node, "Identifier", [select(IDENTIFIER_KINDS, node.kind, "Identifier type", (v) => { node.kind = v; changed(); }),
          comparison(node, "Identifier", changed)]);
      case "profile":
        return this.frame(node, "Profile field", [select(PROFILE_FIELDS, node.field, "Profile field", (v) => { node.field = v; changed(); }),
          comparison(node, "Profile field", changed)]);
      case "segment":
        return this.frame(node, "In segment", [select([["", "choose a segment…"], ...this.segments.map((s) => [s.id, s.name])],
          node.segment_id, "Segment", (v) => { node.segment_id = v; changed(); })]);
      case "event": return this.eventBlock(node, changed);
      default:
        return this.frame(node, node.type, [h("code", {}, JSON.stringify(toDefinition(node)))]);
    }
  }

  eventBlock(node, changed) {
    const days = h("input", { type: "number", min: 1, max: 36500, value: node.window?.days ?? "", "aria-label": "Within the last days",
      class: "days", placeholder: "ever", oninput: (e) => {
        const n = parseInt(e.target.value, 10);
        node.window = Number.isFinite(n) && n > 0 ? { days: n } : null;
        changed();
      } });
    const wheres = node.where.map((w, i) => h("div", { class: "where" }, "where properties.",
      textInput(w.name, `Property ${i + 1} name`, null, (v) => { w.name = v; changed(); }),
      comparison(w, `Property ${i + 1}`, changed),
      h("button", { type: "button", class: "remove", "aria-label": `Remove property filter ${i + 1}`,
        onclick: () => { node.where.splice(i, 1); this.changed(); } }, "×")));
    return this.frame(node, "Performed event", [
      textInput(node.name, "Event name", "event-names", (v) => { node.name = v; changed(); }),
      select(COUNT_OPS, node.count.op, "Count operator", (v) => { node.count.op = v; changed(); }),
      h("input", { type: "number", min: 0, value: node.count.value, "aria-label": "Times", class: "count",
        oninput: (e) => { node.count.value = Math.max(0, parseInt(e.target.value, 10) || 0); changed(); } }),
      " times, within the last ", days, " days",
      ...wheres,
      h("button", { type: "button", class: "link", onclick: () => { node.where.push({ name: "", op: "eq", value: "" }); this.changed(); } },
        "+ property filter"),
      node.window && (node.window.start || node.window.end)
        ? h("span", { class: "hint" }, ` between ${node.window.start || "…"} and ${node.window.end || "…"} (edit in text)`) : null]);
  }
}
