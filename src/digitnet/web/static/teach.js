// "Teach it: this is a [digit]": the backward pass for the image on show and a chosen label
// (POST /api/backprop), drawn as the backprop lesson tells it, and one gradient step on a scratch
// copy of the network (POST /api/backprop/step) with the answer before and after. The served
// network never changes.

import { api } from "./api.js";
import { $, classNames, emit, percent, sizes, state, thing } from "./store.js";
import { css, diverging, divergingCanvas, maxAbs } from "./colors.js";
import { signed } from "./diagram.js";

let request = 0;
let teaching = false;  // the user asked for the backward pass (it then follows new drawings)
let labelOfTest = false;  // the label chosen is a test image's own, not the user's

/** The /api/backprop answer with its layers indexed by l (layers[0] is null) and each drawn
 *  connection's dC/dw as `grad`, as the diagram reads them. */
function normalise(answer) {
  return {
    ...answer,
    layers: [null, ...answer.layers],
    connections: answer.connections.map((c) => ({ ...c, grad: c.dC_dw })),
  };
}

function label() {
  const v = $("teach-label").value;
  return v === "" ? null : Number(v);
}

/** Fill the label choice with the served network's class names. */
export function fillLabels() {
  const select = $("teach-label");
  const keep = select.value;
  select.innerHTML = "";
  const none = document.createElement("option");
  none.value = "";
  none.textContent = "choose…";
  select.append(none);
  classNames().forEach((name, j) => {
    const o = document.createElement("option");
    o.value = String(j);
    o.textContent = name;
    select.append(o);
  });
  if (keep !== "" && Number(keep) < classNames().length) select.value = keep;
  const m = state.model;
  if (m && m.max_eta) $("teach-eta").max = String(m.max_eta);
  $("teach-thing").textContent = thing() === "digit" ? "digit" : "class";
  enable();
}

function enable() {
  const ready = Boolean(state.input);
  $("teach-show").disabled = !ready;
  $("teach-step").disabled = !ready || label() === null;
  if (!ready) {
    status(`Draw a ${thing()} or choose a test image first; then say what it is.`);
  }
}

function status(text, error = false) {
  const s = $("teach-status");
  s.textContent = text;
  s.classList.toggle("error", error);
}

/** Forget the backward pass (a new image without a label, or nothing on show). */
export function forget() {
  request += 1;
  state.backprop = null;
  $("teach-nudges").hidden = true;
  $("teach-result").innerHTML = "";
  emit("backprop", null);
  enable();
}

/** A new trace. A test image comes with its label, chosen for it (shown when asked); a new
 *  drawing keeps being taught the label the user chose, if they asked for the backward pass. */
export function onTraced(t) {
  $("teach-result").innerHTML = "";
  if (!t) {
    forget();
    return;
  }
  const test = state.source && state.source.kind === "test";
  if (test) {
    $("teach-label").value = String(state.source.label);
    teaching = false;
    labelOfTest = true;
  } else if (labelOfTest) {
    $("teach-label").value = "";  // that label was the test image's, not this drawing's
    labelOfTest = false;
  }
  if (teaching && label() !== null) {
    show();
    return;
  }
  forget();
  status(test ? `This test image is labelled "${classNames()[state.source.label]}": show the ` +
    "backward pass for it, or choose another label." :
    `Say what this ${thing()} is to see what backprop wants changed.`);
}

/** Ask for the backward pass of the image on show and the chosen label, and show it. */
export async function show() {
  const y = label();
  if (!state.input || y === null) {
    enable();
    return;
  }
  const id = ++request;
  status("working out the gradient…");
  let answer;
  try {
    answer = await api("/api/backprop", { pixels: state.input, label: y });
  } catch (err) {
    if (id === request) status(err.message, true);
    return;
  }
  if (id !== request) return;
  state.backprop = normalise(answer);
  render(state.backprop);
  $("teach-step").disabled = false;
  status(`The backward pass for "this is ${answer.label_name}": cost C = ` +
    `${answer.cost.toFixed(4)} (${answer.cost_name}). The diagram now shows the gradient.`);
  emit("backprop", state.backprop);
}

