// Train a new network live, TensorFlow Playground style: Start (or start paused), Pause/Resume,
// Step one mini-batch, Stop, and a speed (steps per second, or full speed) for slow motion. The curves, the first-layer weights and a few test images' answers
// follow the run. A finished run is a *candidate*, shown beside the served network; it is served
// only when someone presses "Use this network" (POST /api/train/adopt).

import { api } from "./api.js";
import { $, emit, percent, state } from "./store.js";
import { applyUrl } from "./settings.js";

const run = {
  job: null,          // the job number being followed
  status: null,       // the last TrainStatus seen
  records: [],        // its epoch records
  events: null,       // the EventSource
  pending: false,     // a start request is on its way
  ended: null,        // the number of the last job seen to end
  candidate: null,    // the finished run waiting to be adopted
};

export function trainState() {
  return run;
}

async function fillForm() {
  const schema = await api("/openapi.json");
  const props = schema.components.schemas.TrainRequest.properties;
  for (const select of $("train-form").querySelectorAll("select")) {
    const prop = props[select.name];
    if (!prop) continue;
    const options = prop.enum || (prop.anyOf || []).flatMap((p) => p.enum || []);
    select.innerHTML = "";
    for (const value of options) {
      const o = document.createElement("option");
      o.value = o.textContent = value;
      if (value === prop.default) o.selected = true;
      select.appendChild(o);
    }
  }
  const n = props.train_examples;
  if (n && n.maximum) $("train-form").elements.train_examples.max = String(n.maximum);
}

function settings() {
  const form = $("train-form").elements;
  return {
    hidden: String(form.hidden.value).split(",").map((s) => s.trim()).filter(Boolean).map(Number),
    activation: form.activation.value,
    output: form.output.value,
    cost: form.cost.value,
    optimizer: form.optimizer.value,
    lr: Number(form.lr.value),
    batch_size: Number(form.batch_size.value),
    epochs: Number(form.epochs.value),
    dataset: form.dataset.value,
    train_examples: Number(form.train_examples.value),
    paused: form.paused.checked,
    steps_per_second: speed(),
  };
}

/** The speed chosen: steps per second, or null for full speed. */
function speed() {
  const v = $("train-speed").value;
  return v === "" ? null : Number(v);
}

async function setSpeed() {
  if (!(run.status && run.status.running)) return;  // used when the next run starts
  try {
    const s = await api("/api/train/speed", { steps_per_second: speed() });
    showStatus(s);
  } catch (err) {
    say(err.message);
  }
}

function say(text) {
  $("train-status").textContent = text;
}

/** The buttons as the run's state allows. */
function buttons(s) {
  const live = Boolean(s && s.running);
  const paused = Boolean(s && s.paused);
  $("train-start").disabled = live || run.pending;
  $("train-pause").disabled = !live || s.state === "loading";
  $("train-pause").textContent = paused ? "Resume" : "Pause";
  $("train-pause").setAttribute("aria-pressed", String(paused));
  $("train-step").disabled = !live || !paused;
  $("train-stop").disabled = !live;
}

function progressText(s) {
  const epochs = s.epochs || 1;
  if (s.state === "loading") return `run #${s.job}: loading the data…`;
  const epoch = s.epoch || 1;
  const batches = s.batches_per_epoch || 0;
  const where = batches ? `epoch ${epoch} of ${epochs}, mini-batch ${s.batch_in_epoch} of ` +
    `${batches.toLocaleString()}` : `epoch ${epoch} of ${epochs}`;
  const state = s.paused ? "paused" : "training";
  const used = s.train_examples ? ` on ${s.train_examples.toLocaleString()} images` : "";
  return `run #${s.job} ${state}${used}: ${where} (${(s.batches_done || 0).toLocaleString()} ` +
    "mini-batch steps in all)";
}

function showStatus(s) {
  const known = run.status;
  if (known && known.job === s.job && (s.batches_done || 0) < (known.batches_done || 0)) {
    return;  // an older report that arrived late
  }
  if (s.job === run.ended) return;  // an answer made before this run ended, arriving after it
  run.status = s;
  buttons(s);
  if (s.records) run.records = s.records;
  if (s.running) {
    const batches = s.batches_per_epoch || 0;
    const epochs = s.epochs || 1;
    $("train-progress").value = batches ? ((s.epoch || 1) - 1 + s.batch_in_epoch / batches) / epochs : 0;
    say(progressText(s));
  }
  $("train-status").dataset.batches = String(s.batches_done || 0);
  $("train-status").dataset.state = s.state;
  drawCurves();
}

