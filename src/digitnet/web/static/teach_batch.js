// The teach panel's mini-batch: a few test images, each one's wishes for the outputs before the
// averaging (a row each: what that image alone wants of each output), then their average, the
// row a mini-batch step follows (POST /api/backprop/batch; views/nudges.py's example_wishes).

import { api } from "./api.js";
import { $, on, state } from "./store.js";
import { imageCanvas } from "./explore.js";
import { wishesTable } from "./wishes.js";

const SIZE = 8;
let seed = 0;

async function showBatch() {
  const box = $("teach-batch-result");
  $("teach-batch").disabled = true;
  try {
    const b = await api("/api/backprop/batch", { size: SIZE, seed });
    seed += 1;
    box.innerHTML = "";
    const p = document.createElement("p");
    p.className = "small";
    p.textContent = `${b.size} test images as one mini-batch (C = ${b.cost_before.toFixed(4)} on ` +
      "them). One image has one row of wishes; the mini-batch step follows their average, the " +
      "last row.";
    const strip = document.createElement("div");
    strip.className = "live-digits";
    b.indices.forEach((index, i) => {
      const f = document.createElement("figure");
      f.append(imageCanvas(b.pixels[i], `test image #${index}, a ${b.class_names[b.labels[i]]}`));
      const c = document.createElement("figcaption");
      c.textContent = `#${i + 1}`;
      f.append(c);
      strip.append(f);
    });
    box.append(p, strip, wishesTable(b, "−∂Cᵢ/∂aⱼ: each image's wish for each output, then the average"));
    box.dataset.seed = String(seed - 1);
  } catch (err) {
    box.textContent = err.message;
  } finally {
    $("teach-batch").disabled = false;
  }
}

export function initTeachBatch() {
  $("teach-batch").addEventListener("click", showBatch);
  const explore = () => { $("teach-batch").hidden = !(state.model && state.model.explore); };
  on("adopted", explore);
  explore();
}
