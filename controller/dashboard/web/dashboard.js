// The controller's game-day dashboard. Plain script, no framework, nothing
// fetched from elsewhere. One server-sent-event stream (/api/stream)
// carries every run's start, journal events and end, and the registry's
// agents; the page fetches the lists when the stream (re)connects and an
// agent's faults when the journal says they changed. No polling.
"use strict";

const LIVE_STATES = new Set(["pending", "running"]);
// Journal events after which an agent's faults may have changed.
const FAULT_EVENTS = new Set(["inject", "revert", "rollback", "abort", "lease", "run"]);

const runs = new Map();      // run_id -> chaos.v1.Run (JSON)
const journals = new Map();  // run_id -> Map(seq -> chaos.v1.RunEvent)
const shown = new Set();     // run ids with a card (live, or ended while the page was open, or picked)
let agents = [];             // from /api/agents: {info, halted, faults, error}
let agentsTimer = null;
let agentsLoading = false;
let agentsAgain = false;

function stateOf(run) {
  return String(run.state || "RUN_STATE_UNSPECIFIED").replace(/^RUN_STATE_/, "").toLowerCase();
}
// The state as chaosctl and the report word it: "passed with 1 agent lost".
function stateText(run) {
  const state = stateOf(run).replace("_", " ");
  const lost = (run.lost_agents || []).length;
  return lost === 0 ? state : `${state} with ${lost} agent${lost === 1 ? "" : "s"} lost`;
}
// Each lost agent, where and why: "127.0.0.1:1 in preflight: cannot reach ...".
function lostText(run) {
  return (run.lost_agents || []).map((l) =>
    `${l.agent} ${l.step ? `at step ${l.step}` : "in preflight"}: ${l.reason}`).join("\n");
}
function num(v) { return v === undefined || v === null ? NaN : Number(v); }
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
function duration(ms) {
  if (!(ms >= 0)) return "–";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}
function clock(ms) {
  return ms > 0 ? new Date(ms).toLocaleString([], { hour12: false }) : "–";
}

async function api(path, options) {
  const res = await fetch(path, options);
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status}: ${text.trim()}`);
  return JSON.parse(text);
}
// State changes carry the header the controller requires of its own page.
function post(path) {
  return api(path, { method: "POST", headers: { "X-Chaos-Dashboard": "1" } });
}

function notify(text, kind = "info") {
  const n = document.getElementById("notice");
  n.textContent = text;
  n.dataset.kind = kind;
  n.hidden = false;
}

// --- runs -----------------------------------------------------------------

function journalOf(id) {
  if (!journals.has(id)) journals.set(id, new Map());
  return journals.get(id);
}
function addEvents(id, events) {
  const j = journalOf(id);
  for (const e of events) j.set(Number(e.seq), e);
}
// A fetch's answer can arrive after newer stream events. A run only moves
// forward (pending, running, then an end), so an older copy of it never
// replaces a newer one: a run aborted while its first fetch was in flight
// stays aborted.
function stage(run) {
  const state = stateOf(run);
  if (state === "unspecified") return -1;
  return state === "pending" ? 0 : state === "running" ? 1 : 2;
}
function remember(run) {
  const known = runs.get(run.run_id);
  if (known && stage(known) > stage(run)) return;
  runs.set(run.run_id, Object.assign(known || {}, run));
}
async function loadRun(id) {
  const data = await api(`/api/run?id=${encodeURIComponent(id)}`);
  remember(data.run);
  addEvents(id, data.events);
  renderRun(id);
  const card = document.querySelector(`#live .run[data-run-id="${CSS.escape(id)}"]`);
  if (card) card.dataset.loads = String(Number(card.dataset.loads || 0) + 1);
}

function renderTimeline(list, run, events) {
  const start = num(run.started_at_unix_ms);
  list.replaceChildren(...events.map((e) => {
    const at = num(e.at_unix_ms) - start;
    const fields = e.fields || {};
    const about = [fields.step, fields.agent].filter(Boolean).join(" @ ");
    return el("li", { "data-seq": e.seq, "data-type": e.type },
      el("span", { class: "at" }, at >= 0 ? `+${(at / 1000).toFixed(3)}s` : ""),
      el("span", { class: "type", "data-type": e.type }, e.type),
      el("span", { class: "message" }, about ? `${about}: ${e.message}` : e.message));
  }));
  list.scrollTop = list.scrollHeight;
}