function ended(s) {
  run.ended = s.job;
  run.status = s;
  buttons({ running: false });
  // the server's message names the state itself ("stopped after 12 mini-batches (...)")
  const m = (s.message || "").replace(/\.$/, "");
  say(m.startsWith(s.state) ? `Run #${s.job} ${m}.` : `Run #${s.job} ${s.state}${m ? `: ${m}` : ""}.`);
  $("train-status").dataset.state = s.state;
  $("train-status").dataset.batches = String(s.batches_done || 0);
  if (s.epochs) $("train-progress").value = (s.epochs_done || 0) / s.epochs;
  emit("train-ended", s);
}

async function start(event) {
  event.preventDefault();
  if (run.pending) return;  // a double click sends one run
  run.pending = true;
  $("train-start").disabled = true;
  try {
    const s = await api("/api/train", settings());
    run.records = [];
    run.job = s.job;
    emit("train-started", s);
    drawCurves();
    showStatus(s);
    listen();
  } catch (err) {
    say(err.message);
  } finally {
    run.pending = false;
    buttons(run.status && run.status.running ? run.status : null);
  }
}

async function command(path) {
  try {
    const s = await api(path, {});
    if (s && s.job !== undefined) {
      if (s.running === false || ["finished", "stopped", "failed"].includes(s.state)) return s;
      showStatus(s);
      emit("train-step", s);
    }
    return s;
  } catch (err) {
    say(err.message);
    return null;
  }
}

function listen() {
  if (run.events) run.events.close();
  const events = new EventSource("/api/train/events");
  run.events = events;
  const data = (e) => JSON.parse(e.data);
  events.addEventListener("status", (e) => {
    const s = data(e);
    run.job = s.job;
    emit("train-followed", s);
    showStatus({ ...s, running: s.running !== undefined ? s.running : !["finished", "stopped", "failed"].includes(s.state) });
  });
  events.addEventListener("start", (e) => {
    const s = data(e).summary;
    showStatus({ ...s, running: true });
  });
  events.addEventListener("progress", (e) => {
    const p = data(e);
    const s = { ...(run.status || {}), running: true };
    s.epoch = p.epoch;
    s.batch_in_epoch = p.done;
    s.batches_per_epoch = p.batches;
    if (p.batches_done !== undefined) s.batches_done = p.batches_done;
    if (p.state) {
      s.state = p.state;
      s.paused = p.state === "paused";
    }
    showStatus(s);
    emit("train-data", p);
    emit("train-progress", s);
  });
  events.addEventListener("epoch", (e) => {
    const d = data(e);
    const last = run.records[run.records.length - 1];
    if (last && last.epoch >= d.record.epoch) return;  // replayed after a reconnection
    run.records.push(d.record);
    if (d.weights) $("train-weights").src = d.weights.png;
    drawCurves();
  });
  events.addEventListener("end", (e) => {
    const s = data(e).summary;
    events.close();
    run.events = null;
    ended(s);
  });
  events.onerror = () => {
    // the stream broke: listen again while the run goes on; stop once the server is gone
    events.close();
    run.events = null;
    api("/api/train/status").then((s) => {
      if (s.running && s.job === run.job) {
        showStatus(s);
        setTimeout(() => { if (!run.events && run.job === s.job) listen(); }, 1000);
      } else if (s.job) {
        ended(s);
      }
    }).catch(() => buttons(null));
  };
}

// -- the candidate: a finished run beside the served network ------------------------------------
/** Show the candidate (from /api/model or /api/train/status), or hide the box if none. */
export function showCandidate(candidate) {
  run.candidate = candidate || null;
  const box = $("candidate");
  box.hidden = !candidate;
  if (!candidate) return;
  const m = state.model;
  const row = (what, served, cand) =>
    `<tr><th scope="row">${what}</th><td>${served}</td><td>${cand}</td></tr>`;
  const acc = (a) => (a == null ? "–" : percent(a, 2));
  $("candidate-table").innerHTML =
    `<thead><tr><th></th><th scope="col">served now</th><th scope="col">finished run #${candidate.job}</th></tr></thead><tbody>` +
    row("shape", m ? m.sizes.join("-") : "–", candidate.sizes.join("-")) +
    row("activation / output", m ? `${m.activation} / ${m.output}` : "–",
      `${candidate.activation} / ${candidate.output}`) +
    row("dataset", (m && m.dataset) || "–", candidate.dataset || "–") +
    row("epochs", m ? m.epochs_trained : "–", `${candidate.epochs_trained} (${candidate.batches_trained.toLocaleString()} mini-batches)`) +
    row("test accuracy", m ? acc(m.test_accuracy) : "–", acc(candidate.test_accuracy)) +
    "</tbody>";
  $("adopt").disabled = false;
  $("adopt-note").textContent = "The served network stays until you press this.";
  if (candidate.history && candidate.history.length && !run.records.length) {
    run.records = candidate.history;
    drawCurves();
  }
}

