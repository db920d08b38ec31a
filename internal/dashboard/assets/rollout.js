// One Rollout's page: traffic, steps, analyses, revisions, hooks, events,
// and the buttons that steer it.
import { esc, badge, percent, duration, clockTime, now, setHTML, toast } from "./util.js";
import { weightChart, weightTable, metricChart } from "./charts.js";

const buttons = [
  { request: "promote", label: "Promote", cls: "",
    title: (v) => `Promote ${v.name} to its next step?`,
    text: (v) => `End the current step${current(v) ? ` (${current(v).summary})` : ""} and go on to the next.` },
  { request: "promote-full", label: "Promote full", cls: "",
    title: (v) => `Promote ${v.name} in full?`,
    text: (v) => `Skip every remaining step: the canary${v.canary ? ` (revision ${v.canary.number})` : ""} becomes stable now and takes all traffic.` },
  { request: "abort", label: "Abort", cls: "danger",
    title: (v) => `Abort ${v.name}?`,
    text: () => "Roll the canary back now: its weight goes to 0 and its pods scale down. The Rollout stays Degraded until a retry or a new version." },
  { request: "retry", label: "Retry", cls: "secondary",
    title: (v) => `Retry ${v.name}?`,
    text: () => "Start the rolled-back canary again from its first step." },
  { request: "pause", label: "Pause", cls: "secondary",
    title: (v) => `Pause ${v.name}?`,
    text: () => "Hold the Rollout where it is: no step starts or ends and no weight changes until it is resumed." },
  { request: "resume", label: "Resume", cls: "secondary",
    title: (v) => `Resume ${v.name}?`,
    text: () => "Let the Rollout go on from where it was held." },
];

function current(v) {
  return v.steps.find((s) => s.state === "running");
}

