// Ramp dashboard: routes the two pages and keeps one live stream open.
import { esc, syncClock, startTicking } from "./util.js";
import { listPage } from "./list.js";
import { rolloutPage } from "./rollout.js";

// follow opens a server-sent event stream and calls draw with each view.
// EventSource reconnects by itself after a dropped connection; after an
// answer that is not a stream (a proxy's 502, say) it gives up, and follow
// opens a new one a few seconds later. The header shows which. A hidden
// tab closes its stream (browsers allow about six connections to one host,
// and a dashboard left open in many tabs must not use them up) and opens
// it again when shown; the first message brings it up to date.
function follow(url, draw) {
  const live = document.getElementById("live");
  let es = null;
  let retry = 0;
  const status = (text, on) => {
    live.textContent = text;
    live.className = on ? "live on" : "live off";
  };
  const open = () => {
    clearTimeout(retry);
    const s = new EventSource(url);
    es = s;
    s.onopen = () => status("live", true);
    s.onerror = () => {
      if (s.readyState !== EventSource.CLOSED) {
        status("reconnecting…", false);
        return;
      }
      status("disconnected, retrying…", false);
      retry = setTimeout(() => es === s && !document.hidden && open(), 5000);
    };
    s.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      syncClock(msg.serverTime);
      draw(msg.view, msg.error);
    };
  };
  const close = () => {
    clearTimeout(retry);
    es?.close();
    es = null;
  };
  const onVisibility = () => {
    if (document.hidden) close();
    else if (!es || es.readyState === EventSource.CLOSED) open();
  };
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
