// A neuron as a function: a = sigma(z) drawn as a curve with this neuron's z and a on it, and
// sliders for its bias b and one incoming weight w_jk (the strongest push |w_jk a_k| for the
// image, or another k the reader types). Each move asks /api/neuron/function (debounced), which
// tries the values on a scratch copy of the served network: the point moves along the curve and
// the answer bars show the scratch copy's answer until "Reset". The served network never changes.

import { api } from "./api.js";
import { $, classNames, percent, state } from "./store.js";
import { barsMeaning, drawBars } from "./answer.js";

// SVG's namespace, as the HTML parser gives it (the page's files hold no URL of another site)
const SVG = (() => {
  const holder = document.createElement("div");
  holder.innerHTML = "<svg></svg>";
  return holder.firstChild.namespaceURI;
})();
const DEBOUNCE_MS = 80;
const MAX_PARAMETER = 1e4;  // the server's bound on a bias or weight (explain.MAX_PARAMETER)
const BIAS_SPAN = 10;       // the bias slider covers b +- this: z moves by as much
const Z_SPAN = 8;           // the weight slider moves z by about +- this (a_k times its span)
const STEPS = 500;          // a slider's positions each side of the served value (0)
const [W, H, PAD] = [280, 170, 26];

let request = 0;
let timer = null;
let whatIf = false;

const fixed = (v, digits = 4) => (Object.is(v, -0) ? 0 : v).toFixed(digits);
const clamp = (v) => Math.max(-MAX_PARAMETER, Math.min(MAX_PARAMETER, v));

function el(tag, attrs = {}, text = "") {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text) e.textContent = text;
  return e;
}

/** The answer bars back to the served network's answer (after a reset, or another neuron). */
export function servedBars() {
  if (!whatIf) return;
  whatIf = false;
  $("bars").classList.remove("what-if");
  drawBars(state.trace);
}

/** Drop any answer still on its way, and show the served answer. */
export function forgetFunction() {
  request += 1;
  clearTimeout(timer);
  servedBars();
}

function whatIfBars(moved) {
  whatIf = true;
  drawBars({ probabilities: moved.probabilities, prediction: moved.answer,
    outputs: moved.output.map((v) => Number(v.toFixed(4))) });
  $("bars").classList.add("what-if");
  $("bars-title").textContent = `${barsMeaning().long} — with the neuron's slider values, ` +
    "on a scratch copy (Reset shows the served network's)";
}

/** The activation curve of answer `f`, the served point (hollow) and the moved one (filled). */
function drawCurve(svg, f) {
  svg.replaceChildren();
  const zs = f.curve.z, as = f.curve.a;
  const aMin = Math.min(0, ...as), aMax = Math.max(1, ...as);
  const x = (z) => PAD + (W - 2 * PAD) * (z - zs[0]) / (zs[zs.length - 1] - zs[0]);
  const y = (a) => H - PAD - (H - 2 * PAD) * (a - aMin) / (aMax - aMin || 1);
  const line = (x1, y1, x2, y2, cls) => svg.append(el("svg:line", { x1, y1, x2, y2, class: cls }));
  line(PAD, y(0), W - PAD, y(0), "axis");
  if (zs[0] < 0 && zs[zs.length - 1] > 0) line(x(0), PAD, x(0), H - PAD, "axis");
  const text = (tx, ty, s, anchor = "middle") =>
    svg.append(el("svg:text", { x: tx, y: ty, "text-anchor": anchor }, s));
  text(PAD, H - 8, fixed(zs[0], 1), "start");
  text(W - PAD, H - 8, fixed(zs[zs.length - 1], 1), "end");
  if (zs[0] < 0 && zs[zs.length - 1] > 0) text(x(0), H - 8, "0");
  text(W - 2, y(0) + 4, "z", "end");
  text(PAD - 4, y(aMax) + 4, fixed(aMax, 1), "end");
  text(PAD - 4, y(aMin) + 4, fixed(aMin, 1), "end");
  text(8, PAD - 10, "a", "start");
  const d = zs.map((z, i) => `${i ? "L" : "M"}${x(z).toFixed(1)},${y(as[i]).toFixed(1)}`);
  svg.append(el("svg:path", { d: d.join(""), class: "curve" }));
  const dot = (z, a, cls, r) => {
    line(x(z), y(aMin), x(z), y(a), `guide ${cls}`);
    svg.append(el("svg:circle", { cx: x(z), cy: y(a), r, class: cls }));
  };
  dot(f.z, f.a, "served", 5);
  if (f.moved) dot(f.moved.z, f.moved.a, "moved", 4.5);
}

// A slider's positions are the whole numbers -STEPS..STEPS, position 0 the served value exactly:
// its value is served + position x unit (data-value holds it, the <output> shows it).
function slider(label, id) {
  const wrap = el("label", { class: "fn-slider" });
  const input = el("input", { type: "range", id, min: -STEPS, max: STEPS, step: 1, value: 0 });
  const out = el("output", { for: id });
  wrap.append(el("span", {}, label), input, out);
  return { wrap, input, out, served: 0, unit: 1 };
}

const valueOf = (s) => clamp(s.served + s.unit * Number(s.input.value));

function label(s) {
  const v = valueOf(s);
  s.input.dataset.value = String(v);
  s.input.setAttribute("aria-valuetext", fixed(v));
  s.out.textContent = fixed(v);
}

