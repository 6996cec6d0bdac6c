// Overview: one card per site, coloured by risk (red/orange/yellow/blue), live.
import { connect, el, fmtTime, getJSON, setAlarmCount, start, t } from "./common.js";

await start("overview");
const main = document.getElementById("main");
const grid = el("div", { class: "grid", id: "sites" });
main.append(el("h1", { text: t("title.overview") }), grid);
const cards = new Map();

function card(row) {
  const id = `${row.enterprise}/${row.site}`;
  let c = cards.get(id);
  if (!c) {
    document.getElementById("empty")?.remove();
    c = {
      root: el("a", { class: "card", href: `/site/${row.enterprise}/${row.site}`, "data-site": id }),
      name: el("h3"), state: el("span", { class: "badge" }), since: el("span", { class: "muted" }),
      l1: el("span", { class: "badge l1" }), l2: el("span", { class: "badge l2" }),
      faults: el("span", { class: "badge fault" }), risk: el("span", { class: "muted" }),
      data: el("div", { class: "muted" }),
    };
    c.root.append(c.name, el("div", {}, c.state, " ", c.since),
      el("div", { class: "counts" }, c.l2, c.l1, c.faults), c.risk, c.data);
    cards.set(id, c);
    grid.append(c.root);
  }
  c.root.className = `card risk-${row.risk}`;
  c.name.textContent = `${row.site} · ${row.enterprise}`;
  c.state.className = `badge ${row.state}`;
  c.state.textContent = t(`state.${row.state}`);
  c.since.textContent = row.since ? t("overview.since", { time: fmtTime(row.since) }) : "";
  c.l2.textContent = `${t("level.2")} ${row.level2}`;
  c.l1.textContent = `${t("level.1")} ${row.level1}`;
  c.faults.textContent = `${t("overview.faults")} ${row.faults}`;
  c.risk.textContent = `${t("overview.risk")}: ${t("risk." + row.risk)}`;
  c.data.textContent = `${t("overview.last_data")}: ${fmtTime(row.last_data)}`;
}

async function load() {
  const data = await getJSON("/api/overview");
  data.sites.forEach(card);
  if (!data.sites.length) grid.append(el("p", { class: "muted", id: "empty", text: t("overview.empty") }));
  const alarms = await getJSON("/api/alarms");
  setAlarmCount(alarms.alarms.filter((a) => a.unacked).length);
}

await load();
connect((batch) => {
  for (const row of batch.sites) card(row);
  if (batch.alarms) setAlarmCount(batch.alarms.filter((a) => a.unacked).length);
}, load);
document.body.dataset.ready = "1";
