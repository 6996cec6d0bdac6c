// Alarm console: active alarms by level then time, first-out marked, faults apart,
// unacknowledged ones flash and sound (mute remembered per browser), actions per row.
import { connect, el, fmtTime, fmtValue, getJSON, muted, setAlarmCount, start, stats, t } from "./common.js";
import { allowed, perform } from "./actions.js";

await start("alarms");
const main = document.getElementById("main");
const reply = el("div", { class: "reply", id: "reply", "aria-live": "polite" });
const tbody = el("tbody", { id: "alarm-rows" });
const heads = ["", "col.level", "col.kind", "col.site", "col.point", "col.value", "col.limit",
  "col.raised", "col.state", "col.actions"];
main.append(el("h1", { text: t("title.alarms") }), reply,
  el("table", { id: "console" }, el("thead", {}, el("tr", {}, ...heads.map((k) => el("th", { text: k ? t(k) : "" })))), tbody));
let alarms = [];
// When each activation first appeared here (0: already there when the page loaded);
// read by the browser tests and the bench to measure alarm latency.
const seen = (stats.alarmSeen = stats.alarmSeen || {});
let loaded = false;

function actionsFor(row) {
  const list = [];
  if (row.isa === "shelved") list.push("unshelve");
  else if (row.isa === "out_of_service") list.push("return_to_service");
  else {
    if (row.unacked) list.push("ack");
    if (row.isa === "acked") list.push("reset");  // a latched alarm back to normal
    list.push("shelve", "out_of_service", "disposition");
  }
  return list.map((action) => el("button", {
    "data-action": action, disabled: !allowed(action), title: allowed(action) ? "" : t("action.not_allowed"),
    onclick: () => perform(action, row, reply), text: t("action." + action),
  }));
}

function render() {
  for (const row of alarms) if (!(row.activation_id in seen)) seen[row.activation_id] = loaded ? Date.now() : 0;
  const rows = alarms.map((row) => {
    const cls = ["alarm", row.fault ? "fault" : `l${row.level}`, row.unacked ? "unacked" : "",
      ["shelved", "out_of_service"].includes(row.isa) ? "hidden-state" : ""].join(" ");
    const kind = el("span", { class: `badge ${row.fault ? "fault" : "l" + row.level}`, text: t("kind." + row.kind) });
    return el("tr", { class: cls, "data-alarm": row.id, "data-kind": row.kind, "data-isa": row.isa,
      "data-raised": String(row.raised), "data-activation": row.activation_id },
      el("td", {}, row.first_out ? el("span", { class: "badge first", text: t("alarm.first_out") }) : ""),
      el("td", { text: t("level." + row.level) }), el("td", {}, kind),
      el("td", { text: row.site }), el("td", { text: `${row.device}/${row.point}` }),
      el("td", { class: "num", text: `${fmtValue(row.value)} ${row.unit}` }),
      el("td", { class: "num", text: row.limit === null ? "—" : `${row.limit} ${row.unit}` }),
      el("td", { text: fmtTime(row.raised) }), el("td", { text: t("isa." + row.isa) }),
      el("td", {}, ...actionsFor(row)));
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "10", class: "muted", text: t("alarm.none") })));
  tbody.replaceChildren(...rows);
  setAlarmCount(alarms.filter((a) => a.unacked).length);
}

// A short tone every 2 s while any alarm is unacknowledged (unless muted).
let audio = null;
setInterval(() => {
  if (muted() || !alarms.some((a) => a.unacked)) return;
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = alarms.some((a) => a.unacked && a.level === 2) ? 1200 : 880;
    gain.gain.value = 0.08;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.2);
  } catch { /* no audio device: the flashing still shows it */ }
}, 2000);

async function load() {
  alarms = (await getJSON("/api/alarms")).alarms;
  render();
  loaded = true;
}

await load();
connect((batch) => { if (batch.alarms) { alarms = batch.alarms; render(); } }, load);
document.body.dataset.ready = "1";
