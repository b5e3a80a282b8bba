// The controller's dashboard in a real browser: Debian's Chromium, headless,
// driven by playwright-core (which never downloads a browser of its own).
//
//   node dashboard_test.mjs --bin DIR --pki SCRIPT [--screenshot FILE]
//
// Starts a real chaos-controller (mutual TLS, an authz file, --http-listen:
// the dashboard over HTTPS requiring client certificates) and a real
// chaos-agent registered with it, all on loopback, and:
// 1. loads the page as an admin (its certificate presented by the browser)
//    and prints how long it took (a figure, never asserted);
// 2. submits a run with the real chaosctl: it appears and its timeline
//    advances through inject and revert to "passed", with no reload, while
//    the agent's row shows the fault; a screenshot is taken meanwhile;
// 3. kills a second agent and submits a run that may lose one: the run's
//    badges (live card and history) say "passed with 1 agent lost" and
//    name the agent in their tooltips;
// 4. submits a run that holds its fault, sees the fault through the agent
//    itself (chaosctl faults --agent), aborts it from the page, and checks
//    through the agent that the fault was rolled back;
// 5. refuses what must be refused: 403 for a viewer's abort and an
//    operator's or viewer's HALT ALL, for a POST without the dashboard's
//    header or from another origin; 404 for unknown paths; 400 for a
//    malformed request, 413 for one over 64 KiB; a handshake without a
//    client certificate fails,
//    and the controller keeps serving after each;
// 6. presses HALT ALL during a third run: the agent says it is halted and
//    holds no fault (chaosctl describe/faults --agent);
// and fails on any console error or uncaught exception in the page.
// Everything it started is stopped, and its directory removed, even when a
// step fails. Exit code 0 when all hold, 1 otherwise.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
  "--no-first-run", "--disable-background-networking", "--disable-component-update",
  "--disable-sync"];
// Generous: waits end as soon as their condition holds.
const DEADLINE_MS = Number(process.env.DASHBOARD_DEADLINE_MS || 90_000);

function parseArgs(argv) {
  const opts = { bin: null, pki: null, screenshot: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag}: needs a value`);
    if (flag === "--bin") opts.bin = value;
    else if (flag === "--pki") opts.pki = value;
    else if (flag === "--screenshot") opts.screenshot = value;
    else throw new Error(`unknown argument ${flag}`);
  }
  if (!opts.bin || !opts.pki) throw new Error("--bin DIR and --pki SCRIPT are required");
  return opts;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, check, deadline = DEADLINE_MS) {
  const end = Date.now() + deadline;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// A daemon of ours, its output in a log file.
class Daemon {
  constructor(name, argv, dir) {
    this.name = name;
    this.log = path.join(dir, `${name}.log`);
    const out = fs.openSync(this.log, "w");
    this.child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", out, out] });
    this.exited = new Promise((resolve) => this.child.on("exit", (code, sig) => resolve({ code, sig })));
  }
  text() { return fs.readFileSync(this.log, "utf8"); }
  async waitFor(re) {
    return until(`${this.name}: ${re}`, () => {
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited:\n${this.text()}`);
      return this.text().match(re);
    });
  }
  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}

function run(argv, timeoutMs = 120_000) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: timeoutMs });
  return { code: r.status, out: `${r.stdout || ""}${r.stderr || ""}` };
}
// chaosctl in the background; resolves with its exit code and output.
function runInBackground(argv) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1));
    let out = "";
    child.stdout.on("data", (d) => { out += d; });
    child.stderr.on("data", (d) => { out += d; });
    child.on("exit", (code) => resolve({ code, out }));
  });
}

// One raw request over TLS with `cert`; resolves with the status line, or
// the error when the handshake or the connection fails.
function rawRequest(port, files, bytes) {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...files });
    let reply = "";
    socket.setTimeout(20_000, () => socket.destroy(new Error("timeout")));
    socket.on("secureConnect", () => socket.write(bytes));
    socket.on("data", (d) => { reply += d; });
    socket.on("error", (e) => resolve(`error: ${e.code || e.message}`));
    socket.on("close", () => resolve(reply.split("\r\n")[0]));
  });
}

