// The page's shared state, and a small event bus the modules talk through.

export const state = {
  model: null,       // GET /api/model: sizes, class names, how many neurons the diagram shows
  input: null,       // the 784 inputs the network saw last (from the server)
  trace: null,       // the last /api/trace answer
  source: null,      // what the trace is of: {kind: "drawing"} or {kind: "test", index, label}
  selected: null,    // the neuron being inspected: {layer, index}
  backprop: null,    // the last /api/backprop answer, for the image and label being taught
  view: "activations",  // what the diagram colours: "activations" or "gradient"
  positions: [],     // where the diagram drew each neuron (CSS pixels): {layer, index, x, y, r}
};

const bus = new EventTarget();

/** Tell every listener that `name` happened (with `detail`). */
export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

/** Call `fn(detail)` each time `name` happens. */
export function on(name, fn) {
  bus.addEventListener(name, (event) => fn(event.detail));
}

export const $ = (id) => document.getElementById(id);

/** The sizes the page needs, from /api/model (n_inputs, image_shape, diagram_neurons), with
 *  MNIST's as a fallback before it answers. */
export function sizes() {
  const m = state.model;
  const inputs = (m && (m.n_inputs || m.sizes[0])) || 784;
  const side = (m && m.image_shape && m.image_shape[1]) || Math.round(Math.sqrt(inputs));
  return { inputs, side, shown: (m && m.diagram_neurons) || 32 };
}

/** The class names of the served network ("0".."9" for MNIST). */
export function classNames() {
  const m = state.model;
  if (m && m.class_names) return m.class_names;
  return [...Array(10).keys()].map(String);
}

/** True when the classes are the ten digits. */
export function isDigits() {
  return classNames().every((name, j) => name === String(j));
}

/** "digit", or "picture" for another dataset's classes. */
export function thing() {
  return isDigits() ? "digit" : "picture";
}

export function percent(p, digits = 1) {
  return p == null || Number.isNaN(p) ? "–" : `${(100 * p).toFixed(digits)}%`;
}
