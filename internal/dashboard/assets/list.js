// The list page: every Rollout, with its phase, step and weight.
import { esc, badge, percent, setHTML } from "./util.js";

export function listPage(main, onFilter) {
  main.innerHTML = `
    <h1>Rollouts</h1>
    <div class="filters">
      <label for="ns">Namespace</label>
      <select id="ns"><option value="">All namespaces</option></select>
      <span id="count" class="muted" aria-live="polite"></span>
    </div>
    <div id="rows"></div>`;
  const select = main.querySelector("#ns");
  select.addEventListener("change", () => onFilter(select.value));

  function draw(view, error) {
    if (error) {
      setHTML(main.querySelector("#rows"), `<p class="error" role="alert">${esc(error)}</p>`);
      return;
    }
    // The filter's own namespace stays listed while it has no Rollouts.
    const options = ["", ...view.namespaces];
    if (view.namespace && !options.includes(view.namespace)) options.push(view.namespace);
    const optionsHTML = options
      .map((ns) => `<option value="${esc(ns)}"${ns === (view.namespace || "") ? " selected" : ""}>${ns ? esc(ns) : "All namespaces"}</option>`)
      .join("");
    if (select.dataset.html !== optionsHTML) {
      select.innerHTML = optionsHTML;
      select.dataset.html = optionsHTML;
    }
    const n = view.rollouts.length;
    main.querySelector("#count").textContent = `${n} rollout${n === 1 ? "" : "s"}`;
    setHTML(main.querySelector("#rows"), n === 0 ? empty(view.namespace) : table(view.rollouts));
  }
  return { draw };
}

function empty(ns) {
  return `<p class="muted">No Rollouts ${ns ? `in ${esc(ns)}` : "yet"}. <code>ramp lint</code> checks a Rollout before you apply it; docs/rollouts.md shows one.</p>`;
}

function table(rows) {
  return `<table class="cards">
    <caption class="muted">Phase, step and the canary's share of traffic, live.</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">Namespace</th><th scope="col">Phase</th><th scope="col">Step</th>
      <th scope="col">Canary weight</th><th scope="col" class="num">Pods ready</th><th scope="col">Traffic</th><th scope="col">Message</th></tr></thead>
    <tbody>${rows.map(row).join("")}</tbody></table>`;
}

function row(r) {
  const href = `/rollouts/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`;
  const weight = r.step
    ? `<span class="bar" aria-hidden="true"><span class="w" data-w="${r.weight}"></span></span>${percent(r.weight)}`
    : `<span class="muted">–</span>`;
  return `<tr data-rollout="${esc(r.namespace)}/${esc(r.name)}">
    <td data-label="Name"><a href="${href}">${esc(r.name)}</a></td>
    <td data-label="Namespace">${esc(r.namespace)}</td>
    <td data-label="Phase">${badge(r.phase)}${r.paused ? ` <span class="badge Paused">held</span>` : ""}</td>
    <td data-label="Step">${r.step ? esc(r.step) : `<span class="muted">–</span>`}</td>
    <td data-label="Canary weight">${weight}</td>
    <td data-label="Pods ready" class="num">${r.ready}/${r.pods}</td>
    <td data-label="Traffic">${esc(r.router)}</td>
    <td data-label="Message" class="muted">${esc(r.message)}</td>
  </tr>`;
}