class Fixture {
  constructor(opts) {
    this.opts = opts;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "chaos-dashboard-"));
    this.daemons = [];
    this.pki = path.join(this.dir, "pki");
  }
  bin(name) { return path.join(this.opts.bin, name); }
  identity(name) {
    return { cert: path.join(this.pki, `${name}.crt`), key: path.join(this.pki, `${name}.key`) };
  }
  tlsFlags(name) {
    const id = this.identity(name);
    return ["--tls-cert", id.cert, "--tls-key", id.key, "--tls-ca", path.join(this.pki, "ca.crt")];
  }
  chaosctl(args, as = "operator-admin") {
    return [this.bin("chaosctl"), ...args, ...this.tlsFlags(as)];
  }

  async start() {
    const pki = run(["/bin/bash", this.opts.pki, "-o", "admin", "-o", "alice", "-o", "bob",
      this.pki, "agent1", "agent2"]);
    assert.equal(pki.code, 0, pki.out);
    const authz = path.join(this.dir, "authz.yaml");
    fs.writeFileSync(authz, [
      "roles:",
      '  "spiffe://chaos/operator/admin": admin',
      '  "spiffe://chaos/operator/alice": operator',
      '  "spiffe://chaos/operator/bob": viewer',
      '  "spiffe://chaos/agent/*": agent', ""].join("\n"));
    const ctlPort = path.join(this.dir, "controller.port");
    this.controller = this.spawn("controller", [this.bin("chaos-controller"),
      "--listen", "127.0.0.1:0", "--port-file", ctlPort, "--state-dir", path.join(this.dir, "ctl"),
      "--http-listen", "127.0.0.1:0", "--heartbeat-interval-ms", "200", "--authz", authz,
      // A killed agent stays live for 10 s: long enough to submit a run
      // that must lose it (lostAgentRun).
      "--missed-heartbeats", "50",
      ...this.tlsFlags("controller")]);
    const https = await this.controller.waitFor(/serving HTTPS \(\/metrics, dashboard at \/\) on port (\d+)/);
    this.httpsPort = Number(https[1]);
    this.controllerAddress = `127.0.0.1:${await this.portFrom(ctlPort, this.controller)}`;
    [this.agent, this.agentAddress] = await this.startAgent("agent1");
    this.url = `https://127.0.0.1:${this.httpsPort}`;
  }
  // A chaos-agent registered with the controller: its daemon and address.
  async startAgent(name) {
    const port = path.join(this.dir, `${name}.port`);
    const agent = this.spawn(name, [this.bin("chaos-agent"), "--listen", "127.0.0.1:0",
      "--port-file", port, "--state-dir", path.join(this.dir, name),
      "--controller", this.controllerAddress, ...this.tlsFlags(`agent-${name}`)]);
    return [agent, `127.0.0.1:${await this.portFrom(port, agent)}`];
  }
  spawn(name, argv) {
    const d = new Daemon(name, argv, this.dir);
    this.daemons.push(d);
    return d;
  }
  async portFrom(file, daemon) {
    return until(`${daemon.name}'s port file`, () => {
      if (daemon.child.exitCode !== null) throw new Error(`${daemon.name} exited:\n${daemon.text()}`);
      const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : "";
      return Number(text) > 0 ? Number(text) : null;
    });
  }
  experiment(name, text) {
    const file = path.join(this.dir, `${name}.yaml`);
    fs.writeFileSync(file, text);
    return file;
  }
  submit(file) {
    return runInBackground(this.chaosctl(["run", file, "--controller", this.controllerAddress]));
  }
  // What the agent itself says (not the controller nor the page): true
  // when it holds an active fault, false when it says it holds none.
  agentHoldsFault() {
    const r = run(this.chaosctl(["faults", "--agent", this.agentAddress]));
    assert.equal(r.code, 0, r.out);
    return !/no active faults/.test(r.out);
  }
  agentDescription() {
    const r = run(this.chaosctl(["describe", "--agent", this.agentAddress]));
    assert.equal(r.code, 0, r.out);
    return JSON.parse(r.out);
  }
  async stop() {
    for (const d of [...this.daemons].reverse()) await d.stop();
  }
  logs() { return this.daemons.map((d) => `--- ${d.name}\n${d.text()}`).join("\n"); }
}

