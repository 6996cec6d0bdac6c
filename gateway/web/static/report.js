// Monthly report of one site: figures, tables, a daily bar chart; print or CSV.
import { el, fmtDuration, getJSON, lang, start, t } from "./common.js";
import { drawBars } from "./spark.js";

await start("report");
const main = document.getElementById("main");
const sites = el("select", { name: "site", id: "report-site" });
const month = el("input", { type: "month", name: "month", id: "report-month", value: new Date().toISOString().slice(0, 7) });
const csv = el("a", { id: "report-csv", href: "#" }, el("button", { type: "button", text: t("report.csv") }));
const html = el("a", { id: "report-html", href: "#" }, el("button", { type: "button", text: t("report.html") }));
const controls = el("div", { class: "filters noprint" },
  el("label", {}, el("span", { text: t("col.site") }), sites),
  el("label", {}, el("span", { text: t("report.month") }), month),
  el("button", { class: "primary", id: "report-show", text: t("report.show"), onclick: () => load() }),
  el("button", { id: "report-print", text: t("report.print"), onclick: () => window.print() }), csv, html);
const out = el("div", { id: "report" });
main.append(el("h1", { text: t("title.report") }), controls, out);

function stat(key, value, cls = "") {
  return el("div", { class: `stat ${cls}`, "data-stat": key }, el("b", { text: String(value) }), el("span", { text: t(key) }));
}

function table(heads, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", { text: h })))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", { text: String(c) }))))));
}

async function load() {
  if (!sites.value) { out.replaceChildren(el("p", { class: "muted", text: t("overview.empty") })); return; }
  const [enterprise, site] = sites.value.split("/");
  const query = new URLSearchParams({ enterprise, site, month: month.value });
  const r = await getJSON(`/api/report?${query}`);
  query.set("lang", lang());
  csv.href = `/api/report.csv?${query}`;
  html.href = `/api/report.html?${query}`;
  const chart = el("canvas", { class: "chart", id: "report-chart" });
  out.replaceChildren(
    el("h2", { text: `${site} · ${enterprise} · ${r.month}` }),
    el("div", { class: "stats" },
      stat("report.total", r.total), stat("report.per_hour", r.per_hour.toFixed(2)),
      stat("report.peak_10min", r.peak_10min, r.flood ? "flood" : ""),
      stat("report.ack_s.median", fmtDuration(r.ack_s.median)), stat("report.ack_s.p90", fmtDuration(r.ack_s.p90)),
      stat("report.dispose_s.median", fmtDuration(r.dispose_s.median)), stat("report.dispose_s.p90", fmtDuration(r.dispose_s.p90)),
      stat("report.overdue", r.overdue), stat("report.offline_hours", r.offline_hours.toFixed(2))),
    el("h2", { text: t("report.by_kind") }),
    table([t("col.kind"), t("level.1"), t("level.2")],
      Object.entries(r.by_kind).map(([k, v]) => [t("kind." + k), v["1"] || 0, v["2"] || 0])),
    el("h2", { text: t("report.by_day") }), chart,
    el("h2", { text: t("report.top") }),
    table([t("col.point"), t("col.kind"), t("report.count")], r.top.map((x) => [`${x.device}/${x.point}`, t("kind." + x.kind), x.count])));
  drawBars(chart, r.by_day, r.by_day.map((_, i) => String(i + 1)));
  out.dataset.loaded = r.month;
}

for (const s of (await getJSON("/api/overview")).sites) {
  sites.append(el("option", { value: `${s.enterprise}/${s.site}`, text: `${s.site} · ${s.enterprise}` }));
}
const wanted = new URLSearchParams(location.search);
if (wanted.get("site")) sites.value = `${wanted.get("enterprise")}/${wanted.get("site")}`;
await load();
document.body.dataset.ready = "1";