function cardFor(id) {
  let card = document.querySelector(`#live .run[data-run-id="${CSS.escape(id)}"]`);
  if (card) return card;
  card = document.getElementById("run-card").content.firstElementChild.cloneNode(true);
  card.dataset.runId = id;
  card.querySelector(".abort").addEventListener("click", () => abortRun(id));
  card.querySelector(".close").addEventListener("click", () => {
    shown.delete(id);
    card.remove();
    renderLiveEmpty();
  });
  document.getElementById("live").prepend(card);
  return card;
}

function renderRun(id) {
  const run = runs.get(id);
  if (!run || !shown.has(id)) return;
  const card = cardFor(id);
  const state = stateOf(run);
  const live = LIVE_STATES.has(state);
  card.dataset.live = String(live);
  card.dataset.state = state;
  const badge = card.querySelector(".state");
  badge.textContent = stateText(run);
  badge.title = lostText(run);
  badge.dataset.state = state;
  card.querySelector(".experiment").textContent = run.experiment_name || "";
  card.querySelector(".run-id").textContent = id;
  card.querySelector(".reason").textContent = run.reason || "";
  card.querySelector(".abort").hidden = !live;
  card.querySelector(".close").hidden = live;
  updateElapsed(card, run);
  const events = [...journalOf(id).values()].sort((a, b) => Number(a.seq) - Number(b.seq));
  renderTimeline(card.querySelector(".timeline"), run, events);
  renderLiveEmpty();
}
function updateElapsed(card, run) {
  const start = num(run.started_at_unix_ms);
  const end = num(run.ended_at_unix_ms) > 0 ? num(run.ended_at_unix_ms) : Date.now();
  card.querySelector(".elapsed").textContent = start > 0 ? duration(end - start) : "";
}
function renderLiveEmpty() {
  document.getElementById("live-empty").hidden = document.querySelector("#live .run") !== null;
}

function objective(ms, goal) {
  if (!(ms >= 0)) return el("span", {}, "–");
  const text = goal >= 0 ? `${duration(ms)} / ${duration(goal)}` : duration(ms);
  return el("span", { class: goal >= 0 ? (ms <= goal ? "met" : "missed") : "" }, text);
}

function renderHistory() {
  const rows = [...runs.values()]
    .sort((a, b) => num(b.started_at_unix_ms) - num(a.started_at_unix_ms))
    .map((run) => {
      const state = stateOf(run);
      const drill = run.drill;
      const took = num(run.ended_at_unix_ms) > 0
        ? num(run.ended_at_unix_ms) - num(run.started_at_unix_ms) : NaN;
      const row = el("tr", { "data-run-id": run.run_id, "data-state": state },
        el("td", {}, el("code", {}, run.run_id)),
        el("td", {}, run.experiment_name || ""),
        el("td", {}, el("span", { class: "state", "data-state": state, title: lostText(run) },
          stateText(run))),
        el("td", {}, clock(num(run.started_at_unix_ms))),
        el("td", {}, duration(took)),
        el("td", {}, duration(num(run.recovery_ms))),
        el("td", { class: "rto" }, drill ? objective(num(drill.rto_ms), num(drill.rto_objective_ms)) : "–"),
        el("td", { class: "rpo" }, drill ? objective(num(drill.rpo_ms), num(drill.rpo_objective_ms)) : "–"),
        el("td", {}, drill ? drill.integrity : "–"),
        el("td", {}, run.caller || run.schedule || ""));
      row.addEventListener("click", () => pick(run.run_id));
      return row;
    });
  document.querySelector("#history tbody").replaceChildren(...rows);
}

// A run picked from the history: its card, with its whole journal.
function pick(id) {
  shown.add(id);
  loadRun(id).catch((e) => notify(`run ${id}: ${e.message}`, "error"));
}

async function abortRun(id) {
  if (!window.confirm(`Abort run ${id}? Its faults are rolled back.`)) return;
  try {
    const run = await post(`/api/abort?id=${encodeURIComponent(id)}`);
    notify(`abort of ${id} requested: ${stateOf(run)}; rolling back`);
  } catch (e) {
    notify(`abort of ${id}: ${e.message}`, "error");
  }
}

// --- agents ---------------------------------------------------------------

