// The dashboard in a real browser: Debian's Chromium, headless, driven by
// playwright-core. test/e2e/dashboard_test.go runs it against a dashboard
// on the local cluster and plays the cluster's side:
//
//   node dashboard.mjs URL NAMESPACE ROLLOUT SCREENSHOT_DIR
//
// It prints "ready" once the Rollout's page is open (the test then gives
// the Rollout a new image), and "done" at the end; any failure exits 1 with
// the reason. Every wait has a deadline; nothing sleeps.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [url, ns, name, shots] = process.argv.slice(2);
const timeout = 45_000;
const errors = [];

function step(what) {
  console.error(`browser: ${what}`);
}

// text waits until the element's text is want.
async function text(page, selector, want) {
  try {
    await page.waitForFunction(
      ([s, w]) => document.querySelector(s)?.textContent.trim() === w,
      [selector, want], { timeout });
  } catch (err) {
    const got = await page.locator(selector).first().textContent().catch(() => "(absent)");
    throw new Error(`${selector}: waited for "${want}", shows "${got?.trim()}"`);
  }
}

// confirm clicks a button of the page, checks the dialog asks, and agrees.
async function confirm(page, label, question) {
  await page.locator("#actions").getByRole("button", { name: label, exact: true }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText(question).waitFor({ timeout });
  await dialog.getByRole("button", { name: label, exact: true }).click();
  await dialog.waitFor({ state: "hidden", timeout });
}

function watchErrors(page) {
  page.on("pageerror", (err) => errors.push(`page error: ${err.message}`));
  page.on("console", (msg) => msg.type() === "error" && errors.push(`console: ${msg.text()}`));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // As root in a sandboxed CI there is no user namespace for Chromium's own
  // sandbox; the rest keeps it from calling out to Google's services.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
try {
  mkdirSync(shots, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watchErrors(page);

  step("the list shows the Rollout, healthy");
  await page.goto(`${url}?namespace=${encodeURIComponent(ns)}`);
  const row = page.locator(`tr[data-rollout="${ns}/${name}"]`);
  await row.getByText("Healthy").waitFor({ timeout });

  step("its link opens its page");
  await row.getByRole("link", { name, exact: true }).click();
  await page.waitForURL(`**/rollouts/${ns}/${name}`, { timeout });
  await text(page, "#weight", "100%");
  let navigations = 0;
  page.on("framenavigated", (f) => f === page.mainFrame() && navigations++);
  console.log("ready");

  step("the canary advances live: 10%, then 30% after the pause");
  await text(page, "#weight", "10%");
  await text(page, "#step", "2/6");
  await text(page, "#weight", "30%");
  await text(page, "#step", "4/6");
  await page.locator("#steps li.running").getByText("pause until promoted").waitFor({ timeout });
  await page.locator("#steps li.done").first().getByText("Passed").waitFor({ timeout });
  await page.locator("#traffic-chart svg.chart path.canary").waitFor({ timeout });
  await page.locator("#analysis svg.chart circle.pt-Successful").first().waitFor({ timeout });
  await page.locator("#analysis svg.chart line.limit").waitFor({ state: "attached", timeout }); // a flat line has no height: "attached", not "visible"
  if (navigations !== 0) throw new Error(`the page was loaded again ${navigations} times; it should update in place`);
  await page.screenshot({ path: join(shots, "dashboard-rollout.png"), fullPage: true });

  step("a dialog answered after the Rollout moved on sends nothing");
  const pauses = [];
  page.on("request", (r) => r.method() === "POST" && r.url().endsWith("/pause") && pauses.push(r.url()));
  await page.locator("#actions").getByRole("button", { name: "Pause", exact: true }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByText(/Hold the Rollout where it is/).waitFor({ timeout });
  // Meanwhile someone else pauses it (the same request, sent from here).
  await page.evaluate(async ([ns, name]) => {
    const r = await fetch(`/api/rollouts/${ns}/${name}/pause`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    if (!r.ok) throw new Error(`pause from elsewhere: ${r.status}`);
  }, [ns, name]);
  await page.locator("#actions button[data-request=resume]:enabled").waitFor({ state: "attached", timeout });
  await dialog.getByRole("button", { name: "Pause", exact: true }).click();
  await dialog.waitFor({ state: "hidden", timeout });
  await page.locator("#toast").getByText(/^Nothing sent/).waitFor({ timeout });
  if (pauses.length !== 1) throw new Error(`${pauses.length} pause requests were sent; want only the one from elsewhere`);
  if (!(await page.evaluate(() => document.activeElement?.matches("#actions button:enabled")))) {
    throw new Error("after the dialog, focus is not on an enabled button");
  }
  await confirm(page, "Resume", /go on from where it was held/);
  await page.locator("#actions button[data-request=pause]:enabled").waitFor({ timeout });

  step("Promote asks, then moves the canary to its next step (60%)");
  await confirm(page, "Promote", /to its next step\?/);
  const focusInActions = () => !!document.activeElement?.closest("#actions button");
  await page.waitForFunction(focusInActions, null, { timeout }); // the dialog gives focus back
  await text(page, "#weight", "60%");
  await text(page, "#step", "6/6");
  // The live redraws since did not take focus from the buttons.
  if (!(await page.evaluate(focusInActions))) {
    throw new Error(`focus left the buttons during live updates: now on ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 80))}`);
  }

  step("the list, in a second tab, shows the canary's step and weight");
  const list = await browser.newPage({ viewport: { width: 1280, height: 600 } });
  watchErrors(list);
  await list.goto(url);
  const listRow = list.locator(`tr[data-rollout="${ns}/${name}"]`);
  await listRow.locator('td[data-label="Step"]').getByText("6/6", { exact: true }).waitFor({ timeout });
  await listRow.locator('td[data-label="Canary weight"]').getByText("60%").waitFor({ timeout });
  await list.screenshot({ path: join(shots, "dashboard-list.png") });

  step("at phone width nothing overflows sideways");
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  watchErrors(phone);
  await phone.goto(`${url}rollouts/${ns}/${name}`);
  await text(phone, "#weight", "60%");
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) throw new Error(`at 390px the page is ${overflow}px too wide`);
  await phone.screenshot({ path: join(shots, "dashboard-phone.png"), fullPage: true });

  step("Abort asks, then rolls the canary back");
  await confirm(page, "Abort", /Roll the canary back now/);
  await page.locator("#head .badge").getByText("Degraded").waitFor({ timeout });
  await text(page, "#weight", "0%");
  await page.locator("#steps li.done").last().getByText("RolledBack").waitFor({ timeout });
  await page.getByRole("button", { name: "Retry", exact: true }).and(page.locator(":enabled")).waitFor({ timeout });
  await listRow.locator('td[data-label="Phase"]').getByText("Degraded").waitFor({ timeout });

  if (errors.length) throw new Error(errors.join("\n"));
  console.log("done");
} catch (err) {
  console.error(`browser: ${err.message}`);
  for (const e of errors) console.error(`browser: ${e}`);
  for (const [i, p] of browser.contexts().flatMap((c) => c.pages()).entries()) {
    await p.screenshot({ path: join(shots, `failure-${i}.png`), fullPage: true }).catch(() => {});
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