async function adopt() {
  const c = run.candidate;
  $("adopt").disabled = true;
  try {
    await api("/api/train/adopt", c ? { job: c.job } : {});
    $("adopt-note").textContent = "";
    emit("adopted", c);
  } catch (err) {
    $("adopt").disabled = false;
    $("adopt-note").textContent = err.message;
  }
}

// -- the curves --------------------------------------------------------------------------------
function drawCurves() {
  const c = $("curves"), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  const rs = run.records;
  const panels = [
    { title: "cost (training images)", keys: [["train_cost", "#333"]], min: 0 },
    { title: "accuracy", keys: [["train_accuracy", "#888"], ["validation_accuracy", "#2166ac"],
      ["test_accuracy", "#c77c00"]] },
  ];
  const w = c.width / 2;
  panels.forEach((panel, i) => {
    const left = i * w + 44, right = (i + 1) * w - 10, top = 20, bottom = c.height - 26;
    const values = rs.flatMap((r) => panel.keys.map(([k]) => r[k])).filter((v) => v != null);
    let lo = values.length ? Math.min(...values) : 0, hi = values.length ? Math.max(...values) : 1;
    if (panel.min !== undefined) lo = Math.min(lo, panel.min);
    if (hi - lo < 1e-6) hi = lo + 1;
    const n = Math.max(rs.length, 2);
    const X = (e) => left + ((right - left) * (e - 1)) / (n - 1);
    const Y = (v) => bottom - ((bottom - top) * (v - lo)) / (hi - lo);
    ctx.strokeStyle = "#bbb"; ctx.lineWidth = 1;
    ctx.strokeRect(left, top, right - left, bottom - top);
    ctx.fillStyle = "#333"; ctx.font = "12px system-ui, sans-serif"; ctx.textAlign = "left";
    ctx.fillText(panel.title, left, 13);
    ctx.fillStyle = "#666"; ctx.textAlign = "right";
    ctx.fillText(hi.toFixed(3), left - 3, top + 8);
    ctx.fillText(lo.toFixed(3), left - 3, bottom);
    ctx.textAlign = "center";
    ctx.fillText("epoch", (left + right) / 2, c.height - 8);
    panel.keys.forEach(([key, color], k) => {
      ctx.strokeStyle = ctx.fillStyle = color; ctx.lineWidth = 2;
      ctx.beginPath();
      rs.forEach((r, e) => {
        if (r[key] == null) return;
        if (e === 0) ctx.moveTo(X(1), Y(r[key])); else ctx.lineTo(X(e + 1), Y(r[key]));
      });
      ctx.stroke();
      rs.forEach((r, e) => { if (r[key] != null) ctx.fillRect(X(e + 1) - 2, Y(r[key]) - 2, 4, 4); });
      if (panel.keys.length > 1) {
        ctx.textAlign = "left";
        ctx.fillText(key.replace("_accuracy", ""), left + 6 + 80 * k, bottom - 6);
      }
    });
  });
  const last = rs[rs.length - 1];
  c.setAttribute("aria-label", last ? `Learning curves after ${rs.length} epochs: training cost ` +
    `${last.train_cost == null ? "–" : last.train_cost.toFixed(3)}, test accuracy ` +
    `${percent(last.test_accuracy, 2)}.` : "Learning curves: no epoch finished yet.");
}

export async function initTraining() {
  $("train-form").addEventListener("submit", start);
  $("train-pause").addEventListener("click", () =>
    command(run.status && run.status.paused ? "/api/train/resume" : "/api/train/pause"));
  $("train-step").addEventListener("click", async () => {
    $("train-step").disabled = true;
    await command("/api/train/step");
    buttons(run.status);
  });
  $("train-stop").addEventListener("click", () => command("/api/train/stop"));
  $("train-speed").addEventListener("change", setSpeed);
  $("adopt").addEventListener("click", adopt);
  drawCurves();
  try {
    await fillForm();
  } catch (err) {
    say(err.message);
  }
  applyUrl();
  const s = await api("/api/train/status").catch(() => null);
  if (s && s.running) {
    run.job = s.job;
    showStatus(s);
    listen();
  }
  if (s && s.candidate) showCandidate(s.candidate);
}
