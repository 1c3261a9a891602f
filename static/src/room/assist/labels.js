// Small pieces every assistant surface shows: which model answered, demo mode, trimming,
// and what a fault means (docs/PROTOCOL.md, "AI streams on the room socket").

export const DEMO_TEXT = "Simulated model (demo)";

const KIND_TITLES = {
  rate_limited: "Rate-limited",
  model_down: "Model unavailable",
  timeout: "Timed out",
  cut_off: "Cut off",
  too_large: "Too large",
  busy: "Busy",
  quota: "Over quota",
  forbidden: "Not allowed",
  invalid: "Not understood",
  offline: "Not connected",
};

export function kindTitle(kind) {
  return KIND_TITLES[kind] || "Failed";
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

/** "fast · model-name", the demo label and a trimmed note, from an assist.start frame. */
export function modelBadges(start, { compact = false } = {}) {
  const out = document.createDocumentFragment();
  if (!start) return out;
  const model = el("span", "assist-model", compact ? start.model : `${start.tier} · ${start.model}`);
  model.title = `Answered by the ${start.tier} tier: ${start.model}`;
  model.dataset.assistModel = start.model;
  out.append(model);
  if (start.demo) {
    const demo = el("span", "assist-demo", DEMO_TEXT);
    demo.title = "Demo mode: this answer comes from Flint's model simulator, not a real model.";
    demo.dataset.assistDemoLabel = "";
    out.append(demo);
  }
  if (start.trimmed) {
    const trim = el("span", "assist-trimmed", "prompt trimmed");
    const notes = (start.trim_notes || []).join("; ");
    trim.title = `The prompt was cut to fit the model's context: ${notes}`;
    trim.dataset.assistTrimmed = notes;
    out.append(trim);
  }
  return out;
}

/** The label under partial output: it is kept, and it is not the whole answer. */
export function partialLabel(kind, what = "answer above") {
  const why = kind === "cancelled" ? "Stopped" : kindTitle(kind);
  return `${why}: the ${what} is partial.`;
}

export function newRequestId(kind, me) {
  const random = Math.random().toString(36).slice(2, 10);
  return `${kind}-${me.id}-${Date.now().toString(36)}-${random}`;
}
