// The drawing pad: strokes of a mouse, pen or finger, undo and clear.
// After each stroke it emits "drawing" with the pad as a PNG; after Clear (or undoing the last
// stroke) it emits "cleared". A pad almost all ink is not sent: there is no digit on it to read.

import { $, emit, thing } from "./store.js";

const FULL_INK = 0.8;  // this share of the pad inked is a scribble, not a digit

const strokes = [];    // each stroke: a list of [x, y] points in pad pixels
let current = null;    // the stroke being drawn
let pad, ctx;

export function strokeCount() {
  return strokes.length;
}

function redraw() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.strokeStyle = ctx.fillStyle = "#000";
  ctx.lineWidth = 20;
  ctx.lineCap = ctx.lineJoin = "round";
  for (const stroke of current ? [...strokes, current] : strokes) {
    ctx.beginPath();
    if (stroke.length === 1) {
      ctx.arc(stroke[0][0], stroke[0][1], 10, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.moveTo(stroke[0][0], stroke[0][1]);
    for (const [x, y] of stroke.slice(1)) ctx.lineTo(x, y);
    ctx.stroke();
  }
}

/** The share of the pad's pixels that are ink. */
function inkShare() {
  const data = ctx.getImageData(0, 0, pad.width, pad.height).data;
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] < 128) ink += 1;
  return ink / (data.length / 4);
}

function point(event) {
  const rect = pad.getBoundingClientRect();
  return [
    (event.clientX - rect.left) * (pad.width / rect.width),
    (event.clientY - rect.top) * (pad.height / rect.height),
  ];
}

function changed() {
  redraw();
  if (!strokes.length) {
    emit("cleared");
    return;
  }
  const share = inkShare();
  if (share > FULL_INK) {
    emit("scribbled", {
      message: `The pad is ${Math.round(100 * share)}% ink: there is no ${thing()} shape left ` +
        "for the network to read. Undo a stroke or Clear, then draw one.",
    });
    return;
  }
  emit("drawing", { png: pad.toDataURL("image/png") });
}

/** Forget every stroke (the page shows nothing). */
export function clear() {
  strokes.length = 0;
  current = null;
  changed();
}

/** Empty the pad without announcing it (a test image is shown instead). */
export function wipe() {
  strokes.length = 0;
  current = null;
  redraw();
}

export function undo() {
  strokes.pop();
  changed();
}

/** The pad, its buttons and its keys (Ctrl+Z undoes a stroke, Esc clears). */
export function initPad() {
  pad = $("pad");
  ctx = pad.getContext("2d", { willReadFrequently: true });
  redraw();
  pad.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    try {
      pad.setPointerCapture(event.pointerId);  // keep the stroke when the pointer leaves the pad
    } catch (err) {
      // a pointer the browser no longer tracks: draw without capture
    }
    current = [point(event)];
    emit("stroke-start");
    redraw();
  });
  pad.addEventListener("pointermove", (event) => {
    if (!current) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const e of events.length ? events : [event]) current.push(point(e));
    redraw();
  });
  const end = (event) => {
    if (!current) return;
    event.preventDefault();
    strokes.push(current);
    current = null;
    changed();
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  $("clear").addEventListener("click", clear);
  $("undo").addEventListener("click", undo);
  document.addEventListener("keydown", (event) => {
    const t = event.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement ||
        t instanceof HTMLTextAreaElement) return;
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      event.preventDefault();
      undo();
    } else if (event.key === "Escape") {
      clear();
    }
  });
}
