// The neuron panel: one neuron's incoming weights and bias, and for the current image its z, a
// and what pushes it (w x a); when teaching, what backprop wants of it (-dC/dz, -dC/dw); with an
// image, the neuron as a function (its curve and sliders, in neuron_function.js).

import { api } from "./api.js";
import { $, classNames, state } from "./store.js";
import { divergingCanvas } from "./colors.js";
import { signed } from "./diagram.js";
import { forgetFunction, showFunction } from "./neuron_function.js";

let request = 0;

function figure(canvas, caption) {
  const f = document.createElement("figure");
  const c = document.createElement("figcaption");
  c.textContent = caption;
  f.append(canvas, c);
  return f;
}

function hint(text) {
  const box = $("inspect");
  box.innerHTML = "";
  const p = document.createElement("p");
  p.className = "hint";
  p.textContent = text;
  box.append(p);
}

/** Forget the selected neuron (the network changed shape). */
export function unselect(message) {
  forgetFunction();
  state.selected = null;
  hint(message || "Click a neuron in the diagram, or Tab to it and press Enter.");
}

/** Show neuron `index` of layer `layer`, with the current image's numbers if there is one. */
export async function inspect(layer, index) {
  const m = state.model;
  if (m && (layer > m.sizes.length - 1 || index >= m.sizes[layer])) {
    unselect("That neuron is not in the network being served now: choose another.");
    return;
  }
  state.selected = { layer, index };
  forgetFunction();
  const id = ++request;
  const body = { layer, index };
  if (state.input) body.pixels = state.input;
  let n;
  try {
    n = await api("/api/neuron", body);
  } catch (err) {
    if (id !== request) return;
    hint(err.message);
    $("inspect").firstChild.className = "error";
    return;
  }
  if (id !== request) return;
  const box = $("inspect");
  box.innerHTML = "";
  const title = document.createElement("p");
  const b = document.createElement("b");
  const L = m ? m.sizes.length - 1 : n.layer;
  const name = n.label !== null ? n.label : classNames()[n.index];
  b.textContent = n.layer === L ? `Output neuron ${n.index} ("${name}")`
    : `Layer ${n.layer}, neuron ${n.index}`;
  title.append(b);
  const f = document.createElement("p");
  f.className = "formula";
  let text = `b = ${n.bias.toFixed(4)}`;
  if (n.z === null) {
    text += `\nno image: draw a ${classNames().length === 10 ? "digit" : "picture"} to see z and a`;
  } else {
    text += `\nz = Σ w·a + b = ${n.z.toFixed(4)}\na = ${n.activation}(z) = ${n.a.toFixed(4)}`;
  }
  const bp = state.backprop;
  const delta = bp && bp.layers[n.layer] ? bp.layers[n.layer].delta[n.index] : null;
  if (delta !== null && n.inputs) {
    text += `\nteaching "${classNames()[bp.label]}": -dC/dz = -dC/db = ${signed(-delta, 4)}`;
  }
  f.textContent = text;
  box.append(title, f);

  const row = document.createElement("div");
  row.className = "inspect-row";
  const [rows, cols] = n.weights_shape;
  const scale = rows === 1 ? Math.max(2, Math.floor(260 / cols)) : 5;
  const height = rows === 1 ? Math.max(1, Math.round(36 / scale)) : rows;
  const shape = (values) => rows === 1 ? Array.from({ length: height }, () => values).flat() : values;
  const picture = (values, caption, label) =>
    row.append(figure(divergingCanvas(shape(values), height, cols, scale, label), caption));
  picture(n.weights, `incoming weights w (${n.weights.length})`,
    `the ${n.weights.length} incoming weights of this neuron, blue positive, red negative`);
  if (n.inputs) {
    picture(n.weights.map((w, k) => w * n.inputs[k]), "w × a of the layer before: what pushes it now",
      "each incoming weight times its input's activation for this image");
  }
  if (delta !== null && n.inputs) {
    picture(n.inputs.map((a) => -delta * a), "-dC/dw = -δ a: how backprop wants its weights to move",
      "the negative gradient of each incoming weight for the label being taught");
  }
  box.append(row);
  if (n.inputs) showFunction(box, n.layer, n.index);
}
