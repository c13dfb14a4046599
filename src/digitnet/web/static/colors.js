// The page's colours: blue excites (or "wants up"), red inhibits (or "wants down").

export const POS = [33, 102, 172];
export const NEG = [178, 24, 43];

/** An [r, g, b] between white (0) and blue (v > 0) or red (v < 0); s = |v| / scale in [0, 1]. */
export function diverging(v, scale) {
  const s = Math.min(1, Math.abs(v) / (scale || 1));
  const rgb = v >= 0 ? POS : NEG;
  return rgb.map((c) => Math.round(255 + s * (c - 255)));
}

/** The same on a dark background: from dark grey to a bright blue or red. */
export function divergingDark(v, scale) {
  const s = Math.min(1, Math.abs(v) / (scale || 1));
  const rgb = v >= 0 ? [90, 160, 240] : [240, 80, 90];
  return rgb.map((c) => Math.round(40 + s * (c - 40)));
}

export const css = (rgb, alpha = 1) => `rgba(${rgb[0]},${rgb[1]},${rgb[2]},${alpha})`;

export function maxAbs(values) {
  let m = 0;
  for (const v of values) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

/** A canvas of rows x cols cells coloured by `values` (row by row), white at 0. */
export function divergingCanvas(values, rows, cols, scale, label) {
  const canvas = document.createElement("canvas");
  canvas.width = cols;
  canvas.height = rows;
  canvas.style.width = `${cols * scale}px`;
  canvas.style.height = `${rows * scale}px`;
  canvas.setAttribute("role", "img");
  if (label) canvas.setAttribute("aria-label", label);
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(cols, rows);
  const m = maxAbs(values) || 1;
  values.forEach((v, i) => img.data.set([...diverging(v, m), 255], 4 * i));
  ctx.putImageData(img, 0, 0);
  return canvas;
}
