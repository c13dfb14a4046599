// digitnet's page: plain JavaScript modules, no libraries, nothing fetched but this server's
// files and /api. This module starts the others and wires their events together.

import { api } from "./api.js";
import { $, on, percent, state, thing } from "./store.js";
import { initPad, wipe } from "./pad.js";
import { barsMeaning, drawBars, showNothing, traceOf } from "./answer.js";
import { Diagram } from "./diagram.js";
import { inspect, unselect } from "./inspect.js";
import { fillLabels, forget, initTeach, onTraced } from "./teach.js";
import { initExplore } from "./explore.js";
import { initSettings } from "./settings.js";
import { initTraining, showCandidate, trainState } from "./training.js";
import { initLive } from "./live.js";
import { initSlowMotion } from "./slowmo.js";
import { initTeachBatch } from "./teach_batch.js";

const DEFAULT_NOTE = () => `Draw one ${thing()}, large, in the middle. Mouse, pen or finger.`;

const diagram = new Diagram($("diagram"), {
  announce: $("diagram-live"),
  onSelect: (layer, index) => select(layer, index),
});

function select(layer, index) {
  state.selected = { layer, index };
  diagram.update({ selected: state.selected });
  inspect(layer, index);
}

async function loadModel() {
  const m = await api("/api/model");
  const before = state.model;
  state.model = m;
  const acc = m.test_accuracy == null ? "" : ` · test accuracy ${percent(m.test_accuracy, 2)}`;
  const data = m.dataset ? ` on ${m.dataset}` : "";
  $("model-desc").textContent =
    `${m.sizes.join("-")} · ${m.activation}/${m.output} · ${m.cost} cost · ` +
    `${m.n_params.toLocaleString()} weights and biases${acc}${data}`;
  $("model-desc").dataset.version = String(m.version);
  for (const span of document.querySelectorAll(".thing")) span.textContent = thing();
  if (!state.source || state.source.kind !== "test") $("pad-note").textContent = DEFAULT_NOTE();
  $("explore-panel").hidden = !m.explore;
  fillLabels();
  drawBars(state.trace);
  showCandidate(m.candidate);
  loadWeights();
  if (before && before.version !== m.version) {
    // another network: its shape may differ, so forget the neuron and trace the image again
    if (state.selected) unselect("The served network changed: choose a neuron again.");
    diagram.update({ selected: null, cursor: null, trace: null, backprop: null });
    if (state.input) traceOf({ pixels: state.input }, state.source);
  } else {
    diagram.draw();
  }
}

async function loadWeights() {
  try {
    const w = await api("/api/weights");
    $("weights-img").src = w.png;
    $("weights-note").firstChild.textContent =
      `${w.shown} of ${w.of} neurons of layer 1. Each tile is one neuron's incoming weights: `;
  } catch (err) {
    $("weights-note").textContent = err.message;
  }
}

function describeDiagram(t) {
  const answer = t ? `The network answers ${t.label} (${percent(t.confidence)} ${barsMeaning().short}); ` +
    `the output activations are ${t.outputs.map((a) => a.toFixed(2)).join(", ")}.`
    : `No answer yet: draw a ${thing()}.`;
  $("diagram").setAttribute("aria-label", `Network diagram, ${state.model ?
    state.model.sizes.join("-") : ""}. ${answer} Arrow keys move between neurons, Enter inspects one.`);
}

function legend(bp) {
  $("diagram-legend").innerHTML = bp
    ? `Teaching "<b></b>": neurons are coloured by −dC/dz = −δ and lines by −dC/dw, what one ` +
      `gradient step changes: <span class="pos">blue up</span>, <span class="neg">red down</span>, ` +
      "stronger is more."
    : "Neurons glow with their activation <i>a</i>. Lines are the strongest pushes " +
      "<i>w<sub>jk</sub> a<sub>k</sub></i> into each neuron for this image: " +
      '<span class="pos">blue excites</span>, <span class="neg">red inhibits</span>, thicker is stronger.';
  if (bp) $("diagram-legend").querySelector("b").textContent = bp.label_name;
}

function wire() {
  on("stroke-start", () => {
    if (state.source && state.source.kind === "test") state.source = { kind: "drawing" };
    $("pad-note").textContent = DEFAULT_NOTE();
  });
  on("drawing", ({ png }) => {
    $("pad-note").textContent = DEFAULT_NOTE();
    traceOf({ png }, { kind: "drawing" });
  });
  on("cleared", () => {
    $("pad-note").textContent = DEFAULT_NOTE();
    showNothing();
  });
  on("scribbled", ({ message }) => showNothing(message));
  on("test-image", (im) => {
    wipe();
    $("pad-note").textContent = `Showing test image #${im.index} (label ${im.label_name}). ` +
      "Drawing on the pad replaces it.";
    traceOf({ pixels: im.pixels.map((v) => v / 255) },
      { kind: "test", index: im.index, label: im.label });
  });
  on("traced", (t) => {
    diagram.update({ trace: t });
    describeDiagram(t);
    onTraced(t);
    if (state.selected) inspect(state.selected.layer, state.selected.index);
  });
  on("backprop", (bp) => {
    const radios = document.querySelectorAll("input[name=view]");
    radios[1].disabled = !bp;
    state.view = bp ? "gradient" : "activations";
    radios[state.view === "gradient" ? 1 : 0].checked = true;
    diagram.update({ backprop: bp, view: state.view });
    legend(state.view === "gradient" ? bp : null);
    if (state.selected) inspect(state.selected.layer, state.selected.index);
  });
  for (const radio of document.querySelectorAll("input[name=view]")) {
    radio.addEventListener("change", () => {
      state.view = radio.value;
      diagram.update({ view: state.view });
      legend(state.view === "gradient" ? state.backprop : null);
    });
  }
  on("train-ended", () => loadModel().catch(() => {}));
  on("adopted", () => loadModel().catch(() => {}));
  // a touch screen has no keyboard shortcuts to mention
  const touch = () => document.body.classList.add("touch");
  if (window.matchMedia("(pointer: coarse)").matches) touch();
  window.addEventListener("pointerdown", (e) => { if (e.pointerType === "touch") touch(); });
}

async function start() {
  wire();
  initPad();
  initTeach();
  initExplore();
  initSettings();
  showNothing();
  try {
    await loadModel();
  } catch (err) {
    $("model-desc").textContent = `cannot reach the server: ${err.message}`;
  }
  describeDiagram(null);
  initSlowMotion();
  await initTraining();
  initLive();
  initTeachBatch();
  forget();
  document.body.dataset.ready = "true";
}

// for the browser tests (and the curious, in the console)
window.digitnet = { state, diagram, train: trainState, select };
start();
