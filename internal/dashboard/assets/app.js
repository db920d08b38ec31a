// Ramp dashboard: routes the two pages and keeps one live stream open.
import { esc, syncClock, startTicking } from "./util.js";
import { listPage } from "./list.js";
import { rolloutPage } from "./rollout.js";

// follow opens a server-sent event stream and calls draw with each view.
// EventSource reconnects by itself; the header shows whether it is live.
// A hidden tab closes its stream (browsers allow about six connections to
// one host, and a dashboard left open in many tabs must not use them up)
// and opens it again when shown; the first message brings it up to date.
function follow(url, draw) {
  const live = document.getElementById("live");
  let es = null;
  const open = () => {
    es = new EventSource(url);
    es.onopen = () => {
      live.textContent = "live";
      live.className = "live on";
    };
    es.onerror = () => {
      live.textContent = "reconnecting…";
      live.className = "live off";
    };
    es.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      syncClock(msg.serverTime);
      draw(msg.view, msg.error);
    };
  };
  const close = () => {
    es?.close();
    es = null;
  };
  const onVisibility = () => (document.hidden ? close() : es || open());
  document.addEventListener("visibilitychange", onVisibility);
  if (!document.hidden) open();
  return {
    close() {
      document.removeEventListener("visibilitychange", onVisibility);
      close();
    },
  };
}

function route() {
  const main = document.getElementById("main");
  const crumbs = document.getElementById("crumbs");
  const parts = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "rollouts" && parts.length === 3) {
    const [, ns, name] = parts;
    document.title = `${name} · Ramp`;
    crumbs.innerHTML = `<a href="/?namespace=${encodeURIComponent(ns)}">${esc(ns)}</a> / <span aria-current="page">${esc(name)}</span>`;
    const page = rolloutPage(main, ns, name);
    follow(`/api/stream/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`, page.draw);
    return;
  }
  const ns = new URLSearchParams(location.search).get("namespace") || "";
  document.title = "Rollouts · Ramp";
  crumbs.innerHTML = `<span aria-current="page">Rollouts</span>`;
  const page = listPage(main, (next) => {
    const url = next ? `/?namespace=${encodeURIComponent(next)}` : "/";
    history.replaceState(null, "", url);
    stream.close();
    stream = follow(`/api/stream?namespace=${encodeURIComponent(next)}`, page.draw);
  });
  let stream = follow(`/api/stream?namespace=${encodeURIComponent(ns)}`, page.draw);
}

route();
startTicking();