function renderAgents() {
  const now = Date.now();
  const rows = agents.map((a) => {
    const info = a.info;
    const seen = num(info.last_seen_unix_ms);
    let state = info.lost ? "lost" : "live";
    if (a.halted) state += ", halted";
    const faults = a.error
      ? [el("span", { class: "lost" }, a.error)]
      : a.faults.length === 0 ? ["none"]
      : a.faults.map((f) => el("span", { class: "fault", "data-fault-id": f.spec ? f.spec.fault_id || "" : "" },
          el("span", { class: "kind" }, faultKind(f)), " ", f.summary || "",
          " ", el("code", {}, String(f.state || "").replace(/^FAULT_STATE_/, "").toLowerCase())));
    return el("tr", { "data-agent": info.address, "data-halted": String(Boolean(a.halted)),
                      "data-faults": String(a.faults.length) },
      el("td", {}, el("code", {}, info.address)),
      el("td", {}, info.hostname || ""),
      el("td", { class: info.lost ? "lost" : a.halted ? "halted" : "" }, state),
      el("td", {}, seen > 0 ? `${Math.max(0, Math.round((now - seen) / 1000))} s ago` : "–"),
      el("td", {}, ...faults));
  });
  document.querySelector("#agents tbody").replaceChildren(...rows);
}
function faultKind(f) {
  const spec = f.spec || {};
  const kind = Object.keys(spec).find((k) => spec[k] && typeof spec[k] === "object");
  return kind || "fault";
}

// Fetches the agents' faults soon, once, however many events ask for it.
function refreshAgents() {
  if (agentsTimer !== null) return;
  agentsTimer = setTimeout(async () => {
    agentsTimer = null;
    if (agentsLoading) { agentsAgain = true; return; }
    agentsLoading = true;
    try {
      agents = (await api("/api/agents")).agents;
      renderAgents();
    } catch (e) {
      notify(`agents: ${e.message}`, "error");
    } finally {
      agentsLoading = false;
      if (agentsAgain) { agentsAgain = false; refreshAgents(); }
    }
  }, 250);
}

// The registry, from the stream: last-seen times now, faults when the set
// of agents or their liveness changed.
function onAgents(list) {
  const known = new Map(agents.map((a) => [a.info.address, a]));
  let changed = list.length !== agents.length;
  agents = list.map((info) => {
    const a = known.get(info.address);
    if (!a || a.info.lost !== info.lost) changed = true;
    return a ? Object.assign(a, { info }) : { info, faults: [], halted: false };
  });
  renderAgents();
  if (changed) refreshAgents();
}

async function haltAll() {
  if (!window.confirm("HALT ALL: interrupt every run and halt every agent?")) return;
  const button = document.getElementById("halt-all");
  button.disabled = true;
  try {
    const r = await post("/api/halt");
    const failed = r.failed || [];
    notify(`halted ${(r.halted || []).length} agent(s)` +
      (failed.length ? `; FAILED: ${failed.join("; ")}` : ""), failed.length ? "error" : "info");
  } catch (e) {
    notify(`HALT ALL: ${e.message}`, "error");
  } finally {
    button.disabled = false;
    refreshAgents();
  }
}

// --- the stream -------------------------------------------------------------

async function reload() {
  const list = (await api("/api/runs")).runs;
  for (const run of list) {
    remember(run);
    if (LIVE_STATES.has(stateOf(runs.get(run.run_id)))) shown.add(run.run_id);
  }
  renderHistory();
  await Promise.all([...shown].map((id) => loadRun(id)));
  refreshAgents();
}

function onRun(run) {
  const id = run.run_id;
  const first = !runs.has(id);
  remember(run);
  shown.add(id);
  renderHistory();
  if (first) loadRun(id).catch((e) => notify(`run ${id}: ${e.message}`, "error"));
  else renderRun(id);
  if (!LIVE_STATES.has(stateOf(run))) refreshAgents();
}

function onJournal(event) {
  const id = event.run_id;
  addEvents(id, [event]);
  if (!runs.has(id)) return;  // its run event is on its way
  renderRun(id);
  if (FAULT_EVENTS.has(event.type)) refreshAgents();
}

function connect() {
  const status = document.getElementById("connection");
  const stream = new EventSource("/api/stream");
  stream.addEventListener("hello", () => {
    status.dataset.state = "live";
    status.textContent = "live";
    reload().catch((e) => notify(e.message, "error"));
  });
  stream.addEventListener("run", (m) => onRun(JSON.parse(m.data)));
  stream.addEventListener("journal", (m) => onJournal(JSON.parse(m.data)));
  stream.addEventListener("agents", (m) => onAgents(JSON.parse(m.data).agents || []));
  stream.addEventListener("error", () => {
    status.dataset.state = "reconnecting";
    status.textContent = "reconnecting";
  });
}

function tick() {
  for (const card of document.querySelectorAll("#live .run[data-live='true']")) {
    const run = runs.get(card.dataset.runId);
    if (run) updateElapsed(card, run);
  }
  renderAgents();
}

document.getElementById("halt-all").addEventListener("click", haltAll);
connect();
setInterval(tick, 1000);
