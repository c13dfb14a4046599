// Live training in slow motion: the cost of each mini-batch (every one while slowed down or
// paused, every 5th at full speed) and its running average as the steps come (not only at an epoch's end), the run's path on a slice of the cost landscape
// through its start (one dot a step, at the run's real cost), and the nudges of the latest step
// taken slowly: each example's wishes for the outputs, their average, C before and after.
// The numbers come from /api/train/costs, /api/train/landscape and /api/train/nudges (and the
// progress events); this module only draws them.

import { api } from "./api.js";
import { $, on } from "./store.js";
import { wishesTable } from "./wishes.js";

const NUDGES_EVERY_MS = 700;

const slow = {
  job: null,
  costs: [],      // {step, epoch, batch, cost, average, seconds}
  grid: null,     // the slice: {alphas, betas, costs, ...}
  path: [],       // {step, alpha, beta, cost, slice_cost, off_plane}
  note: "",
  nudgesStep: 0,  // the step whose nudges are shown
  nudgesAt: 0,
  fetching: false,
};

function reset(job) {
  Object.assign(slow, { job, costs: [], grid: null, path: [], note: "", nudgesStep: 0 });
  $("step-nudges").innerHTML = "";
  draw();
}

/** New costs and landscape points (from a progress event or a fetch), in step order. */
function add(costs, path) {
  const lastCost = slow.costs.length ? slow.costs[slow.costs.length - 1].step : 0;
  for (const c of costs || []) if (c.step > lastCost) slow.costs.push(c);
  const lastPoint = slow.path.length ? slow.path[slow.path.length - 1].step : -1;
  for (const p of path || []) if (p.step > lastPoint) slow.path.push(p);
}

async function catchUp(job) {
  try {
    const [c, l] = await Promise.all([
      api(`/api/train/costs?since=${slow.costs.length}`),
      api(`/api/train/landscape?since=${slow.path.length}`),
    ]);
    if (c.job !== job || l.job !== job || slow.job !== job) return;
    slow.grid = l.grid;
    slow.note = l.note;
    add(c.costs, l.path);
    draw();
  } catch (err) {
    // no run yet: nothing to draw
  }
}

async function showNudges(step) {
  if (slow.fetching || step <= slow.nudgesStep) return;
  slow.fetching = true;
  slow.nudgesAt = Date.now();
  try {
    const n = await api("/api/train/nudges");
    if (n.step <= slow.nudgesStep) return;
    slow.nudgesStep = n.step;
    const box = $("step-nudges");
    box.innerHTML = "";
    const h = document.createElement("h3");
    h.textContent = `Step ${n.step.toLocaleString()} (epoch ${n.epoch}, mini-batch ${n.batch}): ` +
      `what its ${n.size} images wished`;
    const p = document.createElement("p");
    p.className = "small";
    p.id = "step-cost";
    const sign = n.cost_change <= 0 ? "−" : "+";
    p.textContent = `C on this mini-batch: ${n.cost_before.toFixed(4)} before the step, ` +
      `${n.cost_after.toFixed(4)} after (${sign}${Math.abs(n.cost_change).toFixed(4)}), ` +
      `with η = ${n.lr}. The step follows the average row, the mean of the examples' rows.`;
    box.append(h, p, wishesTable(n, "−∂Cᵢ/∂aⱼ: each image's wish for each output, then the average"));
    box.dataset.step = String(n.step);
  } catch (err) {
    // no slow step yet
  } finally {
    slow.fetching = false;
  }
}

// -- the mini-batch cost curve ------------------------------------------------------------------
function drawCosts() {
  const c = $("batch-curves"), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  const rs = slow.costs;
  const left = 44, right = c.width - 10, top = 20, bottom = c.height - 26;
  const values = rs.map((r) => r.cost);
  let hi = values.length ? Math.max(...values) : 1;
  const lo = 0;
  if (hi - lo < 1e-6) hi = lo + 1;
  const n = Math.max(rs.length ? rs[rs.length - 1].step : 1, 2);
  const X = (s) => left + ((right - left) * (s - 1)) / (n - 1);
  const Y = (v) => bottom - ((bottom - top) * (v - lo)) / (hi - lo);
  ctx.strokeStyle = "#bbb"; ctx.lineWidth = 1;
  ctx.strokeRect(left, top, right - left, bottom - top);
  ctx.fillStyle = "#333"; ctx.font = "12px system-ui, sans-serif"; ctx.textAlign = "left";
  ctx.fillText("cost of the mini-batch at each step (grey), the mean of the latest 20 (black)",
    left, 13);
  ctx.fillStyle = "#666"; ctx.textAlign = "right";
  ctx.fillText(hi.toFixed(3), left - 3, top + 8);
  ctx.fillText("0", left - 3, bottom);
  ctx.textAlign = "center";
  ctx.fillText("mini-batch step", (left + right) / 2, c.height - 8);
  // where each epoch began
  ctx.strokeStyle = "#ddd";
  rs.forEach((r, i) => {
    if (i > 0 && r.epoch !== rs[i - 1].epoch) {
      ctx.beginPath(); ctx.moveTo(X(r.step), top); ctx.lineTo(X(r.step), bottom); ctx.stroke();
    }
  });
  const line = (key, color, width) => {
    ctx.strokeStyle = color; ctx.lineWidth = width;
    ctx.beginPath();
    rs.forEach((r, i) => (i === 0 ? ctx.moveTo(X(r.step), Y(r[key])) : ctx.lineTo(X(r.step), Y(r[key]))));
    ctx.stroke();
  };
  line("cost", "#aaa", 1);
  line("average", "#222", 2);
  const last = rs[rs.length - 1];
  c.dataset.points = String(rs.length);
  c.setAttribute("aria-label", last ? `Cost of each mini-batch: ${rs.length} steps, the latest ` +
    `${last.cost.toFixed(3)}, the mean of the latest 20 ${last.average.toFixed(3)}.` :
    "Cost of each mini-batch: no step yet.");
}

