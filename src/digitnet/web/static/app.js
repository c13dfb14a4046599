// digitnet's page: plain JavaScript, no libraries, nothing fetched but this server's /api.
// Every picture of the network is drawn from the JSON of one forward trace (/api/trace).
"use strict";

const $ = (id) => document.getElementById(id);
const POS = [33, 102, 172];
const NEG = [178, 24, 43];

const state = {
  model: null,
  strokes: [],       // each stroke: a list of [x, y] points in pad pixels
  current: null,     // the stroke being drawn
  input: null,       // the 784 inputs the network saw last (from the server)
  trace: null,       // the last /api/trace answer
  positions: [],     // diagram neurons: {layer, index, x, y, r}
  selected: null,    // {layer, index}
  requestId: 0,
  records: [],       // epoch records of the live training run
  events: null,      // the EventSource of the live training run
};

// -- talking to the server ---------------------------------------------------------------------
async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (err) { data = { detail: response.statusText }; }
  if (!response.ok) {
    const error = new Error((data && data.detail) || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

// -- the model ---------------------------------------------------------------------------------
async function loadModel() {
  const m = await api("/api/model");
  state.model = m;
  const acc = m.test_accuracy == null ? "" : ` · test accuracy ${(100 * m.test_accuracy).toFixed(2)}%`;
  const data = m.dataset ? ` on ${m.dataset}` : "";
  $("model-desc").textContent =
    `${m.sizes.join("-")} · ${m.activation}/${m.output} · ${m.cost} cost · ` +
    `${m.n_params.toLocaleString()} weights and biases${acc}${data}`;
  $("explore-panel").style.display = m.explore ? "" : "none";
  loadWeights();
}

async function loadWeights() {
  const w = await api("/api/weights");
  $("weights-img").src = w.png;
  $("weights-note").firstChild.textContent =
    `${w.shown} of ${w.of} neurons of layer 1. Each tile is one neuron's 784 incoming weights: `;
}

// -- the drawing pad ---------------------------------------------------------------------------
const pad = $("pad");
const padCtx = pad.getContext("2d");

function redrawPad() {
  padCtx.fillStyle = "#fff";
  padCtx.fillRect(0, 0, pad.width, pad.height);
  padCtx.strokeStyle = "#000";
  padCtx.fillStyle = "#000";
  padCtx.lineWidth = 20;
  padCtx.lineCap = "round";
  padCtx.lineJoin = "round";
  const all = state.current ? [...state.strokes, state.current] : state.strokes;
  for (const stroke of all) {
    if (stroke.length === 1) {
      padCtx.beginPath();
      padCtx.arc(stroke[0][0], stroke[0][1], 10, 0, 2 * Math.PI);
      padCtx.fill();
      continue;
    }
    padCtx.beginPath();
    padCtx.moveTo(stroke[0][0], stroke[0][1]);
    for (const [x, y] of stroke.slice(1)) padCtx.lineTo(x, y);
    padCtx.stroke();
  }
}

function padPoint(event) {
  const rect = pad.getBoundingClientRect();
  return [
    (event.clientX - rect.left) * (pad.width / rect.width),
    (event.clientY - rect.top) * (pad.height / rect.height),
  ];
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  try {
    pad.setPointerCapture(event.pointerId);  // keep the stroke when the pointer leaves the pad
  } catch (err) {
    // a pointer the browser no longer tracks: draw without capture
  }
  state.current = [padPoint(event)];
  redrawPad();
});
pad.addEventListener("pointermove", (event) => {
  if (!state.current) return;
  event.preventDefault();
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) state.current.push(padPoint(e));
  redrawPad();
});
function endStroke(event) {
  if (!state.current) return;
  event.preventDefault();
  state.strokes.push(state.current);
  state.current = null;
  redrawPad();
  sendDrawing();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

$("clear").addEventListener("click", () => {
  state.strokes = [];
  redrawPad();
  showNothing();
});
$("undo").addEventListener("click", () => {
  state.strokes.pop();
  redrawPad();
  if (state.strokes.length) sendDrawing(); else showNothing();
});

document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
  if ((event.ctrlKey || event.metaKey) && event.key === "z") {
    event.preventDefault();
    $("undo").click();
  } else if (event.key === "Escape") {
    $("clear").click();
  }
});

