// A tiny element builder: h("button", {class: "x", onclick}, "text", child...). Text is always set
// as text (never innerHTML), so values from the API cannot inject markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "style") el.style.cssText = value; // CSSOM, which the console's CSP allows (attributes it does not)
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function fmtTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function fmtNumber(n) {
  return typeof n === "number" ? n.toLocaleString() : "–";
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// A status line for screen readers and eyes alike.
export function notice(kind, ...children) {
  return h("p", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

// A simple table, or a line saying it is empty.
export function table(headers, rows, testid, empty) {
  if (!rows.length) return h("p", { class: "empty", "data-testid": testid }, empty);
  return h("table", { "data-testid": testid },
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))));
}

// A notice that survives the page's re-render: rerender(notice) redraws the current view, which
// shows it once through takeNotice().
let pendingNotice = null;

export function rerender(message = null) {
  pendingNotice = message;
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

export function takeNotice() {
  const message = pendingNotice;
  pendingNotice = null;
  return message;
}
