// A mini-batch's wishes for the outputs as a table: one row per example (what that example
// alone wants of each output neuron, -dC_i/da_j), then their average, the row the step follows.
// The numbers come from the server (views/nudges.py's example_wishes); this only draws them.

import { css, diverging, maxAbs } from "./colors.js";

const fmt = (v) => (Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(2) : v.toExponential(0));

/** The table for `w` ({wishes, average, labels, predictions, class_names}); `caption` says
 *  what it is. Cells are coloured on one scale: blue wants up, red wants down. */
export function wishesTable(w, caption) {
  const table = document.createElement("table");
  table.className = "wishes";
  const m = maxAbs(w.wishes.flat()) || 1;
  const names = w.class_names;
  const cap = document.createElement("caption");
  cap.textContent = caption;
  table.append(cap);
  const head = table.createTHead().insertRow();
  head.append(cell("th", "example (label → answer)"));
  for (const name of names) head.append(cell("th", name));
  const body = table.createTBody();
  const row = (title, values, className) => {
    const tr = body.insertRow();
    if (className) tr.className = className;
    const th = cell("th", title);
    th.scope = "row";
    tr.append(th);
    values.forEach((v, j) => {
      const td = cell("td", fmt(v));
      td.style.background = css(diverging(v, m));
      if (Math.abs(v) > 0.6 * m) td.style.color = "#fff";
      td.title = `${title}: wants output ${names[j]} ${v >= 0 ? "up" : "down"} by ${v}`;
      tr.append(td);
    });
    return tr;
  };
  w.wishes.forEach((values, i) => {
    const said = w.predictions ? ` → ${names[w.predictions[i]]}` : "";
    row(`#${i + 1}: a ${names[w.labels[i]]}${said}`, values, "example");
  });
  row(`average of the ${w.wishes.length}`, w.average, "average");
  table.dataset.rows = String(w.wishes.length);
  return table;
}

function cell(tag, text) {
  const c = document.createElement(tag);
  c.textContent = text;
  return c;
}
