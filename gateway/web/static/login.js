// The login form: posts JSON, then goes to ?next= (only a local path).
import { lang, loadLabels, setLang, t } from "./common.js";

await loadLabels();
const form = document.getElementById("login");
const error = document.getElementById("error");
const other = lang() === "zh-CN" ? "en" : "zh-CN";
const langButton = document.getElementById("lang");
langButton.textContent = other === "en" ? "English" : "中文";
langButton.addEventListener("click", () => setLang(other));

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const body = JSON.stringify({ user: form.user.value, password: form.password.value });
  const response = await fetch("/api/login", {
    method: "POST", credentials: "same-origin", body, headers: { "Content-Type": "application/json" },
  });
  if (response.ok) {
    const next = new URLSearchParams(location.search).get("next") || "/";
    location.href = next.startsWith("/") && !next.startsWith("//") ? next : "/";
    return;
  }
  error.textContent = t(response.status === 429 ? "login.too_many" : "login.failed");
});
