// Alarm actions: a dialog for the fields, the signed command sent by the server, and the
// edge's reply shown as it came (accepted, or refused with the edge's reason). Nothing is
// shown as done before the edge confirmed it: the row changes only when its event arrives.
import { api, el, t, user } from "./common.js";

const FIELDS = {
  ack: ["note"], reset: ["note"], shelve: ["duration_min", "note"], unshelve: ["note"],
  out_of_service: ["note"], return_to_service: ["note"], disposition: ["cause", "remedy"],
};
export const ROLE_OF = {
  ack: "operator", reset: "operator", shelve: "operator", unshelve: "operator", disposition: "operator",
  out_of_service: "admin", return_to_service: "admin",
};
const RANK = { viewer: 0, operator: 1, admin: 2 };

export function allowed(action) {
  return RANK[user().role] >= RANK[ROLE_OF[action]];
}

const dialog = el("dialog", { id: "action-dialog" });
document.body.append(dialog);

function ask(action, row) {
  return new Promise((resolve) => {
    const form = el("form", { method: "dialog" });
    form.append(el("h2", { text: `${t("action." + action)} · ${row.device}/${row.point} ${row.kind}` }));
    for (const name of FIELDS[action]) {
      const input = name === "duration_min"
        ? el("input", { name, type: "number", min: "1", max: "240", value: "60" })
        : el("input", { name, maxlength: "500", required: action === "disposition" || action === "out_of_service" });
      form.append(el("label", {}, el("span", { text: t("field." + name) }), input));
    }
    const ok = el("button", { class: "primary", value: "ok", id: "dialog-ok", text: t("action.send") });
    const cancel = el("button", { value: "cancel", formnovalidate: true, text: t("action.cancel") });
    form.append(el("div", {}, ok, " ", cancel));
    dialog.replaceChildren(form);
    dialog.onclose = () => {
      if (dialog.returnValue !== "ok") { resolve(null); return; }
      const values = Object.fromEntries(new FormData(form).entries());
      resolve(values);
    };
    dialog.showModal();
  });
}

export async function perform(action, row, replyBox) {
  const values = await ask(action, row);
  if (values === null) return;
  const body = {
    action, enterprise: row.enterprise, site: row.site, device: row.device, point: row.point,
    kind: row.kind, activation_id: row.activation_id, note: values.note || "",
    cause: values.cause || "", remedy: values.remedy || "",
  };
  if (values.duration_min) body.duration_s = Number(values.duration_min) * 60;
  replyBox.className = "reply waiting";
  replyBox.textContent = t("reply.waiting", { action: t("action." + action) });
  const response = await api("/api/alarms/action", { method: "POST", body: JSON.stringify(body) });
  let data = {};
  try { data = await response.json(); } catch { data = {}; }
  const target = `${row.device}/${row.point} ${row.kind}`;
  if (response.ok && data.ok) {
    replyBox.className = "reply ok";
    replyBox.textContent = t("reply.accepted", { action: t("action." + action), target });
  } else {
    const reason = data.error ? `${data.error.code}: ${data.error.message}` : (data.detail || response.status);
    replyBox.className = "reply refused";
    replyBox.textContent = t("reply.refused", { action: t("action." + action), target, reason });
  }
  replyBox.dataset.status = response.ok && data.ok ? "accepted" : "refused";
}