function showNothing() {
  state.requestId += 1;
  state.trace = null;
  state.input = null;
  $("prediction").textContent = "?";
  $("confidence").textContent = "";
  $("draw-error").textContent = "";
  $("pad-note").textContent = "Draw one digit, large, in the middle. Mouse, pen or finger.";
  drawSeen(null);
  drawBars(null);
  drawDiagram();
}

async function sendDrawing() {
  await traceOf({ png: pad.toDataURL("image/png") });
}

async function traceOf(body) {
  const id = ++state.requestId;
  try {
    const t = await api("/api/trace", body);
    if (id !== state.requestId) return;  // a newer stroke has been sent since
    state.trace = t;
    state.input = t.image;
    $("draw-error").textContent = "";
    showTrace(t);
  } catch (err) {
    if (id !== state.requestId) return;
    $("draw-error").textContent = err.message;
  }
}

function showTrace(t) {
  $("prediction").textContent = t.label;
  $("prediction").dataset.digit = String(t.prediction);
  $("confidence").textContent = `${(100 * t.confidence).toFixed(1)}% sure`;
  drawSeen(t.image);
  drawBars(t);
  drawDiagram();
  if (state.selected) inspect(state.selected.layer, state.selected.index);
}

// -- what the network sees and what it answers -------------------------------------------------
function drawSeen(image) {
  const ctx = $("seen").getContext("2d");
  const data = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = image ? Math.round(255 * image[i]) : 0;
    data.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(data, 0, 0);
}

function drawBars(t) {
  const bars = $("bars");
  bars.innerHTML = "";
  const names = state.model ? state.model.class_names : [...Array(10).keys()].map(String);
  names.forEach((name, j) => {
    const p = t ? t.probabilities[j] : 0;
    const row = document.createElement("div");
    row.className = "bar-row" + (t && j === t.prediction ? " best" : "");
    row.innerHTML = `<span class="name"></span><span class="track"><span class="fill"></span></span>` +
      `<span class="value"></span>`;
    row.querySelector(".name").textContent = name;
    row.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    row.querySelector(".value").textContent = t ? `${(100 * p).toFixed(1)}%` : "";
    row.title = t ? `output a = ${t.outputs[j]}` : "";
    bars.appendChild(row);
  });
}

// -- the network diagram -----------------------------------------------------------------------
const diagram = $("diagram");
const dctx = diagram.getContext("2d");

