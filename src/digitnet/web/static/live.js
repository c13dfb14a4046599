// The live run as it learns: its network's diagram for the image on show and its answers for a
// few test images, from POST /api/train/trace (the live run's network, or the finished
// candidate's), after each mini-batch step taken by hand and about once a second while it plays.

import { api } from "./api.js";
import { $, classNames, on, percent, state, thing } from "./store.js";
import { Diagram } from "./diagram.js";
import { imageCanvas } from "./explore.js";

const EVERY_MS = 1000;
const DIGITS = 8;

let diagram = null;
let samples = null;   // a few test images: {index, label, label_name, pixels}
let last = 0;
let timer = null;
let busy = false;

async function loadSamples() {
  if (samples || !(state.model && state.model.explore)) return;
  try {
    const data = await api(`/api/test-images?mode=random&count=${DIGITS}&seed=7`);
    samples = data.images;
  } catch (err) {
    samples = [];
  }
}

async function update() {
  if (busy) return;
  busy = true;
  last = Date.now();
  try {
    await loadSamples();
    const pixels = (im) => im.pixels.map((v) => v / 255);
    const input = state.input || (samples && samples.length ? pixels(samples[0]) : null);
    const answers = await Promise.all([
      input ? api("/api/train/trace", { pixels: input }) : null,
      ...(samples || []).map((im) => api("/api/train/trace", { pixels: pixels(im) })),
    ]);
    const [t, ...rest] = answers;
    if (t) {
      diagram.update({ trace: t });
      $("live-diagram").setAttribute("aria-label", `The live network's diagram for the ` +
        `${state.input ? `${thing()} on show` : "first test image below"}: it answers ${t.label} ` +
        `(${percent(t.confidence)}).`);
    }
    showDigits(rest);
  } catch (err) {
    // no run yet (404) or the server is busy: the next update tries again
  } finally {
    busy = false;
  }
}

function showDigits(answers) {
  const box = $("live-digits");
  box.innerHTML = "";
  if (!samples || !samples.length) return;
  const names = classNames();
  let right = 0;
  samples.forEach((im, i) => {
    const a = answers[i];
    const f = document.createElement("figure");
    const said = a ? a.label : "?";
    const ok = a && a.prediction === im.label;
    if (ok) right += 1;
    const text = `test image #${im.index}, label ${names[im.label] || im.label}: the live ` +
      `network answers ${said}`;
    f.append(imageCanvas(im.pixels, text));
    const c = document.createElement("figcaption");
    c.textContent = `→ ${said}`;
    if (!ok) c.className = "wrong";
    f.append(c);
    box.append(f);
  });
  box.dataset.right = String(right);
  const title = document.createElement("p");
  title.className = "small";
  title.textContent = `The live network on ${samples.length} test images: ${right} right.`;
  box.prepend(title);
}

function soon(now = false) {
  if (now || Date.now() - last > EVERY_MS) {
    clearTimeout(timer);
    timer = null;
    update();
  } else if (!timer) {
    timer = setTimeout(() => { timer = null; update(); }, EVERY_MS);
  }
}

export function initLive() {
  diagram = new Diagram($("live-diagram"), { empty: "start a run to see its network learn", height: 300 });
  on("train-step", () => soon(true));
  on("train-progress", () => soon(false));
  on("train-ended", () => soon(true));
  on("traced", () => { if (diagram.trace) soon(true); });
}