// -- the landscape ------------------------------------------------------------------------------
function viridis(t) {
  // five stops of matplotlib's viridis, interpolated
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(0.9999, Math.max(0, t)) * (stops.length - 1);
  const i = Math.floor(x), f = x - i;
  return stops[i].map((v, k) => Math.round(v + f * (stops[i + 1][k] - v)));
}

function drawLandscape() {
  const c = $("landscape"), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  const g = slow.grid;
  const left = 40, right = c.width - 10, top = 10, bottom = c.height - 30;
  const caption = $("landscape-note");
  if (!g) {
    ctx.fillStyle = "#666"; ctx.font = "12px system-ui, sans-serif"; ctx.textAlign = "center";
    ctx.fillText(slow.note || "start a run to see its path", c.width / 2, c.height / 2);
    caption.textContent = slow.note || "";
    c.dataset.points = "0";
    return;
  }
  const A = g.alphas, B = g.betas;
  const a0 = A[0], a1 = A[A.length - 1], b0 = B[0], b1 = B[B.length - 1];
  const X = (a) => left + ((right - left) * (a - a0)) / (a1 - a0);
  const Y = (b) => bottom - ((bottom - top) * (b - b0)) / (b1 - b0);
  const flat = g.costs.flat().filter((v) => v > 0);
  const lo = Math.log(Math.min(...flat)), hi = Math.log(Math.max(...flat));
  const colour = (v) => viridis((Math.log(Math.max(v, 1e-12)) - lo) / Math.max(hi - lo, 1e-9));
  const cw = (right - left) / A.length, ch = (bottom - top) / B.length;
  g.costs.forEach((row, i) => row.forEach((v, j) => {
    const [r, gg, b] = colour(v);
    ctx.fillStyle = `rgb(${r},${gg},${b})`;
    ctx.fillRect(left + j * cw, bottom - (i + 1) * ch, cw + 0.5, ch + 0.5);
  }));
  ctx.fillStyle = "#333"; ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "center";
  ctx.fillText("α: along −∇C at the start →", (left + right) / 2, c.height - 14);
  ctx.save(); ctx.translate(12, (top + bottom) / 2); ctx.rotate(-Math.PI / 2);
  ctx.fillText("β: random, ⟂", 0, 0); ctx.restore();
  const clampX = (a) => Math.min(right, Math.max(left, X(a)));
  const clampY = (b) => Math.min(bottom, Math.max(top, Y(b)));
  const path = slow.path;
  ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.2;
  ctx.beginPath();
  path.forEach((p, i) => (i === 0 ? ctx.moveTo(clampX(p.alpha), clampY(p.beta)) :
    ctx.lineTo(clampX(p.alpha), clampY(p.beta))));
  ctx.stroke();
  // each dot is coloured by the run's real cost there, on the map's scale
  path.forEach((p) => {
    const [r, gg, b] = colour(p.cost);
    ctx.fillStyle = `rgb(${r},${gg},${b})`;
    ctx.beginPath(); ctx.arc(clampX(p.alpha), clampY(p.beta), 2.5, 0, 2 * Math.PI); ctx.fill();
  });
  const now = path[path.length - 1];
  if (now) {
    ctx.strokeStyle = "#e31a1c"; ctx.lineWidth = 2.5;
    ctx.beginPath(); ctx.arc(clampX(now.alpha), clampY(now.beta), 6, 0, 2 * Math.PI); ctx.stroke();
    c.dataset.alpha = String(now.alpha);
    c.dataset.beta = String(now.beta);
    c.dataset.step = String(now.step);
    const outside = now.alpha < a0 || now.alpha > a1 || now.beta < b0 || now.beta > b1;
    caption.textContent = `After step ${now.step.toLocaleString()}: the run's real cost C = ` +
      `${now.cost.toFixed(4)} on ${g.examples} validation images; the slice below the dot has ` +
      `${now.slice_cost.toFixed(4)}. They differ because ` +
      `${(100 * now.off_plane).toFixed(0)}% of the move from the start lies outside this plane.` +
      (outside ? " The dot is off the map's edge." : "") + (slow.note ? ` (${slow.note})` : "");
  }
  c.dataset.points = String(path.length);
  c.setAttribute("aria-label", now ? `The cost landscape through the run's start, with its path ` +
    `of ${path.length} points; now at α ${now.alpha.toFixed(3)}, β ${now.beta.toFixed(3)}.` :
    "The cost landscape through the run's start.");
}

function draw() {
  drawCosts();
  drawLandscape();
}

export function initSlowMotion() {
  on("train-started", (s) => { reset(s.job); catchUp(s.job); });
  on("train-followed", (s) => { if (s.job !== slow.job) reset(s.job); catchUp(s.job); });
  on("train-data", (p) => {
    if (p.job !== slow.job) return;
    if (!slow.grid && p.path && p.path.length) catchUp(p.job);
    add(p.costs, p.path);
    draw();
    if (p.last_step && p.last_step > slow.nudgesStep && Date.now() - slow.nudgesAt > NUDGES_EVERY_MS) {
      showNudges(p.last_step);
    }
  });
  on("train-step", (s) => {
    catchUp(s.job).then(() => { if (s.last_step) showNudges(s.last_step); });
  });
  on("train-ended", (s) => { if (s.job === slow.job) catchUp(s.job); });
  draw();
}