function heading(text) {
  const h = document.createElement("h3");
  h.textContent = text;
  return h;
}

function para(text, className) {
  const p = document.createElement("p");
  if (className) p.className = className;
  p.textContent = text;
  return p;
}

/** Ten horizontal bars around 0: blue wants up, red wants down. */
function wantBars(values, highlight, id) {
  const list = document.createElement("div");
  list.className = "want-bars";
  list.id = id;
  list.setAttribute("role", "list");
  const m = maxAbs(values) || 1;
  classNames().forEach((name, j) => {
    const v = values[j];
    const row = document.createElement("div");
    row.className = "want-row" + (j === highlight ? " taught" : "");
    row.setAttribute("role", "listitem");
    row.innerHTML = `<span class="name"></span><span class="axis"><span class="fill"></span>` +
      `</span><span class="value"></span>`;
    row.querySelector(".name").textContent = name;
    const fill = row.querySelector(".fill");
    const w = (50 * Math.abs(v)) / m;
    fill.style.left = v >= 0 ? "50%" : `${50 - w}%`;
    fill.style.width = `${w}%`;
    fill.style.background = css(diverging(v >= 0 ? 1 : -1, 1));
    row.querySelector(".value").textContent = signed(v);
    row.setAttribute("aria-label", `${name}: ${v >= 0 ? "wants up" : "wants down"} ${signed(v)}`);
    list.append(row);
  });
  return list;
}

/** n values as a heat strip (or as the input image when they are its pixels), and the largest
 *  few named. */
function strip(values, what, extra) {
  const box = document.createElement("div");
  box.className = "strip";
  const { inputs, side } = sizes();
  const n = values.length;
  const canvas = n === inputs ? divergingCanvas(values, side, side, 3, what)
    : divergingCanvas(values, 1, n, Math.max(2, Math.min(12, Math.floor(300 / n))), what);
  if (n !== inputs) canvas.style.height = "18px";
  box.append(canvas);
  const top = [...values.keys()].sort((p, q) => Math.abs(values[q]) - Math.abs(values[p])).slice(0, 3);
  box.append(para("largest: " + top.map((k) => `#${k} ${signed(values[k])}` +
    (extra ? ` (${extra(k)})` : "")).join(", "), "small"));
  return box;
}

function render(bp) {
  const L = bp.sizes.length - 1;
  const y = bp.label;
  const name = bp.label_name;
  const prev = L - 1 === 0 ? "the input pixels" : `layer ${L - 1}`;
  const box = $("teach-nudges");
  box.innerHTML = "";
  box.hidden = false;

  const one = document.createElement("div");
  one.className = "nudge";
  one.append(heading("1. What each output wants: −dC/da"),
    para(`Up for "${name}", down for the others, in proportion to how far each is from what ` +
      "it should be.", "small"),
    wantBars(bp.wanted_a, y, "want-a"));
  const m = state.model;
  if (m && m.output === "softmax") {
    // cross-entropy's wish is 1/a for the label alone; the softmax hands it to every z
    one.append(para("Through the softmax every output's z gets a share of it: −dC/dz = −δ " +
      "(= y − a for cross-entropy), what the step below acts on:", "small"),
    wantBars(bp.via_bias, y, "want-z"));
  }

  const two = document.createElement("div");
  two.className = "nudge";
  const aPrev = state.trace ? state.trace.layers[L - 1].a : null;
  two.append(heading(`2. Three ways to move output "${name}"`),
    para(`a. its bias: −dC/db = ${signed(bp.via_bias[y])}`, "formula"),
    para(`b. its weights, in proportion to the activations a of ${prev}: −dC/dw = −δ·a`, "small"),
    strip(bp.via_weights[y], `how backprop wants the weights into output ${name} to change`,
      aPrev ? (k) => `a = ${aPrev[k].toFixed(2)}` : null),
    para(`c. the activations of ${prev}, in proportion to the weights: −δ·w`, "small"),
    strip(bp.via_activations[y], `what output ${name} wishes of each activation one layer back`));

  const three = document.createElement("div");
  three.className = "nudge";
  three.append(heading(`3. One layer back: −dC/da of ${prev}`),
    para("Every output's wish (c) added up: what the layer before should do. The same story " +
      "then repeats one layer earlier.", "small"),
    strip(bp.wanted_prev, `the change each activation of ${prev} should make`));

  const four = document.createElement("div");
  four.className = "nudge";
  const exp = (v) => (v == null ? "–" : v.toExponential(2));
  const rows = bp.layers.slice(1).map((g) =>
    `<tr><th scope="row">W${g.layer}</th><td>${exp(g.norm_dC_dW)}</td>` +
    `<td>${exp(g.max_abs_dC_dW)}</td></tr>`).join("");
  four.append(heading("4. Every layer's weight gradient"),
    para("On the diagram: lines are the drawn connections coloured by −dC/dw (blue: the step " +
      "raises the weight, red: lowers it), neurons by −dC/dz = −δ. Select a neuron to see " +
      "its −dC/dw.", "small"));
  const table = document.createElement("table");
  table.className = "grad-table";
  table.innerHTML = `<thead><tr><th scope="col">layer</th><th scope="col">‖dC/dW‖</th>` +
    `<th scope="col">max |dC/dw|</th></tr></thead><tbody>${rows}</tbody>`;
  four.append(table);

  box.append(one, two, three, four);
}

