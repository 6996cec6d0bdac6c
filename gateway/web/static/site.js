// Site page: every device and point with live value, unit, quality, limits, sparkline.
// Rows are built once; a batch only rewrites the text of changed cells, and sparklines
// are redrawn only for rows on screen (IntersectionObserver).
import { connect, el, fmtTime, fmtValue, getJSON, setAlarmCount, start, stats, t } from "./common.js";
import { drawSpark } from "./spark.js";

await start("overview");
const [, , enterprise, site] = location.pathname.split("/").map(decodeURIComponent);
const prefix = `${enterprise}/${site}/`;
const main = document.getElementById("main");
const title = el("h1", { text: `${site} · ${enterprise}` });
const status = el("p", { class: "muted", id: "site-status" });
const body = el("div", { id: "devices" });
main.append(title, status, body);
const rows = new Map();
const visible = new Set();
const dirtySparks = new Set();
const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    const id = entry.target.dataset.point;
    if (entry.isIntersecting) { visible.add(id); dirtySparks.add(id); } else visible.delete(id);
  }
});

function deviceTable(name, label) {
  const table = el("table", { class: "points" }, el("thead", {}, el("tr", {},
    ...["col.point", "col.key", "col.value", "col.unit", "col.quality", "col.limits", "col.trend", "col.time"]
      .map((k) => el("th", { text: t(k) })))), el("tbody"));
  const section = el("section", { class: "device", "data-device": name },
    el("h2", { text: label }), table);
  body.append(section);
  return table.tBodies[0];
}

function addRow(tbody, id, point) {
  const limits = point.limits || {};
  const text = ["LL", "L", "H", "HH"].filter((k) => k in limits).map((k) => `${k} ${limits[k]}`).join("  ");
  const r = {
    tr: el("tr", { "data-point": id }), value: el("td", { class: "value" }),
    quality: el("td", { class: "quality" }), time: el("td", { class: "muted" }),
    canvas: el("canvas", { class: "spark" }), spark: [], limits, ms: 0,
  };
  r.tr.append(el("td", { text: point.name || point.key }), el("td", { class: "muted", text: point.key }),
    r.value, el("td", { text: point.unit || "" }), r.quality, el("td", { class: "muted", text: text }),
    el("td", {}, r.canvas), r.time);
  tbody.append(r.tr);
  rows.set(id, r);
  observer.observe(r.tr);
  return r;
}

// Write a cell only when its text changes: every write invalidates layout.
function put(cell, text) {
  if (cell.__text !== text) { cell.textContent = text; cell.__text = text; }
}

function setValue(r, row) {
  const [value, good, ms] = row;
  put(r.value, good ? fmtValue(value) : t("quality.bad_value"));
  put(r.quality, t(good ? "quality.good" : "quality.bad"));
  let cls = good ? "" : "bad";
  if (good && r.limits.HH !== undefined && value >= r.limits.HH) cls = "over-hh";
  else if (good && r.limits.H !== undefined && value >= r.limits.H) cls = "over-h";
  if (r.tr.className !== cls) r.tr.className = cls;
  if (r.ms !== ms) { r.ms = ms; put(r.time, timeText(ms)); }
}

// Most points of a batch share a window end: format each distinct time once.
const times = new Map();
function timeText(ms) {
  let text = times.get(ms);
  if (text === undefined) {
    if (times.size > 64) times.clear();
    text = fmtTime(ms / 1000);
    times.set(ms, text);
  }
  return text;
}

function pushSpark(r, row) {
  const bucket = Math.floor(row[2] / 5000) * 5000;
  const value = row[1] ? row[0] : null;
  const last = r.spark[r.spark.length - 1];
  if (last && last[0] === bucket) last[1] = value; else r.spark.push([bucket, value]);
  if (r.spark.length > 120) r.spark.shift();
}

function build(data) {
  const manifest = data.manifest;
  const tables = new Map();
  if (manifest) {
    for (const device of manifest.devices) {
      const tbody = deviceTable(device.name, `${device.name} · ${device.vendor} ${device.model}`);
      tables.set(device.name, tbody);
      for (const point of device.points) addRow(tbody, `${prefix}${device.name}/${point.key}`, point);
    }
  }
  for (const [id, p] of Object.entries(data.points)) {
    if (!rows.has(id)) {
      const [device, key] = id.slice(prefix.length).split("/");
      if (!tables.has(device)) tables.set(device, deviceTable(device, device));
      addRow(tables.get(device), id, { key });
    }
    const r = rows.get(id);
    r.spark = p.spark.map(([b, v]) => [b * 1000, v]);
    setValue(r, p.row);
    dirtySparks.add(id);
  }
}

function showSite(row) {
  status.textContent = `${t("state." + row.state)} · ${t("overview.risk")}: ${t("risk." + row.risk)} · ` +
    `${t("overview.last_data")}: ${fmtTime(row.last_data)}`;
  status.dataset.state = row.state;
}

function drawDirty() {
  for (const id of dirtySparks) {
    if (!visible.has(id)) continue;
    const r = rows.get(id);
    drawSpark(r.canvas, r.spark, r.limits);
    dirtySparks.delete(id);
  }
}

async function load() {
  const data = await getJSON(`/api/site/${encodeURIComponent(enterprise)}/${encodeURIComponent(site)}`);
  rows.clear();
  body.replaceChildren();
  build(data);
  showSite(data.site);
  requestAnimationFrame(drawDirty);
}

// Batches are merged into one map (newest value per point wins, so a page that falls
// behind skips stale values instead of queueing them) and applied in slices of ~8 ms, so
// no single task blocks the page for long even with 2,000 points per second.
const queue = new Map();
let oldest = Infinity;
let working = false;
const SLICE_MS = 8;

function work() {
  const began = performance.now();
  for (const [id, row] of queue) {
    queue.delete(id);
    const r = rows.get(id);
    if (r) { setValue(r, row); pushSpark(r, row); dirtySparks.add(id); }
    if (performance.now() - began > SLICE_MS) break;
  }
  if (queue.size) { setTimeout(work, 0); return; }
  working = false;
  drawDirty();
  if (oldest !== Infinity && stats.pointLags.length < 100000) stats.pointLags.push(Date.now() - oldest);
  oldest = Infinity;
}

await load();
// A point not on the page means the site changed (a new manifest): rebuild, at most every 10 s.
let rebuilt = 0;
connect((batch) => {
  for (const [id, row] of Object.entries(batch.points)) {
    if (!id.startsWith(prefix)) continue;
    if (!rows.has(id) && Date.now() - rebuilt > 10000) { rebuilt = Date.now(); load(); }
    queue.set(id, row);
    oldest = Math.min(oldest, row[2]);
  }
  for (const row of batch.sites) if (`${row.enterprise}/${row.site}/` === prefix) showSite(row);
  if (batch.alarms) setAlarmCount(batch.alarms.filter((a) => a.unacked).length);
  if (queue.size && !working) { working = true; work(); }
}, load);
document.body.dataset.ready = "1";