const kBurn = (name, duration) => `name: ${name}
method:
  - {id: burn, duration: ${duration}, fault: {cpuBurn: {workers: 1, loadPercent: 5}}}
`;

async function newContext(browser, fx, who) {
  const id = fx.identity(who);
  // The browser presents the client certificate; the development CA is not
  // in its trust store, so the server's certificate is not checked by it.
  return browser.newContext({
    ignoreHTTPSErrors: true,
    clientCertificates: [{ origin: fx.url, certPath: id.cert, keyPath: id.key }],
    viewport: { width: 1400, height: 900 },
  });
}

// Loads the page and prints how long it took: the first load (a new TLS
// connection through Playwright's client-certificate proxy) and a reload.
async function loadDashboard(page, fx) {
  for (const which of ["first load", "reload"]) {
    const started = Date.now();
    if (which === "reload") await page.reload({ waitUntil: "load" });
    else await page.goto(fx.url, { waitUntil: "load" });
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: DEADLINE_MS });
    const live = Date.now() - started;
    const nav = await page.evaluate(() => {
      const n = performance.getEntriesByType("navigation")[0];
      return { dom: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd) };
    });
    console.log(`dashboard ${which}: load event ${nav.load} ms after navigation start ` +
      `(DOMContentLoaded ${nav.dom} ms); stream live ${live} ms after the request`);
  }
}

async function passingRun(page, fx) {
  const run = fx.submit(fx.experiment("pass", kBurn("dashboard-pass", "4s")));
  const card = page.locator("#live .run").first();
  await card.waitFor({ timeout: DEADLINE_MS });
  const id = await card.getAttribute("data-run-id");
  await card.locator('.timeline li[data-type="inject"]').first().waitFor({ timeout: DEADLINE_MS });
  const agentRow = page.locator(`#agents tr[data-agent="${fx.agentAddress}"]`);
  await until("the agent's row to show the burn", async () =>
    (await agentRow.getAttribute("data-faults")) === "1");
  if (fx.opts.screenshot) await page.screenshot({ path: fx.opts.screenshot, fullPage: true });
  await page.locator(`#live .run[data-run-id="${id}"][data-state="passed"]`)
    .waitFor({ timeout: DEADLINE_MS });
  assert.ok(await card.locator('.timeline li[data-type="revert"]').count() > 0, "no revert event");
  await page.locator(`#history tr[data-run-id="${id}"][data-state="passed"]`)
    .waitFor({ timeout: DEADLINE_MS });
  const done = await run;
  assert.equal(done.code, 0, done.out);
  console.log(`run ${id}: appeared, advanced to passed without a reload`);
  return id;
}

