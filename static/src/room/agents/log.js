// A task's live log: what the model said, each tool call and its short result, notes and
// errors, with the tokens used so far. Steps carry `seq`, so an event that arrives twice
// (the stored log loaded while events flow) is drawn once.
import { h } from "./format.js";

export function stepElement(step) {
  const kind = step.kind;
  const attrs = { "data-seq": step.seq, "data-kind": kind, "data-step": "" };
  if (kind === "model_text") {
    return h("li.step.model", attrs, h("span.step-who", {}, "model"), h("div.step-text", {}, step.text));
  }
  if (kind === "tool_call") {
    // The line starts with the tool's name, already shown beside it: cut it off as plain
    // text. Step data never becomes a pattern (a name of `.*` repeated froze the page).
    const tool = step.tool || "";
    const named = tool && !step.text.startsWith("$ ") && step.text.startsWith(tool);
    const text = named ? step.text.slice(tool.length).trimStart() : step.text;
    return h(
      "li.step.call",
      { ...attrs, "data-tool": step.tool },
      h("span.step-tool", {}, step.tool),
      h("code.step-text", {}, text),
    );
  }
  if (kind === "tool_result") {
    const failed = /^(Error|Refused)\b/.test(step.text) || /^exit code [1-9]/.test(step.text);
    const took = step.elapsed_ms == null ? null : h("span.step-elapsed.muted.small", { "data-elapsed": step.elapsed_ms }, ` ${(step.elapsed_ms / 1000).toFixed(1)} s`);
    return h("li.step.result", { ...attrs, "data-tool": step.tool, class: `step result${failed ? " failed" : ""}` }, h("span.step-arrow", { "aria-hidden": "true" }, "↳"), h("div.step-text", {}, step.text), took);
  }
  if (kind === "message") {
    return h("li.step.message", { ...attrs, "data-author": step.author }, h("span.step-who", {}, step.author), h("div.step-text", {}, step.text));
  }
  if (kind === "plan" || kind === "setup") {
    const who = kind === "plan" ? step.author || "plan" : "set-up";
    return h(`li.step.${kind}`, attrs, h("span.step-who", {}, who), h("div.step-text", {}, step.text));
  }
  if (kind === "reasoning") {
    // The model's reasoning summary (never raw reasoning), collapsed until asked for.
    return h("li.step.reasoning", attrs, h("details.step-thinking", {}, h("summary", {}, "thinking"), h("div.step-text", {}, step.text)));
  }
  if (kind === "error") return h("li.step.error", attrs, h("span.step-who", {}, "error"), h("div.step-text", {}, step.text));
  return h("li.step.info", attrs, h("div.step-text", {}, step.text));
}

export class StepLog {
  constructor(list) {
    this.list = list;
    this.seen = new Set();
  }

  reset(steps) {
    this.seen.clear();
    this.list.replaceChildren();
    for (const step of steps) this.add(step, { scroll: false });
    this.list.scrollTop = this.list.scrollHeight;
  }

  add(step, { scroll = true } = {}) {
    if (this.seen.has(step.seq)) return false;
    this.seen.add(step.seq);
    const el = stepElement(step);
    // Keep seq order even if an event overtakes the stored log.
    const after = [...this.list.children].find((li) => Number(li.dataset.seq) > step.seq);
    const stick = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.insertBefore(el, after || null);
    if (scroll && stick) this.list.scrollTop = this.list.scrollHeight;
    return true;
  }
}