function drawDiagram() {
  const W = diagram.width, H = diagram.height;
  dctx.fillStyle = "#121212";
  dctx.fillRect(0, 0, W, H);
  state.positions = [];
  const t = state.trace;
  const sizes = t ? t.sizes : (state.model ? state.model.sizes : [784, 10]);
  const L = sizes.length - 1;
  const top = 22, bottom = H - 30;
  const cell = Math.min(12, Math.floor((bottom - top) / 28));
  const gridX = 14, gridY = top + Math.floor((bottom - top - 28 * cell) / 2);
  const x0 = gridX + 28 * cell + 90, x1 = W - 70;
  const xs = [gridX + 14 * cell];
  for (let l = 1; l <= L; l++) xs.push(L === 1 ? x1 : x0 + ((x1 - x0) * (l - 1)) / (L - 1));

  // where each drawn neuron sits
  const pos = [];  // pos[l] = Map(index -> {x, y, r})
  const inputPos = new Map();
  for (let k = 0; k < 784; k++) {
    const r = Math.floor(k / 28), c = k % 28;
    inputPos.set(k, { x: gridX + c * cell + cell / 2, y: gridY + r * cell + cell / 2, r: cell / 2 });
  }
  pos.push(inputPos);
  for (let l = 1; l <= L; l++) {
    // the neurons the server chose (the ones `digitnet plot network` draws); before the first
    // trace, the first ones of each hidden layer and every output as placeholders
    const limit = l === L ? sizes[l] : (state.model ? state.model.diagram_neurons : 32);
    const shown = t ? t.layers[l].shown : [...Array(Math.min(sizes[l], limit)).keys()];
    const n = shown.length;
    const gap = (bottom - top) / Math.max(n, 1);
    const r = Math.max(3, Math.min(11, gap * 0.38));
    const m = new Map();
    shown.forEach((j, i) => m.set(j, { x: xs[l], y: top + gap * (i + 0.5), r }));
    pos.push(m);
  }

  // connections: the strongest pushes w_jk a_k, by sign and strength
  if (t) {
    const maxPush = {};
    for (const c of t.connections) maxPush[c.layer] = Math.max(maxPush[c.layer] || 0, Math.abs(c.push));
    const ordered = [...t.connections].sort((p, q) => Math.abs(p.push) - Math.abs(q.push));
    for (const c of ordered) {
      const from = pos[c.layer - 1].get(c.from), to = pos[c.layer].get(c.to);
      if (!from || !to) continue;
      const s = Math.abs(c.push) / (maxPush[c.layer] || 1);
      const rgb = c.push >= 0 ? POS : NEG;
      dctx.strokeStyle = `rgba(${rgb[0] + 40},${rgb[1] + 40},${rgb[2] + 40},${0.12 + 0.8 * s})`;
      dctx.lineWidth = 0.4 + 2.6 * s;
      dctx.beginPath();
      dctx.moveTo(from.x, from.y);
      dctx.lineTo(to.x, to.y);
      dctx.stroke();
    }
  }

  // the input layer: the 784 pixels the network reads, as a grid of cells
  for (let k = 0; k < 784; k++) {
    const p = inputPos.get(k);
    const v = t ? Math.round(255 * t.layers[0].a[k]) : 0;
    dctx.fillStyle = `rgb(${v},${v},${v})`;
    dctx.fillRect(p.x - cell / 2, p.y - cell / 2, cell - 1, cell - 1);
  }

  // hidden and output neurons, lit by their activation
  for (let l = 1; l <= L; l++) {
    const layer = t ? t.layers[l] : null;
    const scale = layer ? layer.scale : 1;
    for (const [j, p] of pos[l]) {
      const a = layer ? layer.a[j] : 0;
      const v = Math.round(255 * Math.max(0, Math.min(1, a / scale)));
      dctx.beginPath();
      dctx.arc(p.x, p.y, p.r, 0, 2 * Math.PI);
      dctx.fillStyle = `rgb(${v},${v},${v})`;
      dctx.fill();
      const chosen = t && l === L && j === t.prediction;
      const selected = state.selected && state.selected.layer === l && state.selected.index === j;
      dctx.lineWidth = selected || chosen ? 2.5 : 1;
      dctx.strokeStyle = selected ? "#ffd400" : chosen ? "#e8a317" : "#777";
      dctx.stroke();
      state.positions.push({ layer: l, index: j, x: p.x, y: p.y, r: p.r });
      if (l === L) {
        const names = state.model ? state.model.class_names : [];
        dctx.fillStyle = chosen ? "#e8a317" : "#ccc";
        dctx.font = `${chosen ? "bold " : ""}12px system-ui, sans-serif`;
        dctx.textAlign = "left";
        dctx.textBaseline = "middle";
        const label = names[j] !== undefined ? names[j] : String(j);
        dctx.fillText(layer ? `${label}  ${a.toFixed(2)}` : label, p.x + p.r + 6, p.y);
      }
    }
  }

  // captions under each layer
  dctx.fillStyle = "#aaa";
  dctx.font = "12px system-ui, sans-serif";
  dctx.textAlign = "center";
  dctx.textBaseline = "alphabetic";
  dctx.fillText("input: 784 pixels", xs[0], H - 10);
  for (let l = 1; l <= L; l++) {
    const shown = pos[l].size;
    const what = l === L ? "output" : `layer ${l}`;
    const more = shown < sizes[l] ? `, ${shown} most active` : "";
    dctx.fillText(`${what}: ${sizes[l]}${more}`, xs[l], H - 10);
  }
  if (!t) {
    dctx.fillStyle = "#888";
    dctx.font = "15px system-ui, sans-serif";
    dctx.fillText("draw a digit to see the neurons light up", (x0 + x1) / 2, 14);
  }
}

diagram.addEventListener("click", (event) => {
  const rect = diagram.getBoundingClientRect();
  const x = (event.clientX - rect.left) * (diagram.width / rect.width);
  const y = (event.clientY - rect.top) * (diagram.height / rect.height);
  let best = null, bestD = Infinity;
  for (const p of state.positions) {
    const d = Math.hypot(p.x - x, p.y - y);
    if (d < bestD && d <= p.r + 5) { best = p; bestD = d; }
  }
  if (best) inspect(best.layer, best.index);
});

