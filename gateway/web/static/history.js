// History: filters, paging, CSV export (UTF-8 with BOM), disposition from a row.
import { el, fmtTime, fmtValue, getJSON, lang, start, t } from "./common.js";
import { allowed, perform } from "./actions.js";

await start("history");
const main = document.getElementById("main");
const SIZE = 50;
let page = 1;
const field = (name, label, input) => el("label", {}, el("span", { text: t(label) }), input);
const sites = el("select", { name: "site" }, el("option", { value: "", text: t("filter.all") }));
const kinds = el("select", { name: "kind" }, el("option", { value: "", text: t("filter.all") }),
  ...["HH", "H", "L", "LL", "ROC", "FAULT", "COMM"].map((k) => el("option", { value: k, text: t("kind." + k) })));
const levels = el("select", { name: "level" }, el("option", { value: "", text: t("filter.all") }),
  el("option", { value: "1", text: t("level.1") }), el("option", { value: "2", text: t("level.2") }));
const form = el("form", { class: "filters", id: "filters" },
  field("site", "col.site", sites),
  field("device", "col.device", el("input", { name: "device", size: "10" })),
  field("point", "col.point", el("input", { name: "point", size: "10" })),
  field("kind", "col.kind", kinds), field("level", "col.level", levels),
  field("since", "filter.since", el("input", { name: "since", type: "datetime-local" })),
  field("until", "filter.until", el("input", { name: "until", type: "datetime-local" })),
  el("label", { class: "check" }, el("input", { type: "checkbox", name: "no_disposition", value: "1" }), el("span", { text: t("filter.no_disposition") })),
  el("label", { class: "check" }, el("input", { type: "checkbox", name: "overdue", value: "1" }), el("span", { text: t("filter.overdue") })),
  el("button", { class: "primary", type: "submit", id: "search", text: t("filter.search") }),
  el("a", { id: "csv", href: "#", download: "alarm-history.csv" }, el("button", { type: "button", text: t("filter.csv") })));
const reply = el("div", { class: "reply", id: "reply" });
const tbody = el("tbody", { id: "history-rows" });
const info = el("span", { class: "muted", id: "page-info" });
const prev = el("button", { id: "prev", text: t("page.prev"), onclick: () => { page -= 1; load(); } });
const next = el("button", { id: "next", text: t("page.next"), onclick: () => { page += 1; load(); } });
const heads = ["col.site", "col.point", "col.kind", "col.level", "col.raised", "col.value", "col.acked",
  "col.cleared", "col.disposition", "col.actions"];
main.append(el("h1", { text: t("title.history") }), form, reply,
  el("table", { id: "history" }, el("thead", {}, el("tr", {}, ...heads.map((k) => el("th", { text: t(k) })))), tbody),
  el("div", { class: "pager" }, prev, info, next));

function params() {
  const data = new FormData(form);
  const out = new URLSearchParams();
  for (const [key, value] of data.entries()) {
    if (!value) continue;
    if (key === "site") { const [e, s] = value.split("/"); out.set("enterprise", e); out.set("site", s); }
    else if (key === "since" || key === "until") out.set(key, new Date(value).toISOString());
    else out.set(key, value);
  }
  return out;
}

function row(r) {
  const disposition = r.disposed ? `${r.cause} → ${r.action} (${r.disposed_by})` : "—";
  const button = r.disposed ? "" : el("button", {
    "data-action": "disposition", disabled: !allowed("disposition"), text: t("action.disposition"),
    onclick: () => perform("disposition", { ...r, activation_id: r.activation_id }, reply).then(() => setTimeout(load, 800)),
  });
  return el("tr", { "data-activation": r.activation_id },
    el("td", { text: r.site }), el("td", { text: `${r.device}/${r.point}` }),
    el("td", { text: t("kind." + r.kind) }), el("td", { text: t("level." + r.level) }),
    el("td", { text: fmtTime(r.raised) }), el("td", { class: "num", text: `${fmtValue(r.value)} ${r.unit || ""}` }),
    el("td", { text: r.acked ? `${fmtTime(r.acked)} (${r.acked_by || ""})` : "—" }),
    el("td", { text: fmtTime(r.cleared) }), el("td", { class: "disposition", text: disposition }), el("td", {}, button));
}

async function load() {
  const query = params();
  query.set("page", String(page));
  query.set("size", String(SIZE));
  const data = await getJSON(`/api/history?${query}`);
  tbody.replaceChildren(...data.rows.map(row));
  const pages = Math.max(1, Math.ceil(data.total / SIZE));
  info.textContent = t("page.info", { page, pages, total: data.total });
  prev.disabled = page <= 1;
  next.disabled = page >= pages;
  const csv = params();
  csv.set("lang", lang());
  document.getElementById("csv").href = `/api/history.csv?${csv}`;
}

form.addEventListener("submit", (event) => { event.preventDefault(); page = 1; load(); });
for (const s of (await getJSON("/api/overview")).sites) {
  sites.append(el("option", { value: `${s.enterprise}/${s.site}`, text: `${s.site} · ${s.enterprise}` }));
}
await load();
document.body.dataset.ready = "1";