export function rolloutPage(main, ns, name) {
  main.innerHTML = `
    <div id="head"></div>
    <div id="actions" class="actions" role="group" aria-label="Steer the rollout"></div>
    <div class="grid">
      <section class="panel" aria-labelledby="traffic-h"><h2 id="traffic-h">Traffic</h2>
        <div id="traffic"></div><div id="traffic-chart"></div><div id="traffic-table"></div></section>
      <section class="panel" aria-labelledby="steps-h"><h2 id="steps-h">Steps</h2><div id="steps"></div></section>
    </div>
    <section class="panel" aria-labelledby="analysis-h"><h2 id="analysis-h">Analysis</h2><div id="analysis"></div></section>
    <div class="grid">
      <section class="panel" aria-labelledby="revisions-h"><h2 id="revisions-h">Revisions</h2><div id="revisions"></div></section>
      <section class="panel" aria-labelledby="hooks-h"><h2 id="hooks-h">Hooks and tests</h2><div id="hooks"></div></section>
    </div>
    <section class="panel" aria-labelledby="events-h"><h2 id="events-h">Events</h2><div id="events"></div></section>`;
  const $ = (id) => main.querySelector(`#${id}`);
  let view = null;
  let samples = [];
  let canary = "";

  // The weight the page sees live, between the steps' recorded ends: a
  // point when it changes (and a bounded number of them).
  function sample(v) {
    const hash = v.canary ? v.canary.hash : "";
    if (hash !== canary) {
      samples = [];
      canary = hash;
    }
    if (!v.step || v.abort) return;
    if (samples.length === 0 || samples[samples.length - 1].v !== v.weight) samples.push({ t: now(), v: v.weight });
    if (samples.length > 1000) samples.splice(0, samples.length - 1000);
  }

  // A rolled-back canary still shows its 0%; only a live one runs on.
  const live = () => view && view.step && !view.abort;

  function drawChart() {
    setHTML($("traffic-chart"), weightChart(view.weightPlot, samples, live() ? now() : undefined));
  }

  function drawTraffic(v) {
    const workload = v.workload ? `<div class="figure">Workload <b>${esc(v.workload)}</b></div>` : "";
    const figures = v.step
      ? `<div class="figures">
          <div class="figure canary">Canary <b id="weight">${percent(v.weight)}</b>${v.asked !== v.weight ? `<span class="muted">asked ${percent(v.asked)}</span>` : ""}</div>
          <div class="figure stable">Stable <b>${percent(100 - v.weight)}</b></div>
          <div class="figure">Step <b id="step">${esc(v.step)}</b></div>
          <div class="figure">Traffic <b>${esc(v.router)}</b></div>${workload}
        </div>`
      : `<div class="figures"><div class="figure stable">Stable <b id="weight">100%</b></div><div class="figure">Traffic <b>${esc(v.router)}</b></div>${workload}</div>`;
    setHTML($("traffic"), figures);
    drawChart();
    setHTML($("traffic-table"), weightTable(v.weightPlot));
  }

  // The buttons are drawn once and then only enabled or disabled, so one
  // that has focus keeps it; if it is disabled under it, focus moves to
  // the first one still enabled rather than to the page.
  function drawButtons(v) {
    const group = $("actions");
    if (v.readOnly) {
      setHTML(group, `<span class="muted">Read-only dashboard.</span>`);
      return;
    }
    if (!group.querySelector("button")) {
      group.innerHTML = buttons.map((b) => `<button type="button" class="${b.cls}" data-request="${b.request}">${b.label}</button>`).join("");
    }
    const focused = document.activeElement;
    for (const btn of group.querySelectorAll("button")) btn.disabled = !v.requests.includes(btn.dataset.request);
    if (group.contains(focused) && focused.disabled) group.querySelector("button:enabled")?.focus();
  }

  function draw(v, error) {
    if (error) {
      view = null; // nothing runs on for a Rollout that is gone
      setHTML($("head"), `<h1>${esc(name)}</h1><p class="error" role="alert">${esc(error)}</p>`);
      return;
    }
    view = v;
    sample(v);
    const paused = v.paused ? ` <span class="badge Paused">held by spec.paused</span>` : "";
    setHTML($("head"), `<h1>${esc(v.name)} ${badge(v.phase)}${paused}</h1>
      <p class="message" id="message">${esc(v.message)}</p>
      ${v.abort ? `<p class="error">Rolled back (${esc(v.abort.reason)}): ${esc(v.abort.message)}</p>` : ""}`);
    drawButtons(v);
    drawTraffic(v);
    setHTML($("steps"), steps(v));
    setHTML($("analysis"), analyses(v));
    setHTML($("revisions"), revisions(v));
    setHTML($("hooks"), hooks(v));
    setHTML($("events"), events(v));
  }

  // The chart runs on to now while a canary is in flight.
  setInterval(() => live() && drawChart(), 1000);

  $("actions").addEventListener("click", async (e) => {
    const btn = e.target.closest("button[data-request]");
    if (!btn || btn.disabled || !view) return;
    const b = buttons.find((x) => x.request === btn.dataset.request);
    // What the dialog asks is about the Rollout as it is now; if it moves
    // on before the answer (another step, another canary), the answer is
    // not to what would happen, and nothing is sent.
    const asked = (v) => [v.step, v.canary ? v.canary.hash : "", v.requests.includes(b.request), b.text(v)].join("|");
    const before = asked(view);
    const yes = await confirmRequest(b.title(view), b.text(view), b.label, b.cls);
    const moved = !view || asked(view) !== before;
    if (yes && moved) toast(`Nothing sent: ${name} changed while you were asked. Look again.`);
    if (!yes || moved) {
      refocus(btn);
      return;
    }
    try {
      const resp = await fetch(`/api/rollouts/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/${b.request}`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
      });
      const body = await resp.json().catch(() => ({}));
      toast(resp.ok ? `${b.label}: sent` : `${b.label} failed: ${body.error || resp.statusText}`);
    } catch (err) {
      toast(`${b.label} failed: ${err.message}`);
    }
    refocus(btn);
  });

  // refocus puts focus back on btn, or, if it was disabled meanwhile, on
  // the first button still enabled rather than on the page.
  function refocus(btn) {
    (btn.disabled ? $("actions").querySelector("button:enabled") : btn)?.focus();
  }

  return { draw };
}

// confirmRequest asks in a modal dialog (which keeps focus inside until
// answered, and gives it back after) and resolves to the answer.
function confirmRequest(title, text, label, cls) {
  const dlg = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  const ok = document.getElementById("confirm-ok");
  ok.textContent = label;
  ok.className = cls;
  dlg.returnValue = "";
  dlg.showModal();
  return new Promise((resolve) => dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true }));
}