// -- inspecting one neuron ---------------------------------------------------------------------
function divergingCanvas(values, rows, cols, scale) {
  const canvas = document.createElement("canvas");
  canvas.width = cols; canvas.height = rows;
  canvas.style.width = `${cols * scale}px`;
  canvas.style.height = `${rows * scale}px`;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(cols, rows);
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  m = m || 1;
  values.forEach((v, i) => {
    const s = Math.min(1, Math.abs(v) / m), rgb = v >= 0 ? POS : NEG;
    img.data.set([255 + s * (rgb[0] - 255), 255 + s * (rgb[1] - 255), 255 + s * (rgb[2] - 255), 255], 4 * i);
  });
  ctx.putImageData(img, 0, 0);
  return canvas;
}

function figure(canvas, caption) {
  const f = document.createElement("figure");
  const c = document.createElement("figcaption");
  c.textContent = caption;
  f.append(canvas, c);
  return f;
}

async function inspect(layer, index) {
  state.selected = { layer, index };
  drawDiagram();
  const body = { layer, index };
  if (state.input) body.pixels = state.input;
  const box = $("inspect");
  let n;
  try {
    n = await api("/api/neuron", body);
  } catch (err) {
    box.innerHTML = `<p class="error"></p>`;
    box.querySelector("p").textContent = err.message;
    return;
  }
  box.innerHTML = "";
  const title = document.createElement("p");
  const what = n.label !== null ? `output neuron ${n.index} ("${n.label}")` : `neuron ${n.index}`;
  title.innerHTML = `<b></b>`;
  title.querySelector("b").textContent = `Layer ${n.layer}, ${what}`;
  const f = document.createElement("p");
  f.className = "formula";
  f.textContent = `b = ${n.bias.toFixed(4)}` + (n.z === null ? "" :
    `\nz = Σ w·a + b = ${n.z.toFixed(4)}\na = ${n.activation}(z) = ${n.a.toFixed(4)}`);
  f.style.whiteSpace = "pre";
  box.append(title, f);
  const row = document.createElement("div");
  row.className = "inspect-row";
  const [rows, cols] = n.weights_shape;
  const scale = rows === 1 ? Math.max(2, Math.floor(260 / cols)) : 5;
  const height = rows === 1 ? Math.max(1, Math.round(36 / scale)) : rows;
  const shape = (values) => rows === 1 ? Array.from({ length: height }, () => values).flat() : values;
  row.append(figure(divergingCanvas(shape(n.weights), height, cols, scale),
    `incoming weights w (${n.weights.length})`));
  if (n.inputs) {
    const push = n.weights.map((w, k) => w * n.inputs[k]);
    row.append(figure(divergingCanvas(shape(push), height, cols, scale),
      "w × a of the layer before: what pushes it now"));
  }
  box.append(row);
}

// -- weights, training ---------------------------------------------------------------------------
async function fillTrainForm() {
  const schema = await api("/openapi.json");
  const props = schema.components.schemas.TrainRequest.properties;
  for (const select of $("train-form").querySelectorAll("select")) {
    const prop = props[select.name];
    const options = prop.enum || (prop.anyOf || []).flatMap((p) => p.enum || []);
    select.innerHTML = "";
    for (const value of options) {
      const o = document.createElement("option");
      o.value = o.textContent = value;
      if (value === prop.default) o.selected = true;
      select.appendChild(o);
    }
  }
}

function trainSettings() {
  const form = new FormData($("train-form"));
  const hidden = String(form.get("hidden")).split(",").map((s) => s.trim()).filter(Boolean)
    .map(Number);
  return {
    hidden,
    activation: form.get("activation"),
    output: form.get("output"),
    cost: form.get("cost"),
    optimizer: form.get("optimizer"),
    lr: Number(form.get("lr")),
    batch_size: Number(form.get("batch_size")),
    epochs: Number(form.get("epochs")),
    dataset: form.get("dataset"),
    train_examples: Number(form.get("train_examples")),
  };
}

$("train-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const job = await api("/api/train", trainSettings());
    state.records = [];
    drawCurves();
    $("train-status").textContent = `job #${job.job}: loading the data...`;
    listen();
  } catch (err) {
    $("train-status").textContent = err.message;
  }
});

$("train-stop").addEventListener("click", async () => {
  try { await api("/api/train/stop", {}); } catch (err) { $("train-status").textContent = err.message; }
});

