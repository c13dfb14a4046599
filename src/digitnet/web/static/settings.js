// The page's settings live in its URL (?hidden=16,16&lr=1.5&eta=0.5...), so a teacher can share a
// setup: the training form's fields and the teaching step size. Changing a field rewrites the URL
// (without reloading); opening such a URL fills the fields. The speed (?speed=5 steps a second,
// empty for full speed) is kept the same way.

import { $ } from "./store.js";

const FORM = "train-form";
const EXTRA = { eta: "teach-eta", speed: "train-speed" };

function fields() {
  return [...$(FORM).elements].filter((e) => e.name && e.tagName !== "BUTTON");
}

/** Fill the fields from the URL's query string (after the selects have their options). */
export function applyUrl() {
  const params = new URLSearchParams(window.location.search);
  for (const field of fields()) {
    if (!params.has(field.name)) continue;
    const value = params.get(field.name);
    if (field.type === "checkbox") field.checked = value === "1" || value === "true";
    else if (field.tagName === "SELECT") {
      if ([...field.options].some((o) => o.value === value)) field.value = value;
    } else field.value = value;
  }
  for (const [name, id] of Object.entries(EXTRA)) {
    if (!params.has(name)) continue;
    const field = $(id), value = params.get(name);
    if (field.tagName !== "SELECT" || [...field.options].some((o) => o.value === value)) {
      field.value = value;
    }
  }
  writeUrl();
}

/** The URL of the page with the current settings. */
export function settingsUrl() {
  const params = new URLSearchParams();
  for (const field of fields()) {
    if (field.type === "checkbox") { if (field.checked) params.set(field.name, "1"); }
    else params.set(field.name, field.value);
  }
  for (const [name, id] of Object.entries(EXTRA)) params.set(name, $(id).value);
  const url = new URL(window.location.href);
  url.search = params.toString();
  url.hash = "";
  return url.toString();
}

function writeUrl() {
  const url = settingsUrl();
  window.history.replaceState(null, "", url);
  $("train-link").href = url;
}

export function initSettings() {
  $(FORM).addEventListener("input", writeUrl);
  $(FORM).addEventListener("change", writeUrl);
  $(EXTRA.eta).addEventListener("input", writeUrl);
  $(EXTRA.speed).addEventListener("change", writeUrl);
  $("train-link").addEventListener("click", async (event) => {
    event.preventDefault();
    const url = settingsUrl();
    try {
      await navigator.clipboard.writeText(url);
      $("train-link").textContent = "link copied";
    } catch (err) {
      $("train-link").textContent = "the address bar holds these settings: copy it from there";
    }
  });
}
