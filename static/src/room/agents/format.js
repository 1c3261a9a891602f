// Small shared helpers of the Tasks UI: element building, labels, times and counts.

/** An element: h("div.cls.other", {attr: value, onclick}, ...children). */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const ACTIVE = new Set(["queued", "running"]);

const STAGE = { queued: 0, running: 1 }; // every other status is final

/** True when `incoming` is an older picture of a task than `known`: a task's status only
 * moves forward (queued → running → final; a retry is a new task), and a response that
 * left the server before a `task.status` event can arrive after it. */
export function isStale(incoming, known) {
  const stage = (status) => STAGE[status] ?? 2;
  // A plan-first task goes running → waiting → queued again once approved: no order there.
  if (known && (known.status === "waiting" || incoming.status === "waiting")) return false;
  return Boolean(known) && stage(incoming.status) < stage(known.status);
}

export const STATUS_TEXT = {
  queued: "queued",
  running: "running",
  waiting: "waiting for plan approval",
  succeeded: "succeeded",
  failed: "failed",
  cancelled: "cancelled",
};

export function statusBadge(task) {
  const stopping = task.cancel_requested && ACTIVE.has(task.status);
  const text = stopping ? "stopping…" : STATUS_TEXT[task.status] || task.status;
  const badge = h("span.task-status", { "data-status": stopping ? "stopping" : task.status, "data-task-status": "" }, text);
  return badge;
}

export function ago(iso, now = Date.now()) {
  if (!iso) return "";
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return new Date(iso).toLocaleDateString();
}

/** Seconds the task has run: its stored figure, or the live clock while it runs. */
export function taskSeconds(task, now = Date.now()) {
  if (!task.started_at) return task.seconds_used || 0;
  const end = task.finished_at ? Date.parse(task.finished_at) : task.status === "running" ? now : null;
  return end === null ? task.seconds_used || 0 : Math.max(0, (end - Date.parse(task.started_at)) / 1000);
}

export function duration(seconds) {
  if (!seconds) return "";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

export function tokens(n) {
  if (!n) return "0 tokens";
  if (n < 10000) return `${n.toLocaleString()} tokens`;
  return `${(n / 1000).toFixed(n < 100000 ? 1 : 0)}k tokens`;
}

/** What went wrong, in words: worker lost, a limit, a model error with its message. */
export function failureText(task) {
  const kind = task.error_kind;
  const message = task.error_message || "";
  if (kind === "worker_lost") return /worker lost/i.test(message) ? message : `Worker lost: ${message || "the worker running this task stopped."}`;
  const limits = {
    step_limit: "Step limit reached",
    task_budget: "Task token budget spent",
    team_budget: "Team token budget spent",
    rpm: "Request rate limit",
    streams: "Too many streams at once",
    time_limit: "Time limit reached",
    internal: "Internal error",
  };
  if (limits[kind]) return message ? `${limits[kind]}: ${message}` : limits[kind];
  if (kind) return `Model error (${kind}): ${message}`;
  return message;
}
