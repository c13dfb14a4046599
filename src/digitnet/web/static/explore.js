// The test set: random test images or only the mistakes, each a button that traces it.

import { api } from "./api.js";
import { $, emit, percent, sizes } from "./store.js";

/** A canvas showing grey levels 0..255 (ink high), as the network reads them. */
export function imageCanvas(pixels, label) {
  const { side } = sizes();
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = side;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(side, side);
  pixels.forEach((v, i) => img.data.set([v, v, v, 255], 4 * i));
  ctx.putImageData(img, 0, 0);
  return canvas;
}

async function explore(mode) {
  const note = $("explore-note");
  let data;
  try {
    data = await api(`/api/test-images?mode=${mode}&count=24`);
  } catch (err) {
    note.textContent = err.message;
    return;
  }
  note.textContent =
    `${data.dataset}: ${data.mistakes.toLocaleString()} of ${data.total.toLocaleString()} test ` +
    `images wrong (accuracy ${percent(data.accuracy, 2)}). Choose one to trace it.`;
  const grid = $("explore-grid");
  grid.innerHTML = "";
  for (const im of data.images) {
    const tile = document.createElement("button");
    tile.type = "button";
    tile.className = "tile" + (im.prediction !== im.label ? " wrong" : "");
    const caption = document.createElement("span");
    caption.textContent = `${im.label_name} → ${im.prediction_name}`;
    const text = `Test image #${im.index}: label ${im.label_name}, the network answers ` +
      `${im.prediction_name} (${percent(im.confidence)})`;
    tile.title = text;
    tile.setAttribute("aria-label", `${text}. Trace it.`);
    tile.append(imageCanvas(im.pixels, text), caption);
    tile.addEventListener("click", () => {
      emit("test-image", im);
      $("answer-panel").scrollIntoView({ behavior: "smooth", block: "nearest" });
    });
    grid.appendChild(tile);
  }
}

export function initExplore() {
  $("explore-random").addEventListener("click", () => explore("random"));
  $("explore-mistakes").addEventListener("click", () => explore("mistakes"));
}