function steps(v) {
  if (v.steps.length === 0) return `<p class="muted">No steps.</p>`;
  const items = v.steps.map((s) => {
    let when = `<span class="muted">${esc(s.state)}</span>`;
    if (s.startedAt && s.endedAt) {
      when = `${badge(s.outcome)} <span>${duration(Date.parse(s.endedAt) - Date.parse(s.startedAt))}</span>`;
    } else if (s.startedAt) {
      when = `${badge("running")} <span data-since="${esc(s.startedAt)}">${duration(now() - Date.parse(s.startedAt))}</span>`;
    }
    const at = s.startedAt ? `<span class="muted"> · from ${esc(clockTime(s.startedAt))}</span>` : "";
    return `<li class="${esc(s.state)}"${s.state === "running" ? ` aria-current="step"` : ""}>
      <span class="n">${s.index + 1}.</span>
      <span>${esc(s.summary)}${s.summary.startsWith("setWeight") ? "" : ` <span class="muted">at ${percent(s.weight)}</span>`}${at}</span>
      <span class="when">${when}</span></li>`;
  });
  return `<ol class="steps" aria-label="Steps of the canary">${items.join("")}</ol>`;
}

function analyses(v) {
  if (!v.analyses || v.analyses.length === 0) return `<p class="muted">No analysis for this canary.</p>`;
  return v.analyses.map((a) => `
    <h3>${esc(a.name)} ${badge(a.phase || "Pending")}</h3>
    ${a.message ? `<p class="muted">${esc(a.message)}</p>` : ""}
    ${a.metrics.map((m) => `
      <h4>${esc(m.name)} ${badge(m.phase || "Pending")} <span class="muted">${esc(m.condition)}</span></h4>
      ${metricChart(m)}
      <details id="m-${esc(a.name)}-${esc(m.name)}"><summary>${m.measurements?.length || 0} measurements, as a table</summary>
        <table><thead><tr><th scope="col">At</th><th scope="col">Value</th><th scope="col">Verdict</th></tr></thead>
        <tbody>${(m.measurements || []).slice().reverse().map((ms) => `<tr><td>${esc(clockTime(ms.at))}</td><td><code>${esc(ms.text)}</code></td><td>${badge(ms.phase)}</td></tr>`).join("")}</tbody></table>
      </details>`).join("")}`).join("");
}

function revisions(v) {
  if (!v.revisions || v.revisions.length === 0) return `<p class="muted">No ReplicaSets yet.</p>`;
  return `<table class="cards"><thead><tr><th scope="col">Revision</th><th scope="col">Role</th><th scope="col" class="num">Ready</th><th scope="col">Image</th></tr></thead><tbody>
    ${v.revisions.map((r) => `<tr>
      <td data-label="Revision">#${r.number} <code class="muted">${esc(r.hash)}</code></td>
      <td data-label="Role">${r.role ? badge(r.role, r.role === "stable" ? "Healthy" : "Progressing") : `<span class="muted">old</span>`}</td>
      <td data-label="Ready" class="num">${r.ready}/${r.replicas}</td>
      <td data-label="Image"><code>${esc(r.images)}</code></td></tr>`).join("")}</tbody></table>`;
}

function hooks(v) {
  if (!v.hooks || v.hooks.length === 0) return `<p class="muted">No webhooks or Jobs for this canary.</p>`;
  return `<table class="cards"><thead><tr><th scope="col">Step</th><th scope="col">Target</th><th scope="col">Result</th><th scope="col" class="num">Attempts</th><th scope="col">Message</th></tr></thead><tbody>
    ${v.hooks.map((h) => `<tr>
      <td data-label="Step">${esc(h.step)}</td><td data-label="Target"><code>${esc(h.target)}</code></td>
      <td data-label="Result">${badge(h.phase || "Pending")}</td><td data-label="Attempts" class="num">${h.attempts}</td>
      <td data-label="Message" class="muted">${esc(h.message)}</td></tr>`).join("")}</tbody></table>`;
}

function events(v) {
  if (!v.events || v.events.length === 0) return `<p class="muted">No events.</p>`;
  return `<table class="cards"><thead><tr><th scope="col">At</th><th scope="col">Reason</th><th scope="col">Note</th></tr></thead><tbody>
    ${v.events.slice().reverse().map((e) => `<tr>
      <td data-label="At">${esc(clockTime(e.at))}${e.count > 1 ? ` <span class="muted">×${e.count}</span>` : ""}</td>
      <td data-label="Reason">${badge(e.reason, e.type === "Warning" ? "Failed" : "Pending")}</td>
      <td data-label="Note">${esc(e.note)}</td></tr>`).join("")}</tbody></table>`;
}