async function step() {
  const y = label();
  if (!state.input || y === null) return;
  const eta = Number($("teach-eta").value);
  const button = $("teach-step");
  button.disabled = true;
  status("taking one step on a scratch copy…");
  try {
    const s = await api("/api/backprop/step", { pixels: state.input, label: y, eta });
    const names = classNames();
    const result = $("teach-result");
    result.innerHTML = "";
    const rise = s.label_probability_after - s.label_probability_before;
    const summary = para(
      `One step with η = ${s.eta} on a scratch copy: P("${s.label_name}") ` +
      `${percent(s.label_probability_before)} → ${percent(s.label_probability_after)} ` +
      `(${rise >= 0 ? "up" : "down"} ${percent(Math.abs(rise))}); answer ` +
      `${names[s.prediction_before]} → ${names[s.prediction_after]}; cost ` +
      `${s.cost_before.toFixed(4)} → ${s.cost_after.toFixed(4)}. The served network is ` +
      "unchanged.");
    summary.id = "teach-summary";
    summary.dataset.before = String(s.label_probability_before);
    summary.dataset.after = String(s.label_probability_after);
    result.append(summary);
    if (s.warning) {
      const warning = para(s.warning, "warning");
      warning.id = "teach-warning";
      result.append(warning);
    }
    result.append(compare(s));
    status("Stepped. Step again from the served network with another η, or teach another label.");
  } catch (err) {
    status(err.message, true);
  } finally {
    button.disabled = !state.input || label() === null;
  }
}

/** Before and after for every class: one row each, the classes across. */
function compare(s) {
  const table = document.createElement("table");
  table.className = "compare";
  const names = classNames();
  const cell = (p) => `<td><span class="mini" style="--p:${p}"></span>${percent(p)}</td>`;
  table.innerHTML = "<thead><tr><th></th>" +
    names.map((_, j) => `<th scope="col"${j === s.label ? " class='taught'" : ""}></th>`).join("") +
    "</tr></thead><tbody>" +
    `<tr><th scope="row">before</th>${s.probabilities_before.map(cell).join("")}</tr>` +
    `<tr><th scope="row">after</th>${s.probabilities_after.map(cell).join("")}</tr></tbody>`;
  table.querySelectorAll("thead th[scope=col]").forEach((th, j) => { th.textContent = names[j]; });
  return table;
}

export function initTeach() {
  fillLabels();
  $("teach-form").addEventListener("submit", (event) => {
    event.preventDefault();
    labelOfTest = false;
    teaching = label() !== null;
    if (teaching) show(); else status(`Choose what this ${thing()} is first.`, true);
  });
  $("teach-label").addEventListener("change", () => {
    $("teach-result").innerHTML = "";
    labelOfTest = false;
    teaching = label() !== null;
    if (teaching) show(); else forget();
  });
  $("teach-step").addEventListener("click", step);
}
