// Small helpers shared by the pages.

// esc makes text safe to put in HTML.
export function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// clock follows the server's time: ages and durations are counted on it,
// so a browser whose clock is off still shows the right ones.
let offset = 0;
export function syncClock(serverTime) {
  if (serverTime) offset = Date.parse(serverTime) - Date.now();
}
export function now() {
  return Date.now() + offset;
}

// duration shows milliseconds as "45s", "3m 05s", "2h 10m".
export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

export function clockTime(t) {
  return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// percent shows a weight: whole numbers plain, fractions as given.
export function percent(w) {
  return `${Number.isInteger(w) ? w : +w.toFixed(3)}%`;
}

// badge is a word in its colour; the word carries the meaning.
export function badge(word, cls = word) {
  return word ? `<span class="badge ${esc(cls)}">${esc(word)}</span>` : `<span class="muted">–</span>`;
}

// setHTML replaces an element's content only when it changed, so a live
// update leaves focus, selection and open details where they were.
export function setHTML(el, html) {
  if (el.dataset.html === html) return false;
  const open = [...el.querySelectorAll("details[open][id]")].map((d) => d.id);
  el.innerHTML = html;
  el.dataset.html = html;
  // Widths of bars: style attributes are barred by the page's CSP.
  for (const bar of el.querySelectorAll("[data-w]")) bar.style.width = `${bar.dataset.w}%`;
  for (const id of open) el.querySelector(`#${CSS.escape(id)}`)?.setAttribute("open", "");
  return true;
}

// tick refreshes every [data-since] (a running duration) once a second.
export function startTicking() {
  setInterval(() => {
    for (const el of document.querySelectorAll("[data-since]")) {
      el.textContent = duration(now() - Date.parse(el.dataset.since));
    }
  }, 1000);
}

let toastTimer;
export function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 4000);
}