// A second agent is killed while the controller still counts it live, and
// a run that may lose one agent passes on the first: the live card's and
// the history's badges say so, their tooltips name the agent and why.
// The killed agent is then forgotten, so the later steps see one agent.
async function lostAgentRun(page, fx) {
  const [agent, address] = await fx.startAgent("agent2");
  const row = page.locator(`#agents tr[data-agent="${address}"]`);
  await row.waitFor({ timeout: DEADLINE_MS });
  agent.child.kill("SIGKILL");
  await agent.exited;
  const done = await fx.submit(fx.experiment("lose", `name: dashboard-lose
targets:
  all: {maxUnavailable: 1}
method:
  - {id: burn, duration: 2s, fault: {cpuBurn: {workers: 1, loadPercent: 5}}}
`));
  assert.equal(done.code, 0, done.out);
  const id = (done.out.match(/^run (\S+): passed with 1 agent lost/m) || [])[1];
  assert.ok(id, `chaosctl did not say the run passed with 1 agent lost:\n${done.out}`);
  const why = new RegExp(`^${address.replace(/\./g, "\\.")} in preflight: cannot reach agent`);
  for (const badge of [page.locator(`#live .run[data-run-id="${id}"] .state`),
    page.locator(`#history tr[data-run-id="${id}"] .state`)]) {
    await until("a badge saying the run lost an agent", async () =>
      (await badge.count()) > 0 && (await badge.textContent()) === "passed with 1 agent lost");
    assert.match(await badge.getAttribute("title"), why);
  }
  await row.locator("td.lost").waitFor({ timeout: DEADLINE_MS });  // the registry's verdict
  const forgot = run(fx.chaosctl(["forget-agent", address, "--controller", fx.controllerAddress]));
  assert.equal(forgot.code, 0, forgot.out);
  await row.waitFor({ state: "detached", timeout: DEADLINE_MS });
  console.log(`run ${id}: both badges say passed with 1 agent lost, naming ${address}`);
}

// The answer to the page's fetch of the run is held until the abort has ended
// the run, so that answer (the run still running) arrives after the stream's
// end event, as it may on a loaded machine. The card must stay aborted.
async function abortedRun(page, fx) {
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  const isRunFetch = (url) => new URL(url).pathname === "/api/run";
  await page.route(isRunFetch, async (route) => {
    const response = await route.fetch();
    await held;
    await route.fulfill({ response });
  });
  const run = fx.submit(fx.experiment("hold", kBurn("dashboard-abort", "5m")));
  const card = page.locator('#live .run[data-live="true"]').first();
  await card.waitFor({ timeout: DEADLINE_MS });
  const id = await card.getAttribute("data-run-id");
  await card.locator('.timeline li[data-type="inject"]').first().waitFor({ timeout: DEADLINE_MS });
  await until("the agent to hold the burn", () => fx.agentHoldsFault());
  await card.locator("button.abort").click();
  const ended = page.locator(`#live .run[data-run-id="${id}"][data-state="aborted"]`);
  await ended.waitFor({ timeout: DEADLINE_MS });
  release();
  await page.locator(`#live .run[data-run-id="${id}"][data-loads]`).waitFor({ timeout: DEADLINE_MS });
  await page.unroute(isRunFetch);
  assert.equal(await page.locator(`#live .run[data-run-id="${id}"]`).getAttribute("data-state"),
    "aborted", "a late fetch revived the aborted run");
  await until("the agent to hold no fault", () => !fx.agentHoldsFault());
  const done = await run;
  assert.notEqual(done.code, 0, done.out);
  assert.notEqual(done.code, 3, `rollback incomplete:\n${done.out}`);
  console.log(`run ${id}: aborted from the page; the agent holds no fault`);
  return id;
}