function listen() {
  if (state.events) state.events.close();
  $("train-start").disabled = true;
  $("train-stop").disabled = false;
  const events = new EventSource("/api/train/events");
  state.events = events;
  events.addEventListener("status", (e) => {
    const s = JSON.parse(e.data);
    state.records = s.records;
    drawCurves();
  });
  events.addEventListener("progress", (e) => {
    const p = JSON.parse(e.data);
    const total = state.trainEpochs || 1;
    $("train-progress").value = ((p.epoch - 1) + p.done / p.batches) / total;
    $("train-status").textContent = `epoch ${p.epoch} of ${total}: batch ${p.done} of ${p.batches}`;
  });
  events.addEventListener("start", (e) => {
    const s = JSON.parse(e.data).summary;
    state.trainEpochs = s.epochs;
    $("train-status").textContent = `training ${s.settings.hidden.join("-")} on ${s.settings.dataset}...`;
  });
  events.addEventListener("epoch", (e) => {
    const d = JSON.parse(e.data);
    state.records.push(d.record);
    $("train-weights").src = d.weights.png;
    drawCurves();
  });
  events.addEventListener("end", async (e) => {
    const s = JSON.parse(e.data).summary;
    events.close();
    state.events = null;
    $("train-start").disabled = false;
    $("train-stop").disabled = true;
    $("train-status").textContent = `job #${s.job} ${s.state}: ${s.message}`;
    if (s.epochs_done > 0 && s.state !== "failed") {
      $("train-progress").value = s.epochs_done / s.epochs;
      await loadModel();
      if (state.strokes.length) sendDrawing();
    }
  });
  events.onerror = () => {
    // the stream ended or the server went away: stop listening rather than retry forever
    events.close();
    $("train-start").disabled = false;
    $("train-stop").disabled = true;
  };
}

function drawCurves() {
  const c = $("curves"), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  const rs = state.records;
  const panels = [
    { title: "cost (training images)", keys: [["train_cost", "#333"]], min: 0 },
    { title: "accuracy", keys: [["train_accuracy", "#888"], ["validation_accuracy", "#2166ac"],
      ["test_accuracy", "#e8a317"]] },
  ];
  const w = c.width / 2;
  panels.forEach((panel, i) => {
    const left = i * w + 40, right = (i + 1) * w - 10, top = 20, bottom = c.height - 26;
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
    ctx.fillStyle = "#777"; ctx.textAlign = "right";
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
}

// -- explore the test set ----------------------------------------------------------------------
async function explore(mode) {
  let data;
  try {
    data = await api(`/api/test-images?mode=${mode}&count=24`);
  } catch (err) {
    $("explore-note").textContent = err.message;
    return;
  }
  $("explore-note").textContent =
    `${data.dataset}: ${data.mistakes} of ${data.total} test images wrong ` +
    `(accuracy ${(100 * data.accuracy).toFixed(2)}%). Click one to trace it.`;
  const grid = $("explore-grid");
  grid.innerHTML = "";
  for (const im of data.images) {
    const tile = document.createElement("div");
    tile.className = "tile" + (im.prediction !== im.label ? " wrong" : "");
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 28;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(28, 28);
    im.pixels.forEach((v, i) => img.data.set([v, v, v, 255], 4 * i));
    ctx.putImageData(img, 0, 0);
    const caption = document.createElement("div");
    caption.textContent = `${im.label_name} → ${im.prediction_name}`;
    tile.title = `test image #${im.index}: label ${im.label_name}, answer ` +
      `${im.prediction_name} (${(100 * im.confidence).toFixed(1)}%)`;
    tile.append(canvas, caption);
    tile.addEventListener("click", () => {
      state.strokes = [];
      redrawPad();
      $("pad-note").textContent = `Showing test image #${im.index} (label ${im.label_name}).`;
      traceOf({ pixels: im.pixels.map((v) => v / 255) });
      window.scrollTo({ top: 0, behavior: "smooth" });
    });
    grid.appendChild(tile);
  }
}
$("explore-random").addEventListener("click", () => explore("random"));
$("explore-mistakes").addEventListener("click", () => explore("mistakes"));

// -- start -------------------------------------------------------------------------------------
async function start() {
  redrawPad();
  drawSeen(null);
  drawBars(null);
  drawCurves();
  try {
    await loadModel();
  } catch (err) {
    $("model-desc").textContent = `cannot reach the server: ${err.message}`;
  }
  drawDiagram();
  fillTrainForm().catch((err) => { $("train-status").textContent = err.message; });
  const status = await api("/api/train/status").catch(() => null);
  if (status && status.running) listen();
  document.body.dataset.ready = "true";
}
start();
