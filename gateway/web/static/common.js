// Shared by every page: labels (zh-CN / en), API calls with the CSRF token, the header,
// and the event stream. No third-party code; plain ES module.

const LANG_KEY = "hg.lang";
const MUTE_KEY = "hg.mute";
let labels = {};
let me = null;

export const stats = (window.__panel = window.__panel || { batches: 0, lags: [], pointLags: [], applyMs: [] });

export function lang() {
  return localStorage.getItem(LANG_KEY) || (me && me.language) || "zh-CN";
}

// One formatter per page: building an Intl formatter per call costs ~0.5 ms, which at
// 2,000 points a second is the whole frame budget.
let timeFormat = null;

export function t(key, vars) {
  let text = key in labels ? labels[key] : key;
  for (const [k, v] of Object.entries(vars || {})) text = text.replace(`{${k}}`, String(v));
  return text;
}

export async function loadLabels() {
  const response = await fetch(`/static/i18n/${lang()}.json`);
  labels = await response.json();
  document.documentElement.lang = lang();
  applyLabels(document);
}

export function applyLabels(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-ph]")) el.placeholder = t(el.dataset.i18nPh);
  const title = document.querySelector("title[data-i18n]");
  if (title) document.title = t(title.dataset.i18n);
}

export function setLang(value) {
  localStorage.setItem(LANG_KEY, value);
  location.reload();
}

export function muted() {
  return localStorage.getItem(MUTE_KEY) === "1";
}

export async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: {}, ...options };
  if (init.method && init.method !== "GET") {
    init.headers = { "Content-Type": "application/json", "X-CSRF-Token": me ? me.csrf : "", ...init.headers };
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new Error("not logged in");
  }
  return response;
}

export async function getJSON(path) {
  const response = await api(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

export function user() {
  return me;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function fmtTime(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  timeFormat = timeFormat || new Intl.DateTimeFormat(lang(), {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hour12: false,
  });
  return timeFormat.format(new Date(seconds * 1000));
}

export function fmtValue(value, digits = 2) {
  if (value === null || value === undefined) return "—";
  return Number(value).toFixed(digits);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 90) return `${seconds.toFixed(0)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function header(active) {
  const link = (href, key, page) =>
    el("a", { href, class: page === active ? "active" : "", "data-i18n": key });
  const count = el("span", { class: "alarm-count", id: "alarm-count" });
  const alarms = link("/alarms", "nav.alarms", "alarms");
  alarms.append(count);
  const mute = el("button", { id: "mute", onclick: () => {
    localStorage.setItem(MUTE_KEY, muted() ? "0" : "1");
    mute.textContent = t(muted() ? "nav.unmute" : "nav.mute");
  } });
  mute.textContent = t(muted() ? "nav.unmute" : "nav.mute");
  const other = lang() === "zh-CN" ? "en" : "zh-CN";
  const bar = el("header", {},
    el("span", { class: "brand", "data-i18n": "app.title" }),
    el("nav", {}, link("/", "nav.overview", "overview"), alarms,
      link("/history", "nav.history", "history"), link("/report", "nav.report", "report")),
    el("span", { class: "spacer" }),
    el("span", { class: "muted", id: "who", text: `${me.user} · ${t("role." + me.role)}` }),
    mute,
    el("button", { id: "lang", onclick: () => setLang(other), text: other === "en" ? "English" : "中文" }),
    el("button", { id: "logout", "data-i18n": "nav.logout", onclick: logout }));
  document.body.prepend(bar);
  applyLabels(bar);
}

async function logout() {
  await api("/api/logout", { method: "POST", body: "{}" });
  location.href = "/login";
}

export async function start(active) {
  const response = await fetch("/api/me", { credentials: "same-origin" });
  if (response.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new Error("not logged in");
  }
  me = await response.json();
  await loadLabels();
  header(active);
}

export function setAlarmCount(n) {
  const badge = document.getElementById("alarm-count");
  if (badge) badge.textContent = n ? String(n) : "";
}

// One EventSource per page; each batch is applied inside one animation frame.
export function connect(onBatch, onResync) {
  const source = new EventSource("/api/events");
  let pending = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const batches = pending;
    pending = [];
    for (const batch of batches) {
      if (batch.resync) { if (onResync) onResync(); continue; }
      const began = performance.now();
      onBatch(batch);
      stats.batches += 1;
      if (stats.applyMs.length < 100000) stats.applyMs.push(performance.now() - began);
      const lag = Date.now() - batch.t;
      if (stats.lags.length < 100000) stats.lags.push(lag);
    }
  };
  source.addEventListener("batch", (event) => {
    pending.push(JSON.parse(event.data));
    if (!scheduled) {
      scheduled = true;
      if (document.hidden) setTimeout(flush, 0); else requestAnimationFrame(flush);
    }
  });
  source.addEventListener("hello", () => { stats.connected = true; });
  // EventSource retries by itself; a lost session (logout elsewhere, panel restart, expiry)
  // would make it retry for ever, so check once and go to the login page.
  source.onerror = async () => {
    stats.connected = false;
    const response = await fetch("/api/me", { credentials: "same-origin" }).catch(() => null);
    if (response && response.status === 401) {
      source.close();
      location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    }
  };
  return source;
}