function setRange(s, served, span) {
  s.served = served;
  s.unit = span / STEPS;
  s.input.value = "0";
  label(s);
}

/** Show neuron `index` of layer `layer` as a function of the current image, in `box`. */
export async function showFunction(box, layer, index) {
  forgetFunction();
  const id = request;
  const base = { pixels: state.input, layer, index };
  let f;
  try {
    f = await api("/api/neuron/function", base);
  } catch (err) {
    if (id === request) box.append(el("p", { class: "error" }, err.message));
    return;
  }
  if (id !== request) return;
  const n = f.a_prev.length;
  const output = layer === state.model?.sizes.length - 1;
  const section = el("section", { class: "neuron-fn", "aria-label": "the neuron as a function" });
  const what = f.activation === "softmax" && output
    ? `a = softmax(z)_${index}, as z_${index} alone moves` : `a = ${f.activation}(z)`;
  section.append(el("h3", {}, `As a function: ${what}`));
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, id: "fn-curve", role: "img" });
  const numbers = el("p", { class: "formula", id: "fn-numbers" });
  const bias = slider("bias b", "fn-bias");
  const weight = slider("weight w", "fn-weight");
  const k = el("input", { type: "number", id: "fn-k", min: 0, max: n - 1, step: 1,
    value: f.strongest_k, "aria-label": `k, the neuron of layer ${layer - 1} (0..${n - 1})` });
  const kLabel = el("label", { class: "fn-k" });
  kLabel.append(el("span", {}, `from k =`), k, el("span", { class: "small", id: "fn-k-note" }));
  const reset = el("button", { type: "button", id: "fn-reset" }, "Reset to the served values");
  const note = el("p", { class: "small", id: "fn-served" });
  const buttons = el("div", { class: "buttons" });
  buttons.append(reset);
  section.append(svg, numbers, bias.wrap, kLabel, weight.wrap, buttons, note);
  box.append(section);

  const name = (j) => classNames()[j] ?? String(j);
  // `tried`: the bias and weight sent (the scratch copy holds them in the network's precision)
  const show = (answer, tried) => {
    const m = answer.moved;
    drawCurve(svg, answer);
    const now = m || answer;
    numbers.dataset.z = String(now.z);
    numbers.dataset.a = String(now.a);
    numbers.dataset.b = String(tried.b);
    numbers.dataset.w = String(tried.w);
    let t = `z = Σ w·a + b = ${fixed(now.z)}\na = ${fixed(now.a)}`;
    if (m) t += `   (served: z = ${fixed(answer.z)}, a = ${fixed(answer.a)})`;
    t += `\nanswer: "${name(now.answer)}" (${percent(now.probabilities[now.answer])})`;
    if (m && m.answer !== answer.answer) t += ` — the served network says "${name(answer.answer)}"`;
    numbers.textContent = t;
    note.textContent = `${m ? "These values are tried on a scratch copy: t" : "T"}he served ` +
      `network (version ${answer.model_version}) is unchanged; /api/predict still answers with it.`;
    svg.setAttribute("aria-label", `The curve ${what}; this neuron's z ${fixed(answer.z, 2)}, ` +
      `a ${fixed(answer.a, 2)}${m ? `; moved to z ${fixed(m.z, 2)}, a ${fixed(m.a, 2)}` : ""}.`);
  };
  const chooseK = (j) => {
    const aK = f.a_prev[j];
    setRange(weight, f.w[j], Math.max(2, Z_SPAN / Math.max(Math.abs(aK), 0.05)));
    weight.wrap.firstChild.textContent = `weight w_${index},${j}`;
    $("fn-k-note").textContent = ` a_k = ${fixed(aK, 3)}` +
      (aK === 0 ? ": zero for this image, so this weight moves nothing" : "") +
      (j === f.strongest_k ? " (the strongest push |w a|)" : "");
  };
  const restore = () => {
    clearTimeout(timer);
    request += 1;  // an answer still on its way is for values no longer shown
    setRange(bias, f.b, BIAS_SPAN);
    chooseK(Number(k.value));
    servedBars();
    show(f, { b: f.b, w: f.w[Number(k.value)] });
  };
  const send = async () => {
    const mine = ++request;
    const body = { ...base, bias: valueOf(bias),
      weight: { k: Number(k.value), value: valueOf(weight) } };
    try {
      const answer = await api("/api/neuron/function", body);
      if (mine !== request) return;
      show(answer, { b: body.bias, w: body.weight.value });
      whatIfBars(answer.moved);
    } catch (err) {
      if (mine === request) note.textContent = err.message;
    }
  };
  const moved = (s) => () => {
    label(s);
    clearTimeout(timer);
    timer = setTimeout(send, DEBOUNCE_MS);
  };
  bias.input.addEventListener("input", moved(bias));
  weight.input.addEventListener("input", moved(weight));
  k.addEventListener("change", () => {
    const j = Math.round(Number(k.value));
    const ok = j >= 0 && j < n;
    k.value = String(ok ? j : f.strongest_k);
    chooseK(Number(k.value));
    if (!ok) $("fn-k-note").textContent += `; k must be from 0 to ${n - 1}`;
    clearTimeout(timer);
    timer = setTimeout(send, DEBOUNCE_MS);
  });
  reset.addEventListener("click", restore);
  restore();
}