async function refusals(browser, fx, runId) {
  const post = async (who, pathname, headers = { "X-Chaos-Dashboard": "1" }) => {
    const ctx = await newContext(browser, fx, who);
    const res = await ctx.request.post(`${fx.url}${pathname}`, { headers, failOnStatusCode: false });
    const status = res.status();
    await ctx.close();
    return status;
  };
  assert.equal(await post("operator-bob", `/api/abort?id=${runId}`), 403, "viewer abort");
  assert.equal(await post("operator-bob", "/api/halt"), 403, "viewer halt");
  assert.equal(await post("operator-alice", "/api/halt"), 403, "operator halt");
  assert.equal(await post("operator-admin", "/api/halt", {}), 403, "halt without the header");
  assert.equal(await post("operator-admin", "/api/halt",
    { "X-Chaos-Dashboard": "1", Origin: "https://evil.example" }), 403, "halt from elsewhere");
  assert.equal(await post("operator-alice", `/api/abort?id=${runId}`), 200, "operator abort");
  const admin = await newContext(browser, fx, "operator-admin");
  for (const p of ["/nope", "/api/nope", "/index.html", "/api/run?id=no-such-run"]) {
    const res = await admin.request.get(`${fx.url}${p}`, { failOnStatusCode: false });
    assert.equal(res.status(), 404, p);
  }
  await admin.close();
  const id = fx.identity("operator-admin");
  const files = { cert: fs.readFileSync(id.cert), key: fs.readFileSync(id.key) };
  const garbage = await rawRequest(fx.httpsPort, files, "\x00\xffNOT HTTP AT ALL\r\n\r\n");
  assert.match(garbage, /^HTTP\/1\.1 400/, garbage);
  const huge = await rawRequest(fx.httpsPort, files,
    "POST /api/halt HTTP/1.1\r\nHost: x\r\nX-Chaos-Dashboard: 1\r\nContent-Length: 100000\r\n\r\n" +
    "a".repeat(100_000));
  assert.match(huge, /^HTTP\/1\.1 413/, huge);
  const anonymous = await rawRequest(fx.httpsPort, {}, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.ok(!/^HTTP/.test(anonymous), `served without a client certificate: ${anonymous}`);
  const after = await rawRequest(fx.httpsPort, files,
    "GET /api/runs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.match(after, /^HTTP\/1\.1 200/, `the controller stopped serving: ${after}`);
  console.log("refused: viewer and operator state changes (403), cross-site posts (403), " +
    "unknown paths (404), malformed requests (400), a 100 kB body (413), no client certificate");
}

async function haltAll(page, fx) {
  const run = fx.submit(fx.experiment("halt", kBurn("dashboard-halt", "5m")));
  const card = page.locator('#live .run[data-live="true"]').first();
  await card.waitFor({ timeout: DEADLINE_MS });
  const id = await card.getAttribute("data-run-id");
  await until("the agent to hold the burn", () => fx.agentHoldsFault());
  await page.locator("#halt-all").click();
  await page.locator("#notice", { hasText: "halted 1 agent(s)" }).waitFor({ timeout: DEADLINE_MS });
  await page.locator(`#agents tr[data-agent="${fx.agentAddress}"][data-halted="true"]`)
    .waitFor({ timeout: DEADLINE_MS });
  const described = fx.agentDescription();
  assert.equal(described.halted, true, JSON.stringify(described));
  assert.equal(fx.agentHoldsFault(), false, "the halted agent still holds a fault");
  await page.locator(`#live .run[data-run-id="${id}"][data-live="false"]`)
    .waitFor({ timeout: DEADLINE_MS });
  const done = await run;
  assert.notEqual(done.code, 0, done.out);
  console.log(`HALT ALL: run ${id} interrupted, the agent halted and holds no fault`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const fx = new Fixture(opts);
  let browser = null;
  let failed = false;
  try {
    await fx.start();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    const context = await newContext(browser, fx, "operator-admin");
    const page = await context.newPage();
    const problems = [];
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
    page.on("dialog", (d) => d.accept());
    await loadDashboard(page, fx);
    await page.locator(`#agents tr[data-agent="${fx.agentAddress}"]`).waitFor({ timeout: DEADLINE_MS });
    await passingRun(page, fx);
    await lostAgentRun(page, fx);
    const aborted = await abortedRun(page, fx);
    await refusals(browser, fx, aborted);
    await haltAll(page, fx);
    assert.deepEqual(problems, [], "the page logged errors");
    await context.close();
    console.log("dashboard_test: all checks passed");
  } catch (e) {
    failed = true;
    console.error(`dashboard_test FAILED: ${e.stack || e}`);
    console.error(fx.logs());
  } finally {
    if (browser) await browser.close();
    await fx.stop();
    fs.rmSync(fx.dir, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

main();
