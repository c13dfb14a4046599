// What the network sees and answers: the 28x28 input, the answer, and the output bars.
// The bars are Network.predict_proba's probabilities (softmax outputs, or for another output
// layer its activations clipped at 0 and divided by their sum); the diagram shows the output
// activations a themselves, and the page says which is which.

import { api } from "./api.js";
import { $, classNames, emit, percent, sizes, state, thing } from "./store.js";

let request = 0;

/** The kind of numbers the bars show, for the served network's output layer. */
export function barsMeaning() {
  const m = state.model;
  if (!m || m.output === "softmax") {
    return { short: "probability", long: "probabilities: the softmax outputs a" };
  }
  return {
    short: "share of the outputs",
    long: `probabilities from predict_proba: each ${m.output} output a divided by the sum of ` +
      "all ten (the diagram shows a itself)",
  };
}

/** Ask the server for the trace of `body` (pixels or png) and show it. */
export async function traceOf(body, source) {
  const id = ++request;
  try {
    const t = await api("/api/trace", body);
    if (id !== request) return;  // a newer stroke has been sent since
    state.trace = t;
    state.input = t.image;
    state.source = source;
    $("draw-error").textContent = "";
    show(t);
    emit("traced", t);
  } catch (err) {
    if (id !== request) return;
    $("draw-error").textContent = err.message;
  }
}

/** Show no answer (an empty pad). */
export function showNothing(error = "") {
  request += 1;
  state.trace = state.input = state.source = null;
  $("prediction").textContent = "?";
  delete $("prediction").dataset.digit;
  $("prediction").classList.remove("long");
  $("confidence").textContent = "";
  $("draw-error").textContent = error;
  drawSeen(null);
  drawBars(null);
  label(null);
  emit("traced", null);
}

function show(t) {
  const p = $("prediction");
  p.textContent = t.label;
  p.dataset.digit = String(t.prediction);
  p.classList.toggle("long", t.label.length > 2);
  $("confidence").textContent = `${percent(t.confidence)} ${barsMeaning().short}`;
  drawSeen(t.image);
  drawBars(t);
  label(t);
}

/** The canvases' text alternatives state the answer. */
function label(t) {
  const answer = t ? `The network answers ${t.label} (${percent(t.confidence)} ` +
    `${barsMeaning().short}).` : `No answer yet: draw a ${thing()}.`;
  const { side } = sizes();
  $("pad").setAttribute("aria-label", `Drawing pad. ${answer}`);
  $("seen").setAttribute("aria-label", `The ${side}x${side} image the network reads. ${answer}`);
  $("answer-live").textContent = t ? answer : "";
}

function drawSeen(image) {
  const { side } = sizes();
  const canvas = $("seen");
  canvas.width = canvas.height = side;
  const ctx = canvas.getContext("2d");
  const data = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const v = image ? Math.round(255 * image[i]) : 0;
    data.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(data, 0, 0);
}

export function drawBars(t) {
  const bars = $("bars");
  bars.innerHTML = "";
  $("bars-title").textContent = barsMeaning().long;
  classNames().forEach((name, j) => {
    const p = t ? t.probabilities[j] : 0;
    const row = document.createElement("div");
    row.className = "bar-row" + (t && j === t.prediction ? " best" : "");
    row.setAttribute("role", "listitem");
    row.innerHTML = `<span class="name"></span><span class="track"><span class="fill"></span>` +
      `</span><span class="value"></span>`;
    row.querySelector(".name").textContent = name;
    row.style.setProperty("--p", String(Math.max(0, Math.min(1, p))));
    row.querySelector(".value").textContent = t ? percent(p) : "";
    row.title = t ? `${name}: ${barsMeaning().short} ${percent(p)}; output a = ${t.outputs[j]}` : name;
    bars.appendChild(row);
  });
}
