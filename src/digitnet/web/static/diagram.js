// The network diagram, drawn from one /api/trace answer (and, when teaching, one /api/backprop
// answer): the input as its grid of pixels, the neurons the server chose for each layer, and the
// connections it chose. Everything is laid out in CSS pixels, so its text is 12 px on any screen;
// on a narrow or touch screen neurons sit at least 24 px apart, and a tap within 12 px of a neuron's centre
// (a 24 px target) selects it. By keyboard: Tab to the diagram, arrows move between neurons,
// Enter or Space inspects one.

import { classNames, sizes, state } from "./store.js";
import { POS, NEG, css, divergingDark, maxAbs } from "./colors.js";

const FONT = "12px system-ui, sans-serif";
const TARGET = 12;          // half of the 24 px a finger needs
const NARROW = 520;         // below this width (CSS px), or on a touch screen, neurons get 24 px

export class Diagram {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{onSelect?: (layer: number, index: number) => void, announce?: HTMLElement,
   *          empty?: string, height?: number}} options (onSelect makes neurons selectable)
   */
  constructor(canvas, options = {}) {
    this.canvas = canvas;
    this.options = options;
    this.trace = null;       // /api/trace answer
    this.backprop = null;    // /api/backprop answer (drawn in the "gradient" view)
    this.view = "activations";
    this.selected = null;    // {layer, index}
    this.cursor = null;      // keyboard focus: {layer, pos}
    this.positions = [];     // {layer, index, x, y, r} in CSS pixels
    this.columns = [];       // per layer l >= 1: the neuron indices drawn, top to bottom
    if (options.onSelect) this.listen();
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  update(fields) {
    Object.assign(this, fields);
    this.draw();
  }

  /** The neurons drawn for layer l: the server's choice, plus the selected neuron if it is not
   *  among them (it stays on the diagram while it is inspected). */
  shownOf(l, L, layerSizes) {
    const t = this.trace;
    let shown = t ? [...t.layers[l].shown]
      : [...Array(Math.min(layerSizes[l], l === L ? layerSizes[l] : sizes().shown)).keys()];
    const s = this.selected;
    if (s && s.layer === l && s.index < layerSizes[l] && !shown.includes(s.index)) {
      shown.push(s.index);
      shown.sort((p, q) => p - q);
    }
    return shown;
  }

  draw() {
    const canvas = this.canvas;
    const W = canvas.clientWidth;
    if (!W) return;
    const t = this.trace;
    const layerSizes = t ? t.sizes : (state.model && state.model.sizes) || [sizes().inputs, 10];
    const L = layerSizes.length - 1;
    const side = sizes().side;
    const names = classNames();
    this.columns = [null];
    for (let l = 1; l <= L; l++) this.columns.push(this.shownOf(l, L, layerSizes));
    const most = Math.max(...this.columns.slice(1).map((c) => c.length));
    const narrow = W < NARROW || window.matchMedia("(pointer: coarse)").matches;
    const top = 30, bottom = 40;
    const base = this.options.height || 430;
    const H = narrow && this.options.onSelect ? Math.max(300, most * 2 * TARGET + top + bottom)
      : base;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
      canvas.width = Math.round(W * dpr);
      canvas.height = Math.round(H * dpr);
    }
    canvas.style.height = `${H}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#121212";
    ctx.fillRect(0, 0, W, H);
    ctx.font = FONT;

    // columns: the input grid on the left, the output labels on the right
    const cell = Math.max(2, Math.min(12, Math.floor((H - top - bottom) / side),
      Math.floor((W * 0.3) / side)));
    const gridX = 10, gridY = top + Math.floor((H - top - bottom - side * cell) / 2);
    ctx.font = `bold ${FONT}`;
    const outW = Math.max(...names.map((n) => ctx.measureText(`${n}  +0.000`).width));
    ctx.font = FONT;
    const x0 = gridX + side * cell + (narrow ? 34 : 80);
    const x1 = W - Math.min(outW + 24, W * 0.4);
    const xs = [gridX + (side * cell) / 2];
    for (let l = 1; l <= L; l++) xs.push(L === 1 ? x1 : x0 + ((x1 - x0) * (l - 1)) / (L - 1));

    const pos = [new Map()];
    const n0 = layerSizes[0];
    for (let k = 0; k < n0; k++) {
      const r = Math.floor(k / side), c = k % side;
      pos[0].set(k, { x: gridX + c * cell + cell / 2, y: gridY + r * cell + cell / 2 });
    }
    for (let l = 1; l <= L; l++) {
      const shown = this.columns[l];
      const gap = (H - top - bottom) / Math.max(shown.length, 1);
      const r = Math.max(3, Math.min(11, gap * 0.38));
      const m = new Map();
      shown.forEach((j, i) => m.set(j, { x: xs[l], y: top + gap * (i + 0.5), r }));
      pos.push(m);
    }

    const bp = this.view === "gradient" ? this.backprop : null;
    this.drawConnections(ctx, pos, bp);

    // the input: the pixels the network reads
    for (let k = 0; k < n0; k++) {
      const p = pos[0].get(k);
      const v = t ? Math.round(255 * t.layers[0].a[k]) : 0;
      ctx.fillStyle = `rgb(${v},${v},${v})`;
      ctx.fillRect(p.x - cell / 2, p.y - cell / 2, Math.max(1, cell - 1), Math.max(1, cell - 1));
    }

    // neurons: lit by their activation a, or coloured by what backprop wants of z (-dC/dz)
    this.positions = [];
    for (let l = 1; l <= L; l++) {
      const layer = t ? t.layers[l] : null;
      const want = bp ? bp.layers[l].delta.map((d) => -d) : null;
      const wantScale = want ? maxAbs(want) || 1 : 1;
      for (const [j, p] of pos[l]) {
        const a = layer ? layer.a[j] : 0;
        ctx.beginPath();
        ctx.arc(p.x, p.y, p.r, 0, 2 * Math.PI);
        if (want) {
          ctx.fillStyle = css(divergingDark(want[j], wantScale));
        } else {
          const v = Math.round(255 * Math.max(0, Math.min(1, a / (layer ? layer.scale : 1))));
          ctx.fillStyle = `rgb(${v},${v},${v})`;
        }
        ctx.fill();
        const answer = t && l === L && j === t.prediction;
        const taught = bp && l === L && j === bp.label;
        const selected = this.selected && this.selected.layer === l && this.selected.index === j;
        ctx.lineWidth = selected || answer || taught ? 2.5 : 1;
        ctx.strokeStyle = selected ? "#ffd400" : taught ? "#7fd17f" : answer ? "#e8a317" : "#777";
        ctx.stroke();
        const c = this.cursor;
        if (c && c.layer === l && this.columns[l][c.pos] === j && this.keyboard) {
          ctx.save();
          ctx.setLineDash([3, 2]);
          ctx.lineWidth = 2;
          ctx.strokeStyle = "#fff";
          ctx.beginPath();
          ctx.arc(p.x, p.y, Math.max(p.r + 4, 8), 0, 2 * Math.PI);
          ctx.stroke();
          ctx.restore();
        }
        this.positions.push({ layer: l, index: j, x: p.x, y: p.y, r: p.r });
        if (l === L) {
          ctx.fillStyle = taught ? "#7fd17f" : answer ? "#e8a317" : "#ccc";
          ctx.font = `${answer || taught ? "bold " : ""}${FONT}`;
          ctx.textAlign = "left";
          ctx.textBaseline = "middle";
          const name = names[j] !== undefined ? names[j] : String(j);
          const value = want ? signed(want[j]) : layer ? a.toFixed(2) : "";
          ctx.fillText(`${name}  ${value}`, p.x + p.r + 5, p.y);
          ctx.font = FONT;
        }
      }
    }

    // what the colours mean, and a caption under each layer
    ctx.fillStyle = "#bbb";
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    const what = !t ? (this.options.empty || "draw a digit to see the neurons light up")
      : caption(bp, narrow);
    ctx.fillText(what, 10, 18);
    const tight = L > 1 && (x1 - x0) / (L - 1) < 70;
    ctx.textAlign = "center";
    for (let l = 0; l <= L; l++) {
      const shown = l === 0 ? n0 : this.columns[l].length;
      const name = l === 0 ? "input" : l === L ? "output" : tight ? `L${l}` : `layer ${l}`;
      const count = shown < layerSizes[l] ? (tight ? `${shown}/${layerSizes[l]}` :
        `${shown} of ${layerSizes[l]}`) : `${layerSizes[l]}${l === 0 ? " px" : ""}`;
      ctx.fillText(name, xs[l], H - 22);
      ctx.fillText(count, xs[l], H - 7);
    }
  }

  drawConnections(ctx, pos, bp) {
    const t = this.trace;
    if (!t) return;
    const list = bp ? bp.connections.map((c) => ({ ...c, v: -c.grad }))
      : t.connections.map((c) => ({ ...c, v: c.push }));
    const most = {};
    for (const c of list) most[c.layer] = Math.max(most[c.layer] || 0, Math.abs(c.v));
    list.sort((p, q) => Math.abs(p.v) - Math.abs(q.v));
    for (const c of list) {
      const from = pos[c.layer - 1].get(c.from), to = pos[c.layer].get(c.to);
      if (!from || !to) continue;
      const s = Math.abs(c.v) / (most[c.layer] || 1);
      const rgb = (c.v >= 0 ? POS : NEG).map((x) => x + 40);
      ctx.strokeStyle = css(rgb, 0.12 + 0.8 * s);
      ctx.lineWidth = 0.4 + 2.6 * s;
      ctx.beginPath();
      ctx.moveTo(from.x, from.y);
      ctx.lineTo(to.x, to.y);
      ctx.stroke();
    }
  }

  /** The neuron under a point (CSS pixels from the canvas's corner): the nearest one whose
   *  square target (24 px, or its own size if larger) holds the point. */
  hit(x, y) {
    let best = null, bestD = Infinity;
    for (const p of this.positions) {
      const half = Math.max(p.r, TARGET);
      if (Math.abs(p.x - x) > half || Math.abs(p.y - y) > half) continue;
      const d = Math.hypot(p.x - x, p.y - y);
      if (d < bestD) { best = p; bestD = d; }
    }
    return best;
  }

  describe(l, j) {
    const t = this.trace, L = this.columns.length - 1;
    const names = classNames();
    const which = l === L ? `output ${names[j] !== undefined ? names[j] : j}` : `layer ${l}, neuron ${j}`;
    const a = t ? `: a = ${t.layers[l].a[j].toFixed(3)}` : "";
    const bp = this.view === "gradient" && this.backprop;
    const want = bp ? `, backprop wants z to change by ${signed(-bp.layers[l].delta[j])}` : "";
    return `${which}${a}${want}. Enter inspects it.`;
  }

  listen() {
    const canvas = this.canvas;
    canvas.addEventListener("click", (event) => {
      const rect = canvas.getBoundingClientRect();
      const p = this.hit(event.clientX - rect.left, event.clientY - rect.top);
      if (!p) return;
      this.cursor = { layer: p.layer, pos: this.columns[p.layer].indexOf(p.index) };
      this.options.onSelect(p.layer, p.index);
    });
    canvas.addEventListener("focus", () => {
      // the dashed ring shows where the arrow keys are, for a keyboard user only
      this.keyboard = canvas.matches(":focus-visible");
      if (!this.cursor) {
        const s = this.selected;
        this.cursor = s && this.columns[s.layer] && this.columns[s.layer].includes(s.index)
          ? { layer: s.layer, pos: this.columns[s.layer].indexOf(s.index) }
          : { layer: 1, pos: 0 };
      }
      this.draw();
      this.announce();
    });
    canvas.addEventListener("blur", () => {
      this.keyboard = false;
      this.draw();
    });
    canvas.addEventListener("keydown", (event) => {
      const L = this.columns.length - 1;
      const c = this.cursor || { layer: 1, pos: 0 };
      const n = (l) => this.columns[l].length;
      let { layer, pos } = c;
      switch (event.key) {
        case "ArrowUp": pos = Math.max(0, pos - 1); break;
        case "ArrowDown": pos = Math.min(n(layer) - 1, pos + 1); break;
        case "ArrowLeft":
        case "ArrowRight": {
          const next = event.key === "ArrowLeft" ? Math.max(1, layer - 1) : Math.min(L, layer + 1);
          pos = Math.round((pos + 0.5) * n(next) / n(layer) - 0.5);
          layer = next;
          pos = Math.max(0, Math.min(n(layer) - 1, pos));
          break;
        }
        case "Home": pos = 0; break;
        case "End": pos = n(layer) - 1; break;
        case "Enter":
        case " ":
          event.preventDefault();
          this.options.onSelect(layer, this.columns[layer][pos]);
          return;
        default:
          return;
      }
      event.preventDefault();
      this.keyboard = true;
      this.cursor = { layer, pos };
      this.draw();
      this.announce();
    });
  }

  announce() {
    const box = this.options.announce;
    const c = this.cursor;
    if (!box || !c || !this.columns[c.layer]) return;
    box.textContent = this.describe(c.layer, this.columns[c.layer][c.pos]);
  }
}

export function signed(v, digits = 3) {
  if (v == null || Number.isNaN(v)) return "–";
  const tiny = Math.abs(v) < 1e-3 && v !== 0, huge = Math.abs(v) >= 1e4;
  const s = tiny ? v.toExponential(1) : huge ? v.toExponential(2) : v.toFixed(digits);
  return v > 0 ? `+${s}` : s;
}

function caption(bp, narrow) {
  if (bp) {
    return narrow ? "colour: -dC/dz, blue up, red down"
      : "teaching: neurons and lines coloured by -gradient (blue: wants up, red: wants down)";
  }
  return narrow ? "brightness: activation a" : "neurons: activation a · lines: w·a pushes";
}
